/*
 * Failure injection through the core (nghttp2's failmalloc): the i-th
 * allocation fails, for every i, while a call is made, run through every
 * kind of event and destroyed. Each run ends cleanly: the function that
 * could not allocate says so (WV_ERR_NOMEM, returned or reported through
 * the error callback) unless the call recovered and went on as ever, no
 * other error is reported in its place, nothing crashes, and nothing
 * allocated is left over. The runs stop at the first i past the last
 * allocation, so every one was tried.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include <wvoice/base64.h>
#include <wvoice/call.h>
#include <wvoice/error.h>

#include "failalloc.h"

/* The codes the error callback reported, as bits of -code. */
static uint32_t reported;

static void on_error(void *user, int code, const char *detail)
{
	(void)user;
	(void)detail;
	if (code < 0 && code > -32)
		reported |= 1u << -code;
}

static void send_all(struct wv_call *c)
{
	size_t len;

	while (wv_call_peek_frame(c, &len))
		wv_call_frame_sent(c);
}

/* One whole call through the core: every event the server sends, audio
   both ways, the controls, a hang-up and the close.
   Returns WV_ERR_NOMEM if a function did, else 0. */
static int one_call(void)
{
	static const char *const events[] = {
		"{\"event\":\"start\",\"communication_id\":\"fm-1\"}",
		NULL, /* audio */
		"{\"event\":\"mark\",\"mark\":\"after-audio\"}",
		"{\"event\":\"clear\"}",
		"", /* half a second of audio at once: the decoder grows */
		"{\"event\":\"mark\",\"mark\":\"second\"}",
		"{\"event\":\"unknown\",\"x\":[1,2,{\"y\":null}]}",
		"{\"event\":\"stop\"}",
	};
	uint8_t ulaw[160];
	static uint8_t half_s[4000];
	char audio[400], payload[WV_BASE64_ENCODED_LEN(160) + 1];
	static char big[WV_BASE64_ENCODED_LEN(4000) + 64];
	char big_payload[WV_BASE64_ENCODED_LEN(4000) + 1];
	struct wv_playout_config pc;
	struct wv_call_config cfg;
	struct wv_call *c;
	float mic[960] = { 0 };
	int16_t out[160];
	int64_t t = 0;
	int rc, first = 0;

	memset(ulaw, 0x10, sizeof ulaw);
	wv_base64_encode(payload, ulaw, sizeof ulaw);
	snprintf(audio, sizeof audio,
		 "{\"event\":\"audio\",\"payload\":\"%s\"}", payload);
	memset(half_s, 0x20, sizeof half_s);
	wv_base64_encode(big_payload, half_s, sizeof half_s);
	snprintf(big, sizeof big, "{\"event\":\"audio\",\"payload\":\"%s\"}",
		 big_payload);
	wv_playout_config_default(&pc);
	pc.prebuffer_ms = 0;
	wv_call_config_default(&cfg);
	cfg.capture_rate = 48000;
	cfg.playout = &pc;
	cfg.cb.error = on_error;
	rc = wv_call_create(&c, &cfg);
	if (rc < 0)
		return rc == WV_ERR_NOMEM ? rc : 0;
#define KEEP(x)                                                                \
	do {                                                                   \
		if ((x) == WV_ERR_NOMEM)                                       \
			first = WV_ERR_NOMEM;                                  \
	} while (0)
	KEEP(wv_call_connect(c, t));
	KEEP(wv_call_opened(c, t));
	for (size_t i = 0; i < sizeof events / sizeof events[0]; i++) {
		const char *e = !events[i] ? audio : !*events[i] ? big : events[i];

		t += 20000;
		KEEP(wv_call_receive(c, e, strlen(e), t));
		KEEP(wv_call_write_audio(c, mic, 960));
		wv_playout_read(wv_call_playout(c), out, 160);
		wv_call_tick(c, t);
		if (i == 2)
			KEEP(wv_call_send_dtmf(c, '5', t));
		send_all(c);
	}
	KEEP(wv_call_hangup(c, t));
	send_all(c);
	wv_call_closed(c, 1000, "", false, t);
	wv_call_destroy(c);
#undef KEEP
	return first;
}

/* What the clean run reported (the mark before its audio, the unknown
   event): a failing run that says something else says it because of
   memory, and says WV_ERR_NOMEM too. */
static uint32_t baseline;
static bool have_baseline;

static int run(void *arg)
{
	int rc;

	(void)arg;
	reported = 0;
	rc = one_call();
	if (rc == WV_ERR_NOMEM)
		reported |= 1u << -WV_ERR_NOMEM;
	if (!have_baseline) {
		baseline = reported;
		have_baseline = true;
	}
	return rc;
}

static const char *judge(int rc, void *arg)
{
	static char why[96];

	(void)rc;
	(void)arg;
	if (!(reported & ~baseline) || (reported & 1u << -WV_ERR_NOMEM))
		return NULL;
	snprintf(why, sizeof why, "reported as something else (0x%x, not 0x%x)",
		 reported, baseline);
	return why;
}

static void test_failmalloc_core_every_allocation_fails_cleanly(void **state)
{
	(void)state;
	assert_true(failalloc_each(run, NULL, judge) > 10);
	assert_false(baseline & 1u << -WV_ERR_NOMEM);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_failmalloc_core_every_allocation_fails_cleanly),
	};

	failalloc_install();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
