/*
 * For tests that measure a tone in audio they produced: a least-squares
 * fit of a*cos + b*sin at one frequency, so the amplitude is exact for any
 * phase and any window length (unlike a DFT bin), and what the sine does
 * not explain is measured too.
 */
#ifndef WV_TESTS_TONE_FIT_H
#define WV_TESTS_TONE_FIT_H

#include <math.h>
#include <stddef.h>

struct tone_fit {
	double amp;   /* amplitude of the best-fitting sine at the frequency */
	double resid; /* amplitude (sqrt(2) * RMS) of everything else */
};

/* The sine is stepped by rotation (a cos and a sin per call, not per
   sample): in double precision it stays exact over any test window. */
static inline struct tone_fit tone_fit(const float *x, size_t n, double hz,
				       double rate)
{
	const double w = 2.0 * 3.14159265358979323846 * hz / rate;
	const double cr = cos(w), sr = sin(w);
	double cc = 0, ss = 0, cs = 0, xc = 0, xs = 0, e2 = 0, det, a, b, t;
	double c = 1, s = 0;
	struct tone_fit f = { 0, 0 };

	for (size_t i = 0; i < n; i++) {
		cc += c * c;
		ss += s * s;
		cs += c * s;
		xc += x[i] * c;
		xs += x[i] * s;
		t = c * cr - s * sr;
		s = s * cr + c * sr;
		c = t;
	}
	det = cc * ss - cs * cs;
	if (!(det > 0.0))
		return f;
	a = (xc * ss - xs * cs) / det;
	b = (xs * cc - xc * cs) / det;
	c = 1;
	s = 0;
	for (size_t i = 0; i < n; i++) {
		double e = x[i] - a * c - b * s;

		e2 += e * e;
		t = c * cr - s * sr;
		s = s * cr + c * sr;
		c = t;
	}
	f.amp = hypot(a, b);
	f.resid = sqrt(2.0 * e2 / (double)n);
	return f;
}

static inline double tone_amp(const float *x, size_t n, double hz,
			      double rate)
{
	return tone_fit(x, n, hz, rate).amp;
}

#endif
