/*
 * float <-> int16 as the browser guide does it: its JavaScript clamps, scales
 * in double precision and stores into an Int16Array, which truncates toward
 * zero and turns NaN into 0. Scaling in double here too keeps every sample
 * equal to the guide's (a float product can round up across an integer).
 */
#include <wvoice/pcm.h>

#include <math.h>

static int16_t from_float_one(float x)
{
	double v = x;

	if (isnan(v))
		return 0;
	if (v <= -1.0)
		return INT16_MIN;
	if (v >= 1.0)
		return INT16_MAX;
	return (int16_t)(v < 0.0 ? v * 32768.0 : v * 32767.0);
}

void wv_pcm_from_float(int16_t *dst, const float *src, size_t n)
{
	for (size_t i = 0; i < n; i++)
		dst[i] = from_float_one(src[i]);
}

void wv_pcm_to_float(float *dst, const int16_t *src, size_t n)
{
	/* Exact: every int16 divided by a power of two fits in a float. */
	for (size_t i = 0; i < n; i++)
		dst[i] = (float)src[i] / 32768.0f;
}
