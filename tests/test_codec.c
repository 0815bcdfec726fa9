/*
 * G.711 checked against spandsp over every possible input: all 65,536
 * samples for the encoders, all 256 codes for the decoders.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>

#include <wvoice/codec.h>

/* g711.h needs these two before it; it compiles cleanly with our warnings. */
#include <spandsp/telephony.h>
#include <spandsp/bit_operations.h>
#include <spandsp/g711.h>

#define NSAMPLES 65536

/* Every int16 value, INT16_MIN first. */
static void fill_every_sample(int16_t *pcm)
{
	for (int32_t i = 0; i < NSAMPLES; i++)
		pcm[i] = (int16_t)(i + INT16_MIN);
}

static void fill_every_code(uint8_t *codes)
{
	for (int i = 0; i < 256; i++)
		codes[i] = (uint8_t)i;
}

/* Fails naming the first sample where the two encodings differ. */
static void assert_codes_equal(const uint8_t *got, const uint8_t *want,
			       const int16_t *pcm)
{
	for (size_t i = 0; i < NSAMPLES; i++) {
		if (got[i] != want[i])
			fail_msg("sample %d: got 0x%02X, want 0x%02X", pcm[i],
				 got[i], want[i]);
	}
}

static void assert_samples_equal(const int16_t *got, const int16_t *want)
{
	for (int i = 0; i < 256; i++) {
		if (got[i] != want[i])
			fail_msg("code 0x%02X: got %d, want %d", i, got[i],
				 want[i]);
	}
}

typedef void encoder(uint8_t *dst, const int16_t *src, size_t n);
typedef void decoder(int16_t *dst, const uint8_t *src, size_t n);

static void assert_encoder_matches(encoder *encode, uint8_t (*reference)(int))
{
	static int16_t pcm[NSAMPLES];
	static uint8_t got[NSAMPLES], want[NSAMPLES];

	fill_every_sample(pcm);
	encode(got, pcm, NSAMPLES);
	for (size_t i = 0; i < NSAMPLES; i++)
		want[i] = reference(pcm[i]);
	assert_codes_equal(got, want, pcm);
}

static void assert_decoder_matches(decoder *decode,
				   int16_t (*reference)(uint8_t))
{
	uint8_t codes[256];
	int16_t got[256], want[256];

	fill_every_code(codes);
	decode(got, codes, 256);
	for (int i = 0; i < 256; i++)
		want[i] = reference(codes[i]);
	assert_samples_equal(got, want);
}

static void test_codec_ulaw_encode_matches_spandsp_for_every_sample(
	void **state)
{
	(void)state;
	assert_encoder_matches(wv_ulaw_encode, linear_to_ulaw);
}

static void test_codec_alaw_encode_matches_spandsp_for_every_sample(
	void **state)
{
	(void)state;
	assert_encoder_matches(wv_alaw_encode, linear_to_alaw);
}

static void test_codec_ulaw_decode_matches_spandsp_for_every_code(void **state)
{
	(void)state;
	assert_decoder_matches(wv_ulaw_decode, ulaw_to_linear);
}

static void test_codec_alaw_decode_matches_spandsp_for_every_code(void **state)
{
	(void)state;
	assert_decoder_matches(wv_alaw_decode, alaw_to_linear);
}

/*
 * mu-law has two codes for zero: 0xFF (+0) and 0x7F (-0). Both decode to 0,
 * which encodes to 0xFF, so 0x7F is the one code that does not come back.
 */
static void test_codec_ulaw_round_trip_keeps_every_code_but_negative_zero(
	void **state)
{
	uint8_t codes[256], back[256];
	int16_t pcm[256];
	(void)state;

	fill_every_code(codes);
	wv_ulaw_decode(pcm, codes, 256);
	wv_ulaw_encode(back, pcm, 256);
	for (int i = 0; i < 256; i++) {
		uint8_t want = i == 0x7F ? 0xFF : (uint8_t)i;
		if (back[i] != want)
			fail_msg("code 0x%02X came back as 0x%02X", i, back[i]);
	}
	assert_int_equal(pcm[0x7F], 0);
	assert_int_equal(pcm[0xFF], 0);
}

/* A-law has no code for zero (the smallest are +8 and -8): all come back. */
static void test_codec_alaw_round_trip_keeps_every_code(void **state)
{
	uint8_t codes[256], back[256];
	int16_t pcm[256];
	(void)state;

	fill_every_code(codes);
	wv_alaw_decode(pcm, codes, 256);
	wv_alaw_encode(back, pcm, 256);
	for (int i = 0; i < 256; i++) {
		if (back[i] != i)
			fail_msg("code 0x%02X came back as 0x%02X", i, back[i]);
		if (pcm[i] == 0)
			fail_msg("code 0x%02X decoded to 0", i);
	}
}

static void test_codec_silence_encodes_to_the_idle_codes(void **state)
{
	const int16_t zero = 0;
	uint8_t code;
	int16_t back;
	(void)state;

	wv_ulaw_encode(&code, &zero, 1);
	assert_int_equal(code, WV_ULAW_SILENCE);
	assert_int_equal(WV_ULAW_SILENCE, 0xFF);
	wv_ulaw_decode(&back, &code, 1);
	assert_int_equal(back, 0);

	wv_alaw_encode(&code, &zero, 1);
	assert_int_equal(code, WV_ALAW_SILENCE);
	assert_int_equal(WV_ALAW_SILENCE, 0xD5);
	wv_alaw_decode(&back, &code, 1);
	assert_int_equal(back, 8);
}

/* Expected codes are G.711 facts, written out, not computed. */
static const struct {
	int16_t sample;
	uint8_t ulaw;
	uint8_t alaw;
} edge_cases[] = {
	{ INT16_MAX, 0x80, 0xAA }, /* clips to the top code */
	{ INT16_MIN, 0x00, 0x2A }, /* no overflow on negation */
	{ INT16_MIN + 1, 0x00, 0x2A },
	{ 32124, 0x80, 0xAA }, /* mu-law's largest level */
	{ -32124, 0x00, 0x2A },
	{ 1, 0xFF, 0xD5 },
	{ -1, 0x7F, 0x55 },
};

static void test_codec_edge_samples_encode_to_known_codes(void **state)
{
	(void)state;

	for (size_t i = 0; i < sizeof edge_cases / sizeof edge_cases[0]; i++) {
		uint8_t u, a;

		wv_ulaw_encode(&u, &edge_cases[i].sample, 1);
		wv_alaw_encode(&a, &edge_cases[i].sample, 1);
		if (u != edge_cases[i].ulaw || a != edge_cases[i].alaw)
			fail_msg("sample %d: mu-law 0x%02X (want 0x%02X), "
				 "A-law 0x%02X (want 0x%02X)",
				 edge_cases[i].sample, u, edge_cases[i].ulaw, a,
				 edge_cases[i].alaw);
	}
}

static void test_codec_extremes_decode_to_largest_levels(void **state)
{
	const uint8_t ucodes[2] = { 0x80, 0x00 };
	const uint8_t acodes[2] = { 0xAA, 0x2A };
	int16_t pcm[2];
	(void)state;

	wv_ulaw_decode(pcm, ucodes, 2);
	assert_int_equal(pcm[0], 32124);
	assert_int_equal(pcm[1], -32124);
	wv_alaw_decode(pcm, acodes, 2);
	assert_int_equal(pcm[0], 32256);
	assert_int_equal(pcm[1], -32256);
}

#define CANARY 0xA5

/* Elements [0, n) hold the reference's results, the rest are untouched. */
static void assert_encodes_only_n(encoder *encode, uint8_t (*reference)(int),
				  size_t n)
{
	const int16_t pcm[4] = { 1000, -1000, 0, 5 };
	uint8_t out[4];

	memset(out, CANARY, sizeof out);
	encode(out, pcm, n);
	for (size_t i = 0; i < 4; i++)
		assert_int_equal(out[i], i < n ? reference(pcm[i]) : CANARY);
}

static void assert_decodes_only_n(decoder *decode,
				  int16_t (*reference)(uint8_t), size_t n)
{
	const uint8_t codes[4] = { 0x00, 0x55, 0x80, 0xFF };
	int16_t out[4];

	memset(out, CANARY, sizeof out);
	decode(out, codes, n);
	for (size_t i = 0; i < 4; i++)
		assert_int_equal((uint16_t)out[i],
				 i < n ? (uint16_t)reference(codes[i])
				       : CANARY << 8 | CANARY);
}

/* n = 0 included: it must write nothing. */
static void test_codec_writes_exactly_n_samples(void **state)
{
	(void)state;

	for (size_t n = 0; n <= 4; n++) {
		assert_encodes_only_n(wv_ulaw_encode, linear_to_ulaw, n);
		assert_encodes_only_n(wv_alaw_encode, linear_to_alaw, n);
		assert_decodes_only_n(wv_ulaw_decode, ulaw_to_linear, n);
		assert_decodes_only_n(wv_alaw_decode, alaw_to_linear, n);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
			test_codec_ulaw_encode_matches_spandsp_for_every_sample),
		cmocka_unit_test(
			test_codec_alaw_encode_matches_spandsp_for_every_sample),
		cmocka_unit_test(
			test_codec_ulaw_decode_matches_spandsp_for_every_code),
		cmocka_unit_test(
			test_codec_alaw_decode_matches_spandsp_for_every_code),
		cmocka_unit_test(
			test_codec_ulaw_round_trip_keeps_every_code_but_negative_zero),
		cmocka_unit_test(test_codec_alaw_round_trip_keeps_every_code),
		cmocka_unit_test(test_codec_silence_encodes_to_the_idle_codes),
		cmocka_unit_test(test_codec_edge_samples_encode_to_known_codes),
		cmocka_unit_test(test_codec_extremes_decode_to_largest_levels),
		cmocka_unit_test(test_codec_writes_exactly_n_samples),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
