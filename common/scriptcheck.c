/* Checking a JSON script of steps: see scriptcheck.h. */
#include "scriptcheck.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <wvoice/error.h>
#include <wvoice/protocol.h>

#define JSON_FLAGS (JSON_REJECT_DUPLICATES | JSON_DECODE_ANY)

void wvs_check_init(struct wvs_check *c, const char *who, size_t max,
		    char *err, size_t errlen)
{
	*c = (struct wvs_check){.who = who, .max = max, .err = err,
				.errlen = err ? errlen : 0};
	if (c->errlen)
		err[0] = '\0';
}

/* Adds to err, truncated to the room left. */
WVS_CHECK_PRINTF(2, 0)
static void vappend(struct wvs_check *c, const char *fmt, va_list ap)
{
	int n;

	if (!c->err || c->used + 1 >= c->errlen)
		return;
	n = vsnprintf(c->err + c->used, c->errlen - c->used, fmt, ap);
	if (n > 0)
		c->used += (size_t)n < c->errlen - c->used
				   ? (size_t)n
				   : c->errlen - c->used - 1;
}

WVS_CHECK_PRINTF(2, 3)
static void append(struct wvs_check *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vappend(c, fmt, ap);
	va_end(ap);
}

/* A problem stays on its line whatever it quotes (a file name, jansson's
   view of text that is not JSON): control characters are written \xNN. */
static void append_line(struct wvs_check *c, const char *s)
{
	while (*s) {
		size_t n = 0;

		while (s[n] && (unsigned char)s[n] >= 0x20 && s[n] != 0x7f)
			n++;
		if (n)
			append(c, "%.*s", (int)n, s);
		if (!s[n])
			break;
		append(c, "\\x%02X", (unsigned)(unsigned char)s[n]);
		s += n + 1;
	}
}

int wvs_check_fail(struct wvs_check *c, size_t step, int code,
		   const char *fmt, ...)
{
	char problem[1024];
	va_list ap;

	if (!c->code || code == WV_ERR_NOMEM)
		c->code = code;
	if (c->problems++ >= c->max)
		return code;
	if (c->used)
		append(c, "\n");
	if (step)
		append(c, "%s: step %zu: ", c->who, step);
	else
		append(c, "%s: ", c->who);
	va_start(ap, fmt);
	vsnprintf(problem, sizeof problem, fmt, ap);
	va_end(ap);
	append_line(c, problem);
	return code;
}

int wvs_check_nomem(struct wvs_check *c, size_t step)
{
	return wvs_check_fail(c, step, WV_ERR_NOMEM, "out of memory");
}

int wvs_check_finish(struct wvs_check *c)
{
	if (c->problems > c->max)
		append(c, "\n%s: ... and %zu more problems", c->who,
		       c->problems - c->max);
	return c->code;
}

const char *wvs_json_kind(const json_t *v)
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

int wvs_check_string(struct wvs_check *c, size_t step, const char *key,
		     const json_t *v, const char *what)
{
	if (json_is_string(v))
		return 0;
	return wvs_check_fail(c, step, WV_ERR_INVALID,
			      "\"%s\": must be %s, not %s", key, what,
			      wvs_json_kind(v));
}

int wvs_check_true(struct wvs_check *c, size_t step, const char *key,
		   const json_t *v)
{
	if (json_is_true(v))
		return 0;
	return wvs_check_fail(c, step, WV_ERR_INVALID,
			      "\"%s\": must be true, not %s", key,
			      wvs_json_kind(v));
}

int wvs_check_ms(struct wvs_check *c, size_t step, const char *key,
		 const json_t *v, json_int_t lo, unsigned *out)
{
	json_int_t ms;

	if (!json_is_integer(v))
		return wvs_check_fail(c, step, WV_ERR_INVALID,
				      "\"%s\": must be a whole number of "
				      "milliseconds, not %s",
				      key, wvs_json_kind(v));
	ms = json_integer_value(v);
	if (ms < lo || ms > WVS_CHECK_MS_MAX)
		return wvs_check_fail(c, step, WV_ERR_INVALID,
				      "\"%s\": %" JSON_INTEGER_FORMAT
				      " ms is out of range (%" JSON_INTEGER_FORMAT
				      " to %d)",
				      key, ms, lo, WVS_CHECK_MS_MAX);
	*out = (unsigned)ms;
	return 0;
}

int wvs_check_digits(struct wvs_check *c, size_t step, const char *key,
		     const json_t *v)
{
	const char *s = json_string_value(v);
	size_t len = json_string_length(v);
	char q[WVS_CHECK_QUOTE_MAX];

	for (size_t i = 0; s && i < len; i++)
		if (!wv_dtmf_valid(s[i]))
			return wvs_check_fail(c, step, WV_ERR_INVALID,
					      "\"%s\": '%s' is not a DTMF digit "
					      "(0-9, * or #)",
					      key, wv_escape(q, sizeof q, s + i, 1));
	return 0;
}

int wvs_check_mark_name(struct wvs_check *c, size_t step, const char *key,
			const json_t *v)
{
	size_t len;
	int rc = wvs_check_string(c, step, key, v, "a mark name");

	if (rc < 0)
		return rc;
	len = json_string_length(v);
	if (len == 0)
		return wvs_check_fail(c, step, WV_ERR_INVALID,
				      "\"%s\": the mark name is empty", key);
	if (len > WV_ID_MAX)
		return wvs_check_fail(c, step, WV_ERR_INVALID,
				      "\"%s\": the mark name is %zu bytes, "
				      "longer than the protocol's %d",
				      key, len, WV_ID_MAX);
	return 0;
}

char *wvs_path_resolve(const char *dir, const char *file)
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

/* The file is loaded while checking rather than with any speech: reading
   it is quick, and a missing one is reported in its place among the
   rest. */
int wvs_check_clip(struct wvs_check *c, size_t step, const char *key,
		   const char *file, double max_seconds, char **path,
		   struct wvs_clip *clip)
{
	char cerr[512];
	int rc;

	if (!file[0])
		return wvs_check_fail(c, step, WV_ERR_INVALID,
				      "\"%s\": the file name is empty", key);
	*path = wvs_path_resolve(c->dir, file);
	if (!*path)
		return wvs_check_nomem(c, step);
	cerr[0] = '\0';
	rc = wvs_clip_load(clip, *path, max_seconds, cerr, sizeof cerr);
	if (rc >= 0)
		return 0;
	/* The clip's message should name the file; make sure it does. */
	if (cerr[0] && strstr(cerr, *path))
		return wvs_check_fail(c, step, rc, "\"%s\": %s", key, cerr);
	return wvs_check_fail(c, step, rc, "\"%s\": %s: %s", key, *path,
			      cerr[0] ? cerr : wv_strerror(rc));
}

/* The directory part of path, or NULL (with *dir NULL) for a bare name. */
static int dir_of(struct wvs_check *c, const char *path, char **dir)
{
	const char *slash = strrchr(path, '/');
	size_t n;

	*dir = NULL;
	if (!slash)
		return 0;
	n = slash == path ? 1 : (size_t)(slash - path);
	*dir = malloc(n + 1);
	if (!*dir)
		return wvs_check_nomem(c, 0);
	memcpy(*dir, path, n);
	(*dir)[n] = '\0';
	return 0;
}

int wvs_check_read(struct wvs_check *c, const char *path, size_t max_bytes,
		   char **text, size_t *len, char **dir)
{
	FILE *f = fopen(path, "rb");
	int rc = 0;

	*text = NULL;
	*dir = NULL;
	*len = 0;
	if (!f)
		return wvs_check_fail(c, 0, WV_ERR_INVALID, "cannot open: %s",
				      strerror(errno));
	*text = malloc(max_bytes + 1);
	if (!*text) {
		fclose(f);
		return wvs_check_nomem(c, 0);
	}
	*len = fread(*text, 1, max_bytes + 1, f);
	if (ferror(f))
		rc = wvs_check_fail(c, 0, WV_ERR_INVALID, "cannot read: %s",
				    strerror(errno));
	else if (*len > max_bytes)
		rc = wvs_check_fail(c, 0, WV_ERR_TOO_LARGE,
				    "larger than %zu bytes; a script is far "
				    "smaller",
				    max_bytes);
	fclose(f);
	return rc < 0 ? rc : dir_of(c, path, dir);
}

json_t *wvs_check_json(struct wvs_check *c, const char *text, size_t len)
{
	json_error_t jerr;
	json_t *root = json_loadb(text, len, JSON_FLAGS, &jerr);

	if (root)
		return root;
	if (json_error_code(&jerr) == json_error_out_of_memory)
		wvs_check_nomem(c, 0);
	else if (jerr.line < 0)
		wvs_check_fail(c, 0, WV_ERR_JSON, "%s", jerr.text);
	else
		wvs_check_fail(c, 0, WV_ERR_JSON, "line %d, column %d: %s",
			       jerr.line, jerr.column, jerr.text);
	return NULL;
}

json_t *wvs_check_steps_of(struct wvs_check *c, json_t *root)
{
	const char *key;
	json_t *v, *steps;
	char q[WVS_CHECK_QUOTE_MAX];

	if (json_is_array(root))
		return root;
	if (!json_is_object(root)) {
		wvs_check_fail(c, 0, WV_ERR_INVALID,
			       "a script is an array of steps or {\"steps\": "
			       "[...]}, not %s",
			       wvs_json_kind(root));
		return NULL;
	}
	json_object_foreach(root, key, v)
	{
		if (strcmp(key, "steps") != 0)
			wvs_check_fail(c, 0, WV_ERR_INVALID,
				       "unknown key \"%s\" (a script object has "
				       "only \"steps\")",
				       wv_escape(q, sizeof q, key, strlen(key)));
	}
	steps = json_object_get(root, "steps");
	if (!steps)
		wvs_check_fail(c, 0, WV_ERR_INVALID, "no \"steps\"");
	else if (!json_is_array(steps))
		wvs_check_fail(c, 0, WV_ERR_INVALID,
			       "\"steps\" must be an array, not %s",
			       wvs_json_kind(steps));
	return json_is_array(steps) ? steps : NULL;
}

/* "say, play, ..." for the messages, from the table so it cannot drift. */
static const char *key_list(char *dst, size_t cap,
			    const struct wvs_step_kind *kinds, size_t n,
			    bool timed_only)
{
	size_t o = 0;

	dst[0] = '\0';
	for (size_t k = 0; k < n; k++) {
		int w;

		if (timed_only && !kinds[k].timed)
			continue;
		w = snprintf(dst + o, cap - o, "%s%s", o ? ", " : "",
			     kinds[k].key);
		if (w < 0 || (size_t)w >= cap - o)
			break;
		o += (size_t)w;
	}
	return dst;
}

static int find_kind(const struct wvs_step_kind *kinds, size_t n,
		     const char *key)
{
	for (size_t k = 0; k < n; k++)
		if (strcmp(key, kinds[k].key) == 0)
			return (int)k;
	return -1;
}

int wvs_check_step_keys(struct wvs_check *c, size_t step, json_t *obj,
			const struct wvs_step_kind *kinds, size_t n,
			const char *timed_words, json_t **value,
			json_t **timeout)
{
	const char *key;
	json_t *v;
	char q[WVS_CHECK_QUOTE_MAX], list[192];
	bool unknown = false;
	int kind = -1;

	*value = *timeout = NULL;
	if (!json_is_object(obj)) {
		wvs_check_fail(c, step, WV_ERR_INVALID,
			       "must be an object such as {\"say\": \"hello\"}, "
			       "not %s",
			       wvs_json_kind(obj));
		return -1;
	}
	json_object_foreach(obj, key, v)
	{
		int k;

		if (strcmp(key, "timeout_ms") == 0) {
			*timeout = v;
			continue;
		}
		k = find_kind(kinds, n, key);
		if (k < 0) {
			unknown = true;
			wvs_check_fail(c, step, WV_ERR_INVALID,
				       "unknown key \"%s\" (a step is one of %s)",
				       wv_escape(q, sizeof q, key, strlen(key)),
				       key_list(list, sizeof list, kinds, n,
						false));
		} else if (kind >= 0) {
			wvs_check_fail(c, step, WV_ERR_INVALID,
				       "both \"%s\" and \"%s\": one action per "
				       "step",
				       kinds[kind].key, kinds[k].key);
		} else {
			kind = k;
			*value = v;
		}
	}
	/* An unknown key is most likely the action, misspelt: said once. */
	if (kind < 0 && !unknown)
		wvs_check_fail(c, step, WV_ERR_INVALID, "no action (one of %s)",
			       key_list(list, sizeof list, kinds, n, false));
	if (kind >= 0 && *timeout && !kinds[kind].timed)
		wvs_check_fail(c, step, WV_ERR_INVALID,
			       "\"timeout_ms\" on a \"%s\" step: only %s (%s) "
			       "time out",
			       kinds[kind].key, timed_words,
			       key_list(list, sizeof list, kinds, n, true));
	return kind;
}
