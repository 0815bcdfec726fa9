/*
 * Event decoding and encoding. Expected texts are written out by hand; the
 * fast path is checked against a reference decoder built here directly on
 * jansson and wv_base64_decode().
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <wvoice/base64.h>
#include <wvoice/error.h>
#include <wvoice/protocol.h>

#include "protocol.h"

#define BIG 70000

static struct wv_decoder *decoder(size_t max_audio)
{
	struct wv_decoder *d = NULL;

	assert_int_equal(wv_decoder_create(&d, max_audio), 0);
	assert_non_null(d);
	return d;
}

static int decode_str(struct wv_decoder *d, const char *text,
		      struct wv_event *ev)
{
	return wv_decoder_decode(d, text, strlen(text), ev);
}

/* An audio event around a payload, built without the code under test. */
static char *audio_text(const char *before, const uint8_t *bytes, size_t n,
			const char *after)
{
	size_t b64 = WV_BASE64_ENCODED_LEN(n);
	char *payload = malloc(b64 + 1);
	size_t cap = strlen(before) + b64 + strlen(after) + 1;
	char *text = malloc(cap);

	assert_non_null(payload);
	assert_non_null(text);
	wv_base64_encode(payload, bytes, n);
	snprintf(text, cap, "%s%s%s", before, payload, after);
	free(payload);
	return text;
}

static uint8_t *pattern(size_t n, uint32_t seed)
{
	uint8_t *b = malloc(n ? n : 1);

	assert_non_null(b);
	for (size_t i = 0; i < n; i++) {
		seed = seed * 1103515245u + 12345u;
		b[i] = (uint8_t)(seed >> 16);
	}
	return b;
}

/* ---- names ---------------------------------------------------------------- */

static void test_protocol_event_names_match_the_protocol(void **state)
{
	(void)state;
	assert_string_equal(wv_event_name(WV_EVENT_START), "start");
	assert_string_equal(wv_event_name(WV_EVENT_AUDIO), "audio");
	assert_string_equal(wv_event_name(WV_EVENT_DTMF), "dtmf");
	assert_string_equal(wv_event_name(WV_EVENT_MARK), "mark");
	assert_string_equal(wv_event_name(WV_EVENT_STOP), "stop");
	assert_string_equal(wv_event_name(WV_EVENT_CLEAR), "clear");
	assert_null(wv_event_name(WV_EVENT_UNKNOWN));
	assert_null(wv_event_name((enum wv_event_type)42));
}

static void test_protocol_dtmf_valid_accepts_only_keypad_digits(void **state)
{
	(void)state;
	for (int c = -128; c < 128; c++) {
		int want = (c >= '0' && c <= '9') || c == '*' || c == '#';

		assert_int_equal(!!wv_dtmf_valid((char)c), want);
	}
}

/* ---- encoding ------------------------------------------------------------- */

struct audio_vector {
	const char *bytes;
	size_t n;
	const char *text;
};

static void test_protocol_encode_audio_writes_exact_text(void **state)
{
	static const struct audio_vector vectors[] = {
		{ "", 0, "{\"event\":\"audio\",\"payload\":\"\"}" },
		{ "f", 1, "{\"event\":\"audio\",\"payload\":\"Zg==\"}" },
		{ "fo", 2, "{\"event\":\"audio\",\"payload\":\"Zm8=\"}" },
		{ "foo", 3, "{\"event\":\"audio\",\"payload\":\"Zm9v\"}" },
		{ "\xff\xff\xff\xff", 4,
		  "{\"event\":\"audio\",\"payload\":\"/////w==\"}" },
		{ "\xfb\xff", 2, "{\"event\":\"audio\",\"payload\":\"+/8=\"}" },
	};
	char buf[128];

	(void)state;
	for (size_t i = 0; i < sizeof vectors / sizeof vectors[0]; i++) {
		const struct audio_vector *v = &vectors[i];
		int len = wv_encode_audio(buf, sizeof buf,
					  (const uint8_t *)v->bytes, v->n);

		assert_int_equal(len, strlen(v->text));
		assert_int_equal(len, WV_AUDIO_EVENT_LEN(v->n));
		assert_string_equal(buf, v->text);
	}
}

static void test_protocol_encode_audio_length_matches_macro(void **state)
{
	static char buf[WV_AUDIO_EVENT_LEN(1000) + 1];
	uint8_t *bytes = pattern(1000, 7);

	(void)state;
	for (size_t n = 0; n <= 1000; n += 1 + n / 7) {
		int len = wv_encode_audio(buf, sizeof buf, bytes, n);

		assert_int_equal(len, WV_AUDIO_EVENT_LEN(n));
		assert_int_equal(strlen(buf), (size_t)len);
	}
	free(bytes);
}

struct encode_case {
	struct wv_event ev;
	const char *text; /* NULL: expect code */
	int code;
};

#define SPACED_UNKNOWN " { \"event\" : \"x\", \"b\": [1, 2], \"a\": {} } "

static const struct encode_case encode_cases[] = {
	{ { .type = WV_EVENT_START }, "{\"event\":\"start\"}", 0 },
	{ { .type = WV_EVENT_START, .communication_id = "c-1" },
	  "{\"event\":\"start\",\"communication_id\":\"c-1\"}", 0 },
	{ { .type = WV_EVENT_DTMF, .dtmf = '#' },
	  "{\"event\":\"dtmf\",\"dtmf\":\"#\"}", 0 },
	{ { .type = WV_EVENT_DTMF, .dtmf = '7' },
	  "{\"event\":\"dtmf\",\"dtmf\":\"7\"}", 0 },
	{ { .type = WV_EVENT_MARK, .mark = "m1" },
	  "{\"event\":\"mark\",\"mark\":\"m1\"}", 0 },
	{ { .type = WV_EVENT_MARK, .mark = "" },
	  "{\"event\":\"mark\",\"mark\":\"\"}", 0 },
	{ { .type = WV_EVENT_MARK, .mark = "m\"1" },
	  "{\"event\":\"mark\",\"mark\":\"m\\\"1\"}", 0 },
	{ { .type = WV_EVENT_MARK, .mark = "a\\b/c\n\x01" },
	  "{\"event\":\"mark\",\"mark\":\"a\\\\b/c\\n\\u0001\"}", 0 },
	{ { .type = WV_EVENT_MARK, .mark = "\xc3\xa9" },
	  "{\"event\":\"mark\",\"mark\":\"\xc3\xa9\"}", 0 },
	{ { .type = WV_EVENT_STOP }, "{\"event\":\"stop\"}", 0 },
	{ { .type = WV_EVENT_CLEAR }, "{\"event\":\"clear\"}", 0 },
	{ { .type = WV_EVENT_UNKNOWN,
	    .json = SPACED_UNKNOWN,
	    .json_len = sizeof SPACED_UNKNOWN - 1 },
	  "{\"event\":\"x\",\"b\":[1,2],\"a\":{}}", 0 },
	{ { .type = WV_EVENT_DTMF, .dtmf = 'x' }, NULL, WV_ERR_DTMF },
	{ { .type = WV_EVENT_DTMF, .dtmf = '\0' }, NULL, WV_ERR_DTMF },
	{ { .type = WV_EVENT_MARK }, NULL, WV_ERR_INVALID },
	{ { .type = WV_EVENT_MARK, .mark = "\xc3" }, NULL, WV_ERR_INVALID },
	{ { .type = WV_EVENT_START, .communication_id = "\xff" }, NULL,
	  WV_ERR_INVALID },
	{ { .type = WV_EVENT_UNKNOWN }, NULL, WV_ERR_INVALID },
	{ { .type = WV_EVENT_UNKNOWN, .json = "{\"event\":", .json_len = 9 },
	  NULL, WV_ERR_JSON },
	{ { .type = WV_EVENT_UNKNOWN, .json = "[1]", .json_len = 3 }, NULL,
	  WV_ERR_NOT_OBJECT },
	{ { .type = WV_EVENT_UNKNOWN, .json = "{\"a\":1}", .json_len = 7 },
	  NULL, WV_ERR_NO_EVENT },
	{ { .type = WV_EVENT_UNKNOWN, .json = "{\"event\":1}", .json_len = 11 },
	  NULL, WV_ERR_NO_EVENT },
	{ { .type = (enum wv_event_type)99 }, NULL, WV_ERR_INVALID },
};

static void test_protocol_encode_event_writes_compact_json(void **state)
{
	char buf[256];

	(void)state;
	for (size_t i = 0; i < sizeof encode_cases / sizeof encode_cases[0];
	     i++) {
		const struct encode_case *c = &encode_cases[i];
		int len = wv_encode_event(buf, sizeof buf, &c->ev);

		if (!c->text) {
			assert_int_equal(len, c->code);
			continue;
		}
		assert_int_equal(len, strlen(c->text));
		assert_string_equal(buf, c->text);
	}
}

static void test_protocol_encode_mark_too_long_is_invalid(void **state)
{
	char id[WV_ID_MAX + 2];
	char buf[WV_ID_MAX + 64];
	struct wv_event ev = { .type = WV_EVENT_MARK, .mark = id };

	(void)state;
	memset(id, 'm', sizeof id);
	id[WV_ID_MAX] = '\0';
	assert_int_equal(wv_encode_event(buf, sizeof buf, &ev),
			 WV_ID_MAX + (int)strlen("{\"event\":\"mark\",\"mark\":\"\"}"));
	id[WV_ID_MAX] = 'm';
	id[WV_ID_MAX + 1] = '\0';
	assert_int_equal(wv_encode_event(buf, sizeof buf, &ev), WV_ERR_INVALID);
	ev = (struct wv_event){ .type = WV_EVENT_START, .communication_id = id };
	assert_int_equal(wv_encode_event(buf, sizeof buf, &ev), WV_ERR_INVALID);
}

/* Every capacity short of length + 1 is refused, and nothing past cap is
 * touched. */
static void check_nospace(const struct wv_event *ev)
{
	char full[512];
	char buf[512];
	int len = wv_encode_event(full, sizeof full, ev);

	assert_true(len > 0);
	for (size_t cap = 0; cap <= (size_t)len; cap++) {
		memset(buf, '@', sizeof buf);
		assert_int_equal(wv_encode_event(cap ? buf : NULL, cap, ev),
				 WV_ERR_NOSPACE);
		assert_int_equal(buf[cap], '@');
	}
	assert_int_equal(wv_encode_event(buf, (size_t)len + 1, ev), len);
	assert_string_equal(buf, full);
}

static void test_protocol_encode_reports_nospace_on_small_buffers(void **state)
{
	uint8_t *bytes = pattern(160, 3);
	const struct wv_event events[] = {
		{ .type = WV_EVENT_START, .communication_id = "abc" },
		{ .type = WV_EVENT_AUDIO, .audio = bytes, .audio_len = 160 },
		{ .type = WV_EVENT_AUDIO, .audio = bytes, .audio_len = 1 },
		{ .type = WV_EVENT_DTMF, .dtmf = '*' },
		{ .type = WV_EVENT_MARK, .mark = "m\"\xc3\xa9" },
		{ .type = WV_EVENT_CLEAR },
		{ .type = WV_EVENT_UNKNOWN, .json = "{\"event\":\"x\"}",
		  .json_len = 13 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof events / sizeof events[0]; i++)
		check_nospace(&events[i]);
	free(bytes);
}

/* ---- round trip ----------------------------------------------------------- */

struct round_trip {
	struct wv_event ev;
	const char *name;
};

static void test_protocol_round_trip_keeps_every_event_type(void **state)
{
	static const uint8_t audio[5] = { 0x00, 0xff, 0x7f, 0x80, 0x10 };
	static const char unknown[] = "{\"event\":\"media\",\"x\":[1,{\"y\":null}]}";
	static const struct round_trip cases[] = {
		{ { .type = WV_EVENT_START }, "start" },
		{ { .type = WV_EVENT_START, .communication_id = "c-42" },
		  "start" },
		{ { .type = WV_EVENT_AUDIO, .audio = audio, .audio_len = 0 },
		  "audio" },
		{ { .type = WV_EVENT_AUDIO, .audio = audio, .audio_len = 1 },
		  "audio" },
		{ { .type = WV_EVENT_AUDIO, .audio = audio, .audio_len = 2 },
		  "audio" },
		{ { .type = WV_EVENT_AUDIO, .audio = audio, .audio_len = 5 },
		  "audio" },
		{ { .type = WV_EVENT_DTMF, .dtmf = '0' }, "dtmf" },
		{ { .type = WV_EVENT_DTMF, .dtmf = '9' }, "dtmf" },
		{ { .type = WV_EVENT_DTMF, .dtmf = '*' }, "dtmf" },
		{ { .type = WV_EVENT_DTMF, .dtmf = '#' }, "dtmf" },
		{ { .type = WV_EVENT_MARK, .mark = "" }, "mark" },
		{ { .type = WV_EVENT_MARK, .mark = "m\"1\\ \xc3\xa9\n" },
		  "mark" },
		{ { .type = WV_EVENT_STOP }, "stop" },
		{ { .type = WV_EVENT_CLEAR }, "clear" },
		{ { .type = WV_EVENT_UNKNOWN, .json = unknown,
		    .json_len = sizeof unknown - 1 },
		  "media" },
	};
	struct wv_decoder *d = decoder(0);
	char buf[256];

	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const struct wv_event *in = &cases[i].ev;
		struct wv_event out;
		int len = wv_encode_event(buf, sizeof buf, in);

		assert_true(len > 0);
		assert_int_equal(wv_decoder_decode(d, buf, (size_t)len, &out),
				 0);
		assert_int_equal(out.type, in->type);
		assert_string_equal(out.name, cases[i].name);
		assert_int_equal(out.dtmf, in->dtmf);
		assert_int_equal(out.audio_len, in->audio_len);
		if (in->audio_len)
			assert_memory_equal(out.audio, in->audio, in->audio_len);
		if (in->communication_id)
			assert_string_equal(out.communication_id,
					    in->communication_id);
		else
			assert_null(out.communication_id);
		if (in->mark)
			assert_string_equal(out.mark, in->mark);
		else
			assert_null(out.mark);
		if (in->json) {
			assert_int_equal(out.json_len, in->json_len);
			assert_memory_equal(out.json, in->json, in->json_len);
		} else {
			assert_null(out.json);
		}
		assert_string_equal(wv_decoder_error(d), "");
	}
	wv_decoder_destroy(d);
}

/* ---- decoding errors ------------------------------------------------------ */

struct decode_error {
	const char *text;
	int code;
	const char *detail; /* a substring of wv_decoder_error() */
};

static const struct decode_error decode_errors[] = {
	{ "", WV_ERR_JSON, "not JSON: " },
	{ "{", WV_ERR_JSON, "at line 1 column" },
	{ "{\"event\" 1}", WV_ERR_JSON, "(offset " },
	{ "{\"event\":\"audio\",\"payload\":\"AAAA\"}x", WV_ERR_JSON,
	  "not JSON" },
	{ "{\"event\":\"audio\",\"payload\":\"AAAA\",}", WV_ERR_JSON,
	  "not JSON" },
	{ "{\"event\":\"audio\",\"payload\":\"AAAA\",\"event\":\"audio\"}",
	  WV_ERR_JSON, "duplicate" },
	{ "{\"event\":\"audio\",\"payload\":\"AA\nAA\"}", WV_ERR_JSON,
	  "not JSON" },
	{ "{\"event\":\"mark\",\"mark\":\"\\u0000\"}", WV_ERR_JSON,
	  "not JSON" },
	{ "[1]", WV_ERR_NOT_OBJECT, "not an object: an array" },
	{ "\"x\"", WV_ERR_NOT_OBJECT, "not an object: a string" },
	{ "3", WV_ERR_NOT_OBJECT, "not an object: a number" },
	{ " 2.5 ", WV_ERR_NOT_OBJECT, "not an object: a number" },
	{ "true", WV_ERR_NOT_OBJECT, "not an object: a boolean" },
	{ "null", WV_ERR_NOT_OBJECT, "not an object: null" },
	{ "{}", WV_ERR_NO_EVENT, "no \"event\" field" },
	{ "{\"payload\":\"AAAA\"}", WV_ERR_NO_EVENT, "no \"event\" field" },
	{ "{\"Event\":\"stop\"}", WV_ERR_NO_EVENT, "no \"event\" field" },
	{ "{\"event\":3}", WV_ERR_FIELD_TYPE,
	  "field \"event\" must be a string, not a number" },
	{ "{\"event\":null}", WV_ERR_FIELD_TYPE,
	  "field \"event\" must be a string, not null" },
	{ "{\"event\":[\"audio\"]}", WV_ERR_FIELD_TYPE,
	  "must be a string, not an array" },
	{ "{\"event\":\"audio\"}", WV_ERR_FIELD_MISSING,
	  "audio without \"payload\"" },
	{ "{\"event\":\"audio\",\"payload\":3}", WV_ERR_FIELD_TYPE,
	  "field \"payload\" must be a string" },
	{ "{\"event\":\"audio\",\"payload\":null}", WV_ERR_FIELD_TYPE,
	  "field \"payload\" must be a string, not null" },
	{ "{\"event\":\"audio\",\"payload\":\"AAA\"}", WV_ERR_BASE64,
	  "field \"payload\": bad base64 at offset 0" },
	{ "{\"event\":\"audio\",\"payload\":\"AAAAAAAAAAAA!AAA\"}",
	  WV_ERR_BASE64, "field \"payload\": bad base64 at offset 12" },
	{ "{\"payload\":\"AAAAAAAAAAAA!AAA\", \"event\":\"audio\"}",
	  WV_ERR_BASE64, "field \"payload\": bad base64 at offset 12" },
	{ "{\"event\":\"audio\",\"payload\":\"AAAA AAA\"}", WV_ERR_BASE64,
	  "at offset 4" },
	{ "{\"event\":\"audio\",\"payload\":\"AA==AAAA\"}", WV_ERR_BASE64,
	  "at offset 2" },
	{ "{\"event\":\"audio\",\"payload\":\"AB==\"}", WV_ERR_BASE64,
	  "at offset 1" },
	{ "{\"event\":\"audio\",\"payload\":\"AA\\\\A\"}", WV_ERR_BASE64,
	  "at offset 2" },
	{ "{\"event\":\"audio\",\"payload\":\"QUJD\\\"\"}", WV_ERR_BASE64,
	  "at offset 4" },
	{ "{\"event\":\"audio\",\"payload\":\"-_-_\"}", WV_ERR_BASE64,
	  "at offset 0" },
	{ "{\"event\":\"dtmf\"}", WV_ERR_FIELD_MISSING, "dtmf without \"dtmf\"" },
	{ "{\"event\":\"dtmf\",\"dtmf\":1}", WV_ERR_FIELD_TYPE,
	  "field \"dtmf\" must be a string, not a number" },
	{ "{\"event\":\"dtmf\",\"dtmf\":\"12\"}", WV_ERR_DTMF,
	  "bad DTMF digit \"12\"" },
	{ "{\"event\":\"dtmf\",\"dtmf\":\"x\"}", WV_ERR_DTMF,
	  "bad DTMF digit \"x\"" },
	{ "{\"event\":\"dtmf\",\"dtmf\":\"\"}", WV_ERR_DTMF,
	  "bad DTMF digit \"\"" },
	{ "{\"event\":\"dtmf\",\"dtmf\":\"\\\"\"}", WV_ERR_DTMF,
	  "bad DTMF digit \"\\\"\"" },
	{ "{\"event\":\"dtmf\",\"dtmf\":\"\\n\xc3\xa9\"}", WV_ERR_DTMF,
	  "bad DTMF digit \"\\x0A\\xC3\\xA9\"" },
	{ "{\"event\":\"mark\"}", WV_ERR_FIELD_MISSING, "mark without \"mark\"" },
	{ "{\"event\":\"mark\",\"mark\":7}", WV_ERR_FIELD_TYPE,
	  "field \"mark\" must be a string, not a number" },
	{ "{\"event\":\"mark\",\"mark\":{}}", WV_ERR_FIELD_TYPE,
	  "not an object" },
	{ "{\"event\":\"start\",\"communication_id\":5}", WV_ERR_FIELD_TYPE,
	  "field \"communication_id\" must be a string, not a number" },
	{ "{\"event\":\"start\",\"communication_id\":null}", WV_ERR_FIELD_TYPE,
	  "field \"communication_id\" must be a string, not null" },
};

static void test_protocol_decode_reports_each_error(void **state)
{
	struct wv_decoder *d = decoder(0);

	(void)state;
	for (size_t i = 0; i < sizeof decode_errors / sizeof decode_errors[0];
	     i++) {
		const struct decode_error *c = &decode_errors[i];
		struct wv_event ev;
		int rc = decode_str(d, c->text, &ev);

		if (rc != c->code || !strstr(wv_decoder_error(d), c->detail))
			fail_msg("%s: got %s \"%s\", want %s \"%s\"", c->text,
				 wv_error_name(rc), wv_decoder_error(d),
				 wv_error_name(c->code), c->detail);
		/* One line, printable ASCII, whatever the input held. */
		for (const char *p = wv_decoder_error(d); *p; p++)
			assert_true(*p >= 0x20 && *p < 0x7f);
		assert_int_equal(ev.type, WV_EVENT_UNKNOWN);
		assert_null(ev.name);
		assert_null(ev.audio);
	}
	wv_decoder_destroy(d);
}

static void test_protocol_decode_rejects_non_utf8_as_json(void **state)
{
	static const char *const texts[] = {
		"{\"event\":\"mark\",\"mark\":\"\xc3\"}",
		"{\"event\":\"\xff\"}",
		"{\"event\":\"mark\",\"mark\":\"\xed\xa0\x80\"}",
		"{\"event\":\"mark\",\"mark\":\"\xc0\xaf\"}",
		"{\"event\":\"audio\",\"payload\":\"AAAA\",\"x\":\"\x80\"}",
		"{\"event\":\"audio\",\"payload\":\"AAAA\"}\xa0",
		"\xef\xbb\xbf{\"event\":\"stop\"}",
	};
	struct wv_decoder *d = decoder(0);
	struct wv_event ev;

	(void)state;
	for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
		assert_int_equal(decode_str(d, texts[i], &ev), WV_ERR_JSON);
		for (const char *p = wv_decoder_error(d); *p; p++)
			assert_true(*p >= 0x20 && *p < 0x7f);
	}
	wv_decoder_destroy(d);
}

static void test_protocol_decode_rejects_nul_inside_frame(void **state)
{
	static const char text[] = "{\"event\":\"stop\"}\0";
	struct wv_decoder *d = decoder(0);
	struct wv_event ev;

	(void)state;
	assert_int_equal(wv_decoder_decode(d, text, sizeof text - 2, &ev), 0);
	assert_int_equal(wv_decoder_decode(d, text, sizeof text - 1, &ev),
			 WV_ERR_JSON);
	wv_decoder_destroy(d);
}

/* A frame of exactly len bytes: an unknown event padded with a string. */
static char *frame_of(size_t len)
{
	static const char head[] = "{\"event\":\"pad\",\"p\":\"";
	char *text = malloc(len + 1);

	assert_non_null(text);
	assert_true(len >= sizeof head + 1);
	memcpy(text, head, sizeof head - 1);
	memset(text + sizeof head - 1, 'p', len - (sizeof head - 1) - 2);
	memcpy(text + len - 2, "\"}", 3);
	return text;
}

static void test_protocol_decode_limits_message_size(void **state)
{
	struct wv_decoder *d = decoder(0);
	char *at = frame_of(WV_MESSAGE_MAX);
	char *over = frame_of(WV_MESSAGE_MAX + 1);
	struct wv_event ev;

	(void)state;
	assert_int_equal(wv_decoder_decode(d, at, WV_MESSAGE_MAX, &ev), 0);
	assert_int_equal(ev.type, WV_EVENT_UNKNOWN);
	assert_int_equal(wv_decoder_decode(d, over, WV_MESSAGE_MAX + 1, &ev),
			 WV_ERR_TOO_LARGE);
	assert_string_equal(wv_decoder_error(d),
			    "message too large: 65537 bytes, limit 65536");
	free(at);
	free(over);
	wv_decoder_destroy(d);
}

static void check_audio_limit(size_t max_audio, size_t limit)
{
	struct wv_decoder *d = decoder(max_audio);
	uint8_t *bytes = pattern(limit + 1, 11);
	/* The canonical shape takes the fast path, the extra field the slow. */
	static const char *const tails[] = { "\"}", "\",\"seq\":1}" };
	char want[128];

	snprintf(want, sizeof want,
		 "audio payload too large: %zu bytes, limit %zu", limit + 1,
		 limit);
	for (size_t t = 0; t < 2; t++) {
		char *ok = audio_text("{\"event\":\"audio\",\"payload\":\"",
				      bytes, limit, tails[t]);
		char *big = audio_text("{\"event\":\"audio\",\"payload\":\"",
				       bytes, limit + 1, tails[t]);
		struct wv_event ev;

		assert_int_equal(decode_str(d, ok, &ev), 0);
		assert_int_equal(ev.audio_len, limit);
		assert_memory_equal(ev.audio, bytes, limit);
		assert_int_equal(decode_str(d, big, &ev), WV_ERR_TOO_LARGE);
		assert_string_equal(wv_decoder_error(d), want);
		free(ok);
		free(big);
	}
	free(bytes);
	wv_decoder_destroy(d);
}

static void test_protocol_decode_accepts_audio_up_to_the_limit(void **state)
{
	(void)state;
	check_audio_limit(160, 160);
	check_audio_limit(161, 161);
	check_audio_limit(162, 162);
	check_audio_limit(1, 1);
	check_audio_limit(0, WV_AUDIO_PAYLOAD_MAX);
}

static void test_protocol_decode_large_limit_is_bounded_by_frame(void **state)
{
	struct wv_decoder *d = NULL;
	uint8_t *bytes = pattern(40000, 5);
	char *text = audio_text("{\"event\":\"audio\",\"payload\":\"", bytes,
				40000, "\"}");
	struct wv_event ev;

	(void)state;
	assert_int_equal(wv_decoder_create(&d, SIZE_MAX), 0);
	assert_int_equal(decode_str(d, text, &ev), 0);
	assert_int_equal(ev.audio_len, 40000);
	assert_memory_equal(ev.audio, bytes, 40000);
	free(text);
	free(bytes);
	wv_decoder_destroy(d);
}

static void check_id_limit(const char *head)
{
	struct wv_decoder *d = decoder(0);
	char text[WV_ID_MAX + 64];
	size_t h = strlen(head);
	struct wv_event ev;

	memcpy(text, head, h);
	memset(text + h, 'i', WV_ID_MAX);
	memcpy(text + h + WV_ID_MAX, "\"}", 3);
	assert_int_equal(decode_str(d, text, &ev), 0);
	memcpy(text + h + WV_ID_MAX, "i\"}", 4);
	assert_int_equal(decode_str(d, text, &ev), WV_ERR_TOO_LARGE);
	assert_non_null(strstr(wv_decoder_error(d),
			       "too long: 1025 bytes, limit 1024"));
	wv_decoder_destroy(d);
}

static void test_protocol_decode_limits_id_length(void **state)
{
	(void)state;
	check_id_limit("{\"event\":\"mark\",\"mark\":\"");
	check_id_limit("{\"event\":\"start\",\"communication_id\":\"");
}

/* ---- decoding valid events ------------------------------------------------ */

static void test_protocol_decode_ignores_extra_fields(void **state)
{
	struct wv_decoder *d = decoder(0);
	struct wv_event ev;

	(void)state;
	assert_int_equal(
		decode_str(d,
			   "{\"extra\":{\"a\":[1]},\"event\":\"mark\","
			   "\"mark\":\"m1\",\"payload\":3,\"dtmf\":\"x\"}",
			   &ev),
		0);
	assert_int_equal(ev.type, WV_EVENT_MARK);
	assert_string_equal(ev.mark, "m1");
	assert_null(ev.audio);

	assert_int_equal(decode_str(d,
				    "{\"event\":\"audio\",\"seq\":7,"
				    "\"payload\":\"AAEC\"}",
				    &ev),
			 0);
	assert_int_equal(ev.type, WV_EVENT_AUDIO);
	assert_int_equal(ev.audio_len, 3);
	assert_memory_equal(ev.audio, "\x00\x01\x02", 3);

	assert_int_equal(decode_str(d,
				    "{\"event\":\"dtmf\",\"dtmf\":\"5\","
				    "\"duration\":100}",
				    &ev),
			 0);
	assert_int_equal(ev.dtmf, '5');

	assert_int_equal(decode_str(d,
				    "{\"event\":\"start\",\"communication_id\":"
				    "\"abc\",\"start\":{\"x\":1}}",
				    &ev),
			 0);
	assert_int_equal(ev.type, WV_EVENT_START);
	assert_string_equal(ev.communication_id, "abc");

	assert_int_equal(decode_str(d, "{\"event\":\"stop\",\"mark\":5}", &ev),
			 0);
	assert_int_equal(ev.type, WV_EVENT_STOP);
	assert_null(ev.mark);
	wv_decoder_destroy(d);
}

static void test_protocol_decode_start_without_id(void **state)
{
	struct wv_decoder *d = decoder(0);
	struct wv_event ev;

	(void)state;
	assert_int_equal(decode_str(d, "{\"event\":\"start\"}", &ev), 0);
	assert_int_equal(ev.type, WV_EVENT_START);
	assert_string_equal(ev.name, "start");
	assert_null(ev.communication_id);
	wv_decoder_destroy(d);
}

static void test_protocol_decode_empty_payload_is_no_audio(void **state)
{
	struct wv_decoder *d = decoder(0);
	struct wv_event ev;

	(void)state;
	assert_int_equal(decode_str(d, "{\"event\":\"audio\",\"payload\":\"\"}",
				    &ev),
			 0);
	assert_int_equal(ev.type, WV_EVENT_AUDIO);
	assert_int_equal(ev.audio_len, 0);
	assert_int_equal(decode_str(d, "{\"event\":\"audio\",\"payload\":\"\","
				       "\"x\":0}",
				    &ev),
			 0);
	assert_int_equal(ev.audio_len, 0);
	wv_decoder_destroy(d);
}

static void test_protocol_unknown_event_keeps_its_text(void **state)
{
	struct wv_decoder *d = decoder(0);
	char text[] = " {\"event\":\"media_info\", \"a\" : [1, 2.5e3] }\n";
	const size_t len = sizeof text - 1;
	struct wv_event ev;

	(void)state;
	assert_int_equal(wv_decoder_decode(d, text, len, &ev), 0);
	assert_int_equal(ev.type, WV_EVENT_UNKNOWN);
	assert_string_equal(ev.name, "media_info");
	assert_int_equal(ev.json_len, len);
	/* The decoder's own copy survives the caller's buffer. */
	memset(text, 'x', len);
	assert_memory_equal(ev.json,
			    " {\"event\":\"media_info\", \"a\" : [1, 2.5e3] }\n",
			    len);
	assert_string_equal(ev.name, "media_info");

	assert_int_equal(decode_str(d, "{\"event\":\"\"}", &ev), 0);
	assert_int_equal(ev.type, WV_EVENT_UNKNOWN);
	assert_string_equal(ev.name, "");
	assert_int_equal(ev.json_len, 12);

	/* Names are case-sensitive. */
	assert_int_equal(decode_str(d, "{\"event\":\"Audio\"}", &ev), 0);
	assert_int_equal(ev.type, WV_EVENT_UNKNOWN);
	assert_string_equal(ev.name, "Audio");
	wv_decoder_destroy(d);
}

struct mark_escape {
	const char *text;
	const char *mark;
	const char *encoded;
};

static void test_protocol_mark_escapes_decode_and_encode(void **state)
{
	static const struct mark_escape cases[] = {
		{ "{\"event\":\"mark\",\"mark\":\"m\\\"1\"}", "m\"1",
		  "{\"event\":\"mark\",\"mark\":\"m\\\"1\"}" },
		{ "{\"event\":\"mark\",\"mark\":\"\\u00e9\"}", "\xc3\xa9",
		  "{\"event\":\"mark\",\"mark\":\"\xc3\xa9\"}" },
		{ "{\"event\":\"mark\",\"mark\":\"\\ud83d\\ude00\"}",
		  "\xf0\x9f\x98\x80",
		  "{\"event\":\"mark\",\"mark\":\"\xf0\x9f\x98\x80\"}" },
		{ "{\"event\":\"mark\",\"mark\":\"a\\\\b\\/c\\n\\t\\u0001\"}",
		  "a\\b/c\n\t\x01",
		  "{\"event\":\"mark\",\"mark\":\"a\\\\b/c\\n\\t\\u0001\"}" },
		{ "{\"\\u0065vent\":\"\\u006dark\",\"mark\":\"x\"}", "x",
		  "{\"event\":\"mark\",\"mark\":\"x\"}" },
	};
	struct wv_decoder *d = decoder(0);
	char buf[128];

	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct wv_event ev;

		assert_int_equal(decode_str(d, cases[i].text, &ev), 0);
		assert_int_equal(ev.type, WV_EVENT_MARK);
		assert_string_equal(ev.mark, cases[i].mark);
		assert_int_equal(wv_encode_event(buf, sizeof buf, &ev),
				 strlen(cases[i].encoded));
		assert_string_equal(buf, cases[i].encoded);
	}
	wv_decoder_destroy(d);
}

static void test_protocol_error_is_cleared_by_success(void **state)
{
	struct wv_decoder *d = decoder(0);
	struct wv_event ev;

	(void)state;
	assert_string_equal(wv_decoder_error(d), "");
	assert_int_equal(decode_str(d, "[]", &ev), WV_ERR_NOT_OBJECT);
	assert_string_not_equal(wv_decoder_error(d), "");
	assert_int_equal(decode_str(d, "{\"event\":\"audio\",\"payload\":\"\"}",
				    &ev),
			 0);
	assert_string_equal(wv_decoder_error(d), "");
	assert_int_equal(decode_str(d, "{\"event\":\"audio\",\"payload\":\"A\"}",
				    &ev),
			 WV_ERR_BASE64);
	assert_string_not_equal(wv_decoder_error(d), "");
	assert_int_equal(decode_str(d, "{\"event\":\"clear\"}", &ev), 0);
	assert_string_equal(wv_decoder_error(d), "");
	wv_decoder_destroy(d);
}

/* ---- fast path against a reference ---------------------------------------- */

enum { NOT_AUDIO = 1 };

struct result {
	int code; /* 0, a WV_ERR_*, or NOT_AUDIO with name set */
	char name[256];
	uint8_t audio[BIG];
	size_t audio_len;
};

/* What the protocol says an audio frame means, straight from jansson. */
static void reference_decode(const char *text, size_t len, size_t max_audio,
			     struct result *r)
{
	json_error_t jerr;
	json_t *j = json_loadb(text, len,
			       JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
	json_t *ev, *payload;

	r->audio_len = 0;
	r->name[0] = '\0';
	if (!j) {
		r->code = WV_ERR_JSON;
		return;
	}
	ev = json_object_get(j, "event");
	payload = json_object_get(j, "payload");
	if (!json_is_object(j))
		r->code = WV_ERR_NOT_OBJECT;
	else if (!ev)
		r->code = WV_ERR_NO_EVENT;
	else if (!json_is_string(ev))
		r->code = WV_ERR_FIELD_TYPE;
	else if (strcmp(json_string_value(ev), "audio") != 0) {
		r->code = NOT_AUDIO;
		snprintf(r->name, sizeof r->name, "%s", json_string_value(ev));
	} else if (!payload)
		r->code = WV_ERR_FIELD_MISSING;
	else if (!json_is_string(payload))
		r->code = WV_ERR_FIELD_TYPE;
	else if (wv_base64_decode(r->audio, sizeof r->audio, &r->audio_len,
				  json_string_value(payload),
				  json_string_length(payload), NULL) < 0)
		r->code = WV_ERR_BASE64;
	else
		r->code = r->audio_len > max_audio ? WV_ERR_TOO_LARGE : 0;
	json_decref(j);
}

static bool known_name(const char *name)
{
	static const char *const names[] = { "start", "dtmf", "mark", "stop",
					     "clear" };

	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if (strcmp(name, names[i]) == 0)
			return true;
	return false;
}

struct agreement {
	struct wv_decoder *d;	 /* the full decoder */
	struct wv_decoder *fast; /* only the fast path */
	struct result ref;
	size_t checked, fast_taken;
};

static void check_agrees(struct agreement *a, const char *text, size_t len)
{
	struct wv_event ev;
	int rc = wv_decoder_decode(a->d, text, len, &ev);
	struct result *r = &a->ref;

	reference_decode(text, len, WV_AUDIO_PAYLOAD_MAX, r);
	a->checked++;
	if (r->code == NOT_AUDIO) {
		if (!known_name(r->name)) {
			assert_int_equal(rc, 0);
			assert_int_equal(ev.type, WV_EVENT_UNKNOWN);
			assert_string_equal(ev.name, r->name);
		}
		assert_true(rc < 0 || ev.type != WV_EVENT_AUDIO);
	} else {
		if (rc != r->code)
			fail_msg("%.*s: got %s (%s), reference %s", (int)len,
				 text, wv_error_name(rc), wv_decoder_error(a->d),
				 wv_error_name(r->code));
		if (rc == 0) {
			assert_int_equal(ev.type, WV_EVENT_AUDIO);
			assert_int_equal(ev.audio_len, r->audio_len);
			assert_memory_equal(ev.audio, r->audio, r->audio_len);
		}
	}
	if (wv__decoder_decode_fast(a->fast, text, len, &ev) == 0) {
		a->fast_taken++;
		assert_int_equal(r->code, 0);
		assert_int_equal(ev.type, WV_EVENT_AUDIO);
		assert_int_equal(ev.audio_len, r->audio_len);
		assert_memory_equal(ev.audio, r->audio, r->audio_len);
	}
}

static uint32_t next(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

/* Bytes that matter to a JSON scanner or to base64. */
static const char interesting[] = "\"\\{}[],: \n\t\rAZaz09+/=-_xue\0\x01"
				  "\x1f\x7f\x80\xc3\xa9\xff";

static size_t mutate(char *buf, size_t len, size_t cap, uint32_t *seed)
{
	size_t pos = len ? next(seed) % len : 0;
	char c = interesting[next(seed) % (sizeof interesting - 1)];
	size_t span;

	switch (next(seed) % 6) {
	case 0: /* replace */
		if (len)
			buf[pos] = c;
		return len;
	case 1: /* insert */
		if (len + 1 > cap)
			return len;
		memmove(buf + pos + 1, buf + pos, len - pos);
		buf[pos] = c;
		return len + 1;
	case 2: /* delete */
		if (!len)
			return len;
		memmove(buf + pos, buf + pos + 1, len - pos - 1);
		return len - 1;
	case 3: /* swap neighbours */
		if (pos + 1 < len) {
			char t = buf[pos];

			buf[pos] = buf[pos + 1];
			buf[pos + 1] = t;
		}
		return len;
	case 4: /* truncate */
		return pos;
	default: /* duplicate a span */
		span = 1 + next(seed) % 24;
		if (pos + span > len || len + span > cap)
			return len;
		memmove(buf + pos + span, buf + pos, len - pos);
		return len + span;
	}
}

struct variant {
	const char *text;
	bool fast; /* the fast path takes it */
};

/* Hand-made neighbours of the hot shape, valid or not. */
static const struct variant variants[] = {
	{ "{\"event\":\"audio\",\"payload\":\"AAEC\"}", true },
	{ "{\"payload\":\"AAEC\",\"event\":\"audio\"}", true },
	{ " \t\r\n{ \"event\" :\t\"audio\" ,\n\"payload\" : \"AAEC\" } \n",
	  true },
	{ "{\"event\":\"audio\",\"payload\":\"\"}", true },
	{ "{\"event\":\"audio\",\"payload\":\"AA==\"}", true },
	{ "{\"event\":\"audio\",\"payload\":\"AAE=\"}", true },
	{ "{\"event\":\"\\u0061udio\",\"payload\":\"AAEC\"}", false },
	{ "{\"\\u0065vent\":\"audio\",\"payload\":\"AAEC\"}", false },
	{ "{\"event\":\"audio\",\"p\\u0061yload\":\"AAEC\"}", false },
	{ "{\"event\":\"audio\",\"payload\":\"AA\\/C\"}", false },
	{ "{\"event\":\"audio\",\"payload\":\"AAE\\u0043\"}", false },
	{ "{\"event\":\"audio\",\"payload\":\"AAEC\",\"x\":1}", false },
	{ "{\"x\":\"y\",\"event\":\"audio\",\"payload\":\"AAEC\"}", false },
	{ "{\"event\":\"audio\",\"payload\":\"AAEC\",\"payload\":\"AAEC\"}",
	  false },
	{ "{\"event\":\"audio\",\"event\":\"audio\",\"payload\":\"AAEC\"}",
	  false },
	{ "{\"event\":\"audio\",\"event\":\"audio\"}", false },
	{ "{\"payload\":\"AAEC\",\"payload\":\"AAEC\"}", false },
	{ "{\"event\":\"audio\",\"payload\":\"AAEC\"}}", false },
	{ "{\"event\":\"audio\",\"payload\":\"AAEC\"} x", false },
	{ "{\"event\":\"audio\",\"payload\":\"AAEC\"}\v", false },
	{ "\f{\"event\":\"audio\",\"payload\":\"AAEC\"}", false },
	{ "{\"event\":\"audio\" \"payload\":\"AAEC\"}", false },
	{ "{\"event\":\"audio\",\"payload\":\"AAEC\",}", false },
	{ "{\"event\":\"audio\",,\"payload\":\"AAEC\"}", false },
	{ "{\"event\"\"audio\",\"payload\":\"AAEC\"}", false },
	{ "{\"event\"::\"audio\",\"payload\":\"AAEC\"}", false },
	{ "{\"event\":\"audio\",\"payload\":AAEC}", false },
	{ "{\"event\":audio,\"payload\":\"AAEC\"}", false },
	{ "{event:\"audio\",\"payload\":\"AAEC\"}", false },
	{ "{'event':'audio','payload':'AAEC'}", false },
	{ "{\"event\":\"audio\",\"payload\":\"AAEC\"", false },
	{ "{\"event\":\"audio\",\"payload\":\"AAEC", false },
	{ "{\"event\":\"audio\",\"payload\":\"AA\\\"EC\"}", false },
	{ "{\"event\":\"audio\",\"payload\":\"AAEC\\\\\"}", false },
	{ "{\"event\":\"audio\",\"payload\":\"AA\xc3\xa9\"}", false },
	{ "{\"event\":\"audio\",\"payload\":\"AAE\x01\"}", false },
	{ "{\"event\":\"audio\",\"payload\":[\"AAEC\"]}", false },
	{ "{\"event\":\"audio\",\"payload\":null}", false },
	{ "{\"event\":\"audio\"}", false },
	{ "{\"payload\":\"AAEC\"}", false },
	{ "{\"event\":\"audios\",\"payload\":\"AAEC\"}", false },
	{ "{\"event\":\"audi\",\"payload\":\"AAEC\"}", false },
	{ "{\"events\":\"audio\",\"payload\":\"AAEC\"}", false },
	{ "{\"event\":\"audio\",\"payloads\":\"AAEC\"}", false },
	{ "[\"event\",\"audio\",\"payload\",\"AAEC\"]", false },
	{ "{\"event\":\"audio\",\"payload\":\"AAE\"}", false },
	{ "{\"event\":\"audio\",\"payload\":\"AAE==\"}", false },
	{ "{\"event\":\"audio\",\"payload\":\"AAF=\"}", false },
	{ "{\"event\":\"audio\",\"payload\":\"AAEC\n\"}", false },
	{ "{\"event\":\"mark\",\"payload\":\"AAEC\"}", false },
	{ "{\"event\":\"stop\",\"payload\":\"AAEC\"}", false },
	{ "", false },
	{ "{}", false },
};

static void test_protocol_fast_path_takes_only_the_hot_shape(void **state)
{
	struct wv_decoder *d = decoder(0);

	(void)state;
	for (size_t i = 0; i < sizeof variants / sizeof variants[0]; i++) {
		struct wv_event ev;
		const char *t = variants[i].text;
		int taken = wv__decoder_decode_fast(d, t, strlen(t), &ev) == 0;

		if (taken != variants[i].fast)
			fail_msg("%s: fast path %s", t,
				 taken ? "took it" : "declined");
	}
	wv_decoder_destroy(d);
}

static void test_protocol_fast_path_agrees_with_jansson(void **state)
{
	static char buf[1024];
	struct agreement *a = calloc(1, sizeof *a);
	uint8_t *bytes = pattern(160, 1);
	char *bases[] = {
		audio_text("{\"event\":\"audio\",\"payload\":\"", bytes, 160,
			   "\"}"),
		audio_text("{\"payload\":\"", bytes, 160,
			   "\",\"event\":\"audio\"}"),
		audio_text(" {\n \"event\" : \"audio\",\t\"payload\":\"", bytes,
			   160, "\" }\r\n"),
		audio_text("{\"event\":\"audio\",\"payload\":\"", bytes, 1,
			   "\"}"),
		audio_text("{\"event\":\"audio\",\"payload\":\"", bytes, 2,
			   "\"}"),
		audio_text("{\"event\":\"audio\",\"payload\":\"", bytes, 0,
			   "\"}"),
	};
	const size_t nbases = sizeof bases / sizeof bases[0];
	uint32_t seed = 0x9e3779b9u;

	(void)state;
	assert_non_null(a);
	a->d = decoder(0);
	a->fast = decoder(0);
	for (size_t i = 0; i < sizeof variants / sizeof variants[0]; i++)
		check_agrees(a, variants[i].text, strlen(variants[i].text));
	for (size_t b = 0; b < nbases; b++) {
		size_t before = a->fast_taken;

		check_agrees(a, bases[b], strlen(bases[b]));
		assert_int_equal(a->fast_taken, before + 1);
		for (int m = 0; m < 200; m++) {
			size_t len = strlen(bases[b]);
			int ops = 1 + (int)(next(&seed) % 3);

			memcpy(buf, bases[b], len);
			while (ops-- > 0)
				len = mutate(buf, len, sizeof buf, &seed);
			check_agrees(a, buf, len);
		}
	}
	/* The mutations must exercise both paths, not just one. */
	assert_true(a->checked > 1200);
	assert_true(a->fast_taken > nbases + 20);
	assert_true(a->fast_taken < a->checked / 2);
	for (size_t b = 0; b < nbases; b++)
		free(bases[b]);
	free(bytes);
	wv_decoder_destroy(a->d);
	wv_decoder_destroy(a->fast);
	free(a);
}

/* Values from the wire shown in a message: one printable line, cut short. */
static void test_protocol_escape_makes_one_printable_line(void **state)
{
	static const struct {
		const char *in;
		size_t len, cap;
		const char *out;
	} rows[] = {
		{ "mark-1", 6, 32, "mark-1" },
		{ "a\"b\\c", 5, 32, "a\\\"b\\\\c" },
		{ "x\ny", 3, 32, "x\\x0Ay" },
		{ "\xc3\xa9", 2, 32, "\\xC3\\xA9" },
		{ "nul\0z", 5, 32, "nul\\x00z" },
		{ "abcdefghij", 10, 8, "abcd..." },
		{ "\x01\x02\x03", 3, 10, "\\x01..." },
	};
	char dst[32];

	(void)state;
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		const char *r = wv_escape(dst, rows[i].cap, rows[i].in,
					  rows[i].len);
		assert_ptr_equal(r, dst);
		assert_string_equal(dst, rows[i].out);
		assert_true(strlen(dst) < rows[i].cap);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_protocol_event_names_match_the_protocol),
		cmocka_unit_test(
			test_protocol_dtmf_valid_accepts_only_keypad_digits),
		cmocka_unit_test(test_protocol_encode_audio_writes_exact_text),
		cmocka_unit_test(test_protocol_encode_audio_length_matches_macro),
		cmocka_unit_test(test_protocol_encode_event_writes_compact_json),
		cmocka_unit_test(test_protocol_encode_mark_too_long_is_invalid),
		cmocka_unit_test(
			test_protocol_encode_reports_nospace_on_small_buffers),
		cmocka_unit_test(
			test_protocol_round_trip_keeps_every_event_type),
		cmocka_unit_test(test_protocol_decode_reports_each_error),
		cmocka_unit_test(test_protocol_decode_rejects_non_utf8_as_json),
		cmocka_unit_test(test_protocol_decode_rejects_nul_inside_frame),
		cmocka_unit_test(test_protocol_decode_limits_message_size),
		cmocka_unit_test(
			test_protocol_decode_accepts_audio_up_to_the_limit),
		cmocka_unit_test(
			test_protocol_decode_large_limit_is_bounded_by_frame),
		cmocka_unit_test(test_protocol_decode_limits_id_length),
		cmocka_unit_test(test_protocol_decode_ignores_extra_fields),
		cmocka_unit_test(test_protocol_decode_start_without_id),
		cmocka_unit_test(test_protocol_decode_empty_payload_is_no_audio),
		cmocka_unit_test(test_protocol_unknown_event_keeps_its_text),
		cmocka_unit_test(test_protocol_mark_escapes_decode_and_encode),
		cmocka_unit_test(test_protocol_error_is_cleared_by_success),
		cmocka_unit_test(
			test_protocol_fast_path_takes_only_the_hot_shape),
		cmocka_unit_test(test_protocol_fast_path_agrees_with_jansson),
		cmocka_unit_test(test_protocol_escape_makes_one_printable_line),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
