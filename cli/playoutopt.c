/* --playout and the playout's figures: see playoutopt.h. */
#include "playoutopt.h"

#include <string.h>

#include <jansson.h>

int cli_playout_take(struct cli_playout *p, const char *arg)
{
	if (!strcmp(arg, "adaptive"))
		p->policy = WV_PLAYOUT_ADAPTIVE;
	else if (!strcmp(arg, "fixed"))
		p->policy = WV_PLAYOUT_FIXED;
	else
		return -1;
	p->given = true;
	return 0;
}

const char *cli_playout_name(enum wv_playout_policy p)
{
	return p == WV_PLAYOUT_FIXED ? "fixed" : "adaptive";
}

int cli_playout_resolve(struct cli_playout *p)
{
	if (!p->prebuffer_given)
		return 0;
	/* Scripts written before --playout meant a fixed pre-buffer. */
	if (!p->given) {
		p->policy = WV_PLAYOUT_FIXED;
		return 0;
	}
	return p->policy == WV_PLAYOUT_FIXED ? 0 : -1;
}

uint64_t cli_samples_ms(uint64_t samples)
{
	return (samples + 4) / 8;
}

json_t *cli_playout_json(enum wv_playout_policy p,
			 const struct wv_playout_stats *st)
{
	return json_pack("{s:s,s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "playout",
			 cli_playout_name(p), "playout_target_ms",
			 (json_int_t)st->target_ms, "playout_delay_ms",
			 (json_int_t)st->delay_ms, "jitter_ms",
			 (json_int_t)st->jitter_ms, "concealed_ms",
			 (json_int_t)cli_samples_ms(st->concealed_samples),
			 "silence_inserted_ms",
			 (json_int_t)cli_samples_ms(st->inserted_samples),
			 "silence_dropped_ms",
			 (json_int_t)cli_samples_ms(st->dropped_samples),
			 "late_arrivals", (json_int_t)st->late_arrivals);
}
