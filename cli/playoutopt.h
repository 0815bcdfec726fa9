/*
 * The playout policy as the command line names it (--playout of `wvoice
 * call` and `wvoice load`, with --prebuffer-ms), and its figures as the
 * summaries, the event log and the load report give them (see PLAYOUT in
 * wvoice(1)).
 *
 * Thread: any; nothing here keeps state.
 */
#ifndef CLI_PLAYOUTOPT_H
#define CLI_PLAYOUTOPT_H

#include <stdbool.h>
#include <stdint.h>

#include <wvoice/playout.h>

/* --playout's default for `wvoice call` and `wvoice load` (wvoice.1 says
   which and why, under PLAYOUT); the library's own may differ
   (wv_client_config's playout_policy). */
#define CLI_PLAYOUT_DEFAULT WV_PLAYOUT_ADAPTIVE

/* The flags of a command that places calls: --playout, and whether
   --prebuffer-ms was given. */
struct cli_playout {
	enum wv_playout_policy policy; /* CLI_PLAYOUT_DEFAULT unless said */
	bool given;		       /* --playout */
	bool prebuffer_given;	       /* --prebuffer-ms */
};

/* The usage errors' words: CLI_PLAYOUT_BAD takes the argument. */
#define CLI_PLAYOUT_BAD "--playout: '%s' is not adaptive or fixed"
#define CLI_PLAYOUT_CONFLICT                                                   \
	"--prebuffer-ms is the fixed policy's: it conflicts with --playout "   \
	"adaptive"

/* --playout's argument, "adaptive" or "fixed": 0, or -1 for any other
   word (say CLI_PLAYOUT_BAD). */
int cli_playout_take(struct cli_playout *p, const char *arg);
/* "adaptive", "fixed". */
const char *cli_playout_name(enum wv_playout_policy p);

/*
 * The policy the flags mean, into p->policy: --prebuffer-ms alone is the
 * fixed policy at that pre-buffer (as before --playout existed);
 * --playout alone, or neither (the default), is what it says. --prebuffer-ms
 * with --playout adaptive says two things: -1 (say CLI_PLAYOUT_CONFLICT).
 */
int cli_playout_resolve(struct cli_playout *p);

/* Samples at 8 kHz as whole milliseconds, rounded to the nearest. */
uint64_t cli_samples_ms(uint64_t samples);

/*
 * The figures as JSON members, for the summary and the event log's end
 * line: {"playout": "adaptive", "playout_target_ms", "playout_delay_ms",
 * "jitter_ms", "concealed_ms", "silence_inserted_ms",
 * "silence_dropped_ms", "late_arrivals"}. New (json_decref() it), or
 * NULL: no memory.
 */
struct json_t;
struct json_t *cli_playout_json(enum wv_playout_policy p,
				const struct wv_playout_stats *st);

#endif
