/* Error codes: one table gives each its name, its words and whether it is
   fatal, so none can be missing or said twice. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <wvoice/error.h>

static const struct {
	int code;
	const char *name;
} codes[] = {
#define ROW(name, value, text) { WV_ERR_##name, #name },
	WV_ERROR_TABLE(ROW)
#undef ROW
};

#define N (sizeof codes / sizeof codes[0])

static void test_error_every_code_has_its_own_name_and_words(void **state)
{
	(void)state;
	for (size_t i = 0; i < N; i++) {
		assert_true(codes[i].code < 0);
		assert_string_equal(wv_error_name(codes[i].code), codes[i].name);
		assert_string_not_equal(wv_strerror(codes[i].code),
					"unknown error");
		for (size_t j = 0; j < i; j++) {
			assert_int_not_equal(codes[i].code, codes[j].code);
			assert_string_not_equal(wv_strerror(codes[i].code),
						wv_strerror(codes[j].code));
		}
	}
	assert_string_equal(wv_strerror(0), "success");
	assert_string_equal(wv_error_name(0), "OK");
	assert_string_equal(wv_strerror(-1000), "unknown error");
	assert_string_equal(wv_error_name(7), "UNKNOWN");
}

/* Fatal: the object cannot go on. Everything else names one bad request
   or one piece of bad input. */
static void test_error_only_memory_and_internal_failures_are_fatal(void **state)
{
	(void)state;
	for (size_t i = 0; i < N; i++)
		assert_int_equal(wv_is_fatal(codes[i].code),
				 codes[i].code == WV_ERR_NOMEM ||
					 codes[i].code == WV_ERR_INTERNAL);
	assert_int_equal(wv_is_fatal(0), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_error_every_code_has_its_own_name_and_words),
		cmocka_unit_test(test_error_only_memory_and_internal_failures_are_fatal),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
