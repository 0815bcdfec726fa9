/*
 * Scripted agents: `wvoice serve --script NAME=FILE` loads a JSON script of
 * steps, so a client can be tested against exact server behaviour.
 *
 * A script is a JSON array of steps, or an object {"steps": [...]}. Each
 * step is an object with exactly one of these keys, plus "timeout_ms" on
 * the waits:
 *
 *   {"say": "text"}          queue speech (rendered at load time)
 *   {"play": "file.wav"}     queue a sound file (relative to the script)
 *   {"mark": "name"}         queue a mark after the audio before it
 *   {"wait_mark": "name"}    wait until the client sends that mark back
 *   {"wait_speech": true}    wait until the caller ends an utterance
 *   {"wait_dtmf": "#"}       wait for a digit ("" or true: any digit;
 *                            "123#": any of these)
 *   {"pause": 500}           wait this many milliseconds
 *   {"clear": true}          drop queued audio and marks, send `clear`
 *   {"hangup": true}         send `stop` and close the call with 1000
 *
 * `say` and `play` queue audio and go straight on, as a streaming agent
 * does; a wait or a pause is what holds the script. Waits time out after
 * "timeout_ms" (default 10000, never forever) and the script goes on.
 * When the steps run out, the agent stays on the line, silent; so an
 * empty list of steps is a valid script: an agent that answers and never
 * speaks. "pause" takes 0 to 3600000 ms and "timeout_ms" 1 to 3600000 ms
 * (whole numbers); a "wait_mark" must name a mark that an earlier "mark"
 * step queues, or it could only ever time out.
 * Server-internal.
 */
#ifndef WVS_SCRIPT_H
#define WVS_SCRIPT_H

#include <stddef.h>

#include "clip.h"

struct wvs_tts;

enum wvs_step_type {
	WVS_STEP_SAY,
	WVS_STEP_PLAY,
	WVS_STEP_MARK,
	WVS_STEP_WAIT_MARK,
	WVS_STEP_WAIT_SPEECH,
	WVS_STEP_WAIT_DTMF,
	WVS_STEP_PAUSE,
	WVS_STEP_CLEAR,
	WVS_STEP_HANGUP,
};

#define WVS_SCRIPT_TIMEOUT_MS 10000
/* Longest script file read; a real script is a few kilobytes. */
#define WVS_SCRIPT_MAX_BYTES (1024 * 1024)

struct wvs_step {
	enum wvs_step_type type;
	char *text;		/* say: the text; mark, wait_mark: the name;
				   wait_dtmf: accepted digits ("" = any);
				   play: the resolved path */
	struct wvs_clip clip;	/* say, play: the audio */
	unsigned ms;		/* pause: duration; waits: timeout */
};

struct wvs_script {
	char *name;
	struct wvs_step *steps;
	size_t n_steps;
};

/* Problems listed in err at most; past them, one line says how many more. */
#define WVS_SCRIPT_PROBLEMS_MAX 20

/*
 * Loads and checks a script file; renders `say` steps with tts and loads
 * `play` files. Every problem is reported, one per line of err ('\n'
 * between lines, none after the last), in step order, each with the file,
 * the step index and what was wrong ("s.json: step 3: \"wait_dtmf\": 'x' is
 * not a DTMF digit"): the first WVS_SCRIPT_PROBLEMS_MAX, then
 * "s.json: ... and N more problems". err is cut short where it is full.
 * The whole script is checked (and its `play` files loaded) before any
 * speech is rendered, and nothing is rendered if there is a problem; a
 * JSON syntax error, an unreadable file or a root that is not a script
 * is the only problem reported. If tts is NULL, `say` steps are checked
 * but not rendered: their clips stay empty.
 * Returns 0, or the first problem's negative WV_ERR_* (WV_ERR_NOMEM if
 * memory ran out): WV_ERR_JSON (with jansson's line and column),
 * WV_ERR_TOO_LARGE (file over WVS_SCRIPT_MAX_BYTES), WV_ERR_INVALID
 * (anything else wrong with the script or the file), or the code from
 * loading or rendering a clip. On failure *s is left zeroed. Thread: any.
 */
int wvs_script_load(struct wvs_script *s, const char *name, const char *path,
		    struct wvs_tts *tts, char *err, size_t errlen);

/*
 * Same, from JSON text in memory; messages start with name instead of the
 * path. Relative `play` paths resolve from dir (from the working directory
 * when dir is NULL or "").
 */
int wvs_script_parse(struct wvs_script *s, const char *name, const char *json,
		     size_t len, const char *dir, struct wvs_tts *tts,
		     char *err, size_t errlen);

/* Frees everything and zeroes *s; fine on a zeroed or failed script. */
void wvs_script_cleanup(struct wvs_script *s);

#endif
