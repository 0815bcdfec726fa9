/*
 * GET /healthz, the answer without the socket: what a supervisor reads
 * from a running server. Server-internal; the request itself is served
 * in health.c (see server_internal.h).
 */
#ifndef WVS_HEALTH_H
#define WVS_HEALTH_H

#include "server.h"

/*
 * The answer to GET /healthz for these counts: one compact JSON object,
 *
 *   {"status":"ok","calls_up":N,"calls_total":N,
 *    "refused":{"shutting_down":N,"wrong_path":N,...}}
 *
 * with the fields in this order and every refusal of WVS_REFUSALS by its
 * name, in the table's order. Stopping: "status":"stopping". Returns the
 * HTTP status (200, or 503 when stopping) with the body in *body, which
 * the caller frees; or WV_ERR_NOMEM, *body NULL. Thread: any.
 */
int wvs_health_answer(const struct wvs_server_stats *st, int stopping,
		      char **body);

#endif
