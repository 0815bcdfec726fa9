/*
 * Caller scripts: what a synthetic caller does on a call, step by step,
 * each step waiting on what the caller hears (the agent's audio as it is
 * played out, and the marks the playout reaches), never on guessed times
 * or on what merely arrived on the wire. The mirror of the server's agent
 * scripts (server/script.h). `wvoice call --script FILE` runs one on one
 * call; `wvoice load --script FILE` runs it on every call.
 *
 * A script is a JSON array of steps, or an object {"steps": [...]}. Each
 * step is an object with exactly one of these keys, plus "timeout_ms"
 * (1 to 3600000) on the steps that wait or speak (say, wait_mark,
 * wait_agent_speech, wait_agent_quiet, barge_in):
 *
 *   {"say": "text"}            speak text (espeak-ng, rendered at load)
 *   {"say": "file.wav"}        speak a WAV file (any rate; a string
 *                              ending in .wav, relative to the script);
 *                              also {"say": {"file": F}}, {"say": {"text": T}}
 *   {"silence": 500}           say nothing for this many ms (0 to 3600000)
 *   {"dtmf": "12#"}            send these digits, in order, at once
 *   {"wait_mark": "menu"}      wait until the playout reaches this mark
 *                              (true or "": the next mark, whatever it is);
 *                              only marks played after the wait began count
 *   {"wait_agent_speech": true} wait until the agent is heard talking (a
 *                              loud sample played after the wait began)
 *   {"wait_agent_quiet": 800}  wait until the agent, heard since the
 *                              caller's last action, has been silent
 *                              this many ms
 *   {"mute": true}, {"unmute": true}
 *   {"barge_in": "text"}       wait until the agent is heard talking, then
 *                              speak over it (as "say": text or a .wav)
 *   {"hangup": true}           hang up: the last step (a step after it is
 *                              a problem, as it could never run)
 *
 * The caller's actions are the end of each utterance, each digit, mute,
 * unmute and the hang-up. "say" and "barge_in" hold the script until the
 * last sample has been spoken (handed to the call). "timeout_ms" bounds a
 * step from its start: a say has none unless given, and is cut there; a
 * wait or a barge_in has CLI_CALLSCRIPT_TIMEOUT_MS unless given, and when
 * it runs out the step is reported (a CLI_MOMENT_TIMEOUT; a barge_in then
 * says nothing) and the script goes on; a barge_in that has begun to speak
 * is cut there. When the steps run out the caller stays on the line,
 * silent. Silence flows between utterances, as on a real line.
 *
 * "Heard" is decided on the played-out audio: a sample of magnitude at
 * least CLI_HEARD_LEVEL (about -40 dBFS) is the agent talking; the agent
 * is quiet once no such sample has played for CLI_QUIET_MS.
 *
 * Times are exact to the sample: a step that ends by time (a silence, a
 * timeout, a quiet wait) ends at its deadline, one that ends on what was
 * heard ends at that sample, and the next step begins there; speech
 * begins at the first sample the caller sends from then on. Feed speak()
 * before heard() for the same stretch of time, as a call's media clock
 * does.
 *
 * Thread: a script is read-only once loaded and may be shared by any number
 * of runs on any threads; a run belongs to one thread.
 */
#ifndef CLI_CALLSCRIPT_H
#define CLI_CALLSCRIPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CLI_CALLSCRIPT_TIMEOUT_MS 10000
#define CLI_CALLSCRIPT_MAX_BYTES (1024 * 1024)
#define CLI_CALLSCRIPT_PROBLEMS_MAX 20
#define CLI_HEARD_LEVEL 328 /* of 32767: -40 dBFS */
#define CLI_QUIET_MS 200

struct cli_callscript;

/*
 * Loads and checks a script: every problem reported, one per line of err
 * ('\n' between lines), each naming the file, the step (1-based) and what
 * is wrong ("ivr.json: step 3: \"dtmf\": 'x' is not a DTMF digit"), at most
 * CLI_CALLSCRIPT_PROBLEMS_MAX then "... and N more problems". Nothing is
 * rendered unless the whole script is valid. Returns 0 or a negative
 * WV_ERR_* (WV_ERR_JSON, WV_ERR_INVALID, WV_ERR_TOO_LARGE, WV_ERR_NOMEM,
 * or a WAV's or text to speech's); *out is NULL on failure. Loading reads
 * files and renders speech (tens of ms a sentence): do it before the
 * calls, never on a network loop. Thread: any.
 */
int cli_callscript_load(struct cli_callscript **out, const char *path,
			char *err, size_t errlen);
/* Same from JSON text; messages start with name, relative paths resolve
   from dir (NULL: the working directory). */
int cli_callscript_parse(struct cli_callscript **out, const char *name,
			 const char *json, size_t len, const char *dir,
			 char *err, size_t errlen);
/* Same as cli_callscript_parse(), but speech is left unrendered (its
   clips empty): the whole check, and its `say` files loaded, without the
   speech engine's tens of milliseconds a sentence. For the parser's fuzz
   target (fuzz/fuzz_callscript.c), which checks a script per input. */
int cli_callscript_check(struct cli_callscript **out, const char *name,
			 const char *json, size_t len, const char *dir,
			 char *err, size_t errlen);
/* A script of one step: speak this WAV file (`--input FILE.wav`); err
   names the file when it cannot be read. */
int cli_callscript_from_wav(struct cli_callscript **out, const char *path,
			    char *err, size_t errlen);
/* Frees the script (NULL is fine); no run of it may go on after. */
void cli_callscript_destroy(struct cli_callscript *s);
size_t cli_callscript_steps(const struct cli_callscript *s);
/* The step's kind as the script names it ("say", "wait_mark"...); step
   is 0-based; NULL past the last. */
const char *cli_callscript_step_name(const struct cli_callscript *s,
				     size_t step);

/* What a run reports as it goes, for the load generator's figures and
   `wvoice call`'s messages. t_us is on the clock the run is fed. */
enum cli_moment {
	CLI_MOMENT_SPEECH_START, /* the caller's first sample of an utterance */
	CLI_MOMENT_SPEECH_END,	 /* ... and the time after its last */
	CLI_MOMENT_BARGE_IN,	 /* the caller starts talking over the agent */
	CLI_MOMENT_AGENT_START,	 /* the agent is heard after being quiet:
				    t_us is its first loud sample's time */
	CLI_MOMENT_AGENT_QUIET,	 /* quiet again; t_us after its last loud
				    sample */
	CLI_MOMENT_TIMEOUT,	 /* the step's wait timed out: t_us is its
				    deadline, and the run's step_start_us
				    still the step's start */
	CLI_MOMENT_DONE,	 /* the last step is done (a hangup too) */
};

/* Both optional (NULL); called from within the run's functions, on its
   thread. step is 0-based (cli_callscript_steps() for DONE). */
struct cli_callscript_hooks {
	void (*moment)(void *user, enum cli_moment m, int64_t t_us,
		       size_t step);
	void *user;
	/* A step begins at t_us (for `wvoice call --verbose`). */
	void (*step)(void *user, size_t step, int64_t t_us);
};

/* What the run wants done to the call. */
enum cli_action {
	CLI_ACTION_NONE,
	CLI_ACTION_DTMF,
	CLI_ACTION_MUTE,
	CLI_ACTION_UNMUTE,
	CLI_ACTION_HANGUP,
};

/* One call's progress through a script: caller-owned, small (no audio is
   copied: the script's clips are shared), no allocation after init. A
   zeroed run is not started: it speaks silence and ignores the rest. */
struct cli_callscript_run {
	const struct cli_callscript *s;
	struct cli_callscript_hooks hooks;
	size_t step;		 /* the step under way */
	int64_t step_start_us;	 /* when it began */
	size_t clip_pos;	 /* samples of a say/barge_in spoken */
	bool speaking;		 /* an utterance is going out */
	bool agent_heard;	 /* heard since the caller's last action */
	bool agent_talking;	 /* heard within the last CLI_QUIET_MS */
	int64_t agent_last_us;	 /* after its last loud sample */
	int64_t last_action_us;	 /* the caller's last action */
	char last_mark[64];	 /* the last mark played, cut to fit */
	uint64_t mark_count;	 /* marks played so far */
	uint64_t mark_waited;	 /* the count when wait_mark began */
	size_t dtmf_pos;	 /* digits of a dtmf step handed out */
	bool started, done, hung_up;
	/* private */
	bool met;		 /* the step's wait is over (not timed out) */
	int64_t met_us;		 /* ... at this time */
	int64_t deadline_us;	 /* the step ends by time alone then */
	int64_t heard_until_us;	 /* after the last sample heard */
};

/* Starts a run (the call is confirmed; its first step begins at now_us). */
void cli_callscript_run_init(struct cli_callscript_run *r,
			     const struct cli_callscript *s,
			     const struct cli_callscript_hooks *hooks,
			     int64_t now_us);

/*
 * The caller's next n samples at 8 kHz (-1.0 to 1.0), the first of them
 * spoken at t_us: speech while a say or barge_in step speaks, else
 * silence. Call it for every 20 ms the call sends, from the call's source.
 */
void cli_callscript_speak(struct cli_callscript_run *r, float *dst, size_t n,
			  int64_t t_us);

/* The agent's audio as played: n samples at 8 kHz, the first heard at
   t_us. Call it for every 20 ms played, silence included. */
void cli_callscript_heard(struct cli_callscript_run *r, const int16_t *pcm,
			  size_t n, int64_t t_us);

/* The playout reached mark id (the call answered it). */
void cli_callscript_mark_played(struct cli_callscript_run *r, const char *id,
				int64_t t_us);

/*
 * The next thing to do to the call by now_us, or CLI_ACTION_NONE: call it
 * until NONE after each of the above. *digit is set for CLI_ACTION_DTMF.
 * Steps that wait on time (silence, timeouts) advance here too.
 */
enum cli_action cli_callscript_next(struct cli_callscript_run *r,
				    int64_t now_us, char *digit);

/* Whether every step is done (the caller then stays, silent). */
bool cli_callscript_done(const struct cli_callscript_run *r);

#endif
