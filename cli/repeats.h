/*
 * Repeated problems on standard error, summarised: the first message of a
 * kind in a second is said, the rest of that second are counted, and one
 * line then says how many there were ("... and 4213 more like it in the
 * last second (bad frame from server: not JSON)"). A server that sends
 * bad input as fast as it can then costs a few lines a second, not one
 * line per frame (issue 13, item 5).
 *
 * The kind of a message is its words up to the second ": ", without what
 * is quoted ("...", '...') or any digit: "mark \"a\" before start" and
 * "mark \"b\" before start" are one kind, "bad frame from server: not
 * JSON: ..." another whatever jansson said. CLI_REPEAT_KINDS kinds are
 * told apart at once; past them, the rest share one slot, "other
 * problems", so that no stream of messages can get past the count.
 *
 * Threads: one at a time.
 */
#ifndef CLI_REPEATS_H
#define CLI_REPEATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CLI_REPEAT_KINDS 8
#define CLI_REPEAT_WINDOW_US 1000000
#define CLI_REPEAT_KIND_MAX 64

struct cli_repeat {
	char kind[CLI_REPEAT_KIND_MAX];
	int64_t since_us; /* when the kind's second began */
	uint64_t more;	  /* messages counted, not said, since then */
	bool used;
};

/* Zero-initialised is ready to use. */
struct cli_repeats {
	struct cli_repeat slot[CLI_REPEAT_KINDS + 1]; /* the last: others */
};

/* Whether msg, at now_us, is to be said (true) or was counted (false). */
bool cli_repeats_take(struct cli_repeats *r, const char *msg, int64_t now_us);

/*
 * Writes into line (cap bytes) one summary that is due at now_us: a kind
 * whose second is over with messages counted in it, or with all set, any
 * kind with messages counted (at the end). Returns false when there is
 * none; call it until then.
 */
bool cli_repeats_summary(struct cli_repeats *r, int64_t now_us, bool all,
			 char *line, size_t cap);

#endif
