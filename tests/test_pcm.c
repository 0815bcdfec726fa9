/*
 * float <-> int16 with the browser guide's scaling. Expected values are what
 * the guide's JavaScript gives (Math.max/min, a double product, Int16Array).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <math.h>
#include <float.h>
#include <string.h>
#include <cmocka.h>

#include <wvoice/pcm.h>

static const struct {
	float in;
	int16_t want;
} from_float_rows[] = {
	{ -1.0f, -32768 },
	{ 1.0f, 32767 },
	{ 0.5f, 16383 },  /* 16383.5 truncated */
	{ -0.5f, -16384 },
	{ 0.25f, 8191 },
	{ -0.25f, -8192 },
	{ 0.0f, 0 },
	{ -0.0f, 0 },
	{ 2.0f, 32767 }, /* clamped */
	{ -2.0f, -32768 },
	{ FLT_MAX, 32767 },
	{ -FLT_MAX, -32768 },
	{ INFINITY, 32767 },
	{ -INFINITY, -32768 },
	{ NAN, 0 },
	{ -NAN, 0 },
	{ 1e-30f, 0 }, /* tiny values truncate to 0 */
	{ -1e-30f, 0 },
	{ FLT_TRUE_MIN, 0 },
	{ 1.0f / 32768.0f, 0 }, /* 0.99997 truncated */
	{ -1.0f / 32768.0f, -1 },
	{ 0x1.fffffep-1f, 32766 },  /* just under 1 */
	{ -0x1.fffffep-1f, -32767 }, /* just over -1: truncated toward 0 */
	/* Nearest floats to 1/32767 and 2/32767: the double product is just
	 * under 1 and 2, where a float product would round up to them. */
	{ 0x1.0002p-15f, 0 },
	{ 0x1.0002p-14f, 1 },
};

static void test_pcm_from_float_matches_guide_scaling(void **state)
{
	(void)state;

	for (size_t i = 0; i < sizeof from_float_rows / sizeof from_float_rows[0];
	     i++) {
		int16_t got;

		wv_pcm_from_float(&got, &from_float_rows[i].in, 1);
		if (got != from_float_rows[i].want)
			fail_msg("row %zu (%a): got %d, want %d", i,
				 (double)from_float_rows[i].in, got,
				 from_float_rows[i].want);
	}
}

static void test_pcm_to_float_divides_by_32768(void **state)
{
	const int16_t in[5] = { INT16_MIN, INT16_MAX, 0, 1, -1 };
	float out[5];
	(void)state;

	wv_pcm_to_float(out, in, 5);
	assert_true(out[0] == -1.0f);
	assert_true(out[1] == 32767.0f / 32768.0f);
	assert_true(out[2] == 0.0f);
	assert_true(out[3] == 0x1p-15f);
	assert_true(out[4] == -0x1p-15f);
}

/*
 * The scaling is asymmetric: a negative sample comes back unchanged, a
 * positive one comes back one step lower (s * 32767 / 32768 truncates).
 */
static void test_pcm_round_trip_drops_one_step_on_positive_samples(
	void **state)
{
	static int16_t pcm[65536], back[65536];
	static float f[65536];
	(void)state;

	for (int32_t i = 0; i < 65536; i++)
		pcm[i] = (int16_t)(i + INT16_MIN);
	wv_pcm_to_float(f, pcm, 65536);
	wv_pcm_from_float(back, f, 65536);
	for (size_t i = 0; i < 65536; i++) {
		int want = pcm[i] > 0 ? pcm[i] - 1 : pcm[i];
		if (back[i] != want)
			fail_msg("sample %d came back as %d", pcm[i], back[i]);
	}
}

static void test_pcm_zero_length_writes_nothing(void **state)
{
	const float fin[2] = { 0.5f, -0.5f };
	const int16_t iin[2] = { 100, -100 };
	int16_t iout[2];
	float fout[2];
	(void)state;

	memset(iout, 0xA5, sizeof iout);
	memset(fout, 0xA5, sizeof fout);
	wv_pcm_from_float(iout, fin, 0);
	wv_pcm_to_float(fout, iin, 0);
	for (size_t i = 0; i < 2; i++) {
		assert_int_equal((uint16_t)iout[i], 0xA5A5);
		uint32_t bits;
		memcpy(&bits, &fout[i], sizeof bits);
		assert_int_equal(bits, 0xA5A5A5A5u);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pcm_from_float_matches_guide_scaling),
		cmocka_unit_test(test_pcm_to_float_divides_by_32768),
		cmocka_unit_test(
			test_pcm_round_trip_drops_one_step_on_positive_samples),
		cmocka_unit_test(test_pcm_zero_length_writes_nothing),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
