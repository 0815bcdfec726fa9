/* Growing buffers by doubling. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "grow.h"

static void test_grow_doubles_from_first_and_keeps_the_contents(void **state)
{
	size_t cap = 0;
	char *buf = wvs_grow(NULL, &cap, 10, 1, 4);

	(void)state;
	assert_non_null(buf);
	assert_int_equal(cap, 16);
	memcpy(buf, "0123456789", 10);
	buf = wvs_grow(buf, &cap, 33, 1, 4);
	assert_int_equal(cap, 64);
	assert_memory_equal(buf, "0123456789", 10);
	free(buf);
}

static void test_grow_returns_the_buffer_when_it_fits(void **state)
{
	size_t cap = 8;
	short *buf = malloc(8 * sizeof *buf);
	short *same = wvs_grow(buf, &cap, 8, sizeof *buf, 2);

	(void)state;
	assert_ptr_equal(same, buf);
	assert_int_equal(cap, 8);
	free(buf);
}

static void test_grow_refuses_overflow_and_leaves_the_buffer(void **state)
{
	size_t cap = 4;
	int *buf = malloc(4 * sizeof *buf);

	(void)state;
	assert_null(wvs_grow(buf, &cap, SIZE_MAX / 2 + 2, 1, 4));
	assert_null(wvs_grow(buf, &cap, SIZE_MAX / 4, sizeof *buf, 4));
	assert_int_equal(cap, 4);
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_grow_doubles_from_first_and_keeps_the_contents),
		cmocka_unit_test(test_grow_returns_the_buffer_when_it_fits),
		cmocka_unit_test(test_grow_refuses_overflow_and_leaves_the_buffer),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
