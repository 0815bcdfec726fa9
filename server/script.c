/*
 * Scripted agents: reading and checking a script (see script.h). Every step
 * is checked before anything is rendered, so a typo at step 40 is reported
 * at once rather than after seconds of text to speech, and a script that
 * loads is one the session can run without surprises. Checking goes on
 * past a problem, so the author fixes them all in one go.
 */
#include "script.h"

#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <wvoice/error.h>
#include <wvoice/protocol.h>

#include "tts.h"

#define JSON_FLAGS (JSON_REJECT_DUPLICATES | JSON_DECODE_ANY)
/* An hour: a longer pause or wait in a test script is a typo. */
#define MS_MAX 3600000
#define PLAY_MAX_SECONDS 600.0
/* Room for the quoted part of a hostile value in a message. */
#define QUOTE_MAX 48

#if defined(__GNUC__)
#define WVS_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define WVS_PRINTF(f, a)
#endif

/* One load in progress. */
struct parse {
	const char *who; /* what messages start with: the path or the name */
	const char *dir; /* where relative `play` paths start */
	struct wvs_tts *tts;
	char *err;
	size_t errlen;
	size_t used;	 /* of err */
	size_t problems; /* found so far, past WVS_SCRIPT_PROBLEMS_MAX too */
	int code;	 /* the load's result: the first problem's code */
	json_t *marks;	 /* names queued by the mark steps seen so far */
};

typedef int (*check_fn)(struct parse *p, size_t n, const char *key,
			json_t *v, struct wvs_step *st);

struct kind {
	const char *key;
	bool wait; /* takes "timeout_ms" */
	check_fn check;
};

/* Adds to err, truncated to the room left. */
WVS_PRINTF(2, 0)
static void vappend(struct parse *p, const char *fmt, va_list ap)
{
	int n;

	if (!p->err || p->used + 1 >= p->errlen)
		return;
	n = vsnprintf(p->err + p->used, p->errlen - p->used, fmt, ap);
	if (n > 0)
		p->used += (size_t)n < p->errlen - p->used
				   ? (size_t)n
				   : p->errlen - p->used - 1;
}

WVS_PRINTF(2, 3)
static void append(struct parse *p, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vappend(p, fmt, ap);
	va_end(ap);
}

/* Reports a problem, on a line of its own, and returns its code: the
   caller goes on to the next problem unless the code is WV_ERR_NOMEM. */
WVS_PRINTF(4, 5)
static int fail(struct parse *p, size_t step, int code, const char *fmt, ...)
{
	va_list ap;

	if (!p->code || code == WV_ERR_NOMEM)
		p->code = code;
	if (p->problems++ >= WVS_SCRIPT_PROBLEMS_MAX)
		return code;
	if (p->used)
		append(p, "\n");
	if (step)
		append(p, "%s: step %zu: ", p->who, step);
	else
		append(p, "%s: ", p->who);
	va_start(ap, fmt);
	vappend(p, fmt, ap);
	va_end(ap);
	return code;
}

static int nomem(struct parse *p, size_t step)
{
	return fail(p, step, WV_ERR_NOMEM, "out of memory");
}

/* The load's result, with the count of the problems not listed. */
static int finish(struct parse *p)
{
	if (p->problems > WVS_SCRIPT_PROBLEMS_MAX)
		append(p, "\n%s: ... and %zu more problems", p->who,
		       p->problems - WVS_SCRIPT_PROBLEMS_MAX);
	return p->code;
}

static const char *kind_of(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return "an object";
	case JSON_ARRAY:
		return "an array";
	case JSON_STRING:
		return "a string";
	case JSON_INTEGER:
		return "a whole number";
	case JSON_REAL:
		return "a number with a fraction or an exponent";
	case JSON_TRUE:
		return "true";
	case JSON_FALSE:
		return "false";
	case JSON_NULL:
		return "null";
	}
	return "an unknown JSON value";
}

static int copy_text(struct parse *p, size_t n, const char *s,
		     struct wvs_step *st)
{
	st->text = strdup(s);
	return st->text ? 0 : nomem(p, n);
}

static int need_string(struct parse *p, size_t n, const char *key,
		       const json_t *v, const char *what)
{
	if (json_is_string(v))
		return 0;
	return fail(p, n, WV_ERR_INVALID, "\"%s\": must be %s, not %s", key,
		    what, kind_of(v));
}

static int need_true(struct parse *p, size_t n, const char *key,
		     const json_t *v)
{
	if (json_is_true(v))
		return 0;
	return fail(p, n, WV_ERR_INVALID, "\"%s\": must be true, not %s", key,
		    kind_of(v));
}

/* A whole number of milliseconds from lo to MS_MAX. */
static int check_ms(struct parse *p, size_t n, const char *key,
		    const json_t *v, json_int_t lo, unsigned *out)
{
	json_int_t ms;

	if (!json_is_integer(v))
		return fail(p, n, WV_ERR_INVALID,
			    "\"%s\": must be a whole number of milliseconds, "
			    "not %s",
			    key, kind_of(v));
	ms = json_integer_value(v);
	if (ms < lo || ms > MS_MAX)
		return fail(p, n, WV_ERR_INVALID,
			    "\"%s\": %" JSON_INTEGER_FORMAT
			    " ms is out of range (%" JSON_INTEGER_FORMAT
			    " to %d)",
			    key, ms, lo, MS_MAX);
	*out = (unsigned)ms;
	return 0;
}

static char *resolve(const char *dir, const char *file)
{
	size_t dl, fl;
	bool slash;
	char *out;

	if (file[0] == '/' || !dir || !dir[0])
		return strdup(file);
	dl = strlen(dir);
	fl = strlen(file);
	slash = dir[dl - 1] != '/';
	out = malloc(dl + slash + fl + 1);
	if (!out)
		return NULL;
	memcpy(out, dir, dl);
	if (slash)
		out[dl] = '/';
	memcpy(out + dl + slash, file, fl + 1);
	return out;
}

static int check_say(struct parse *p, size_t n, const char *key, json_t *v,
		     struct wvs_step *st)
{
	const char *s;
	int rc = need_string(p, n, key, v, "the text to speak");

	if (rc < 0)
		return rc;
	s = json_string_value(v);
	if (s[strspn(s, " \t\r\n")] == '\0')
		return fail(p, n, WV_ERR_INVALID, "\"%s\": the text is %s", key,
			    s[0] ? "only white space" : "empty");
	return copy_text(p, n, s, st);
}

/* The file is loaded here rather than with the speech: reading it is
   quick, and a missing one is reported in its place among the rest. */
static int check_play(struct parse *p, size_t n, const char *key, json_t *v,
		      struct wvs_step *st)
{
	char cerr[512];
	int rc = need_string(p, n, key, v, "a file name");

	if (rc < 0)
		return rc;
	if (json_string_length(v) == 0)
		return fail(p, n, WV_ERR_INVALID, "\"%s\": the file name is empty",
			    key);
	st->text = resolve(p->dir, json_string_value(v));
	if (!st->text)
		return nomem(p, n);
	cerr[0] = '\0';
	rc = wvs_clip_load(&st->clip, st->text, PLAY_MAX_SECONDS, cerr,
			   sizeof cerr);
	if (rc >= 0)
		return 0;
	/* The clip's message should name the file; make sure it does. */
	if (cerr[0] && strstr(cerr, st->text))
		return fail(p, n, rc, "\"%s\": %s", key, cerr);
	return fail(p, n, rc, "\"%s\": %s: %s", key, st->text,
		    cerr[0] ? cerr : wv_strerror(rc));
}

/* A mark name, as the protocol accepts it. */
static int check_name(struct parse *p, size_t n, const char *key,
		      const json_t *v)
{
	size_t len;
	int rc = need_string(p, n, key, v, "a mark name");

	if (rc < 0)
		return rc;
	len = json_string_length(v);
	if (len == 0)
		return fail(p, n, WV_ERR_INVALID, "\"%s\": the mark name is empty",
			    key);
	if (len > WV_ID_MAX)
		return fail(p, n, WV_ERR_INVALID,
			    "\"%s\": the mark name is %zu bytes, longer than "
			    "the protocol's %d",
			    key, len, WV_ID_MAX);
	return 0;
}

static int check_mark(struct parse *p, size_t n, const char *key, json_t *v,
		      struct wvs_step *st)
{
	int rc = check_name(p, n, key, v);

	if (rc < 0)
		return rc;
	if (json_object_set(p->marks, json_string_value(v), json_true()) < 0)
		return nomem(p, n);
	return copy_text(p, n, json_string_value(v), st);
}

static int check_wait_mark(struct parse *p, size_t n, const char *key,
			   json_t *v, struct wvs_step *st)
{
	char q[QUOTE_MAX];
	int rc = check_name(p, n, key, v);

	if (rc < 0)
		return rc;
	if (!json_object_get(p->marks, json_string_value(v)))
		return fail(p, n, WV_ERR_INVALID,
			    "\"%s\": no earlier \"mark\" step queues \"%s\", so "
			    "this wait could only time out",
			    key,
			    wv_escape(q, sizeof q, json_string_value(v),
				  json_string_length(v)));
	return copy_text(p, n, json_string_value(v), st);
}

static int check_wait_dtmf(struct parse *p, size_t n, const char *key,
			   json_t *v, struct wvs_step *st)
{
	const char *s;
	size_t len;
	char q[QUOTE_MAX];

	if (json_is_true(v))
		return copy_text(p, n, "", st);
	if (!json_is_string(v))
		return fail(p, n, WV_ERR_INVALID,
			    "\"%s\": must be the digits to wait for (0-9, * "
			    "or #), or true for any digit, not %s",
			    key, kind_of(v));
	s = json_string_value(v);
	len = json_string_length(v);
	for (size_t i = 0; i < len; i++)
		if (!wv_dtmf_valid(s[i]))
			return fail(p, n, WV_ERR_INVALID,
				    "\"%s\": '%s' is not a DTMF digit (0-9, * "
				    "or #)",
				    key, wv_escape(q, sizeof q, s + i, 1));
	return copy_text(p, n, s, st);
}

static int check_flag(struct parse *p, size_t n, const char *key, json_t *v,
		      struct wvs_step *st)
{
	(void)st;
	return need_true(p, n, key, v);
}

static int check_pause(struct parse *p, size_t n, const char *key, json_t *v,
		       struct wvs_step *st)
{
	return check_ms(p, n, key, v, 0, &st->ms);
}

/* Indexed by enum wvs_step_type. */
static const struct kind kinds[] = {
	[WVS_STEP_SAY] = {"say", false, check_say},
	[WVS_STEP_PLAY] = {"play", false, check_play},
	[WVS_STEP_MARK] = {"mark", false, check_mark},
	[WVS_STEP_WAIT_MARK] = {"wait_mark", true, check_wait_mark},
	[WVS_STEP_WAIT_SPEECH] = {"wait_speech", true, check_flag},
	[WVS_STEP_WAIT_DTMF] = {"wait_dtmf", true, check_wait_dtmf},
	[WVS_STEP_PAUSE] = {"pause", false, check_pause},
	[WVS_STEP_CLEAR] = {"clear", false, check_flag},
	[WVS_STEP_HANGUP] = {"hangup", false, check_flag},
};

#define KIND_COUNT (sizeof kinds / sizeof kinds[0])

static const struct kind *find_kind(const char *key)
{
	for (size_t k = 0; k < KIND_COUNT; k++)
		if (strcmp(key, kinds[k].key) == 0)
			return &kinds[k];
	return NULL;
}

/* "say, play, ..." for the messages, from the table so it cannot drift. */
static const char *key_list(char *dst, size_t cap, bool waits_only)
{
	size_t o = 0;

	dst[0] = '\0';
	for (size_t k = 0; k < KIND_COUNT; k++) {
		int w;

		if (waits_only && !kinds[k].wait)
			continue;
		w = snprintf(dst + o, cap - o, "%s%s", o ? ", " : "",
			     kinds[k].key);
		if (w < 0 || (size_t)w >= cap - o)
			break;
		o += (size_t)w;
	}
	return dst;
}

/* Finds the step's one action and its "timeout_ms", if any; reports
   each key that is not one, and each action past the first. */
static void step_keys(struct parse *p, size_t n, json_t *obj,
		      const struct kind **kind, json_t **value,
		      json_t **timeout)
{
	const char *key;
	json_t *v;
	char q[QUOTE_MAX], list[128];
	bool unknown = false;

	json_object_foreach(obj, key, v)
	{
		const struct kind *k;

		if (strcmp(key, "timeout_ms") == 0) {
			*timeout = v;
			continue;
		}
		k = find_kind(key);
		if (!k) {
			unknown = true;
			fail(p, n, WV_ERR_INVALID,
			     "unknown key \"%s\" (a step is one of %s)",
			     wv_escape(q, sizeof q, key, strlen(key)),
			     key_list(list, sizeof list, false));
		} else if (*kind) {
			fail(p, n, WV_ERR_INVALID,
			     "both \"%s\" and \"%s\": one action per step",
			     (*kind)->key, k->key);
		} else {
			*kind = k;
			*value = v;
		}
	}
	/* An unknown key is most likely the action, misspelt: said once. */
	if (!*kind && !unknown)
		fail(p, n, WV_ERR_INVALID, "no action (one of %s)",
		     key_list(list, sizeof list, false));
	if (*kind && *timeout && !(*kind)->wait)
		fail(p, n, WV_ERR_INVALID,
		     "\"timeout_ms\" on a \"%s\" step: only waits (%s) time "
		     "out",
		     (*kind)->key, key_list(list, sizeof list, true));
}

/* Checks one step, reporting every problem in it. */
static void parse_step(struct parse *p, size_t n, json_t *obj,
		       struct wvs_step *st)
{
	const struct kind *kind = NULL;
	json_t *value = NULL, *timeout = NULL;

	if (!json_is_object(obj)) {
		fail(p, n, WV_ERR_INVALID,
		     "must be an object such as {\"say\": \"hello\"}, not %s",
		     kind_of(obj));
		return;
	}
	step_keys(p, n, obj, &kind, &value, &timeout);
	if (!kind)
		return;
	st->type = (enum wvs_step_type)(kind - kinds);
	kind->check(p, n, kind->key, value, st);
	if (!kind->wait)
		return;
	st->ms = WVS_SCRIPT_TIMEOUT_MS;
	if (timeout)
		check_ms(p, n, "timeout_ms", timeout, 1, &st->ms);
}

/* The list of steps: the root itself, or the root's "steps". NULL when
   there is none to check; a key beside "steps" is reported, and the
   steps are checked all the same. */
static json_t *steps_of(struct parse *p, json_t *root)
{
	const char *key;
	json_t *v, *steps;
	char q[QUOTE_MAX];

	if (json_is_array(root))
		return root;
	if (!json_is_object(root)) {
		fail(p, 0, WV_ERR_INVALID,
		     "a script is an array of steps or {\"steps\": [...]}, "
		     "not %s",
		     kind_of(root));
		return NULL;
	}
	json_object_foreach(root, key, v)
	{
		if (strcmp(key, "steps") != 0)
			fail(p, 0, WV_ERR_INVALID,
			     "unknown key \"%s\" (a script object has only "
			     "\"steps\")",
			     wv_escape(q, sizeof q, key, strlen(key)));
	}
	steps = json_object_get(root, "steps");
	if (!steps)
		fail(p, 0, WV_ERR_INVALID, "no \"steps\"");
	else if (!json_is_array(steps))
		fail(p, 0, WV_ERR_INVALID, "\"steps\" must be an array, not %s",
		     kind_of(steps));
	return json_is_array(steps) ? steps : NULL;
}

/* Speech, once the whole script is known to be good. */
static int render(struct parse *p, size_t n, struct wvs_step *st)
{
	int rc;

	if (st->type != WVS_STEP_SAY || !p->tts)
		return 0;
	rc = wvs_tts_render(p->tts, st->text, &st->clip);
	if (rc < 0)
		return fail(p, n, rc, "\"say\": text to speech failed: %s",
			    wv_strerror(rc));
	return 0;
}

/* Every step, in order; only running out of memory stops the check. */
static int check_steps(struct parse *p, struct wvs_script *s, json_t *steps)
{
	p->marks = json_object();
	if (!p->marks)
		return nomem(p, 0);
	for (size_t i = 0; i < s->n_steps && p->code != WV_ERR_NOMEM; i++)
		parse_step(p, i + 1, json_array_get(steps, i), &s->steps[i]);
	json_decref(p->marks);
	p->marks = NULL;
	return p->code;
}

static int build(struct parse *p, struct wvs_script *s, const char *name,
		 json_t *root)
{
	json_t *steps = steps_of(p, root);
	size_t n;
	int rc;

	if (!steps)
		return p->code;
	s->name = strdup(name);
	if (!s->name)
		return nomem(p, 0);
	n = json_array_size(steps);
	if (n) {
		s->steps = calloc(n, sizeof *s->steps);
		if (!s->steps)
			return nomem(p, 0);
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
	json_error_t jerr;
	json_t *root = json_loadb(json, len, JSON_FLAGS, &jerr);
	int rc;

	if (!root) {
		if (json_error_code(&jerr) == json_error_out_of_memory)
			return nomem(p, 0);
		if (jerr.line < 0)
			return fail(p, 0, WV_ERR_JSON, "%s", jerr.text);
		return fail(p, 0, WV_ERR_JSON, "line %d, column %d: %s",
			    jerr.line, jerr.column, jerr.text);
	}
	rc = build(p, s, name, root);
	json_decref(root);
	return rc < 0 ? finish(p) : 0;
}

int wvs_script_parse(struct wvs_script *s, const char *name, const char *json,
		     size_t len, const char *dir, struct wvs_tts *tts,
		     char *err, size_t errlen)
{
	struct parse p = {.who = name, .dir = dir, .tts = tts, .err = err,
			  .errlen = errlen};
	int rc;

	if (s)
		memset(s, 0, sizeof *s);
	if (!s || !name || (!json && len)) {
		p.who = "script";
		return fail(&p, 0, WV_ERR_INVALID, "invalid argument");
	}
	rc = parse_text(&p, s, name, json ? json : "", len);
	if (rc < 0)
		wvs_script_cleanup(s);
	return rc;
}

/* Reads the whole file, refusing one over WVS_SCRIPT_MAX_BYTES. */
static int read_file(struct parse *p, const char *path, char **text,
		     size_t *len)
{
	FILE *f = fopen(path, "rb");
	int rc = 0;

	if (!f)
		return fail(p, 0, WV_ERR_INVALID, "cannot open: %s",
			    strerror(errno));
	*text = malloc(WVS_SCRIPT_MAX_BYTES + 1);
	if (!*text) {
		fclose(f);
		return nomem(p, 0);
	}
	*len = fread(*text, 1, WVS_SCRIPT_MAX_BYTES + 1, f);
	if (ferror(f))
		rc = fail(p, 0, WV_ERR_INVALID, "cannot read: %s",
			  strerror(errno));
	else if (*len > WVS_SCRIPT_MAX_BYTES)
		rc = fail(p, 0, WV_ERR_TOO_LARGE,
			  "larger than %d bytes; a script is far smaller",
			  WVS_SCRIPT_MAX_BYTES);
	fclose(f);
	return rc;
}

/* The directory part of path, or NULL (with *dir NULL) for a bare name. */
static int dir_of(struct parse *p, const char *path, char **dir)
{
	const char *slash = strrchr(path, '/');
	size_t n;

	*dir = NULL;
	if (!slash)
		return 0;
	n = slash == path ? 1 : (size_t)(slash - path);
	*dir = malloc(n + 1);
	if (!*dir)
		return nomem(p, 0);
	memcpy(*dir, path, n);
	(*dir)[n] = '\0';
	return 0;
}

int wvs_script_load(struct wvs_script *s, const char *name, const char *path,
		    struct wvs_tts *tts, char *err, size_t errlen)
{
	struct parse p = {.who = path, .tts = tts, .err = err,
			  .errlen = errlen};
	char *text = NULL, *dir = NULL;
	size_t len = 0;
	int rc;

	if (s)
		memset(s, 0, sizeof *s);
	if (!s || !name || !path) {
		p.who = "script";
		return fail(&p, 0, WV_ERR_INVALID, "invalid argument");
	}
	rc = read_file(&p, path, &text, &len);
	if (rc == 0)
		rc = dir_of(&p, path, &dir);
	p.dir = dir;
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
