/*
 * An arrival-trace simulator for the playout buffer (issue 14): the agent's
 * 20 ms frames (160 mu-law samples) as the client receives them, generated
 * from a seed, and a driver that replays a trace through a playout policy on
 * a fake clock, so every policy meets exactly the same arrivals.
 *
 * Times are microseconds on the consumer's clock (the device clock is the
 * reference); the drift traces give the sender a clock of its own.
 *
 * The agent. It talks in utterances of 1-6 s separated by pauses of
 * 0.5-3 s, and sends nothing in a pause (as `wvoice serve`'s agents do); with
 * marks on, a mark follows the last frame of each utterance, sent with it. An
 * utterance is speech-like: "words" of 150-600 ms of voiced audio (a
 * fundamental of 100-250 Hz and two harmonics, about -20 dBFS, faded in
 * and out over 10 ms) separated by 80-300 ms of digital silence (mu-law
 * 0xFF); it starts and ends with a word, its last sample loud. The driver
 * follows the loud samples (SIM_LOUD or more in magnitude, -36 dBFS): a
 * policy may drop or stretch silence, and may take a word's quiet edge for
 * silence (wv_playout's threshold is far lower), but it must never drop or
 * alter a loud sample, only move it by the silence it adds or takes out
 * before it, so the k-th loud sample handed out is the k-th of the stream.
 *
 * The standard traces (sim_standard_specs()) are 180 s of the sender's
 * time each, from fixed seeds; the consumer reads every 20 ms from a phase
 * of its own (0-20 ms, from the seed).
 *
 * The sender. Real-time paced: frame i of an utterance leaves at the
 * utterance's start + i * 20 ms of the sender's clock. In a burst (an LLM/TTS
 * agent) the whole utterance leaves within 5-20% of its duration, the frames
 * evenly spread. Its media clock (what an RTP timestamp would carry) is the
 * utterance's start + i * 20 ms of its clock in either case, and runs on
 * through the pauses.
 *
 * The network, one-way delay per frame, delivered in order as TCP does: a
 * frame never arrives before the one sent before it, so one late frame holds
 * back the ones behind it (head-of-line blocking) and they arrive in a lump.
 *   loopback  0.1 ms, constant; real-time sender.
 *   wan       30 ms + uniform 0-3 ms; real-time sender.
 *   burst     loopback's network, the burst sender.
 *   jitterJ   30 ms + an exponential draw of mean J ms (20, 40, 80), whose
 *             mean absolute difference between two draws (what RFC 3550's
 *             interarrival jitter estimates) is J; its tail (p99 4.6 J)
 *             makes lumps of head-of-line blocking, and in-order delivery
 *             evens arrivals out, so the client's RFC 3550 estimate reads
 *             less: about 16, 24 and 32 ms. Real-time sender.
 *   stalls    wan, plus a stall every 3-8 s (start to start) lasting 200-600 ms
 *             (stalls300: 200-300 ms): frames sent during a stall arrive
 *             together when it ends, then the wan delay resumes.
 *   drift+200 / drift-200  wan, and the sender's clock runs 200 ppm fast
 *             (slow): its 20 ms last 20 ms / (1 +- 200e-6) of the
 *             consumer's.
 *   nomarks   wan without marks.
 *
 * Ideal time of a frame: the send time of its utterance's first frame + the
 * trace's base delay (the network's least delay: 0.1 ms or 30 ms) + its
 * offset in the utterance (i * 20 ms of the consumer's clock). The delay a
 * policy adds to a frame is the time its first sample is handed to the
 * speaker minus that.
 */
#ifndef WV_TESTS_PLAYOUT_SIM_H
#define WV_TESTS_PLAYOUT_SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SIM_RATE 8000
#define SIM_FRAME 160	  /* samples in a frame and in a consumer read */
#define SIM_FRAME_US 20000
#define SIM_SAMPLE_US 125 /* one sample at 8 kHz */
#define SIM_LOUD 512	  /* a sample this loud is voice, never silence */
#ifndef SIM_RECORDED
#define SIM_RECORDED "tests/data/playout_demo_loopback.txt"
#endif

struct sim_frame {
	uint32_t utterance; /* 0, 1, ... */
	uint32_t offset;    /* frame number in its utterance */
	int64_t send_us;    /* on the consumer's clock */
	int64_t arrive_us;
	int64_t media_us;   /* the sender's media clock, on its own clock */
	bool mark_after;    /* a mark arrives with it, after it */
	uint8_t ulaw[SIM_FRAME];
};

struct sim_utterance {
	size_t first;	  /* its first frame's index in the trace */
	size_t frames;
	int64_t ideal_us; /* ideal time of its first frame */
};

enum sim_net {
	SIM_NET_FIXED,	/* base only */
	SIM_NET_WAN,	/* base + uniform 0..jitter_ms */
	SIM_NET_EXP,	/* base + exponential of mean jitter_ms */
};

/* A trace's recipe; sim_trace_make() turns it into frames. */
struct sim_spec {
	const char *name;
	uint64_t seed;
	unsigned seconds;     /* of sender time, pauses included */
	int64_t base_us;      /* the network's least one-way delay */
	enum sim_net net;
	unsigned jitter_ms;
	bool burst;	      /* the burst sender, else real-time paced */
	unsigned stall_min_ms; /* 0: no stalls */
	unsigned stall_max_ms;
	int drift_ppm;	      /* the sender's clock against the consumer's */
	bool marks;
};

struct sim_trace {
	struct sim_spec spec;
	struct sim_frame *frames;
	size_t nframes;
	struct sim_utterance *utts;
	size_t nutts;
	int64_t phase_us;     /* the consumer's first read; then every 20 ms */
	unsigned longest_stall_ms;
};

/* The standard traces above, in order; *n is their number. */
const struct sim_spec *sim_standard_specs(size_t *n);

/* Builds the trace spec describes. Returns 0, or -1 (out of memory). */
int sim_trace_make(struct sim_trace *t, const struct sim_spec *spec);
void sim_trace_free(struct sim_trace *t);

/*
 * The recorded trace, "recorded": the arrivals of the agent's audio in a
 * real call, `wvoice call --events` against its built-in `wvoice serve`
 * (demo agent) over loopback, checked in as SIM_RECORDED (how it was made
 * is at its top). The log has no send times and no audio: the arrivals
 * stand in for the send times (base delay 0), each utterance (up to a
 * mark) is filled with the generator's speech, and the media clock runs
 * from an utterance's first arrival. Returns 0, or -1 (the file cannot be
 * read or is not of that form, out of memory).
 */
int sim_trace_recorded(struct sim_trace *t);

/* Loud samples in the trace. */
uint64_t sim_trace_loud(const struct sim_trace *t);

enum sim_policy {
	SIM_FIXED300,	/* wv_playout, WV_PLAYOUT_FIXED, prebuffer 300 ms */
	SIM_FIXED80,	/* the same at 80 ms */
	SIM_SPEEX,	/* speexdsp's jitter buffer, given sender timestamps */
	SIM_ADAPTIVE,	/* wv_playout, WV_PLAYOUT_ADAPTIVE, its defaults */
	SIM_FORESIGHT,	/* no buffer: a bound, see below */
	SIM_POLICIES
};

const char *sim_policy_name(enum sim_policy pol);

/*
 * What a replay measured. Delays are over the frames that hold voice (a
 * frame of digital silence has no time of its own once a policy may drop
 * or stretch silence): from its first loud sample's time back to its
 * first sample's.
 *
 * The policy's own figures: for wv_playout its stats (underruns,
 * concealed, inserted and dropped samples, late arrivals); for speexdsp,
 * underruns are runs of MISSING slots between an utterance's first and last
 * frames played, concealed those slots, inserted its INSERTION slots,
 * dropped the frames of utterances it never played, late the frames put
 * after their time had passed.
 *
 * The timeline's figures, wv_playout only: each loud sample handed out is
 * matched to its place on the stream; between two loud samples of one
 * utterance, the output holds more samples than the stream (a positive gap:
 * silence inserted or concealed) or fewer (negative: silence dropped).
 */
/*
 * SIM_FORESIGHT is no policy anyone can build: it knows each utterance's
 * worst lateness before it starts, and plays all of it that late, so it
 * never underruns. Its delay is the least any buffer that never underruns
 * and never stretches speech could have on that trace.
 */
struct sim_result {
	size_t frames_timed;
	double mean_ms, p95_ms, max_ms; /* delay added */
	uint64_t underruns;
	double concealed_ms, inserted_ms, dropped_ms;
	uint64_t late;
	/* timeline (wv_playout) */
	double gap_pos_ms, gap_neg_ms;	/* within utterances */
	uint64_t gap_events;		/* positive gaps */
	/* the positive gaps inside a word (between loud samples less than
	   5 ms apart on the stream): what a listener hears as a cut */
	double cut_ms;
	uint64_t cut_events;
	uint64_t loud_in, loud_out;   /* pushed, handed out */
	uint64_t loud_altered;	    /* handed out with another value */
	/* marks (wv_playout; speexdsp has none) */
	size_t marks_sent, marks_reported;
	size_t marks_out_of_order; /* reported with an id not the next */
	size_t marks_early;	   /* before the audio ahead of them */
	size_t marks_late;	   /* a read or more after it */
};

/* Replays t through pol. Returns 0, or -1 (out of memory, a bad trace). */
int sim_replay(const struct sim_trace *t, enum sim_policy pol,
	       struct sim_result *r);

#endif
