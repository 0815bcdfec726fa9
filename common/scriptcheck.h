/*
 * Checking a JSON script of steps: what the server's agent scripts
 * (server/script.c) and the command's caller scripts (cli/callscript.c)
 * share. A check goes on past a problem, so the author fixes them all in
 * one go: every problem is one line of the caller's err ('\n' between
 * lines, none after the last) naming the file, the step (1-based) and what
 * is wrong, the first `max` of them listed and the rest counted. Shared by
 * the server and the command (common/), not part of libwvoice.
 *
 * The shape both formats share: a JSON array of steps, or an object
 * {"steps": [...]}; each step an object with exactly one action key, plus
 * "timeout_ms" on the kinds that take one.
 *
 * Thread: any; a check belongs to one thread.
 */
#ifndef WVS_SCRIPTCHECK_H
#define WVS_SCRIPTCHECK_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "clip.h"

/* An hour: a longer pause or wait in a test script is a typo. */
#define WVS_CHECK_MS_MAX 3600000
/* Room for the quoted part of a hostile value in a message. */
#define WVS_CHECK_QUOTE_MAX 48

#if defined(__GNUC__)
#define WVS_CHECK_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define WVS_CHECK_PRINTF(f, a)
#endif

/* One check in progress: caller-owned, set up by wvs_check_init(). */
struct wvs_check {
	const char *who; /* what messages start with: the path or the name */
	const char *dir; /* where relative file names start (NULL: here) */
	char *err;
	size_t errlen;
	size_t used;	 /* of err */
	size_t max;	 /* problems listed; past them, counted */
	size_t problems; /* found so far, past max too */
	int code;	 /* the check's result: the first problem's code, or
			    WV_ERR_NOMEM once memory ran out */
};

/* err may be NULL (nothing is written); err[0] is set to '\0'. */
void wvs_check_init(struct wvs_check *c, const char *who, size_t max,
		    char *err, size_t errlen);

/*
 * Reports a problem on a line of its own, "who: step N: ..." (or "who: ..."
 * when step is 0), and returns code: the caller goes on to the next
 * problem unless the code is WV_ERR_NOMEM.
 */
WVS_CHECK_PRINTF(4, 5)
int wvs_check_fail(struct wvs_check *c, size_t step, int code,
		   const char *fmt, ...);
int wvs_check_nomem(struct wvs_check *c, size_t step);

/* The check's result, 0 or the first problem's code, with a last line
   counting the problems not listed. */
int wvs_check_finish(struct wvs_check *c);

/* "a string", "a whole number"...: what a JSON value is, for messages. */
const char *wvs_json_kind(const json_t *v);

/* Each reports its problem against step and key, and returns 0 or the
   problem's code. */
int wvs_check_string(struct wvs_check *c, size_t step, const char *key,
		     const json_t *v, const char *what);
int wvs_check_true(struct wvs_check *c, size_t step, const char *key,
		   const json_t *v);
/* A whole number of milliseconds from lo to WVS_CHECK_MS_MAX. */
int wvs_check_ms(struct wvs_check *c, size_t step, const char *key,
		 const json_t *v, json_int_t lo, unsigned *out);
/* DTMF digits (0-9, * or #); an empty string passes. */
int wvs_check_digits(struct wvs_check *c, size_t step, const char *key,
		     const json_t *v);
/* A mark name the protocol carries: 1 to WV_ID_MAX bytes. */
int wvs_check_mark_name(struct wvs_check *c, size_t step, const char *key,
			const json_t *v);

/*
 * Loads a sound file named file (relative to c->dir) into clip, for at most
 * max_seconds; *path gets the resolved name (the caller frees it, even on
 * failure). A missing or bad file is reported naming it.
 */
int wvs_check_clip(struct wvs_check *c, size_t step, const char *key,
		   const char *file, double max_seconds, char **path,
		   struct wvs_clip *clip);

/* file relative to dir (as it is when absolute, or dir is NULL or "");
   a new string, or NULL when memory ran out. */
char *wvs_path_resolve(const char *dir, const char *file);

/*
 * Reads the whole file at path, refusing one over max_bytes
 * (WV_ERR_TOO_LARGE); *text is the caller's to free, even on failure.
 * *dir gets the directory part of path for wvs_check's dir (NULL for a
 * bare name), also the caller's to free.
 */
int wvs_check_read(struct wvs_check *c, const char *path, size_t max_bytes,
		   char **text, size_t *len, char **dir);

/* The JSON root of text (duplicate keys refused), or NULL with the syntax
   error reported as WV_ERR_JSON (with jansson's line and column). */
json_t *wvs_check_json(struct wvs_check *c, const char *text, size_t len);

/* The list of steps: the root itself, or the root's "steps". NULL when
   there is none to check; a key beside "steps" is reported, and the
   steps are checked all the same. */
json_t *wvs_check_steps_of(struct wvs_check *c, json_t *root);

/* One kind of step: its action key and whether it takes "timeout_ms". */
struct wvs_step_kind {
	const char *key;
	bool timed;
};

/*
 * Checks a step's keys against the n kinds: finds its one action and its
 * "timeout_ms", if any; reports a step that is not an object, each key
 * that is no kind's, each action past the first, no action, and a
 * "timeout_ms" on a kind that takes none ("only <timed_words> (k1, k2)
 * time out"). Returns the kind's index with *value (and *timeout, or
 * NULL) set, or -1 when the step has no one kind to check further.
 */
int wvs_check_step_keys(struct wvs_check *c, size_t step, json_t *obj,
			const struct wvs_step_kind *kinds, size_t n,
			const char *timed_words, json_t **value,
			json_t **timeout);

#endif
