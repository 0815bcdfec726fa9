/*
 * For tests that measure a tone in audio they produced: the amplitude of
 * the sine at one frequency, by least squares over a*cos + b*sin, so it is
 * exact for any phase and any window length (unlike a DFT bin).
 */
#ifndef WV_TESTS_TONE_FIT_H
#define WV_TESTS_TONE_FIT_H

#include <math.h>
#include <stddef.h>

static inline double tone_amp(const float *x, size_t n, double hz,
			      double rate)
{
	const double w = 2.0 * 3.14159265358979323846 * hz / rate;
	double cc = 0, ss = 0, cs = 0, xc = 0, xs = 0, det, a, b;

	for (size_t i = 0; i < n; i++) {
		double c = cos(w * (double)i), s = sin(w * (double)i);

		cc += c * c;
		ss += s * s;
		cs += c * s;
		xc += x[i] * c;
		xs += x[i] * s;
	}
	det = cc * ss - cs * cs;
	a = (xc * ss - xs * cs) / det;
	b = (xs * cc - xc * cs) / det;
	return sqrt(a * a + b * b);
}

#endif
