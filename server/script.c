/*
 * Scripted agents: reading and checking a script (see script.h). Every step
 * is checked before anything is rendered, so a typo at step 40 is reported
 * at once rather than after seconds of text to speech, and a script that
 * loads is one the session can run without surprises. Checking goes on
 * past a problem, so the author fixes them all in one go (common/
 * scriptcheck.h, shared with the command's caller scripts).
 */
#include "script.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <wvoice/error.h>
#include <wvoice/protocol.h>

#include "scriptcheck.h"
#include "tts.h"

#define PLAY_MAX_SECONDS 600.0

/* One load in progress. */
struct parse {
	struct wvs_check c;
	struct wvs_tts *tts;
	json_t *marks; /* names queued by the mark steps seen so far */
};

typedef int (*check_fn)(struct parse *p, size_t n, const char *key,
			json_t *v, struct wvs_step *st);

static int copy_text(struct parse *p, size_t n, const char *s,
		     struct wvs_step *st)
{
	st->text = strdup(s);
	return st->text ? 0 : wvs_check_nomem(&p->c, n);
}

static int check_say(struct parse *p, size_t n, const char *key, json_t *v,
		     struct wvs_step *st)
{
	const char *s;
	int rc = wvs_check_string(&p->c, n, key, v, "the text to speak");

	if (rc < 0)
		return rc;
	s = json_string_value(v);
	if (s[strspn(s, " \t\r\n")] == '\0')
		return wvs_check_fail(&p->c, n, WV_ERR_INVALID,
				      "\"%s\": the text is %s", key,
				      s[0] ? "only white space" : "empty");
	return copy_text(p, n, s, st);
}

static int check_play(struct parse *p, size_t n, const char *key, json_t *v,
		      struct wvs_step *st)
{
	int rc = wvs_check_string(&p->c, n, key, v, "a file name");

	if (rc < 0)
		return rc;
	return wvs_check_clip(&p->c, n, key, json_string_value(v),
			      PLAY_MAX_SECONDS, &st->text, &st->clip);
}

static int check_mark(struct parse *p, size_t n, const char *key, json_t *v,
		      struct wvs_step *st)
{
	int rc = wvs_check_mark_name(&p->c, n, key, v);

	if (rc < 0)
		return rc;
	if (json_object_set(p->marks, json_string_value(v), json_true()) < 0)
		return wvs_check_nomem(&p->c, n);
	return copy_text(p, n, json_string_value(v), st);
}

static int check_wait_mark(struct parse *p, size_t n, const char *key,
			   json_t *v, struct wvs_step *st)
{
	char q[WVS_CHECK_QUOTE_MAX];
	int rc = wvs_check_mark_name(&p->c, n, key, v);

	if (rc < 0)
		return rc;
	if (!json_object_get(p->marks, json_string_value(v)))
		return wvs_check_fail(&p->c, n, WV_ERR_INVALID,
				      "\"%s\": no earlier \"mark\" step queues "
				      "\"%s\", so this wait could only time out",
				      key,
				      wv_escape(q, sizeof q, json_string_value(v),
						json_string_length(v)));
	return copy_text(p, n, json_string_value(v), st);
}

static int check_wait_dtmf(struct parse *p, size_t n, const char *key,
			   json_t *v, struct wvs_step *st)
{
	int rc;

	if (json_is_true(v))
		return copy_text(p, n, "", st);
	if (!json_is_string(v))
		return wvs_check_fail(&p->c, n, WV_ERR_INVALID,
				      "\"%s\": must be the digits to wait for "
				      "(0-9, * or #), or true for any digit, "
				      "not %s",
				      key, wvs_json_kind(v));
	rc = wvs_check_digits(&p->c, n, key, v);
	if (rc < 0)
		return rc;
	return copy_text(p, n, json_string_value(v), st);
}

static int check_flag(struct parse *p, size_t n, const char *key, json_t *v,
		      struct wvs_step *st)
{
	(void)st;
	return wvs_check_true(&p->c, n, key, v);
}

static int check_pause(struct parse *p, size_t n, const char *key, json_t *v,
		       struct wvs_step *st)
{
	return wvs_check_ms(&p->c, n, key, v, 0, &st->ms);
}

/* Indexed by enum wvs_step_type, as checks[] is; the waits are timed. */
static const struct wvs_step_kind kinds[] = {
	[WVS_STEP_SAY] = {"say", false},
	[WVS_STEP_PLAY] = {"play", false},
	[WVS_STEP_MARK] = {"mark", false},
	[WVS_STEP_WAIT_MARK] = {"wait_mark", true},
	[WVS_STEP_WAIT_SPEECH] = {"wait_speech", true},
	[WVS_STEP_WAIT_DTMF] = {"wait_dtmf", true},
	[WVS_STEP_PAUSE] = {"pause", false},
	[WVS_STEP_CLEAR] = {"clear", false},
	[WVS_STEP_HANGUP] = {"hangup", false},
};

static const check_fn checks[] = {
	[WVS_STEP_SAY] = check_say,
	[WVS_STEP_PLAY] = check_play,
	[WVS_STEP_MARK] = check_mark,
	[WVS_STEP_WAIT_MARK] = check_wait_mark,
	[WVS_STEP_WAIT_SPEECH] = check_flag,
	[WVS_STEP_WAIT_DTMF] = check_wait_dtmf,
	[WVS_STEP_PAUSE] = check_pause,
	[WVS_STEP_CLEAR] = check_flag,
	[WVS_STEP_HANGUP] = check_flag,
};

#define KIND_COUNT (sizeof kinds / sizeof kinds[0])

/* Checks one step, reporting every problem in it. */
static void parse_step(struct parse *p, size_t n, json_t *obj,
		       struct wvs_step *st)
{
	json_t *value, *timeout;
	int k = wvs_check_step_keys(&p->c, n, obj, kinds, KIND_COUNT, "waits",
				    &value, &timeout);

	if (k < 0)
		return;
	st->type = (enum wvs_step_type)k;
	checks[k](p, n, kinds[k].key, value, st);
	if (!kinds[k].timed)
		return;
	st->ms = WVS_SCRIPT_TIMEOUT_MS;
	if (timeout)
		wvs_check_ms(&p->c, n, "timeout_ms", timeout, 1, &st->ms);
}

/* Speech, once the whole script is known to be good. */
static int render(struct parse *p, size_t n, struct wvs_step *st)
{
	int rc;

	if (st->type != WVS_STEP_SAY || !p->tts)
		return 0;
	rc = wvs_tts_render(p->tts, st->text, &st->clip);
	if (rc < 0)
		return wvs_check_fail(&p->c, n, rc,
				      "\"say\": text to speech failed: %s",
				      wv_strerror(rc));
	return 0;
}

/* Every step, in order; only running out of memory stops the check. */
static int check_steps(struct parse *p, struct wvs_script *s, json_t *steps)
{
	p->marks = json_object();
	if (!p->marks)
		return wvs_check_nomem(&p->c, 0);
	for (size_t i = 0; i < s->n_steps && p->c.code != WV_ERR_NOMEM; i++)
		parse_step(p, i + 1, json_array_get(steps, i), &s->steps[i]);
	json_decref(p->marks);
	p->marks = NULL;
	return p->c.code;
}

static int build(struct parse *p, struct wvs_script *s, const char *name,
		 json_t *root)
{
	json_t *steps = wvs_check_steps_of(&p->c, root);
	size_t n;
	int rc;

	if (!steps)
		return p->c.code;
	s->name = strdup(name);
	if (!s->name)
		return wvs_check_nomem(&p->c, 0);
	n = json_array_size(steps);
	if (n) {
		s->steps = calloc(n, sizeof *s->steps);
		if (!s->steps)
			return wvs_check_nomem(&p->c, 0);
		s->n_steps = n;
	}
	rc = check_steps(p, s, steps);
	for (size_t i = 0; i < s->n_steps && rc == 0; i++)
		rc = render(p, i + 1, &s->steps[i]);
	return rc;
}

static int parse_text(struct parse *p, struct wvs_script *s, const char *name,
		      const char *json, size_t len)
{
	json_t *root = wvs_check_json(&p->c, json, len);
	int rc;

	if (!root)
		return p->c.code;
	rc = build(p, s, name, root);
	json_decref(root);
	return rc < 0 ? wvs_check_finish(&p->c) : 0;
}

int wvs_script_parse(struct wvs_script *s, const char *name, const char *json,
		     size_t len, const char *dir, struct wvs_tts *tts,
		     char *err, size_t errlen)
{
	struct parse p = {.tts = tts};
	int rc;

	wvs_check_init(&p.c, name, WVS_SCRIPT_PROBLEMS_MAX, err, errlen);
	p.c.dir = dir;
	if (s)
		memset(s, 0, sizeof *s);
	if (!s || !name || (!json && len)) {
		p.c.who = "script";
		return wvs_check_fail(&p.c, 0, WV_ERR_INVALID,
				      "invalid argument");
	}
	rc = parse_text(&p, s, name, json ? json : "", len);
	if (rc < 0)
		wvs_script_cleanup(s);
	return rc;
}

int wvs_script_load(struct wvs_script *s, const char *name, const char *path,
		    struct wvs_tts *tts, char *err, size_t errlen)
{
	struct parse p = {.tts = tts};
	char *text = NULL, *dir = NULL;
	size_t len = 0;
	int rc;

	wvs_check_init(&p.c, path, WVS_SCRIPT_PROBLEMS_MAX, err, errlen);
	if (s)
		memset(s, 0, sizeof *s);
	if (!s || !name || !path) {
		p.c.who = "script";
		return wvs_check_fail(&p.c, 0, WV_ERR_INVALID,
				      "invalid argument");
	}
	rc = wvs_check_read(&p.c, path, WVS_SCRIPT_MAX_BYTES, &text, &len,
			    &dir);
	p.c.dir = dir;
	if (rc == 0)
		rc = parse_text(&p, s, name, text, len);
	if (rc < 0)
		wvs_script_cleanup(s);
	free(text);
	free(dir);
	return rc;
}

void wvs_script_cleanup(struct wvs_script *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n_steps; i++) {
		free(s->steps[i].text);
		wvs_clip_cleanup(&s->steps[i].clip);
	}
	free(s->steps);
	free(s->name);
	memset(s, 0, sizeof *s);
}
