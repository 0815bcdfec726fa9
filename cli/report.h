/*
 * What `wvoice call` says at the end of a call: the summary, as text
 *
 *   communication id: 3f2a9c1e-...
 *   duration: 00:07
 *   frames sent: 352
 *   frames received: 353
 *   marks: 2
 *   underruns: 0
 *   end reason: hangup
 *   close: 1000
 *
 * (close only when the socket closed with a code, followed by the reason
 * when there is one), or as one JSON object (--summary json):
 *
 *   {"communication_id":"3f2a...","duration_ms":7020,"frames_sent":352,
 *    "frames_received":353,"marks":2,"underruns":0,"end_reason":"hangup",
 *    "close_code":1000,"close_reason":"","closed_by":"client",
 *    "error":null,"exit_status":0}
 *
 * with null for what is not known (no id before the server's start, no
 * close code when the connection was lost or never opened, no error).
 */
#ifndef CLI_REPORT_H
#define CLI_REPORT_H

#include <stdio.h>

#include <wvoice/wvoice.h>

void cli_report_text(FILE *f, const struct wv_client *c);
/* Returns 0, or WV_ERR_NOMEM (nothing was written). */
int cli_report_json(FILE *f, const struct wv_client *c, int exit_status);

#endif
