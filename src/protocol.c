/*
 * Event decoding and encoding. jansson is the authority on what is valid
 * JSON; the fast path below only ever accepts text that jansson would accept
 * and decode the same way, and declines everything else.
 */
#include <wvoice/protocol.h>

#include <jansson.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <wvoice/base64.h>
#include <wvoice/error.h>

#include "protocol.h"
#include "alloc.h"

#define JSON_FLAGS (JSON_REJECT_DUPLICATES | JSON_DECODE_ANY)
/* Room for the quoted part of a hostile value in an error detail. */
#define QUOTE_MAX 48

#if defined(__GNUC__)
#define WV_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define WV_PRINTF(f, a)
#endif

/* The audio buffer's first size: 200 ms, ten frames' worth. */
#define AUDIO_START 1600

struct wv_decoder {
	size_t max_audio;
	size_t audio_max; /* min(max_audio, largest payload a frame holds) */
	uint8_t *audio;	  /* grown up to audio_max by larger payloads */
	size_t audio_cap;
	json_t *json; /* the last slow-path parse; events point into it */
	char *text;   /* the last unknown event's text, owned */
	size_t text_cap;
	char error[256];
};

static const char *const event_names[] = {
	[WV_EVENT_START] = "start", [WV_EVENT_AUDIO] = "audio",
	[WV_EVENT_DTMF] = "dtmf",   [WV_EVENT_MARK] = "mark",
	[WV_EVENT_STOP] = "stop",   [WV_EVENT_CLEAR] = "clear",
};

#define EVENT_COUNT (sizeof event_names / sizeof event_names[0])

const char *wv_event_name(enum wv_event_type type)
{
	if ((size_t)type >= EVENT_COUNT)
		return NULL;
	return event_names[type];
}

static enum wv_event_type event_type(const char *name)
{
	for (size_t t = 1; t < EVENT_COUNT; t++)
		if (strcmp(name, event_names[t]) == 0)
			return (enum wv_event_type)t;
	return WV_EVENT_UNKNOWN;
}

int wv_dtmf_valid(char c)
{
	return (c >= '0' && c <= '9') || c == '*' || c == '#';
}

/* ---- decoder ---------------------------------------------------------- */

int wv_decoder_create(struct wv_decoder **out, size_t max_audio)
{
	struct wv_decoder *d = wv__calloc(1, sizeof *d);

	if (!d)
		return WV_ERR_NOMEM;
	d->max_audio = max_audio ? max_audio : WV_AUDIO_PAYLOAD_MAX;
	/* No frame can carry more, so a larger limit needs no larger buffer. */
	d->audio_max = d->max_audio < WV_BASE64_DECODED_MAX(WV_MESSAGE_MAX)
			       ? d->max_audio
			       : WV_BASE64_DECODED_MAX(WV_MESSAGE_MAX);
	/* Most payloads are one 20 ms frame: the buffer starts small (a
	   decoder per call, thousands of calls) and grows once if an agent
	   sends more at a time. */
	d->audio_cap = d->audio_max < AUDIO_START ? d->audio_max : AUDIO_START;
	d->audio = wv_malloc(d->audio_cap);
	if (!d->audio) {
		wv_free(d);
		return WV_ERR_NOMEM;
	}
	*out = d;
	return 0;
}

void wv_decoder_destroy(struct wv_decoder *d)
{
	if (!d)
		return;
	json_decref(d->json);
	wv_free(d->text);
	wv_free(d->audio);
	wv_free(d);
}

const char *wv_decoder_error(const struct wv_decoder *d)
{
	return d->error;
}

static int fail(struct wv_decoder *d, int code, const char *fmt, ...)
	WV_PRINTF(3, 4);

static int fail(struct wv_decoder *d, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(d->error, sizeof d->error, fmt, ap);
	va_end(ap);
	return code;
}

static const char *json_kind(const json_t *j)
{
	switch (json_typeof(j)) {
	case JSON_OBJECT:
		return "an object";
	case JSON_ARRAY:
		return "an array";
	case JSON_STRING:
		return "a string";
	case JSON_INTEGER:
	case JSON_REAL:
		return "a number";
	case JSON_TRUE:
	case JSON_FALSE:
		return "a boolean";
	case JSON_NULL:
		break;
	}
	return "null";
}

/* The byte count of valid, padded base64 of len characters. */
static size_t base64_size(const char *s, size_t len)
{
	size_t n = WV_BASE64_DECODED_MAX(len);

	if (len >= 4 && len % 4 == 0)
		n -= (s[len - 1] == '=') + (s[len - 2] == '=');
	return n;
}

/* Decodes a payload into the audio buffer; shared by both paths. */
static int decode_payload(struct wv_decoder *d, const char *s, size_t len,
			  struct wv_event *ev)
{
	size_t n = base64_size(s, len), bad = 0;
	int rc;

	if (n > d->audio_cap && n <= d->audio_max) {
		uint8_t *more = wv_realloc(d->audio, d->audio_max);

		if (!more)
			return fail(d, WV_ERR_NOMEM, "out of memory for a %zu "
				    "byte audio payload", n);
		d->audio = more;
		d->audio_cap = d->audio_max;
	}
	rc = wv_base64_decode(d->audio, d->audio_cap, &n, s, len, &bad);

	if (rc == WV_ERR_BASE64)
		return fail(d, rc, "field \"payload\": bad base64 at offset %zu",
			    bad);
	if (rc < 0)
		return fail(d, WV_ERR_TOO_LARGE,
			    "audio payload too large: %zu bytes, limit %zu",
			    base64_size(s, len), d->max_audio);
	ev->audio = d->audio;
	ev->audio_len = n;
	return 0;
}

/* ---- fast path ---------------------------------------------------------- */

static const char *skip_ws(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
		p++;
	return p;
}

/* Skips white space (JSON allows it before any token), then lit. */
static bool eat(const char **p, const char *end, const char *lit, size_t n)
{
	const char *q = skip_ws(*p, end);

	if ((size_t)(end - q) < n || memcmp(q, lit, n) != 0)
		return false;
	*p = q + n;
	return true;
}

struct fast_scan {
	bool event;
	const char *payload; /* the payload's characters, unescaped as is */
	size_t payload_len;
};

/* "key" : "value" for one of the two keys the hot shape has. */
static bool fast_member(const char **pp, const char *end, struct fast_scan *f)
{
	const char *p = *pp;
	const char *q;
	bool is_event = eat(&p, end, "\"event\"", 7);

	if (!is_event && !eat(&p, end, "\"payload\"", 9))
		return false;
	/* A second "event" or "payload": jansson rejects duplicates. */
	if (is_event ? f->event : f->payload != NULL)
		return false;
	if (!eat(&p, end, ":", 1))
		return false;
	if (is_event) {
		f->event = eat(&p, end, "\"audio\"", 7);
		*pp = p;
		return f->event;
	}
	if (!eat(&p, end, "\"", 1))
		return false;
	/* A backslash before this quote would make it an escaped one, but
	 * then base64 decoding fails on the backslash and the whole frame
	 * goes to jansson. */
	q = memchr(p, '"', (size_t)(end - p));
	if (!q)
		return false;
	f->payload = p;
	f->payload_len = (size_t)(q - p);
	*pp = q + 1;
	return true;
}

static bool fast_scan(const char *text, size_t len, struct fast_scan *f)
{
	const char *end = text + len;
	const char *p = text;

	return eat(&p, end, "{", 1) && fast_member(&p, end, f) &&
	       eat(&p, end, ",", 1) && fast_member(&p, end, f) &&
	       eat(&p, end, "}", 1) && skip_ws(p, end) == end;
}

int wv__decoder_decode_fast(struct wv_decoder *d, const char *text,
			    size_t len, struct wv_event *ev)
{
	struct fast_scan f = { 0 };

	if (!fast_scan(text, len, &f))
		return 1;
	/* The payload is plain text only if it is all base64 alphabet, which
	 * a successful decode proves; any failure is jansson's to report. */
	if (decode_payload(d, f.payload, f.payload_len, ev) < 0)
		return 1;
	ev->type = WV_EVENT_AUDIO;
	ev->name = event_names[WV_EVENT_AUDIO];
	d->error[0] = '\0';
	return 0;
}

/* ---- slow path ---------------------------------------------------------- */

/*
 * Looks up a string field. Returns 0 with *s NULL if it is absent and not
 * required, or an error naming the field.
 */
static int string_field(struct wv_decoder *d, const char *event,
			const char *key, bool required, const char **s,
			size_t *len)
{
	json_t *v = json_object_get(d->json, key);

	*s = NULL;
	*len = 0;
	if (!v) {
		if (!required)
			return 0;
		return fail(d, WV_ERR_FIELD_MISSING, "%s without \"%s\"", event,
			    key);
	}
	if (!json_is_string(v))
		return fail(d, WV_ERR_FIELD_TYPE,
			    "field \"%s\" must be a string, not %s", key,
			    json_kind(v));
	*s = json_string_value(v);
	*len = json_string_length(v);
	return 0;
}

static int id_field(struct wv_decoder *d, const char *event, const char *key,
		    bool required, const char **out)
{
	size_t len;
	int rc = string_field(d, event, key, required, out, &len);

	if (rc == 0 && len > WV_ID_MAX)
		return fail(d, WV_ERR_TOO_LARGE,
			    "field \"%s\" too long: %zu bytes, limit %d", key,
			    len, WV_ID_MAX);
	return rc;
}

static int dtmf_field(struct wv_decoder *d, struct wv_event *ev)
{
	const char *s;
	size_t len;
	char quoted[QUOTE_MAX];
	int rc = string_field(d, "dtmf", "dtmf", true, &s, &len);

	if (rc < 0)
		return rc;
	if (len != 1 || !wv_dtmf_valid(s[0])) {
		wv_escape(quoted, sizeof quoted, s, len);
		return fail(d, WV_ERR_DTMF, "bad DTMF digit \"%s\"", quoted);
	}
	ev->dtmf = s[0];
	return 0;
}

/* Keeps its own copy so ev->json outlives the caller's frame buffer. */
static int keep_text(struct wv_decoder *d, const char *text, size_t len,
		     struct wv_event *ev)
{
	if (len + 1 > d->text_cap) {
		char *t = wv_realloc(d->text, len + 1);

		if (!t)
			return fail(d, WV_ERR_NOMEM, "out of memory");
		d->text = t;
		d->text_cap = len + 1;
	}
	memcpy(d->text, text, len);
	d->text[len] = '\0';
	ev->json = d->text;
	ev->json_len = len;
	return 0;
}

static int decode_fields(struct wv_decoder *d, const char *text, size_t len,
			 struct wv_event *ev)
{
	const char *payload;
	size_t payload_len;
	int rc;

	switch (ev->type) {
	case WV_EVENT_START:
		return id_field(d, "start", "communication_id", false,
				&ev->communication_id);
	case WV_EVENT_AUDIO:
		rc = string_field(d, "audio", "payload", true, &payload,
				  &payload_len);
		return rc < 0 ? rc : decode_payload(d, payload, payload_len, ev);
	case WV_EVENT_DTMF:
		return dtmf_field(d, ev);
	case WV_EVENT_MARK:
		return id_field(d, "mark", "mark", true, &ev->mark);
	case WV_EVENT_STOP:
	case WV_EVENT_CLEAR:
		return 0;
	case WV_EVENT_UNKNOWN:
		break;
	}
	return keep_text(d, text, len, ev);
}

/* Parses text; *nomem says whether a failure was memory's, not the
   text's. jansson 2.14 does not always say so itself: it can report no
   error, or a syntax error at whatever token it could not allocate for. A
   second parse tells them apart: text that is not JSON fails it again at
   the same place with the same words. */
static json_t *load(const char *text, size_t len, json_error_t *err,
		    bool *nomem)
{
	json_error_t again;
	json_t *j = json_loadb(text, len, JSON_FLAGS, err);

	*nomem = false;
	if (j)
		return j;
	if (json_error_code(err) == json_error_out_of_memory || !err->text[0]) {
		*nomem = true;
		return NULL;
	}
	j = json_loadb(text, len, JSON_FLAGS, &again);
	if (!j && (again.position != err->position ||
		   strcmp(again.text, err->text) != 0))
		*nomem = true;
	return j;
}

static int decode_slow(struct wv_decoder *d, const char *text, size_t len,
		       struct wv_event *ev)
{
	json_error_t jerr;
	char detail[sizeof d->error];
	json_t *name;
	bool nomem;

	d->json = load(text, len, &jerr, &nomem);
	if (!d->json) {
		if (nomem)
			return fail(d, WV_ERR_NOMEM, "out of memory");
		wv_escape(detail, sizeof detail, jerr.text,
			    strlen(jerr.text));
		return fail(d, WV_ERR_JSON,
			    "not JSON: %s at line %d column %d (offset %d)",
			    detail, jerr.line, jerr.column, jerr.position);
	}
	if (!json_is_object(d->json))
		return fail(d, WV_ERR_NOT_OBJECT, "not an object: %s",
			    json_kind(d->json));
	name = json_object_get(d->json, "event");
	if (!name)
		return fail(d, WV_ERR_NO_EVENT, "no \"event\" field");
	if (!json_is_string(name))
		return fail(d, WV_ERR_FIELD_TYPE,
			    "field \"event\" must be a string, not %s",
			    json_kind(name));
	ev->name = json_string_value(name);
	ev->type = event_type(ev->name);
	return decode_fields(d, text, len, ev);
}

int wv_decoder_decode(struct wv_decoder *d, const char *text, size_t len,
		      struct wv_event *ev)
{
	int rc;

	*ev = (struct wv_event){ 0 };
	json_decref(d->json);
	d->json = NULL;
	if (!text)
		text = "";
	if (len > WV_MESSAGE_MAX)
		return fail(d, WV_ERR_TOO_LARGE,
			    "message too large: %zu bytes, limit %d", len,
			    WV_MESSAGE_MAX);
	if (wv__decoder_decode_fast(d, text, len, ev) == 0)
		return 0;
	rc = decode_slow(d, text, len, ev);
	if (rc < 0) {
		*ev = (struct wv_event){ 0 };
		return rc;
	}
	d->error[0] = '\0';
	return 0;
}

/* ---- encoding ----------------------------------------------------------- */

#define AUDIO_HEAD "{\"event\":\"audio\",\"payload\":\""
#define AUDIO_TAIL "\"}"

int wv_encode_audio(char *dst, size_t cap, const uint8_t *ulaw, size_t n)
{
	size_t head = sizeof AUDIO_HEAD - 1;
	size_t len;

	if (n > (SIZE_MAX - 64) / 4 * 3 || (n > 0 && !ulaw))
		return WV_ERR_INVALID;
	len = WV_AUDIO_EVENT_LEN(n);
	if (len >= cap || !dst)
		return WV_ERR_NOSPACE;
	if (len > INT_MAX)
		return WV_ERR_INVALID;
	memcpy(dst, AUDIO_HEAD, head);
	head += wv_base64_encode(dst + head, ulaw, n);
	memcpy(dst + head, AUDIO_TAIL, sizeof AUDIO_TAIL);
	return (int)len;
}

/* Writes obj compact, NUL-terminated, or reports why it did not fit. */
static int dump_into(char *dst, size_t cap, const json_t *obj)
{
	size_t n = json_dumpb(obj, dst, cap, JSON_COMPACT);

	if (n == 0)
		return WV_ERR_NOMEM; /* an object is never empty text */
	if (n >= cap)
		return WV_ERR_NOSPACE;
	if (n > INT_MAX)
		return WV_ERR_INVALID;
	dst[n] = '\0';
	return (int)n;
}

/* Adds a string member; INVALID if s is not UTF-8 or is over limit. */
static int add_string(json_t *obj, const char *key, const char *s,
		      size_t limit)
{
	size_t len = strlen(s);
	json_t *v;

	if (len > limit || !wv_utf8_valid(s, len))
		return WV_ERR_INVALID;
	/* Checked: from here only memory can fail. */
	v = json_stringn_nocheck(s, len);
	if (!v)
		return WV_ERR_NOMEM;
	return json_object_set_new(obj, key, v) ? WV_ERR_NOMEM : 0;
}

static int add_fields(json_t *obj, const struct wv_event *ev)
{
	char digit[2] = { ev->dtmf, '\0' };

	switch (ev->type) {
	case WV_EVENT_START:
		if (!ev->communication_id)
			return 0;
		return add_string(obj, "communication_id",
				  ev->communication_id, WV_ID_MAX);
	case WV_EVENT_DTMF:
		if (!wv_dtmf_valid(ev->dtmf))
			return WV_ERR_DTMF;
		return add_string(obj, "dtmf", digit, 1);
	case WV_EVENT_MARK:
		if (!ev->mark)
			return WV_ERR_INVALID;
		return add_string(obj, "mark", ev->mark, WV_ID_MAX);
	default:
		return 0;
	}
}

static int encode_known(char *dst, size_t cap, const struct wv_event *ev)
{
	json_t *obj = json_object();
	int rc;

	if (!obj)
		return WV_ERR_NOMEM;
	rc = add_string(obj, "event", wv_event_name(ev->type), SIZE_MAX);
	if (rc == 0)
		rc = add_fields(obj, ev);
	if (rc == 0)
		rc = dump_into(dst, cap, obj);
	json_decref(obj);
	return rc;
}

static int encode_unknown(char *dst, size_t cap, const struct wv_event *ev)
{
	json_error_t jerr;
	json_t *obj;
	int rc;

	if (!ev->json)
		return WV_ERR_INVALID;
	obj = json_loadb(ev->json, ev->json_len, JSON_FLAGS, &jerr);
	if (!obj)
		return json_error_code(&jerr) == json_error_out_of_memory
			       ? WV_ERR_NOMEM
			       : WV_ERR_JSON;
	if (!json_is_object(obj))
		rc = WV_ERR_NOT_OBJECT;
	else if (!json_is_string(json_object_get(obj, "event")))
		rc = WV_ERR_NO_EVENT;
	else
		rc = dump_into(dst, cap, obj);
	json_decref(obj);
	return rc;
}

int wv_encode_event(char *dst, size_t cap, const struct wv_event *ev)
{
	switch (ev->type) {
	case WV_EVENT_AUDIO:
		return wv_encode_audio(dst, cap, ev->audio, ev->audio_len);
	case WV_EVENT_UNKNOWN:
		return encode_unknown(dst, cap, ev);
	case WV_EVENT_START:
	case WV_EVENT_DTMF:
	case WV_EVENT_MARK:
	case WV_EVENT_STOP:
	case WV_EVENT_CLEAR:
		return encode_known(dst, cap, ev);
	}
	return WV_ERR_INVALID;
}

int wv_utf8_valid(const char *text, size_t n)
{
	const unsigned char *s = (const unsigned char *)text;
	size_t i = 0;

	while (i < n) {
		unsigned char b = s[i];
		size_t len;
		uint32_t cp;

		if (b < 0x80) {
			i++;
			continue;
		}
		if (b >= 0xc2 && b <= 0xdf)
			len = 2, cp = b & 0x1f;
		else if (b >= 0xe0 && b <= 0xef)
			len = 3, cp = b & 0x0f;
		else if (b >= 0xf0 && b <= 0xf4)
			len = 4, cp = b & 0x07;
		else
			return 0;
		if (n - i < len)
			return 0;
		for (size_t k = 1; k < len; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return 0;
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
		    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		i += len;
	}
	return 1;
}

const char *wv_escape(char *dst, size_t cap, const char *s, size_t len)
{
	size_t o = 0;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		char one[8];
		size_t n;

		if (c == '"' || c == '\\')
			n = (size_t)snprintf(one, sizeof one, "\\%c", c);
		else if (c < 0x20 || c >= 0x7f)
			n = (size_t)snprintf(one, sizeof one, "\\x%02X", c);
		else
			n = (size_t)snprintf(one, sizeof one, "%c", c);
		/* Keep room for "..." and the NUL. */
		if (o + n + 4 > cap) {
			memcpy(dst + o, "...", 3);
			o += 3;
			break;
		}
		memcpy(dst + o, one, n);
		o += n;
	}
	dst[o] = '\0';
	return dst;
}
