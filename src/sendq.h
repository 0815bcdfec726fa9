/*
 * The outgoing frame queue of one call (private).
 *
 * A ring of slots, and text buffers that are lent to a slot while it holds
 * a frame and come back to a pool when it is sent: the queue holds one or
 * two frames most of the time, so a few buffers serve every slot, and the
 * steady state of 50 audio frames a second allocates nothing. A backlog
 * allocates the buffers it needs once; they stay in the pool. (A buffer
 * for every slot cost 36 KB a call, which thousands of calls feel.) Audio
 * frames are held to a smaller limit than control frames: when the socket
 * cannot keep up, stale audio is worth dropping, a `mark` or `stop` is
 * not.
 */
#ifndef WV_SENDQ_H
#define WV_SENDQ_H

#include <stdbool.h>
#include <stddef.h>

struct wv__sendq_slot {
	char *text;
	size_t len;
	size_t cap;
	bool audio;
};

struct wv__sendq_buf {
	char *text;
	size_t cap;
};

struct wv__sendq {
	struct wv__sendq_slot *slots;
	struct wv__sendq_buf *pool; /* buffers not lent: room for nslots */
	size_t pooled;
	size_t slot_bytes;
	size_t nslots; /* a power of two */
	size_t head;   /* next to send */
	size_t tail;   /* next free */
	size_t audio_queued;
	size_t max_audio;
};

/* Room for max_audio audio frames plus control frames; buffers of at
 * least slot_bytes, a few of them made here. Errors: WV_ERR_NOMEM. */
int wv__sendq_init(struct wv__sendq *q, size_t max_audio, size_t slot_bytes);
void wv__sendq_cleanup(struct wv__sendq *q);

/*
 * Reserves the next slot with a buffer of at least bytes in *out. Fill
 * text and len, then wv__sendq_commit(). Errors: WV_ERR_FULL (the queue,
 * or for audio the audio limit, is full), WV_ERR_NOMEM (the slot's buffer
 * could not grow).
 */
int wv__sendq_reserve(struct wv__sendq *q, size_t bytes, bool audio,
		      struct wv__sendq_slot **out);
void wv__sendq_commit(struct wv__sendq *q);

/* The oldest frame, or NULL when empty; then pop it. */
const struct wv__sendq_slot *wv__sendq_front(const struct wv__sendq *q);
void wv__sendq_pop(struct wv__sendq *q);

/* Drops every queued frame. */
void wv__sendq_drop_all(struct wv__sendq *q);

static inline bool wv__sendq_empty(const struct wv__sendq *q)
{
	return q->head == q->tail;
}

#endif
