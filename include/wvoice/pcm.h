/*
 * PCM sample conversion between float [-1, 1] and signed 16-bit, with the
 * browser guide's scaling: negative samples scale by 32768 and positive ones
 * by 32767, truncating toward zero, so -1.0 -> -32768 and 1.0 -> 32767.
 * Values outside [-1, 1] are clamped; NaN becomes 0. Going back, every sample
 * divides by 32768.
 *
 * Pure functions; safe from any thread, including the real-time audio thread.
 */
#ifndef WVOICE_PCM_H
#define WVOICE_PCM_H

#include <wvoice/export.h>

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

WV_EXPORT void wv_pcm_from_float(int16_t *dst, const float *src, size_t n);
WV_EXPORT void wv_pcm_to_float(float *dst, const int16_t *src, size_t n);

#ifdef __cplusplus
}
#endif
#endif
