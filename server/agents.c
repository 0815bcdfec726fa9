/* The built-in agents: demo, echo, silent and scripted. See agents.h. */
#include "agents.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <wvoice/error.h>

#include "script.h"
#include "tts.h"

#define MS 1000 /* µs */

static const char *const greeting_text =
	"Hello, this is the wvoice demo agent. Say something and I will say "
	"it back. Press a key and I will name it. Press pound to hang up.";
static const char *const goodbye_text = "Goodbye!";
static const char *const digit_names[12] = {
	"zero", "one", "two", "three", "four", "five",
	"six", "seven", "eight", "nine", "star", "pound",
};

int wvs_prompts_render(struct wvs_prompts *p, struct wvs_tts *tts, char *err,
		       size_t errlen)
{
	int rc;

	memset(p, 0, sizeof *p);
	rc = wvs_tts_render(tts, greeting_text, &p->greeting);
	if (rc == 0)
		rc = wvs_tts_render(tts, goodbye_text, &p->goodbye);
	for (size_t i = 0; rc == 0 && i < 12; i++)
		rc = wvs_tts_render(tts, digit_names[i], &p->digits[i]);
	if (rc < 0) {
		snprintf(err, errlen, "rendering the demo agent's speech: %s",
			 wv_strerror(rc));
		wvs_prompts_cleanup(p);
	}
	return rc;
}

void wvs_prompts_cleanup(struct wvs_prompts *p)
{
	wvs_clip_cleanup(&p->greeting);
	wvs_clip_cleanup(&p->goodbye);
	for (size_t i = 0; i < 12; i++)
		wvs_clip_cleanup(&p->digits[i]);
}

static int digit_index(char d)
{
	if (d >= '0' && d <= '9')
		return d - '0';
	return d == '*' ? 10 : 11;
}

/* Hanging up once the caller has heard what is queued: when the mark
   after it comes back (the agent's on_mark calls wvs_session_hangup()),
   or timeout_ms after it should have, when the agent is woken and calls
   hang_up_late(). */
static void hang_up_when_heard(struct wvs_session *s, int timeout_ms,
			       int64_t now)
{
	wvs_session_wake_at(s, wvs_session_talk_end(s, now) +
				       (int64_t)timeout_ms * MS);
}

static void hang_up_late(struct wvs_session *s, const char *mark,
			 int timeout_ms)
{
	wvs_session_logf(s, "the %s mark did not come back within %d ms; "
			    "hanging up",
			 mark, timeout_ms);
	wvs_session_hangup(s);
}

/* Plays back what the caller said, then a numbered mark. */
static void echo_back(struct wvs_session *s, unsigned *count,
		      const int16_t *pcm, size_t n)
{
	char mark[32];

	if (wvs_session_play_copy(s, pcm, n) < 0)
		return;
	snprintf(mark, sizeof mark, "echo-%u", ++*count);
	wvs_session_mark(s, mark);
}

/* ---- demo ---- */

struct demo {
	const struct wvs_prompts *prompts;
	unsigned echoes, digits;
	int leaving; /* said goodbye; waiting for its mark */
};

static void *demo_create(struct wvs_session *s, const void *arg)
{
	struct demo *d = calloc(1, sizeof *d);

	(void)s;
	if (d)
		d->prompts = arg;
	return d;
}

static void demo_start(struct wvs_session *s, void *state, int64_t now)
{
	struct demo *d = state;

	(void)now;
	wvs_session_play(s, &d->prompts->greeting);
	wvs_session_mark(s, "greeting");
}

static void demo_speech_start(struct wvs_session *s, void *state, int64_t now)
{
	struct demo *d = state;

	if (d->leaving || !wvs_session_talking(s, now))
		return;
	wvs_session_logf(s, "barge-in: the caller talked over the agent");
	wvs_session_clear(s);
}

static void demo_utterance(struct wvs_session *s, void *state,
			   const int16_t *pcm, size_t n, int64_t now)
{
	struct demo *d = state;

	(void)now;
	if (!d->leaving)
		echo_back(s, &d->echoes, pcm, n);
}

static void demo_dtmf(struct wvs_session *s, void *state, char digit,
		      int64_t now)
{
	struct demo *d = state;
	char mark[32];

	if (d->leaving)
		return;
	if (digit == '#') {
		d->leaving = 1;
		wvs_session_play(s, &d->prompts->goodbye);
		wvs_session_mark(s, "goodbye");
		hang_up_when_heard(s, WVS_GOODBYE_TIMEOUT_MS, now);
		return;
	}
	wvs_session_play(s, &d->prompts->digits[digit_index(digit)]);
	snprintf(mark, sizeof mark, "digit-%u", ++d->digits);
	wvs_session_mark(s, mark);
}

static void demo_mark(struct wvs_session *s, void *state, const char *mark,
		      int cleared, int64_t now)
{
	struct demo *d = state;

	(void)cleared;
	(void)now;
	if (d->leaving && strcmp(mark, "goodbye") == 0)
		wvs_session_hangup(s);
}

static void demo_wake(struct wvs_session *s, void *state, int64_t now)
{
	struct demo *d = state;

	(void)now;
	if (d->leaving)
		hang_up_late(s, "goodbye", WVS_GOODBYE_TIMEOUT_MS);
}

const struct wvs_agent wvs_agent_demo = {
	.name = "demo",
	.summary = "greets, says back what you say, names digits, # hangs up",
	.needs_vad = 1,
	.create = demo_create,
	.destroy = free,
	.on_start = demo_start,
	.on_speech_start = demo_speech_start,
	.on_utterance = demo_utterance,
	.on_dtmf = demo_dtmf,
	.on_mark = demo_mark,
	.on_wake = demo_wake,
};

/* ---- echo ---- */

static void *counter_create(struct wvs_session *s, const void *arg)
{
	(void)s;
	(void)arg;
	return calloc(1, sizeof(unsigned));
}

static void echo_utterance(struct wvs_session *s, void *state,
			   const int16_t *pcm, size_t n, int64_t now)
{
	(void)now;
	echo_back(s, state, pcm, n);
}

const struct wvs_agent wvs_agent_echo = {
	.name = "echo",
	.summary = "plays back each caller utterance, then a mark",
	.needs_vad = 1,
	.create = counter_create,
	.destroy = free,
	.on_utterance = echo_utterance,
};

/* ---- silent ---- */

static void silent_speech_start(struct wvs_session *s, void *state,
				int64_t now)
{
	(void)state;
	(void)now;
	wvs_session_logf(s, "caller speech starts");
}

static void silent_utterance(struct wvs_session *s, void *state,
			     const int16_t *pcm, size_t n, int64_t now)
{
	(void)state;
	(void)pcm;
	(void)now;
	wvs_session_logf(s, "caller utterance of %.2f s",
			 (double)n / WVS_RATE);
}

static void silent_dtmf(struct wvs_session *s, void *state, char digit,
			int64_t now)
{
	(void)state;
	(void)now;
	wvs_session_logf(s, "dtmf %c", digit);
}

static void silent_mark(struct wvs_session *s, void *state, const char *mark,
			int cleared, int64_t now)
{
	(void)state;
	(void)now;
	wvs_session_logf(s, "mark \"%s\" %s", mark,
			 cleared ? "cleared" : "played");
}

const struct wvs_agent wvs_agent_silent = {
	.name = "silent",
	.summary = "confirms the call, says nothing, logs what the caller does",
	.needs_vad = 1,
	.on_speech_start = silent_speech_start,
	.on_utterance = silent_utterance,
	.on_dtmf = silent_dtmf,
	.on_mark = silent_mark,
};

/* ---- scripted ---- */

/* A script's hangup while the agent talks waits for the mark right after
   its last audio: the script's own, or this one placed for it. */
#define HANGUP_MARK "hangup"

struct run {
	const struct wvs_script *script;
	size_t step;	 /* the next step to run */
	int waiting;	 /* the step before `step` is a wait or pause */
	int done;
	const char *last_mark; /* hangup waits for it to come back */
};

static void *script_create(struct wvs_session *s, const void *arg)
{
	struct run *r = calloc(1, sizeof *r);

	(void)s;
	if (r)
		r->script = arg;
	return r;
}

static const struct wvs_step *current(const struct run *r)
{
	return &r->script->steps[r->step - 1];
}

/* As a person would: once the caller has heard the last words. */
static void hang_up_after_last_words(struct wvs_session *s, struct run *r,
				     int64_t now)
{
	const struct wvs_step *before =
		r->step >= 2 ? &r->script->steps[r->step - 2] : NULL;

	if (!wvs_session_talking(s, now)) {
		wvs_session_hangup(s);
		return;
	}
	if (before && before->type == WVS_STEP_MARK) {
		r->last_mark = before->text;
	} else {
		r->last_mark = HANGUP_MARK;
		wvs_session_mark(s, HANGUP_MARK);
	}
	hang_up_when_heard(s, WVS_HANGUP_MARK_TIMEOUT_MS, now);
}

/* Runs steps until one has to wait, or the script ends. */
static void script_run(struct wvs_session *s, struct run *r, int64_t now)
{
	r->waiting = 0;
	while (!r->done && r->step < r->script->n_steps) {
		const struct wvs_step *st = &r->script->steps[r->step++];

		switch (st->type) {
		case WVS_STEP_SAY:
		case WVS_STEP_PLAY:
			wvs_session_play(s, &st->clip);
			break;
		case WVS_STEP_MARK:
			wvs_session_mark(s, st->text);
			break;
		case WVS_STEP_CLEAR:
			wvs_session_clear(s);
			break;
		case WVS_STEP_HANGUP:
			r->done = 1;
			hang_up_after_last_words(s, r, now);
			break;
		case WVS_STEP_WAIT_MARK:
		case WVS_STEP_WAIT_SPEECH:
		case WVS_STEP_WAIT_DTMF:
		case WVS_STEP_PAUSE:
			r->waiting = 1;
			wvs_session_wake_at(s, now + (int64_t)st->ms * MS);
			return;
		}
	}
}

static int waiting_for(const struct run *r, enum wvs_step_type type)
{
	return r->waiting && current(r)->type == type;
}

static void script_go_on(struct wvs_session *s, struct run *r, int64_t now)
{
	wvs_session_wake_at(s, INT64_MAX);
	script_run(s, r, now);
}

static void script_start(struct wvs_session *s, void *state, int64_t now)
{
	script_run(s, state, now);
}

static void script_utterance(struct wvs_session *s, void *state,
			     const int16_t *pcm, size_t n, int64_t now)
{
	struct run *r = state;

	(void)pcm;
	(void)n;
	if (waiting_for(r, WVS_STEP_WAIT_SPEECH))
		script_go_on(s, r, now);
}

static void script_dtmf(struct wvs_session *s, void *state, char digit,
			int64_t now)
{
	struct run *r = state;
	const char *accept;

	if (!waiting_for(r, WVS_STEP_WAIT_DTMF))
		return;
	accept = current(r)->text;
	if (!accept || !*accept || strchr(accept, digit))
		script_go_on(s, r, now);
}

static void script_mark(struct wvs_session *s, void *state, const char *mark,
			int cleared, int64_t now)
{
	struct run *r = state;

	(void)cleared;
	if (r->last_mark && strcmp(mark, r->last_mark) == 0)
		wvs_session_hangup(s);
	else if (waiting_for(r, WVS_STEP_WAIT_MARK) &&
	    strcmp(current(r)->text, mark) == 0)
		script_go_on(s, r, now);
}

static void script_wake(struct wvs_session *s, void *state, int64_t now)
{
	struct run *r = state;
	const struct wvs_step *st;

	if (r->last_mark)
		hang_up_late(s, r->last_mark, WVS_HANGUP_MARK_TIMEOUT_MS);
	if (!r->waiting)
		return;
	st = current(r);
	if (st->type != WVS_STEP_PAUSE)
		wvs_session_logf(s, "script %s: step %zu timed out after %u ms; "
				    "going on",
				 r->script->name, r->step, st->ms);
	script_run(s, r, now);
}

const struct wvs_agent wvs_agent_script = {
	.name = "script",
	.summary = "runs a JSON script of steps (--script NAME=FILE)",
	.needs_vad = 1,
	.create = script_create,
	.destroy = free,
	.on_start = script_start,
	.on_utterance = script_utterance,
	.on_dtmf = script_dtmf,
	.on_mark = script_mark,
	.on_wake = script_wake,
};
