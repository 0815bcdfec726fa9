/*
 * Structs sized by the program's header ("Structs and the ABI" in
 * version.h): a program built against an older or a newer header than the
 * library's gets what it can use and never a byte past its own struct.
 * Newer and older programs are played here by structs of other sizes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <wvoice/call.h>
#include <wvoice/error.h>
#include <wvoice/playout.h>
#include <wvoice/url.h>

/* A newer header's config: this library's, and a field it does not know. */
struct newer_playout_config {
	struct wv_playout_config known;
	uint64_t unknown;
};

static void test_sized_default_fills_what_the_program_has(void **state)
{
	struct newer_playout_config newer;
	struct wv_playout_config older;

	(void)state;
	memset(&newer, 0xAB, sizeof newer);
	wv_playout_config_default_sized(&newer.known, sizeof newer);
	assert_int_equal(newer.known.size, sizeof newer);
	assert_int_equal(newer.known.prebuffer_ms, 300);
	assert_int_equal(newer.unknown, 0); /* zero: "the default" */

	/* A program that knows only the first two fields gets those. */
	memset(&older, 0xAB, sizeof older);
	wv_playout_config_default_sized(&older,
					offsetof(struct wv_playout_config, max_ms));
	assert_int_equal(older.prebuffer_ms, 300);
	assert_int_equal(older.max_ms, 0xABABABABu); /* not written */
}

static void test_sized_config_from_a_newer_header(void **state)
{
	struct newer_playout_config newer;
	struct wv_playout *p;

	(void)state;
	wv_playout_config_default_sized(&newer.known, sizeof newer);
	/* Its new field left at its default: taken. */
	assert_int_equal(wv_playout_create(&p, &newer.known), 0);
	wv_playout_destroy(p);
	/* Set: this library cannot do what it asks. */
	newer.unknown = 1;
	assert_int_equal(wv_playout_create(&p, &newer.known), WV_ERR_INVALID);
	assert_null(p);
}

static void test_sized_config_not_made_by_default_is_refused(void **state)
{
	struct wv_playout_config zero, cut;
	struct wv_call_config call;
	struct wv_playout *p;
	struct wv_call *c;

	(void)state;
	memset(&zero, 0, sizeof zero);
	zero.prebuffer_ms = 100;
	zero.max_ms = 1000;
	zero.max_marks = 8;
	assert_int_equal(wv_playout_create(&p, &zero), WV_ERR_INVALID);
	wv_playout_config_default(&cut);
	cut.size = offsetof(struct wv_playout_config, max_marks);
	assert_int_equal(wv_playout_create(&p, &cut), WV_ERR_INVALID);
	/* The same through a call's config, which points at it. */
	wv_call_config_default(&call);
	call.playout = &cut;
	assert_int_equal(wv_call_create(&c, &call), WV_ERR_INVALID);
	assert_null(c);
}

static void test_sized_stats_never_write_past_the_program(void **state)
{
	unsigned char buf[sizeof(struct wv_playout_stats) + 16];
	struct wv_playout *p;
	const int16_t one = 1000;
	uint64_t queued;

	(void)state;
	assert_int_equal(wv_playout_create(&p, NULL), 0);
	wv_playout_push(p, &one, 1);
	/* An older program's struct: 8 bytes, the first counter. */
	memset(buf, 0xAB, sizeof buf);
	wv_playout_stats_sized(p, (struct wv_playout_stats *)(void *)buf, 8);
	memcpy(&queued, buf, sizeof queued);
	assert_int_equal(queued, 1); /* queued_samples */
	for (size_t i = 8; i < sizeof buf; i++)
		assert_int_equal(buf[i], 0xAB);
	/* A newer program's: what this library does not know is zero. */
	memset(buf, 0xAB, sizeof buf);
	wv_playout_stats_sized(p, (struct wv_playout_stats *)(void *)buf,
			       sizeof buf);
	for (size_t i = sizeof(struct wv_playout_stats); i < sizeof buf; i++)
		assert_int_equal(buf[i], 0);
	wv_playout_destroy(p);
}

static void test_sized_url_params_from_a_newer_header(void **state)
{
	struct {
		struct wv_url_params known;
		const char *unknown;
	} newer = { { .base = "wss://h", .agent_id = "a" }, NULL };
	char url[128];

	(void)state;
	assert_true(wv_url_build_sized(url, sizeof url, &newer.known,
				       sizeof newer) > 0);
	newer.unknown = "x";
	assert_int_equal(wv_url_build_sized(url, sizeof url, &newer.known,
					    sizeof newer),
			 WV_ERR_INVALID);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sized_default_fills_what_the_program_has),
		cmocka_unit_test(test_sized_config_from_a_newer_header),
		cmocka_unit_test(test_sized_config_not_made_by_default_is_refused),
		cmocka_unit_test(test_sized_stats_never_write_past_the_program),
		cmocka_unit_test(test_sized_url_params_from_a_newer_header),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
