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
 *   playout: adaptive
 *   playout target: 60 ms
 *   playout delay: 60 ms
 *   jitter: 4 ms
 *   concealed: 0 ms
 *   silence inserted: 20 ms
 *   silence dropped: 0 ms
 *   late arrivals: 0
 *
 * (close only when the socket closed with a code, followed by the reason
 * when there is one; the playout's lines, since 0.5, come after the lines
 * that were there before, in this order), or as one JSON object
 * (--summary json):
 *
 *   {"communication_id":"3f2a...","duration_ms":7020,"frames_sent":352,
 *    "frames_received":353,"marks":2,"underruns":0,"end_reason":"hangup",
 *    "close_code":1000,"close_reason":"","closed_by":"client",
 *    "error":null,"exit_status":0,"playout":"adaptive",
 *    "playout_target_ms":60,"playout_delay_ms":60,"jitter_ms":4,
 *    "concealed_ms":0,"silence_inserted_ms":20,"silence_dropped_ms":0,
 *    "late_arrivals":0}
 *
 * The playout's figures (wv_client_playout_stats()): the policy, the delay
 * it aims at and the one it plays at as the call ended, the agent's
 * arrival jitter (RFC 3550), the silence played in underruns (concealed),
 * the silence inserted and dropped to move the delay, and the audio that
 * arrived while an underrun was being concealed (late arrivals).
 *
 * with null for what is not known (no id before the server's start, no
 * close code when the connection was lost or never opened, no error).
 */
#ifndef CLI_REPORT_H
#define CLI_REPORT_H

#include <stdio.h>

#include <wvoice/wvoice.h>

/* policy: the call's (it is not asked of the client). */
void cli_report_text(FILE *f, const struct wv_client *c,
		     enum wv_playout_policy policy);
/* Returns 0, or WV_ERR_NOMEM (nothing was written). */
int cli_report_json(FILE *f, const struct wv_client *c, int exit_status,
		    enum wv_playout_policy policy);

#endif
