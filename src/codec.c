/*
 * G.711 on buffers. Decoding is a table look-up; the tables were generated
 * from the expansion formulas of G.711 (tables 1a and 2a) and the tests check
 * them against spandsp. Encoding finds the segment from the highest set bit,
 * which is one instruction where the compiler offers a count-leading-zeros.
 */
#include <wvoice/codec.h>

/* Added to a mu-law magnitude so that segment boundaries are powers of 2. */
#define ULAW_BIAS 0x84u
/* mu-law inverts all bits on the line; negatives leave the sign bit clear. */
#define ULAW_MASK_POS 0xFFu
#define ULAW_MASK_NEG 0x7Fu
/* A-law toggles the even bits on the line; positives set the sign bit. */
#define ALAW_MASK_POS 0xD5u
#define ALAW_MASK_NEG 0x55u

static const int16_t ulaw_decode_table[256] = {
	-32124, -31100, -30076, -29052, -28028, -27004, -25980, -24956,
	-23932, -22908, -21884, -20860, -19836, -18812, -17788, -16764,
	-15996, -15484, -14972, -14460, -13948, -13436, -12924, -12412,
	-11900, -11388, -10876, -10364, -9852, -9340, -8828, -8316,
	-7932, -7676, -7420, -7164, -6908, -6652, -6396, -6140,
	-5884, -5628, -5372, -5116, -4860, -4604, -4348, -4092,
	-3900, -3772, -3644, -3516, -3388, -3260, -3132, -3004,
	-2876, -2748, -2620, -2492, -2364, -2236, -2108, -1980,
	-1884, -1820, -1756, -1692, -1628, -1564, -1500, -1436,
	-1372, -1308, -1244, -1180, -1116, -1052, -988, -924,
	-876, -844, -812, -780, -748, -716, -684, -652,
	-620, -588, -556, -524, -492, -460, -428, -396,
	-372, -356, -340, -324, -308, -292, -276, -260,
	-244, -228, -212, -196, -180, -164, -148, -132,
	-120, -112, -104, -96, -88, -80, -72, -64,
	-56, -48, -40, -32, -24, -16, -8, 0,
	32124, 31100, 30076, 29052, 28028, 27004, 25980, 24956,
	23932, 22908, 21884, 20860, 19836, 18812, 17788, 16764,
	15996, 15484, 14972, 14460, 13948, 13436, 12924, 12412,
	11900, 11388, 10876, 10364, 9852, 9340, 8828, 8316,
	7932, 7676, 7420, 7164, 6908, 6652, 6396, 6140,
	5884, 5628, 5372, 5116, 4860, 4604, 4348, 4092,
	3900, 3772, 3644, 3516, 3388, 3260, 3132, 3004,
	2876, 2748, 2620, 2492, 2364, 2236, 2108, 1980,
	1884, 1820, 1756, 1692, 1628, 1564, 1500, 1436,
	1372, 1308, 1244, 1180, 1116, 1052, 988, 924,
	876, 844, 812, 780, 748, 716, 684, 652,
	620, 588, 556, 524, 492, 460, 428, 396,
	372, 356, 340, 324, 308, 292, 276, 260,
	244, 228, 212, 196, 180, 164, 148, 132,
	120, 112, 104, 96, 88, 80, 72, 64,
	56, 48, 40, 32, 24, 16, 8, 0,
};

static const int16_t alaw_decode_table[256] = {
	-5504, -5248, -6016, -5760, -4480, -4224, -4992, -4736,
	-7552, -7296, -8064, -7808, -6528, -6272, -7040, -6784,
	-2752, -2624, -3008, -2880, -2240, -2112, -2496, -2368,
	-3776, -3648, -4032, -3904, -3264, -3136, -3520, -3392,
	-22016, -20992, -24064, -23040, -17920, -16896, -19968, -18944,
	-30208, -29184, -32256, -31232, -26112, -25088, -28160, -27136,
	-11008, -10496, -12032, -11520, -8960, -8448, -9984, -9472,
	-15104, -14592, -16128, -15616, -13056, -12544, -14080, -13568,
	-344, -328, -376, -360, -280, -264, -312, -296,
	-472, -456, -504, -488, -408, -392, -440, -424,
	-88, -72, -120, -104, -24, -8, -56, -40,
	-216, -200, -248, -232, -152, -136, -184, -168,
	-1376, -1312, -1504, -1440, -1120, -1056, -1248, -1184,
	-1888, -1824, -2016, -1952, -1632, -1568, -1760, -1696,
	-688, -656, -752, -720, -560, -528, -624, -592,
	-944, -912, -1008, -976, -816, -784, -880, -848,
	5504, 5248, 6016, 5760, 4480, 4224, 4992, 4736,
	7552, 7296, 8064, 7808, 6528, 6272, 7040, 6784,
	2752, 2624, 3008, 2880, 2240, 2112, 2496, 2368,
	3776, 3648, 4032, 3904, 3264, 3136, 3520, 3392,
	22016, 20992, 24064, 23040, 17920, 16896, 19968, 18944,
	30208, 29184, 32256, 31232, 26112, 25088, 28160, 27136,
	11008, 10496, 12032, 11520, 8960, 8448, 9984, 9472,
	15104, 14592, 16128, 15616, 13056, 12544, 14080, 13568,
	344, 328, 376, 360, 280, 264, 312, 296,
	472, 456, 504, 488, 408, 392, 440, 424,
	88, 72, 120, 104, 24, 8, 56, 40,
	216, 200, 248, 232, 152, 136, 184, 168,
	1376, 1312, 1504, 1440, 1120, 1056, 1248, 1184,
	1888, 1824, 2016, 1952, 1632, 1568, 1760, 1696,
	688, 656, 752, 720, 560, 528, 624, 592,
	944, 912, 1008, 976, 816, 784, 880, 848,
};

/* Index of the highest set bit of v, which must not be 0. */
static inline unsigned top_bit(unsigned v)
{
#if defined(__GNUC__) || defined(__clang__)
	return 31u - (unsigned)__builtin_clz(v);
#else
	unsigned n = 0;

	while (v >>= 1)
		n++;
	return n;
#endif
}

static inline uint8_t ulaw_encode_one(int16_t sample)
{
	unsigned mask = sample < 0 ? ULAW_MASK_NEG : ULAW_MASK_POS;
	unsigned mag = (unsigned)(sample < 0 ? -sample : sample) + ULAW_BIAS;

	/* Past the top of segment 7 every magnitude clips to its last code. */
	if (mag > 0x7FFFu)
		mag = 0x7FFFu;
	unsigned seg = top_bit(mag | 0xFFu) - 7u;
	unsigned step = (mag >> (seg + 3u)) & 0xFu;
	return (uint8_t)(((seg << 4) | step) ^ mask);
}

static inline uint8_t alaw_encode_one(int16_t sample)
{
	unsigned mask = sample < 0 ? ALAW_MASK_NEG : ALAW_MASK_POS;
	/* G.191 takes negatives in one's complement, so -32768 needs no clip. */
	unsigned mag = (unsigned)(sample < 0 ? ~sample : sample);
	unsigned seg = top_bit(mag | 0xFFu) - 7u;
	/* Segments 0 and 1 share one step size, hence the floor of 0x1FF. */
	unsigned shift = top_bit(mag | 0x1FFu) - 4u;
	unsigned step = (mag >> shift) & 0xFu;
	return (uint8_t)(((seg << 4) | step) ^ mask);
}

void wv_ulaw_encode(uint8_t *dst, const int16_t *src, size_t n)
{
	for (size_t i = 0; i < n; i++)
		dst[i] = ulaw_encode_one(src[i]);
}

void wv_ulaw_decode(int16_t *dst, const uint8_t *src, size_t n)
{
	for (size_t i = 0; i < n; i++)
		dst[i] = ulaw_decode_table[src[i]];
}

void wv_alaw_encode(uint8_t *dst, const int16_t *src, size_t n)
{
	for (size_t i = 0; i < n; i++)
		dst[i] = alaw_encode_one(src[i]);
}

void wv_alaw_decode(int16_t *dst, const uint8_t *src, size_t n)
{
	for (size_t i = 0; i < n; i++)
		dst[i] = alaw_decode_table[src[i]];
}
