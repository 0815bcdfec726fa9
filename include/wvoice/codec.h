/*
 * G.711 mu-law and A-law (ITU-T G.711), on buffers.
 *
 * Decoders agree with every G.711 implementation on all 256 codes. Encoders:
 * mu-law uses the common bias-0x84 convention (as spandsp, Sun's reference
 * and the browser guide's alawmulaw do); A-law matches ITU-T G.191 (and
 * spandsp). mu-law silence is 0xFF, A-law silence 0xD5.
 *
 * All functions are pure: no state, no allocation; safe from any thread,
 * including the real-time audio thread. dst and src must not overlap.
 */
#ifndef WVOICE_CODEC_H
#define WVOICE_CODEC_H

#include <wvoice/export.h>

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define WV_ULAW_SILENCE 0xFF
#define WV_ALAW_SILENCE 0xD5

WV_EXPORT void wv_ulaw_encode(uint8_t *dst, const int16_t *src, size_t n);
WV_EXPORT void wv_ulaw_decode(int16_t *dst, const uint8_t *src, size_t n);
WV_EXPORT void wv_alaw_encode(uint8_t *dst, const int16_t *src, size_t n);
WV_EXPORT void wv_alaw_decode(int16_t *dst, const uint8_t *src, size_t n);

#ifdef __cplusplus
}
#endif
#endif
