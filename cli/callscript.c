/*
 * Caller scripts: loading and checking one (the shape and the problem list
 * are common/scriptcheck.h's, shared with the server's agent scripts), and
 * running one on a call (see callscript.h).
 *
 * The run keeps every time exact to the sample: a step that ends by time
 * (a silence, a timeout, a quiet wait) ends at its deadline, not when the
 * driver next calls, and the next step begins there. So the same audio
 * fed on a fake clock gives the same moments, however it is cut into
 * calls.
 */
#include "callscript.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <wvoice/error.h>
#include <wvoice/protocol.h>

#include "clip.h"
#include "scriptcheck.h"
#include "tts.h"

#define SAY_MAX_SECONDS 600.0
#define SAMPLE_US 125 /* at 8 kHz */
#define NEVER INT64_MAX

enum step_type {
	STEP_SAY,
	STEP_SILENCE,
	STEP_DTMF,
	STEP_WAIT_MARK,
	STEP_WAIT_AGENT_SPEECH,
	STEP_WAIT_AGENT_QUIET,
	STEP_MUTE,
	STEP_UNMUTE,
	STEP_BARGE_IN,
	STEP_HANGUP,
};

struct step {
	enum step_type type;
	char *text;	      /* say, barge_in: the text or the file's path;
				 dtmf: the digits; wait_mark: the id ("":
				 any) */
	bool speech;	      /* say, barge_in: text, rendered at load */
	struct wvs_clip clip; /* say, barge_in: the audio */
	unsigned ms;	      /* silence: its length; wait_agent_quiet: the
				 quiet it waits for */
	unsigned timeout_ms;  /* waits: when they give up; say, barge_in:
				 where the speech is cut (0: never) */
};

struct cli_callscript {
	struct step *steps;
	size_t n_steps;
};

/* ------------------------------------------------------------ checking */

struct parse {
	struct wvs_check c;
	size_t hangup; /* the step that hangs up (1-based), or 0 */
	bool unrendered; /* leave speech unrendered (cli_callscript_check) */
};

typedef int (*check_fn)(struct parse *p, size_t n, const char *key,
			json_t *v, struct step *st);

static int copy_text(struct parse *p, size_t n, const char *s,
		     struct step *st)
{
	st->text = strdup(s);
	return st->text ? 0 : wvs_check_nomem(&p->c, n);
}

/* "... .wav" in any case names a file; anything else is text. */
static bool names_wav(const char *s)
{
	size_t len = strlen(s);

	return len > 4 && strcasecmp(s + len - 4, ".wav") == 0;
}

static int say_text(struct parse *p, size_t n, const char *key,
		    const char *s, struct step *st)
{
	if (s[strspn(s, " \t\r\n")] == '\0')
		return wvs_check_fail(&p->c, n, WV_ERR_INVALID,
				      "\"%s\": the text is %s", key,
				      s[0] ? "only white space" : "empty");
	st->speech = true;
	return copy_text(p, n, s, st);
}

static int say_file(struct parse *p, size_t n, const char *key,
		    const char *file, struct step *st)
{
	return wvs_check_clip(&p->c, n, key, file, SAY_MAX_SECONDS, &st->text,
			      &st->clip);
}

/* {"file": F} or {"text": T}: exactly one. */
static int say_object(struct parse *p, size_t n, const char *key, json_t *v,
		      struct step *st)
{
	json_t *file = json_object_get(v, "file");
	json_t *text = json_object_get(v, "text");
	const char *k;
	json_t *x;
	char q[WVS_CHECK_QUOTE_MAX];
	int rc = 0;

	json_object_foreach(v, k, x)
	{
		if (strcmp(k, "file") && strcmp(k, "text"))
			rc = wvs_check_fail(&p->c, n, WV_ERR_INVALID,
					    "\"%s\": unknown key \"%s\" (\"file\" "
					    "or \"text\")",
					    key,
					    wv_escape(q, sizeof q, k, strlen(k)));
	}
	if (file && text)
		return wvs_check_fail(&p->c, n, WV_ERR_INVALID,
				      "\"%s\": both \"file\" and \"text\": one "
				      "or the other",
				      key);
	/* An unknown key is most likely one of the two, misspelt: said
	   once. */
	if (!file && !text && rc == 0)
		return wvs_check_fail(&p->c, n, WV_ERR_INVALID,
				      "\"%s\": neither \"file\" nor \"text\"",
				      key);
	if (rc < 0)
		return rc;
	if (file) {
		rc = wvs_check_string(&p->c, n, key, file, "a file name");
		return rc < 0 ? rc
			      : say_file(p, n, key, json_string_value(file),
					 st);
	}
	rc = wvs_check_string(&p->c, n, key, text, "the text to speak");
	return rc < 0 ? rc : say_text(p, n, key, json_string_value(text), st);
}

static int check_say(struct parse *p, size_t n, const char *key, json_t *v,
		     struct step *st)
{
	const char *s;

	if (json_is_object(v))
		return say_object(p, n, key, v, st);
	if (!json_is_string(v))
		return wvs_check_fail(&p->c, n, WV_ERR_INVALID,
				      "\"%s\": must be the text to speak, a .wav "
				      "file, {\"text\": T} or {\"file\": F}, "
				      "not %s",
				      key, wvs_json_kind(v));
	s = json_string_value(v);
	return names_wav(s) ? say_file(p, n, key, s, st)
			    : say_text(p, n, key, s, st);
}

static int check_silence(struct parse *p, size_t n, const char *key,
			 json_t *v, struct step *st)
{
	return wvs_check_ms(&p->c, n, key, v, 0, &st->ms);
}

static int check_dtmf(struct parse *p, size_t n, const char *key, json_t *v,
		      struct step *st)
{
	int rc = wvs_check_string(&p->c, n, key, v,
				  "the digits to send (0-9, * or #)");

	if (rc < 0)
		return rc;
	if (json_string_length(v) == 0)
		return wvs_check_fail(&p->c, n, WV_ERR_INVALID,
				      "\"%s\": no digits", key);
	rc = wvs_check_digits(&p->c, n, key, v);
	return rc < 0 ? rc : copy_text(p, n, json_string_value(v), st);
}

static int check_wait_mark(struct parse *p, size_t n, const char *key,
			   json_t *v, struct step *st)
{
	int rc;

	if (json_is_true(v) ||
	    (json_is_string(v) && json_string_length(v) == 0))
		return copy_text(p, n, "", st);
	if (!json_is_string(v))
		return wvs_check_fail(&p->c, n, WV_ERR_INVALID,
				      "\"%s\": must be a mark name, or true for "
				      "any mark, not %s",
				      key, wvs_json_kind(v));
	rc = wvs_check_mark_name(&p->c, n, key, v);
	return rc < 0 ? rc : copy_text(p, n, json_string_value(v), st);
}

static int check_quiet(struct parse *p, size_t n, const char *key, json_t *v,
		       struct step *st)
{
	return wvs_check_ms(&p->c, n, key, v, 1, &st->ms);
}

static int check_flag(struct parse *p, size_t n, const char *key, json_t *v,
		      struct step *st)
{
	(void)st;
	return wvs_check_true(&p->c, n, key, v);
}

/* Indexed by enum step_type, as checks[] is. Timed: a wait gives up, a
   say is cut. */
static const struct wvs_step_kind kinds[] = {
	[STEP_SAY] = {"say", true},
	[STEP_SILENCE] = {"silence", false},
	[STEP_DTMF] = {"dtmf", false},
	[STEP_WAIT_MARK] = {"wait_mark", true},
	[STEP_WAIT_AGENT_SPEECH] = {"wait_agent_speech", true},
	[STEP_WAIT_AGENT_QUIET] = {"wait_agent_quiet", true},
	[STEP_MUTE] = {"mute", false},
	[STEP_UNMUTE] = {"unmute", false},
	[STEP_BARGE_IN] = {"barge_in", true},
	[STEP_HANGUP] = {"hangup", false},
};

static const check_fn checks[] = {
	[STEP_SAY] = check_say,
	[STEP_SILENCE] = check_silence,
	[STEP_DTMF] = check_dtmf,
	[STEP_WAIT_MARK] = check_wait_mark,
	[STEP_WAIT_AGENT_SPEECH] = check_flag,
	[STEP_WAIT_AGENT_QUIET] = check_quiet,
	[STEP_MUTE] = check_flag,
	[STEP_UNMUTE] = check_flag,
	[STEP_BARGE_IN] = check_say,
	[STEP_HANGUP] = check_flag,
};

#define KIND_COUNT (sizeof kinds / sizeof kinds[0])

static bool is_wait(enum step_type t)
{
	return t == STEP_WAIT_MARK || t == STEP_WAIT_AGENT_SPEECH ||
	       t == STEP_WAIT_AGENT_QUIET || t == STEP_BARGE_IN;
}

/* Checks one step, reporting every problem in it. */
static void parse_step(struct parse *p, size_t n, json_t *obj,
		       struct step *st)
{
	json_t *value, *timeout;
	int k = wvs_check_step_keys(&p->c, n, obj, kinds, KIND_COUNT,
				    "steps that wait or speak", &value,
				    &timeout);

	/* Said once, at the first step that could never run. */
	if (p->hangup && p->hangup == n - 1)
		wvs_check_fail(&p->c, n, WV_ERR_INVALID,
			       "comes after the \"hangup\" at step %zu, so it "
			       "and any step after it could never run",
			       p->hangup);
	if (k < 0)
		return;
	st->type = (enum step_type)k;
	checks[k](p, n, kinds[k].key, value, st);
	if (st->type == STEP_HANGUP && !p->hangup)
		p->hangup = n;
	if (is_wait(st->type))
		st->timeout_ms = CLI_CALLSCRIPT_TIMEOUT_MS;
	if (timeout)
		wvs_check_ms(&p->c, n, "timeout_ms", timeout, 1,
			     &st->timeout_ms);
}

/* Speech, once the whole script is known to be good: the engine starts
   only for a script that has text to speak. */
static int render(struct parse *p, struct cli_callscript *s)
{
	struct wvs_tts *tts = NULL;
	char terr[256];
	int rc = 0;

	for (size_t i = 0; i < s->n_steps && rc == 0; i++) {
		struct step *st = &s->steps[i];

		if (!st->speech)
			continue;
		if (!tts) {
			terr[0] = '\0';
			rc = wvs_tts_create(&tts, NULL, 0, terr, sizeof terr);
			if (rc < 0) {
				wvs_check_fail(&p->c, i + 1, rc,
					       "\"%s\": text to speech: %s",
					       kinds[st->type].key,
					       terr[0] ? terr : wv_strerror(rc));
				break;
			}
		}
		rc = wvs_tts_render(tts, st->text, &st->clip);
		if (rc < 0)
			wvs_check_fail(&p->c, i + 1, rc,
				       "\"%s\": text to speech failed: %s",
				       kinds[st->type].key, wv_strerror(rc));
	}
	wvs_tts_destroy(tts);
	return p->c.code;
}

static int build(struct parse *p, struct cli_callscript *s, json_t *root)
{
	json_t *steps = wvs_check_steps_of(&p->c, root);
	size_t n;

	if (!steps)
		return p->c.code;
	n = json_array_size(steps);
	if (n) {
		s->steps = calloc(n, sizeof *s->steps);
		if (!s->steps)
			return wvs_check_nomem(&p->c, 0);
		s->n_steps = n;
	}
	/* Every step, in order; only running out of memory stops it. */
	for (size_t i = 0; i < n && p->c.code != WV_ERR_NOMEM; i++)
		parse_step(p, i + 1, json_array_get(steps, i), &s->steps[i]);
	if (p->c.code < 0 || p->unrendered)
		return p->c.code;
	return render(p, s);
}

static int parse_text(struct parse *p, struct cli_callscript **out,
		      const char *json, size_t len)
{
	struct cli_callscript *s = calloc(1, sizeof *s);
	json_t *root;
	int rc;

	if (!s)
		return wvs_check_nomem(&p->c, 0);
	root = wvs_check_json(&p->c, json, len);
	rc = root ? build(p, s, root) : p->c.code;
	json_decref(root);
	if (rc < 0) {
		cli_callscript_destroy(s);
		return wvs_check_finish(&p->c);
	}
	*out = s;
	return 0;
}

/* Starts a load whose messages begin with who: err emptied, *out
   NULL. Returns 0, or WV_ERR_INVALID said in err unless args_ok. */
static int start(struct parse *p, struct cli_callscript **out,
		 const char *who, bool args_ok, char *err, size_t errlen)
{
	wvs_check_init(&p->c, who ? who : "script",
		       CLI_CALLSCRIPT_PROBLEMS_MAX, err, errlen);
	if (out)
		*out = NULL;
	if (!out || !who || !args_ok)
		return wvs_check_fail(&p->c, 0, WV_ERR_INVALID,
				      "invalid argument");
	return 0;
}

int cli_callscript_parse(struct cli_callscript **out, const char *name,
			 const char *json, size_t len, const char *dir,
			 char *err, size_t errlen)
{
	struct parse p = {0};
	int rc = start(&p, out, name, json || !len, err, errlen);

	p.c.dir = dir;
	return rc < 0 ? rc : parse_text(&p, out, json ? json : "", len);
}

int cli_callscript_check(struct cli_callscript **out, const char *name,
			 const char *json, size_t len, const char *dir,
			 char *err, size_t errlen)
{
	struct parse p = { .unrendered = true };
	int rc = start(&p, out, name, json || !len, err, errlen);

	p.c.dir = dir;
	return rc < 0 ? rc : parse_text(&p, out, json ? json : "", len);
}

int cli_callscript_load(struct cli_callscript **out, const char *path,
			char *err, size_t errlen)
{
	struct parse p = {0};
	char *text = NULL, *dir = NULL;
	size_t len = 0;
	int rc = start(&p, out, path, true, err, errlen);

	if (rc < 0)
		return rc;
	rc = wvs_check_read(&p.c, path, CLI_CALLSCRIPT_MAX_BYTES, &text, &len,
			    &dir);
	p.c.dir = dir;
	if (rc == 0)
		rc = parse_text(&p, out, text, len);
	free(text);
	free(dir);
	return rc;
}

int cli_callscript_from_wav(struct cli_callscript **out, const char *path,
			    char *err, size_t errlen)
{
	struct parse p = {0};
	struct cli_callscript *s;
	int rc = start(&p, out, path, true, err, errlen);

	if (rc < 0)
		return rc;
	s = calloc(1, sizeof *s);
	if (s)
		s->steps = calloc(1, sizeof *s->steps);
	if (!s || !s->steps) {
		free(s);
		return wvs_check_nomem(&p.c, 0);
	}
	s->n_steps = 1;
	s->steps[0].type = STEP_SAY;
	rc = wvs_clip_load(&s->steps[0].clip, path, SAY_MAX_SECONDS, err,
			   errlen);
	if (rc == 0)
		rc = copy_text(&p, 0, path, &s->steps[0]);
	if (rc < 0) {
		cli_callscript_destroy(s);
		return rc;
	}
	*out = s;
	return 0;
}

void cli_callscript_destroy(struct cli_callscript *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n_steps; i++) {
		free(s->steps[i].text);
		wvs_clip_cleanup(&s->steps[i].clip);
	}
	free(s->steps);
	free(s);
}

size_t cli_callscript_steps(const struct cli_callscript *s)
{
	return s ? s->n_steps : 0;
}

const char *cli_callscript_step_name(const struct cli_callscript *s,
				     size_t step)
{
	if (!s || step >= s->n_steps)
		return NULL;
	return kinds[s->steps[step].type].key;
}

/* ------------------------------------------------------------ running */

static void moment(struct cli_callscript_run *r, enum cli_moment m,
		   int64_t t_us)
{
	if (r->hooks.moment)
		r->hooks.moment(r->hooks.user, m, t_us, r->step);
}

static const struct step *current(const struct cli_callscript_run *r)
{
	return r->started && !r->done ? &r->s->steps[r->step] : NULL;
}

/* When the step under way ends by time alone, with nothing heard. */
static int64_t deadline_of(const struct cli_callscript_run *r,
			   const struct step *st)
{
	if (st->type == STEP_SILENCE)
		return r->step_start_us + (int64_t)st->ms * 1000;
	if (is_wait(st->type))
		return r->step_start_us + (int64_t)st->timeout_ms * 1000;
	return NEVER;
}

static void begin(struct cli_callscript_run *r, int64_t t_us)
{
	const struct step *st;

	r->step_start_us = t_us;
	r->clip_pos = 0;
	r->speaking = false;
	r->dtmf_pos = 0;
	r->met = false;
	r->mark_waited = r->mark_count;
	if (r->step >= r->s->n_steps) {
		r->done = true;
		r->deadline_us = NEVER;
		moment(r, CLI_MOMENT_DONE, t_us);
		return;
	}
	st = &r->s->steps[r->step];
	r->deadline_us = deadline_of(r, st);
	if (r->hooks.step)
		r->hooks.step(r->hooks.user, r->step, t_us);
}

static void end_step(struct cli_callscript_run *r, int64_t t_us)
{
	r->step++;
	begin(r, t_us);
}

/* The caller did something: what the agent says from here on is its
   answer. */
static void acted(struct cli_callscript_run *r, int64_t t_us)
{
	r->last_action_us = t_us;
	r->agent_heard = r->agent_last_us > t_us;
}

/* The wait is over at t_us, by what was heard or played. */
static void meet(struct cli_callscript_run *r, int64_t t_us)
{
	r->met = true;
	r->met_us = t_us < r->step_start_us ? r->step_start_us : t_us;
	r->deadline_us = NEVER;
}

/* When wait_agent_quiet is met: the agent, heard since the caller's last
   action, has been quiet ms by the last sample heard. */
static bool quiet_met(const struct cli_callscript_run *r,
		      const struct step *st, int64_t *t_us)
{
	int64_t at = r->agent_last_us + (int64_t)st->ms * 1000;

	if (r->agent_last_us <= r->last_action_us || r->heard_until_us < at)
		return false;
	*t_us = at < r->step_start_us ? r->step_start_us : at;
	return true;
}

/*
 * Ends every step that is over by now_us, beginning the next at the exact
 * time the last ended, up to one that is not: one that waits, speaks, or
 * is an action for cli_callscript_next() to hand out.
 */
static void advance(struct cli_callscript_run *r, int64_t now_us)
{
	const struct step *st;
	int64_t t;

	while ((st = current(r))) {
		if (st->type == STEP_WAIT_AGENT_QUIET && !r->met &&
		    quiet_met(r, st, &t) && t <= r->deadline_us)
			meet(r, t);
		if (st->type == STEP_BARGE_IN && r->met)
			return; /* speaks until speak() ends it */
		if (r->met) {
			end_step(r, r->met_us);
		} else if (now_us >= r->deadline_us) {
			t = r->deadline_us;
			if (is_wait(st->type))
				moment(r, CLI_MOMENT_TIMEOUT, t);
			end_step(r, t);
		} else {
			return;
		}
	}
}

void cli_callscript_run_init(struct cli_callscript_run *r,
			     const struct cli_callscript *s,
			     const struct cli_callscript_hooks *hooks,
			     int64_t now_us)
{
	memset(r, 0, sizeof *r);
	r->s = s;
	if (hooks)
		r->hooks = *hooks;
	r->started = true;
	/* Nothing heard yet: the agent's last sound lies before any action. */
	r->agent_last_us = now_us - 1;
	r->last_action_us = now_us - 1;
	r->heard_until_us = now_us;
	begin(r, now_us);
	advance(r, now_us);
}

/* Whether the step under way speaks at t_us, and from when. */
static bool speaks(const struct cli_callscript_run *r, const struct step *st,
		   int64_t *from_us)
{
	if (st->type == STEP_SAY)
		*from_us = r->step_start_us;
	else if (st->type == STEP_BARGE_IN && r->met)
		*from_us = r->met_us;
	else
		return false;
	return true;
}

static size_t samples_until(int64_t t_us, int64_t until_us, size_t left)
{
	int64_t k;

	if (until_us == NEVER)
		return left;
	k = (until_us - t_us + SAMPLE_US - 1) / SAMPLE_US;
	if (k < 1)
		return 1;
	return (uint64_t)k < left ? (size_t)k : left;
}

/* Up to left samples of the utterance from t_us; returns how many. */
static size_t utter(struct cli_callscript_run *r, const struct step *st,
		    float *dst, size_t left, int64_t t_us)
{
	int64_t cut = st->timeout_ms
			      ? r->step_start_us + (int64_t)st->timeout_ms * 1000
			      : NEVER;
	size_t k = st->clip.len - r->clip_pos;
	int64_t end;

	if (!r->speaking) {
		r->speaking = true;
		moment(r, CLI_MOMENT_SPEECH_START, t_us);
		if (st->type == STEP_BARGE_IN)
			moment(r, CLI_MOMENT_BARGE_IN, t_us);
	}
	if (k > left)
		k = left;
	if (cut != NEVER && t_us >= cut)
		k = 0;
	else if (cut != NEVER)
		k = samples_until(t_us, cut, k);
	for (size_t i = 0; i < k; i++)
		dst[i] = (float)st->clip.pcm[r->clip_pos + i] / 32768.0f;
	r->clip_pos += k;
	end = t_us + (int64_t)k * SAMPLE_US;
	if (r->clip_pos == st->clip.len || (cut != NEVER && end >= cut)) {
		r->speaking = false;
		moment(r, CLI_MOMENT_SPEECH_END, end);
		acted(r, end);
		end_step(r, end);
	}
	return k;
}

void cli_callscript_speak(struct cli_callscript_run *r, float *dst, size_t n,
			  int64_t t_us)
{
	size_t i = 0;

	while (i < n) {
		int64_t t = t_us + (int64_t)i * SAMPLE_US, from;
		const struct step *st;
		size_t k;

		advance(r, t);
		st = current(r);
		if (st && speaks(r, st, &from) && t >= from) {
			i += utter(r, st, dst + i, n - i, t);
			continue;
		}
		/* Silence up to whatever could change by time alone. */
		k = n - i;
		if (st && speaks(r, st, &from))
			k = samples_until(t, from, k);
		else if (st)
			k = samples_until(t, r->deadline_us, k);
		memset(dst + i, 0, k * sizeof *dst);
		i += k;
	}
}

/* The agent is heard again after a silence at t_us. */
static void agent_resumes(struct cli_callscript_run *r, int64_t t_us)
{
	if (r->agent_talking &&
	    t_us - r->agent_last_us >= (int64_t)CLI_QUIET_MS * 1000) {
		r->agent_talking = false;
		moment(r, CLI_MOMENT_AGENT_QUIET, r->agent_last_us);
	}
	/* A quiet wait met before this sound ends here, not after it. */
	r->heard_until_us = t_us;
	advance(r, t_us);
	if (!r->agent_talking) {
		r->agent_talking = true;
		moment(r, CLI_MOMENT_AGENT_START, t_us);
	}
}

/* Whether the step under way waits for the agent to be heard. */
static bool waits_for_speech(const struct cli_callscript_run *r)
{
	const struct step *st = current(r);

	return st && !r->met &&
	       (st->type == STEP_WAIT_AGENT_SPEECH ||
		st->type == STEP_BARGE_IN);
}

void cli_callscript_heard(struct cli_callscript_run *r, const int16_t *pcm,
			  size_t n, int64_t t_us)
{
	int64_t end = t_us + (int64_t)n * SAMPLE_US;

	if (!r->started)
		return;
	for (size_t i = 0; i < n; i++) {
		int64_t t = t_us + (int64_t)i * SAMPLE_US;
		int x = pcm[i];

		if (t >= r->deadline_us) {
			r->heard_until_us = t;
			advance(r, t);
		}
		if (x > -CLI_HEARD_LEVEL && x < CLI_HEARD_LEVEL)
			continue;
		if (t > r->agent_last_us || !r->agent_talking)
			agent_resumes(r, t);
		r->agent_last_us = t + SAMPLE_US;
		r->agent_heard = true;
		if (waits_for_speech(r)) {
			meet(r, t);
			advance(r, t);
		}
	}
	r->heard_until_us = end;
	if (r->agent_talking &&
	    end - r->agent_last_us >= (int64_t)CLI_QUIET_MS * 1000) {
		r->agent_talking = false;
		moment(r, CLI_MOMENT_AGENT_QUIET, r->agent_last_us);
	}
	advance(r, end);
}

void cli_callscript_mark_played(struct cli_callscript_run *r, const char *id,
				int64_t t_us)
{
	const struct step *st;

	if (!r->started || !id)
		return;
	advance(r, t_us);
	r->mark_count++;
	snprintf(r->last_mark, sizeof r->last_mark, "%s", id);
	st = current(r);
	if (st && st->type == STEP_WAIT_MARK && !r->met &&
	    (!st->text[0] || strcmp(st->text, id) == 0)) {
		meet(r, t_us);
		advance(r, t_us);
	}
}

enum cli_action cli_callscript_next(struct cli_callscript_run *r,
				    int64_t now_us, char *digit)
{
	const struct step *st;
	int64_t t;

	if (!r->started)
		return CLI_ACTION_NONE;
	advance(r, now_us);
	st = current(r);
	if (!st)
		return CLI_ACTION_NONE;
	t = now_us < r->step_start_us ? r->step_start_us : now_us;
	switch (st->type) {
	case STEP_DTMF:
		*digit = st->text[r->dtmf_pos++];
		acted(r, t);
		if (!st->text[r->dtmf_pos])
			end_step(r, t);
		return CLI_ACTION_DTMF;
	case STEP_MUTE:
	case STEP_UNMUTE:
		acted(r, t);
		end_step(r, t);
		return st->type == STEP_MUTE ? CLI_ACTION_MUTE
					     : CLI_ACTION_UNMUTE;
	case STEP_HANGUP:
		acted(r, t);
		r->hung_up = true;
		/* Nothing follows a hang-up (the check sees to it in a
		   script): the run is done. */
		r->step = r->s->n_steps - 1;
		end_step(r, t);
		return CLI_ACTION_HANGUP;
	default:
		return CLI_ACTION_NONE;
	}
}

bool cli_callscript_done(const struct cli_callscript_run *r)
{
	return r->done;
}
