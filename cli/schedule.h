/*
 * What `wvoice call` does on its own at set times after the call is
 * confirmed: --dtmf digits, --mute windows and --hangup-after.
 *
 *   --dtmf "5@1.5,#@4"    digit@seconds, comma-separated, in any order;
 *                         digits 0-9 * #; two digits at the same time are
 *                         sent in the order given
 *   --mute "2-3.5,6-7"    start-end windows; muted from start up to (not
 *                         including) end; end must be after start
 *   --hangup-after SEC
 *
 * Seconds are plain non-negative decimals ("4", "1.5", "0.020", ".5"):
 * no sign, exponent, spaces, "inf" or "nan"; at most 3 decimal places
 * (times are kept in whole milliseconds) and at most CLI_SCHEDULE_MAX_S.
 *
 * Repeating --dtmf or --mute adds to what is there. Mute windows that
 * overlap or touch are merged ("2-4,3-5" is "2-5"): muting twice over is
 * still muting, so there is nothing to refuse. A later --hangup-after
 * replaces an earlier one.
 *
 * Parse errors name the option, the item (1-based, and its text) and what
 * is wrong with it, in one line:
 *   --dtmf item 2 "x@4": 'x' is not a DTMF digit (0-9 * #)
 *
 * Times are milliseconds since the call was confirmed (what
 * wv_client_elapsed_ms() returns). Thread: one at a time.
 */
#ifndef CLI_SCHEDULE_H
#define CLI_SCHEDULE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CLI_SCHEDULE_MAX_S 1000000
/* The time that never comes: no hang-up scheduled, nothing more due. */
#define CLI_SCHEDULE_NEVER INT64_MAX

struct cli_dtmf_at {
	int64_t at_ms;
	char digit;
};

struct cli_window {
	int64_t start_ms, end_ms; /* muted for start <= t < end */
};

/* Caller-owned: cli_schedule_init(), then cli_schedule_cleanup(). */
struct cli_schedule {
	struct cli_dtmf_at *dtmf; /* sorted by time */
	size_t n_dtmf;
	size_t dtmf_done; /* digits already handed out as due */
	struct cli_window *mute; /* sorted, disjoint, not touching */
	size_t n_mute;
	int64_t hangup_ms; /* CLI_SCHEDULE_NEVER: none */
};

void cli_schedule_init(struct cli_schedule *s);
void cli_schedule_cleanup(struct cli_schedule *s);

/*
 * Each parses its option's argument into s. On an error s is unchanged and
 * err (errlen bytes; may be NULL) says why. Errors: WV_ERR_INVALID,
 * WV_ERR_NOMEM.
 */
int cli_schedule_add_dtmf(struct cli_schedule *s, const char *spec, char *err,
			  size_t errlen);
int cli_schedule_add_mute(struct cli_schedule *s, const char *spec, char *err,
			  size_t errlen);
int cli_schedule_set_hangup(struct cli_schedule *s, const char *arg, char *err,
			    size_t errlen);

/* Parses seconds as above into *ms. Returns 0 or WV_ERR_INVALID, with why
 * (e.g. "more than 3 decimal places") in *why when why is not NULL. */
int cli_parse_seconds(const char *s, size_t len, int64_t *ms,
		      const char **why);

/*
 * The digits due by now_ms that were not handed out yet, in order: writes
 * up to cap of them to digits and returns how many. Each digit is handed
 * out once; what does not fit comes on the next call.
 */
size_t cli_schedule_due_dtmf(struct cli_schedule *s, int64_t now_ms,
			     char *digits, size_t cap);

/* Whether now_ms falls in a mute window. */
bool cli_schedule_muted(const struct cli_schedule *s, int64_t now_ms);

/* Whether the hang-up time has come. */
bool cli_schedule_hangup_due(const struct cli_schedule *s, int64_t now_ms);

/* The next time after now_ms at which a digit falls due, a mute window
 * starts or ends, or the hang-up comes; CLI_SCHEDULE_NEVER if none. */
int64_t cli_schedule_next_ms(const struct cli_schedule *s, int64_t now_ms);

#endif
