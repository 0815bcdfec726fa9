/*
 * Text to speech for the local agents, over espeak-ng, rendered to 8 kHz
 * clips, for the server's agents and the demo's caller (common/).
 *
 * espeak-ng keeps its state in process globals, so every wvs_tts in a
 * process shares one engine behind a process-wide lock: rendering is safe
 * from any thread, one text at a time. The engine starts with the first
 * wvs_tts_create and stays until the process exits (espeak-ng 1.51 hangs
 * when it is terminated a second time). Rendering is slow (tens of ms per
 * sentence): the server renders every phrase it will need before it starts
 * serving, never on the network loop.
 */
#ifndef WVS_TTS_H
#define WVS_TTS_H

#include "clip.h"

struct wvs_tts;

/*
 * Starts (or shares) the engine with a voice ("en-us" when NULL) and a rate
 * in words per minute (espeak's default when 0). Returns 0, or a negative
 * WV_ERR_* with the reason in err (espeak-ng data missing, unknown voice).
 */
int wvs_tts_create(struct wvs_tts **out, const char *voice, int wpm, char *err,
		   size_t errlen);
void wvs_tts_destroy(struct wvs_tts *tts);

/*
 * Renders UTF-8 text to a new 8 kHz clip with leading and trailing silence
 * trimmed. Empty text gives an empty clip. Returns 0 or a negative WV_ERR_*.
 */
int wvs_tts_render(struct wvs_tts *tts, const char *text, struct wvs_clip *out);

#endif
