#include "sendq.h"

#include <stdlib.h>

#include <wvoice/error.h>

#include "pow2.h"
#include "alloc.h"

/* Control frames (start, mark, dtmf, stop) that may wait beside a full audio
 * backlog: marks come at most a few a second, so this is generous. */
#define CONTROL_SLOTS 64

int wv__sendq_init(struct wv__sendq *q, size_t max_audio, size_t slot_bytes)
{
	*q = (struct wv__sendq){ .max_audio = max_audio };
	q->nslots = max_audio <= SIZE_MAX - CONTROL_SLOTS
			    ? wv__pow2_size(max_audio + CONTROL_SLOTS)
			    : 0;
	if (!q->nslots)
		return WV_ERR_NOMEM;
	q->slots = wv__calloc(q->nslots, sizeof *q->slots);
	if (!q->slots)
		return WV_ERR_NOMEM;
	for (size_t i = 0; i < q->nslots; i++) {
		q->slots[i].text = wv_malloc(slot_bytes);
		if (!q->slots[i].text) {
			wv__sendq_cleanup(q);
			return WV_ERR_NOMEM;
		}
		q->slots[i].cap = slot_bytes;
	}
	return 0;
}

void wv__sendq_cleanup(struct wv__sendq *q)
{
	if (q->slots) {
		for (size_t i = 0; i < q->nslots; i++)
			wv_free(q->slots[i].text);
		wv_free(q->slots);
	}
	*q = (struct wv__sendq){ 0 };
}

int wv__sendq_reserve(struct wv__sendq *q, size_t bytes, bool audio,
		      struct wv__sendq_slot **out)
{
	struct wv__sendq_slot *s;

	*out = NULL;
	if (q->tail - q->head == q->nslots)
		return WV_ERR_FULL;
	if (audio && q->audio_queued >= q->max_audio)
		return WV_ERR_FULL;
	s = &q->slots[q->tail & (q->nslots - 1)];
	if (s->cap < bytes) {
		char *text = wv_realloc(s->text, bytes);

		if (!text)
			return WV_ERR_NOMEM;
		s->text = text;
		s->cap = bytes;
	}
	s->audio = audio;
	s->len = 0;
	*out = s;
	return 0;
}

void wv__sendq_commit(struct wv__sendq *q)
{
	if (q->slots[q->tail & (q->nslots - 1)].audio)
		q->audio_queued++;
	q->tail++;
}

const struct wv__sendq_slot *wv__sendq_front(const struct wv__sendq *q)
{
	if (wv__sendq_empty(q))
		return NULL;
	return &q->slots[q->head & (q->nslots - 1)];
}

void wv__sendq_pop(struct wv__sendq *q)
{
	if (wv__sendq_empty(q))
		return;
	if (q->slots[q->head & (q->nslots - 1)].audio)
		q->audio_queued--;
	q->head++;
}

void wv__sendq_drop_all(struct wv__sendq *q)
{
	q->head = q->tail;
	q->audio_queued = 0;
}
