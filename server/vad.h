/*
 * Caller speech detection on the 8 kHz stream, 20 ms at a time, over
 * speexdsp's voice activity detector with an energy floor (speex alone
 * flags some noise as speech, and digital silence must never count).
 * It also keeps the current utterance, so an agent can play it back.
 * Sans-I/O and allocation-free after create. Server-internal.
 */
#ifndef WVS_VAD_H
#define WVS_VAD_H

#include <stddef.h>
#include <stdint.h>

#include "clip.h"

struct wvs_vad_config {
	unsigned start_ms;	  /* speech this long starts an utterance (60) */
	unsigned end_ms;	  /* silence this long ends it (500) */
	unsigned preroll_ms;	  /* audio kept from before the start (200) */
	unsigned max_utterance_ms; /* longer utterances end here (15000) */
	double floor_dbfs;	  /* frames quieter than this are silence (-45) */
};
/*
 * Times count in whole 20 ms frames: start_ms, end_ms and preroll_ms round
 * up, max_utterance_ms down (it counts from the onset, pre-roll aside;
 * talk that goes on past it starts the next utterance). floor_dbfs is RMS
 * against full scale (a full-scale square wave is 0 dBFS, a sine -3).
 * Refused: start_ms or end_ms 0, start_ms > 2000, end_ms > 10000,
 * preroll_ms > 5000, max_utterance_ms > 120000 or not a frame longer than
 * start_ms, floor_dbfs outside [-120, 0].
 */

enum wvs_vad_event {
	WVS_VAD_NONE = 0,
	WVS_VAD_SPEECH_START, /* the caller started talking (barge-in) */
	WVS_VAD_SPEECH_END,   /* an utterance ended: wvs_vad_utterance() */
};

struct wvs_vad;

void wvs_vad_config_default(struct wvs_vad_config *cfg);
/* cfg NULL means the defaults. Returns 0, WV_ERR_INVALID or WV_ERR_NOMEM. */
int wvs_vad_create(struct wvs_vad **out, const struct wvs_vad_config *cfg);
void wvs_vad_destroy(struct wvs_vad *vad);

/* Feeds one 20 ms frame (WVS_FRAME samples); says what it started or ended. */
enum wvs_vad_event wvs_vad_push(struct wvs_vad *vad, const int16_t *frame);

/* True while an utterance is going on. */
int wvs_vad_active(const struct wvs_vad *vad);

/*
 * The utterance that the last WVS_VAD_SPEECH_END ended: pre-roll, speech,
 * and the trailing silence trimmed to at most 100 ms. Valid until the next
 * push, which forgets it. Sets *len to 0 and returns NULL when there is
 * none. Consecutive utterances never share samples.
 */
const int16_t *wvs_vad_utterance(const struct wvs_vad *vad, size_t *len);

/* Forgets any utterance in progress and the audio heard so far (after the
 * call is reset); speex's noise estimate is kept. */
void wvs_vad_reset(struct wvs_vad *vad);

#endif
