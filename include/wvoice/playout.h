/*
 * Playout buffer: the agent's 8 kHz audio and marks, between the network
 * thread (the producer) and the real-time audio thread (the consumer).
 *
 * Positions. Every sample ever queued has a position on one 64-bit count
 * that never resets, not even on a clear. A mark is placed at the count of
 * samples queued before it, and is reported once the consumer has played up
 * to that position; marks and audio therefore keep their arrival order end to
 * end, and a mark with nothing queued before it is reported at once.
 *
 * Playout policy (the consumer's states):
 *   BUFFERING  outputs silence until one of:
 *              - the queued audio reaches the pre-buffer target
 *                (prebuffer_ms, default 300, 0 allowed);
 *              - a mark or wv_playout_flush() closes a segment: everything
 *                before it is played without waiting for the target, so a
 *                short utterance followed by a mark is always heard;
 *              - the end of a burst: queued audio and no new audio for
 *                burst_gap_ms of playout time.
 *   PLAYING    outputs queued audio. If the queue runs dry exactly at the
 *              end of a segment (a mark, a flush, or the end of a burst),
 *              that is the end of an utterance: back to BUFFERING. If it
 *              runs dry anywhere else, that is an underrun: the missing
 *              samples are silence, `underruns` counts one event, and the
 *              buffer goes back to BUFFERING so that it refills to the target
 *              before resuming: a late network costs one gap, not a stutter
 *              packet by packet.
 *   clear      drops all queued audio and pending marks (pending marks are
 *              not reported, unless answer_marks_on_clear is set, in which
 *              case they are reported at once) and returns to BUFFERING.
 *
 * How this implementation reads the policy:
 *   - read() calls are the clock. burst_gap_ms counts the samples read()
 *     has handed out since it last saw new audio; the state changes at the
 *     start of a read() call, or within one where the queue runs dry.
 *     burst_gap_ms 0 ends a burst as soon as its audio is seen.
 *   - The end of a burst is recognised while buffering. A queue that runs
 *     dry while playing, with no mark, flush or clear at that point, counts
 *     as an underrun: that includes an utterance longer than the target that
 *     ends with no mark (the silence and the refill are the same either way;
 *     only the count differs).
 *   - A clear takes effect at the consumer's next read(): the space it frees
 *     and `cleared_samples` are counted then, so a push in between may still
 *     find the buffer full. `queued_samples` drops to 0 at once.
 *   - Marks are reported only by poll_marks(): "at once" means at the next
 *     poll. A mark placed right after a clear has nothing queued before it.
 *
 * Adaptive playout (policy WV_PLAYOUT_ADAPTIVE; WV_PLAYOUT_FIXED is the
 * above with the target at prebuffer_ms). The target follows the network:
 *   - Clock: arrivals are stamped with the consumer's clock, the samples
 *     read() has handed out, so the device's time is the reference (a
 *     fake clock is a caller reading at its own pace; the stamps are as
 *     fine as its blocks).
 *   - Measures: each push's transit (its arrival against its place in the
 *     stream, taken as 8 kHz and 20 ms frames), relative to the lowest of
 *     the last second: NetEq's relative delay. RFC 3550's interarrival
 *     jitter of the same stamps is reported, not used.
 *   - Target: the delay_quantile of a histogram of relative delays that
 *     forgets at 0.998 a push (about 10 s); after a peak (a delay 20 ms past
 *     that quantile, the frames held back behind it counted with it), for
 *     30 s the peak's height + 20 ms, as a network that stalls stalls
 *     again; 150 ms until a second of audio has been seen; always
 *     within min_delay_ms and max_delay_ms.
 *   - Moves only where no one hears it: each utterance (segment) waits for
 *     the target before it plays; while playing, at most once in each pause
 *     (a run of 20 ms or more of samples within +-64), a delay more than 40
 *     ms over the target drops up to half the pause, and a delay 20 ms or
 *     more under it inserts silence up to the target. A queue that runs dry
 *     right after a silent sample is a pause gone long: silence inserted,
 *     not an underrun. Speech is never shortened or cut.
 *   - Audio sent ahead of time (an agent's burst, faster than real time)
 *     plays at once and as sent: the delay is measured from the earliest
 *     each sample could have been played, not from its arrival.
 *   - A segment (of the measurements) starts at a mark, flush or clear, and
 *     at a push that finds the queue played out after more than
 *     max_delay_ms without audio (a pause); without marks, a pause under
 *     that looks like a stall.
 *   - The burst gap is at least the target: audio stopping for less than
 *     the network's usual lateness does not end a burst.
 * bench/bench_playout compares it with the fixed policy and speexdsp's
 * jitter buffer on generated traces; see the README for the figures.
 *
 * Statistics (wv_playout_stats), NetEq's: target_ms, the target now;
 * delay_ms, the delay being played at (how far playout runs behind the
 * earliest arrival of what it plays), held while nothing plays; jitter_ms;
 * underruns and concealed_samples, the silence handed out from an underrun
 * until play resumes (both policies); inserted_samples and dropped_samples
 * (adaptive); late_arrivals, pushes made while an underrun was concealed.
 * silence_samples includes concealed and inserted silence.
 *
 * Cap: at most max_ms of audio (default 60 s) is queued. Audio pushed beyond
 * the cap is dropped (the newest audio, since the producer may not touch what
 * the consumer reads) and counted in `overflow_samples`; marks keep their
 * place after the audio that was accepted. At most max_marks marks (default
 * 1024) wait at once; a mark beyond that is refused with WV_ERR_FULL and
 * counted in `marks_refused`.
 *
 * Threads: one producer thread calls push*, mark, clear, flush and
 * poll_marks; one consumer thread calls read. The two sides share only
 * atomic positions: read() never blocks, locks, allocates or logs. stats()
 * is safe from any thread. create/destroy are not concurrent with anything.
 */
#ifndef WVOICE_PLAYOUT_H
#define WVOICE_PLAYOUT_H

#include <wvoice/export.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* How much audio to hold before playing: see "Adaptive playout" above. */
enum wv_playout_policy {
	WV_PLAYOUT_FIXED = 0,	 /* the target is prebuffer_ms */
	WV_PLAYOUT_ADAPTIVE = 1, /* the target follows the arrivals */
};

/* Sized by the program's header: see "Structs and the ABI" in version.h. */
struct wv_playout_config {
	size_t size;		    /* set by wv_playout_config_default() */
	unsigned prebuffer_ms;	    /* default 300; 0 plays at once */
	unsigned max_ms;	    /* cap on queued audio; default 60000 */
	unsigned burst_gap_ms;	    /* end-of-burst detection; default 100 */
	unsigned max_marks;	    /* marks waiting at once; default 1024 */
	bool answer_marks_on_clear; /* report pending marks on clear; off */
	/* Since 0.5: the policy (WV_PLAYOUT_FIXED), and the adaptive
	   policy's floor (40), ceiling (500, at most max_ms) and the
	   quantile of the arrival delays it covers, in percent (95, from
	   50 to 99). prebuffer_ms is the fixed policy's target only. */
	enum wv_playout_policy policy;
	unsigned min_delay_ms;
	unsigned max_delay_ms;
	unsigned delay_quantile;
};

struct wv_playout_stats {
	uint64_t queued_samples;   /* queued and not yet played */
	unsigned queued_ms;	   /* the same, in milliseconds */
	uint64_t pushed_samples;   /* accepted by push, ever */
	uint64_t played_samples;   /* queued audio handed to the device, ever */
	uint64_t silence_samples;  /* silence handed out (buffering, underrun) */
	uint64_t underruns;	   /* mid-stream underrun events */
	uint64_t overflow_samples; /* dropped at the cap */
	uint64_t cleared_samples;  /* dropped by clear */
	uint64_t marks_pending;	   /* marks waiting to be reached */
	uint64_t marks_reported;   /* marks reported by poll_marks, ever */
	uint64_t marks_refused;	   /* marks refused at max_marks */
	bool playing;		   /* consumer state: PLAYING (else BUFFERING) */
	/* Since 0.5, NetEq's figures (see "Statistics" above). */
	unsigned target_ms;	    /* the delay the policy aims at now */
	unsigned delay_ms;	    /* the delay it plays at now */
	unsigned jitter_ms;	    /* RFC 3550 interarrival jitter */
	uint64_t concealed_samples; /* silence handed out in underruns */
	uint64_t inserted_samples;  /* silence inserted to grow the delay */
	uint64_t dropped_samples;   /* silence dropped to shrink it */
	uint64_t late_arrivals;	    /* pushes made while concealing */
};

/* Reports one reached mark, in order; id is only valid during the call. */
typedef void wv_mark_fn(void *user, const char *id);

struct wv_playout;

/* The defaults above. */
WV_EXPORT void wv_playout_config_default_sized(struct wv_playout_config *cfg,
					       size_t size);
#define wv_playout_config_default(cfg)                                         \
	wv_playout_config_default_sized((cfg), sizeof(struct wv_playout_config))

/*
 * Creates a playout buffer; all memory is allocated here, up front (mark
 * ids excepted: mark() copies them). cfg NULL means the defaults.
 * Errors: WV_ERR_INVALID (prebuffer over the cap, zero cap or max_marks, a
 * cfg not made by wv_playout_config_default()), WV_ERR_NOMEM.
 */
WV_EXPORT int wv_playout_create(struct wv_playout **out,
				const struct wv_playout_config *cfg);
WV_EXPORT void wv_playout_destroy(struct wv_playout *p);

/* Producer. Queues n samples; returns how many fit (the rest is dropped and
 * counted, see "Cap"). */
WV_EXPORT size_t wv_playout_push(struct wv_playout *p, const int16_t *samples, size_t n);

/* Producer. The same for mu-law bytes, decoded straight into the buffer. */
WV_EXPORT size_t wv_playout_push_ulaw(struct wv_playout *p, const uint8_t *ulaw,
				      size_t n);

/* Producer. Places mark id after everything queued so far (id is copied).
 * Errors: WV_ERR_FULL (max_marks waiting), WV_ERR_INVALID, WV_ERR_NOMEM. */
WV_EXPORT int wv_playout_mark(struct wv_playout *p, const char *id);

/* Producer. Drops queued audio and pending marks (barge-in). */
WV_EXPORT void wv_playout_clear(struct wv_playout *p);

/* Producer. Closes the current segment: what is queued plays without waiting
 * for the pre-buffer target (end of stream, end of an utterance). */
WV_EXPORT void wv_playout_flush(struct wv_playout *p);

/* Producer. Calls fn for each mark the consumer has reached, in order, once
 * each. Returns the number reported. fn may call the other producer
 * functions; fn NULL drops the reached marks (still counted as reported). */
WV_EXPORT size_t wv_playout_poll_marks(struct wv_playout *p, wv_mark_fn *fn, void *user);

/* Consumer (real-time). Fills out with exactly n samples: queued audio, or
 * silence where the policy above says so. */
WV_EXPORT void wv_playout_read(struct wv_playout *p, int16_t *out, size_t n);

/* Any thread. A consistent-enough snapshot of the counters, size bytes
 * of it at most (the macro passes the program's sizeof). */
WV_EXPORT void wv_playout_stats_sized(const struct wv_playout *p,
				      struct wv_playout_stats *st, size_t size);
#define wv_playout_stats(p, st)                                                \
	wv_playout_stats_sized((p), (st), sizeof(struct wv_playout_stats))

#ifdef __cplusplus
}
#endif
#endif
