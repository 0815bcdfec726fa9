#include "sendq.h"

#include <stdlib.h>

#include <wvoice/error.h>

#include "pow2.h"
#include "alloc.h"

/* Control frames (start, mark, dtmf, stop) that may wait beside a full audio
 * backlog: marks come at most a few a second, so this is generous. */
#define CONTROL_SLOTS 64

/* Buffers made up front: a frame being written and a few behind it. */
#define POOL_START 4

int wv__sendq_init(struct wv__sendq *q, size_t max_audio, size_t slot_bytes)
{
	*q = (struct wv__sendq){ .max_audio = max_audio,
				 .slot_bytes = slot_bytes };
	q->nslots = max_audio <= SIZE_MAX - CONTROL_SLOTS
			    ? wv__pow2_size(max_audio + CONTROL_SLOTS)
			    : 0;
	if (!q->nslots)
		return WV_ERR_NOMEM;
	q->slots = wv__calloc(q->nslots, sizeof *q->slots);
	q->pool = wv__calloc(q->nslots, sizeof *q->pool);
	if (!q->slots || !q->pool) {
		wv__sendq_cleanup(q);
		return WV_ERR_NOMEM;
	}
	for (; q->pooled < POOL_START && q->pooled < q->nslots; q->pooled++) {
		q->pool[q->pooled].text = wv_malloc(slot_bytes);
		if (!q->pool[q->pooled].text) {
			wv__sendq_cleanup(q);
			return WV_ERR_NOMEM;
		}
		q->pool[q->pooled].cap = slot_bytes;
	}
	return 0;
}

void wv__sendq_cleanup(struct wv__sendq *q)
{
	if (q->slots)
		for (size_t i = 0; i < q->nslots; i++)
			wv_free(q->slots[i].text);
	if (q->pool)
		for (size_t i = 0; i < q->pooled; i++)
			wv_free(q->pool[i].text);
	wv_free(q->slots);
	wv_free(q->pool);
	*q = (struct wv__sendq){ 0 };
}

/* The slot gets a buffer of at least bytes: one from the pool, else a new
   one. */
static int lend(struct wv__sendq *q, struct wv__sendq_slot *s, size_t bytes)
{
	if (!s->text && q->pooled) {
		q->pooled--;
		s->text = q->pool[q->pooled].text;
		s->cap = q->pool[q->pooled].cap;
	}
	if (!s->text || s->cap < bytes) {
		size_t cap = bytes > q->slot_bytes ? bytes : q->slot_bytes;
		char *text = wv_realloc(s->text, cap);

		if (!text)
			return WV_ERR_NOMEM;
		s->text = text;
		s->cap = cap;
	}
	return 0;
}

/* A sent slot's buffer goes back to the pool (which has room for every
   buffer there is: one per slot at most). */
static void give_back(struct wv__sendq *q, struct wv__sendq_slot *s)
{
	if (!s->text)
		return;
	q->pool[q->pooled++] = (struct wv__sendq_buf){ s->text, s->cap };
	s->text = NULL;
	s->cap = 0;
}

int wv__sendq_reserve(struct wv__sendq *q, size_t bytes, bool audio,
		      struct wv__sendq_slot **out)
{
	struct wv__sendq_slot *s;
	int rc;

	*out = NULL;
	if (q->tail - q->head == q->nslots)
		return WV_ERR_FULL;
	if (audio && q->audio_queued >= q->max_audio)
		return WV_ERR_FULL;
	s = &q->slots[q->tail & (q->nslots - 1)];
	rc = lend(q, s, bytes);
	if (rc < 0)
		return rc;
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
	give_back(q, &q->slots[q->head & (q->nslots - 1)]);
	q->head++;
}

void wv__sendq_drop_all(struct wv__sendq *q)
{
	for (; q->head != q->tail; q->head++)
		give_back(q, &q->slots[q->head & (q->nslots - 1)]);
	q->audio_queued = 0;
}
