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
		NULL,
		"{\"event\":\"mark\",\"mark\":\"second\"}",
		"{\"event\":\"unknown\",\"x\":[1,2,{\"y\":null}]}",
		"{\"event\":\"stop\"}",
	};
	uint8_t ulaw[160];
	char audio[400], payload[WV_BASE64_ENCODED_LEN(160) + 1];
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
		const char *e = events[i] ? events[i] : audio;

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

static void test_failmalloc_core_every_allocation_fails_cleanly(void **state)
{
	const uint32_t nomem = 1u << -WV_ERR_NOMEM;
	uint32_t baseline;
	size_t n, total;

	(void)state;
	/* How many allocations one call makes, none failing, and what it
	   reports (the mark before its audio, the unknown event). */
	reported = 0;
	failalloc_arm(0);
	assert_int_equal(one_call(), 0);
	baseline = reported;
	assert_false(baseline & nomem);
	total = failalloc_count();
	failalloc_disarm();
	assert_int_equal(failalloc_live(), 0);
	assert_true(total > 10);
	for (n = 1; n <= total + 1; n++) {
		int rc;

		reported = 0;
		failalloc_arm(n);
		rc = one_call();
		failalloc_disarm();
		if (failalloc_live() != 0)
			fail_msg("allocation %zu of %zu failed: %ld blocks left",
				 n, total, failalloc_live());
		if (!failalloc_failed())
			break;
		if (rc == WV_ERR_NOMEM)
			reported |= nomem;
		/* Anything new the call said is said because of memory. */
		if ((reported & ~baseline) && !(reported & nomem))
			fail_msg("allocation %zu of %zu failed, reported as "
				 "something else (0x%x, not 0x%x)",
				 n, total, reported, baseline);
	}
	assert_int_equal(n, total + 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_failmalloc_core_every_allocation_fails_cleanly),
	};

	failalloc_install();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
