/*
 * One synthetic call of `wvoice load`, and what is measured on it: a
 * wv_client on the generator's loop, its caller script, and the figures
 * taken from the audio it sends and plays out (see loadreport.h for what
 * each figure is). Every callback runs on the loop's thread; nothing here
 * blocks, and nothing allocates once the call is made.
 */
#ifndef CLI_LOADCALL_H
#define CLI_LOADCALL_H

#include <stdbool.h>
#include <stdint.h>

#include <wvoice/wvoice.h>

#include "callscript.h"
#include "loadreport.h"

/* What every call of a run shares: the settings and the figures. */
struct cli_load_run {
	const struct cli_callscript *script;
	int64_t duration_us;	/* each call hangs up after this */
	struct cli_load_report *rep;
	struct cli_histo *late_now, *turn_now; /* this interval's */
	struct cli_histo *delay_now; /* ... playout delays */
	uint64_t frames_now;	/* frames sent this interval */
	uint64_t concealed_now;	/* ms concealed this interval */
	unsigned up, connecting; /* calls, now */
};

/* Marks received and not yet answered, kept to time their round trip. */
#define CLI_LOADCALL_MARKS 8

struct cli_load_call_state {
	struct cli_load_run *run;
	struct wv_client *c;
	uint64_t id;
	struct cli_callscript_run script;
	bool confirmed, ended;
	int64_t ended_us;	/* when it ended, to free it a moment later */
	int64_t hangup_us;	/* --duration's end */
	int64_t tick_us;	/* the media clock's tick under way */
	/* Turn and barge-in, from the script's moments. */
	int64_t speech_end_us, barge_us, clear_us;
	bool turn_open, barge_open;
	bool first_audio;
	/* Marks received: their ids' hashes and times, oldest first. */
	struct cli_load_mark {
		uint32_t hash;
		int64_t at;
	} marks[CLI_LOADCALL_MARKS];
	unsigned marks_head, marks_n;
	/* RFC 3550 jitter of the agent's audio within an utterance. */
	bool in_utterance;
	int64_t last_arrival_us;
	int64_t last_sent_us; /* the sender's clock: audio sent so far */
	int64_t last_transit_us;
	double jitter_us;
	uint64_t turn_sum_us, turn_max_us, late_max_us;
	/* The playout's concealed ms as last sampled (counted in the run's
	   interval since). */
	uint64_t concealed_seen_ms;
	struct cli_load_call sum; /* what the report lists */
};

/*
 * Makes the call (not yet connected) from cfg, whose callbacks, source,
 * sink and user this sets. The config's strings must outlive nothing:
 * wv_client_create() copies them. 0 or a WV_ERR_* with why in err.
 */
int cli_load_call_make(struct cli_load_call_state *lc, struct cli_load_run *run,
		       struct wv_loop *loop, struct wv_client_config *cfg,
		       uint64_t id, char *err, size_t errlen);
/* Its counters and summary into the run's report, once it has ended;
   then frees the call. */
void cli_load_call_finish(struct cli_load_call_state *lc);

#endif
