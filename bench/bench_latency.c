/*
 * bench_latency: the latency the client adds to the audio, both ways, over a
 * real call: the embedded API of <wvoice/wvoice.h> on its own loop, calling a
 * WebSocket peer of this program's own on 127.0.0.1. Printed as figures,
 * never asserted (machines are shared).
 *
 * Five calls, one per configuration: source at 48 kHz and at 8 kHz, each
 * with the fixed playout at the guide's pre-buffer (300 ms) and at 0, and a
 * fifth at 48 kHz with the client's default, the adaptive playout. Every
 * call measures both ways at once, as a call is full duplex; the playout
 * only matters inbound and the source rate only outbound, and the table
 * shows that too. The inbound figures of the fixed 300 ms and the adaptive
 * calls are printed once more side by side: the agent's audio, arrival to
 * ear.
 *
 * Outbound: from a sample entering the capture side to its frame leaving the
 * socket. The loop's 20 ms clock pulls 20 ms of source at each tick and hands
 * it to capture; the sample enters the capture side when the read that
 * carries it returns (a device's callback hands its block over the same way,
 * and how long the sample sat in the device before is the device's; the
 * "+block" column adds a live sample's wait for the read that takes it: with
 * wv_audio, its wait in the capture ring for the next tick). The
 * source is silence with a 2 ms burst every 100 ms, starting at a random
 * place in the block. The peer decodes every `audio` event (base64, mu-law)
 * and takes, as the time the frame left, the moment it had read the frame
 * off its socket (loopback TCP and the peer thread's wake-up are in it: tens
 * of microseconds). The onset is where the decoded burst first reaches half
 * its height, which is where the resampler's group delay puts it.
 * Where the time goes:
 *   next frame  the resampler delays the signal by its latency
 *               (wv_resampler_latency_us(): about 3 ms from 48 kHz, nothing
 *               from 8 kHz); a burst that starts within that of its block's
 *               end lands in the next frame, which leaves one tick (20 ms)
 *               later. With entry at the block hand-over and 20 ms blocks
 *               making exactly one frame each, that is all the framing
 *               costs: the algorithmic part, on average the resampler's
 *               latency. The peer also measures the signal delay itself
 *               (onset position out minus position in).
 *   send path   from the read of the tick that made the frame to the peer
 *               having it: resampling, mu-law, base64, JSON, the send queue
 *               (read -> queued, seen through the event callback), then the
 *               socket: libwebsockets' writeable callback, the write,
 *               loopback. That is scheduling and work, not algorithm.
 *
 * Inbound: from a frame arriving to its first sample reaching the output.
 * The peer talks in utterances, as an agent does: 20 frames (400 ms) at
 * real-time pace, a mark, then 412 ms of nothing, longer than the
 * pre-buffer, so that every utterance starts on an empty buffer and at a new
 * phase against the loop's clock. The first sample of every frame is a
 * marker (the loudest mu-law code) in a quiet tone. A frame arrives when the
 * client has decoded its `audio` event (the event callback runs just before
 * the audio is queued; the peer's send to there is printed as loopback);
 * its first sample reaches the output when the loop hands the 20 ms block
 * holding the marker to the sink. Where the time goes:
 *   tick phase  from the arrival to the loop's next tick: 0-20 ms, the wait
 *               any 20 ms clock costs;
 *   buffered    whole ticks after that: the pre-buffer, and any frame still
 *               queued ahead (arrivals that jitter across the tick, an
 *               underrun). With frames at real-time pace, 300 ms are
 *               queued when the 15th frame arrives, 280 ms after the first,
 *               so a 300 ms pre-buffer costs 280 ms plus the tick phase.
 * The sink here stands for a file or the loop-driven playout. An audio device
 * reads the playout from its own callback instead (wv_client_open_audio()) and adds
 * its block and output latency, which no loopback run can see.
 *
 * Usage: bench_latency [--seconds S]
 * Exits 1 if a call could not be made or measured, 2 on a usage error.
 */
#define _GNU_SOURCE /* ppoll */

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <wvoice/capture.h>
#include <wvoice/codec.h>
#include <wvoice/protocol.h>
#include <wvoice/resampler.h>
#include <wvoice/wvoice.h>

#include "rawws.h"

#define TICK_US 20000
#define DEFAULT_SECONDS 10
#define MAX_SECONDS 600
#define SLACK_S 30	      /* room in the arrays for connecting and closing */
#define CONNECT_WAIT_US 10000000
#define CLOSE_WAIT_MS 3000
/* Outbound bursts. */
#define FIRST_BURST 10	      /* reads before the first: the call settles */
#define BURST_EVERY 5	      /* reads between bursts: 100 ms */
#define BURST_MS 2
#define BURST_AMP 0.5f
#define QUIET_BEFORE_ONSET 400 /* 8 kHz samples: 50 ms of quiet parts bursts */
/* Inbound utterances. */
#define UTT_FRAMES 20
#define LEAD_US 200000	      /* from the start answer to the first one,
				 plus up to a tick */
/* The pause after an utterance: longer than the pre-buffer, plus 0.618 of a
   tick, so that the utterances' phases against the loop's clock spread
   evenly over the tick (golden-ratio steps), however few there are. */
#define GAP_US (400000 + 12361)
#define TONE_AMP 2000.0
#define TONE_HZ 400.0
#define MARKER_ULAW 0x80      /* +32124: nothing else sent is this loud */
#define PI 3.14159265358979323846

struct config {
	unsigned rate;
	unsigned prebuffer_ms;
	enum wv_playout_policy policy;
};

/* The fixed rows as before the adaptive policy, and the client's default
   (adaptive) beside them: the inbound figures of the first and the last
   are arrival-to-ear at the guide's 300 ms and at the default. */
static const struct config configs[] = {
	{ 48000, 300, WV_PLAYOUT_FIXED },
	{ 48000, 0, WV_PLAYOUT_FIXED },
	{ 8000, 300, WV_PLAYOUT_FIXED },
	{ 8000, 0, WV_PLAYOUT_FIXED },
	{ 48000, 300, WV_PLAYOUT_ADAPTIVE },
};

#define N_CONFIGS (sizeof configs / sizeof configs[0])

/* ---- what is recorded ---- */

struct burst {
	int64_t entry_us; /* the read that handed its first sample over */
	uint64_t read;	  /* that read's index */
	unsigned pos;	  /* its first sample's place in the block */
};

/* The outbound side in the client, on the loop's thread. */
struct source {
	unsigned rate, block; /* samples per read */
	uint64_t reads;
	int64_t *read_us;     /* when each read returned */
	int64_t *queued_us;   /* when each audio frame was queued to send */
	size_t nqueued, cap;  /* cap: of read_us and queued_us */
	struct burst *bursts;
	size_t nbursts, cap_bursts;
	uint64_t next_burst;  /* the read that starts the next one */
	unsigned burst_left;  /* samples of a burst still to come */
	uint64_t rng;
};

/* The inbound side in the client, on the loop's thread. */
struct sink {
	int16_t marker;
	int64_t *arrival_us; /* each audio event, decoded */
	int64_t *played_us;  /* each marker handed to the sink */
	int64_t *tick_us;    /* each sink write */
	size_t narrivals, nplayed, nticks, cap;
};

struct onset {
	int64_t arrival_us;
	uint64_t frame;	  /* outbound audio frames before it */
	unsigned off;	  /* its first loud sample in the frame */
};

/* The far end: one call, on a thread of its own. */
struct peer {
	int lfd, port;
	pthread_t thread;
	atomic_bool stop;
	bool answered;	      /* the client's start was answered */
	struct wv_decoder *dec;
	int16_t loud;	      /* an outbound sample this loud is a burst's */
	uint64_t frames;      /* outbound audio frames received */
	int64_t *frame_us;    /* when each was read off the socket */
	int64_t *sent_us;     /* when each inbound frame was sent */
	size_t nsent, cap;
	struct onset *onsets;
	size_t nonsets, cap_onsets;
	int64_t last_loud;    /* 8 kHz position of the last loud sample */
	unsigned utterances;
	unsigned utt_frame;   /* frames of the current utterance sent */
	int64_t next_send;
	double tone;	      /* phase of the inbound tone, radians */
	uint64_t rng;
	char rx[WV_MESSAGE_MAX + 1];
};

struct run {
	struct config cfg;
	struct source src;
	struct sink snk;
	struct peer peer;
	struct wv_call_stats stats;
	struct wv_playout_stats playout;
	char error[256];
};

/* ---- small helpers ---- */

static int64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* xorshift64*: reproducible phases from a fixed seed. */
static unsigned rand_below(uint64_t *s, unsigned n)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return (unsigned)(((*s * 2685821657736338717ULL) >> 32) % n);
}

struct summary {
	size_t n;
	double min, p50, p99, max, mean;
};

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Nearest rank. */
static double quantile(const double *sorted, size_t n, double q)
{
	size_t k = (size_t)ceil(q * (double)n);

	return sorted[k ? k - 1 : 0];
}

/* Sorts v. */
static struct summary summarize(double *v, size_t n)
{
	struct summary s = { .n = n };
	double sum = 0;

	if (n == 0)
		return s;
	qsort(v, n, sizeof *v, cmp_double);
	for (size_t i = 0; i < n; i++)
		sum += v[i];
	s.min = v[0];
	s.max = v[n - 1];
	s.p50 = quantile(v, n, 0.50);
	s.p99 = quantile(v, n, 0.99);
	s.mean = sum / (double)n;
	return s;
}

/* ---- the client's side: source, sink and event callbacks ---- */

static void burst_fill(struct source *s, float *dst, size_t from, size_t n)
{
	for (size_t i = from; i < n && s->burst_left; i++, s->burst_left--)
		dst[i] = BURST_AMP;
}

static int source_read(void *user, float *dst, size_t n)
{
	struct source *s = user;
	bool starts = s->reads == s->next_burst && s->nbursts < s->cap_bursts;
	unsigned pos = 0;
	int64_t t;

	memset(dst, 0, n * sizeof *dst);
	burst_fill(s, dst, 0, n); /* the rest of one begun in the last block */
	if (starts) {
		pos = rand_below(&s->rng, (unsigned)n);
		s->burst_left = s->rate * BURST_MS / 1000;
		burst_fill(s, dst, pos, n);
		s->next_burst += BURST_EVERY;
	}
	t = now_us();
	if (starts)
		s->bursts[s->nbursts++] = (struct burst){ t, s->reads, pos };
	if (s->reads < s->cap)
		s->read_us[s->reads] = t;
	s->reads++;
	return 0;
}

static void sink_write(void *user, const int16_t *pcm, size_t n)
{
	struct sink *k = user;
	int64_t t = now_us();

	if (k->nticks < k->cap)
		k->tick_us[k->nticks++] = t;
	for (size_t i = 0; i < n; i++)
		if (pcm[i] == k->marker && k->nplayed < k->cap)
			k->played_us[k->nplayed++] = t;
}

static void on_event(void *user, enum wv_direction dir,
		     const struct wv_event *ev)
{
	struct run *r = user;
	int64_t t;

	if (ev->type != WV_EVENT_AUDIO)
		return;
	t = now_us();
	if (dir == WV_DIR_IN && r->snk.narrivals < r->snk.cap)
		r->snk.arrival_us[r->snk.narrivals++] = t;
	else if (dir == WV_DIR_OUT && r->src.nqueued < r->src.cap)
		r->src.queued_us[r->src.nqueued++] = t;
}

/* ---- the peer: a WebSocket server for one call ---- */

/* An outbound frame: finds each burst's onset, the first loud sample after
   a stretch of quiet. */
static void peer_heard(struct peer *p, const uint8_t *ulaw, size_t n,
		       int64_t at)
{
	int16_t pcm[WV_FRAME_SAMPLES];
	uint64_t frame = p->frames++;

	if (frame < p->cap)
		p->frame_us[frame] = at;
	if (n != WV_FRAME_SAMPLES)
		return;
	wv_ulaw_decode(pcm, ulaw, n);
	for (size_t i = 0; i < n; i++) {
		int64_t x = (int64_t)(frame * WV_FRAME_SAMPLES + i);

		if (abs(pcm[i]) < p->loud)
			continue;
		if (x - p->last_loud > QUIET_BEFORE_ONSET &&
		    p->nonsets < p->cap_onsets)
			p->onsets[p->nonsets++] =
				(struct onset){ at, frame, (unsigned)i };
		p->last_loud = x;
	}
}

static bool peer_text(struct peer *p, int fd, const char *text, size_t len,
		      int64_t at)
{
	struct wv_event ev;

	if (wv_decoder_decode(p->dec, text, len, &ev) < 0)
		return true; /* not ours to judge here */
	if (ev.type == WV_EVENT_START && !p->answered) {
		p->answered = true;
		/* The loop's clock started as the socket opened, just before
		   this start was sent: a lead of whole ticks would put every
		   first utterance at the same phase. */
		p->next_send = at + LEAD_US + rand_below(&p->rng, TICK_US);
		return rawws_send_text(fd, "{\"event\":\"start\","
				     "\"communication_id\":\"bench-latency\"}");
	}
	if (ev.type == WV_EVENT_AUDIO)
		peer_heard(p, ev.audio, ev.audio_len, at);
	return true;
}

/* Returns false once the call is over (a close, or the socket failed). */
static bool peer_receive(struct peer *p, int fd)
{
	size_t len = 0;
	int op = rawws_read_frame(fd, p->rx, sizeof p->rx, &len);
	int64_t at = now_us();

	switch (op) {
	case RAWWS_TEXT:
		return peer_text(p, fd, p->rx, len, at);
	case RAWWS_CLOSE: /* answered with its code */
		rawws_send_frame(fd, RAWWS_CLOSE, true, p->rx,
				 len >= 2 ? 2 : 0);
		return false;
	case RAWWS_PING:
		return rawws_send_frame(fd, RAWWS_PONG, true, p->rx, len);
	default:
		return op >= 0;
	}
}

/* One inbound frame: a quiet tone with the marker as its first sample;
   the last of an utterance is followed by a mark, then a pause. */
static bool peer_speak(struct peer *p, int fd)
{
	char json[WV_AUDIO_EVENT_LEN(WV_FRAME_SAMPLES) + 1], mark[64];
	int16_t pcm[WV_FRAME_SAMPLES];
	uint8_t ulaw[WV_FRAME_SAMPLES];
	int len;

	for (size_t i = 0; i < WV_FRAME_SAMPLES; i++) {
		pcm[i] = (int16_t)lrint(TONE_AMP * sin(p->tone));
		p->tone = fmod(p->tone + 2 * PI * TONE_HZ / WV_RATE, 2 * PI);
	}
	wv_ulaw_encode(ulaw, pcm, WV_FRAME_SAMPLES);
	ulaw[0] = MARKER_ULAW;
	len = wv_encode_audio(json, sizeof json, ulaw, sizeof ulaw);
	if (len < 0 ||
	    !rawws_send_frame(fd, RAWWS_TEXT, true, json, (size_t)len))
		return false;
	if (p->nsent < p->cap)
		p->sent_us[p->nsent++] = now_us();
	if (++p->utt_frame < UTT_FRAMES) {
		p->next_send += TICK_US;
		return true;
	}
	p->utt_frame = 0;
	snprintf(mark, sizeof mark, "{\"event\":\"mark\",\"mark\":\"u%u\"}",
		 p->utterances++);
	p->next_send += TICK_US + GAP_US;
	return rawws_send_text(fd, mark);
}

static struct timespec wait_until(int64_t deadline)
{
	int64_t wait = deadline - now_us();

	if (wait > 100000) /* to see stop in time */
		wait = 100000;
	if (wait < 0)
		wait = 0;
	return (struct timespec){ wait / 1000000, (wait % 1000000) * 1000 };
}

static void peer_converse(struct peer *p, int fd)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };

	p->next_send = INT64_MAX;
	while (!atomic_load(&p->stop)) {
		struct timespec ts = wait_until(p->next_send);
		int rc = ppoll(&pfd, 1, &ts, NULL);

		if (rc < 0 && errno != EINTR)
			return;
		if (rc > 0 && !peer_receive(p, fd))
			return;
		if (now_us() >= p->next_send && !peer_speak(p, fd))
			return;
	}
}

static int peer_accept(struct peer *p)
{
	struct pollfd pfd = { .fd = p->lfd, .events = POLLIN };
	struct timeval tv = { .tv_sec = 5 };
	int one = 1, fd;

	while (!atomic_load(&p->stop))
		if (poll(&pfd, 1, 100) > 0)
			break;
	if (atomic_load(&p->stop))
		return -1;
	fd = accept(p->lfd, NULL, NULL);
	if (fd < 0)
		return -1;
	/* A safety net for a client that stops halfway through a frame. */
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	/* Small frames at 20 ms: Nagle would hold them for delayed ACKs. */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	return fd;
}

static void *peer_main(void *arg)
{
	struct peer *p = arg;
	char req[4096];
	int fd = peer_accept(p);

	if (fd < 0)
		return NULL;
	if (rawws_read_request(fd, req, sizeof req) &&
	    rawws_answer_upgrade(fd, req, "apikey"))
		peer_converse(p, fd);
	close(fd);
	return NULL;
}

static int peer_listen(struct peer *p)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof a;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	p->lfd = socket(AF_INET, SOCK_STREAM, 0);
	if (p->lfd < 0)
		return -1;
	if (bind(p->lfd, (struct sockaddr *)&a, sizeof a) < 0 ||
	    listen(p->lfd, 1) < 0 ||
	    getsockname(p->lfd, (struct sockaddr *)&a, &len) < 0)
		return -1;
	p->port = ntohs(a.sin_port);
	return 0;
}

/* ---- one configuration ---- */

static bool run_alloc(struct run *r, unsigned seconds)
{
	size_t cap = ((size_t)seconds + SLACK_S) * (1000000 / TICK_US);
	size_t bursts = cap / BURST_EVERY + 1;
	uint8_t marker = MARKER_ULAW;

	r->src.cap = r->snk.cap = r->peer.cap = cap;
	r->src.cap_bursts = r->peer.cap_onsets = bursts;
	r->src.read_us = calloc(cap, sizeof(int64_t));
	r->src.queued_us = calloc(cap, sizeof(int64_t));
	r->src.bursts = calloc(bursts, sizeof(struct burst));
	r->snk.arrival_us = calloc(cap, sizeof(int64_t));
	r->snk.played_us = calloc(cap, sizeof(int64_t));
	r->snk.tick_us = calloc(cap, sizeof(int64_t));
	r->peer.frame_us = calloc(cap, sizeof(int64_t));
	r->peer.sent_us = calloc(cap, sizeof(int64_t));
	r->peer.onsets = calloc(bursts, sizeof(struct onset));
	r->src.rate = r->cfg.rate;
	r->src.block = r->cfg.rate / (1000000 / TICK_US);
	r->src.next_burst = FIRST_BURST;
	r->src.rng = 0x9e3779b97f4a7c15ULL ^ r->cfg.rate;
	r->peer.rng = 0x2545f4914f6cdd1dULL ^ r->cfg.prebuffer_ms;
	r->peer.lfd = -1;
	r->peer.last_loud = -1000000;
	r->peer.loud = (int16_t)(BURST_AMP * 32767 / 2);
	atomic_init(&r->peer.stop, false);
	wv_ulaw_decode(&r->snk.marker, &marker, 1);
	return r->src.read_us && r->src.queued_us && r->src.bursts &&
	       r->snk.arrival_us && r->snk.played_us && r->snk.tick_us &&
	       r->peer.frame_us && r->peer.sent_us && r->peer.onsets &&
	       wv_decoder_create(&r->peer.dec, 0) == 0;
}

static void run_free(struct run *r)
{
	if (r->peer.lfd >= 0)
		close(r->peer.lfd);
	wv_decoder_destroy(r->peer.dec);
	free(r->src.read_us);
	free(r->src.queued_us);
	free(r->src.bursts);
	free(r->snk.arrival_us);
	free(r->snk.played_us);
	free(r->snk.tick_us);
	free(r->peer.frame_us);
	free(r->peer.sent_us);
	free(r->peer.onsets);
	free(r);
}

static void client_config(struct run *r, struct wv_client_config *cfg,
			  const char *url)
{
	wv_client_config_default(cfg);
	cfg->url = url;
	cfg->api_key = "bench-latency-key";
	cfg->agent_id = "bench";
	cfg->prebuffer_ms = r->cfg.prebuffer_ms;
	cfg->playout_policy = r->cfg.policy;
	cfg->ping_s = 0;
	cfg->source = (struct wv_source){ r->cfg.rate, source_read, &r->src };
	cfg->sink = (struct wv_sink){ sink_write, &r->snk };
	cfg->cb.event = on_event;
	cfg->user = r;
}

/* Runs the call for `seconds` once it is confirmed, then hangs up. */
static int talk(struct run *r, struct wv_loop *loop, struct wv_client *call,
		unsigned seconds)
{
	int64_t begin = now_us(), until = 0;

	for (;;) {
		enum wv_status st;

		if (wv_loop_run(loop, 50) < 0) {
			snprintf(r->error, sizeof r->error, "the loop failed");
			return -1;
		}
		st = wv_client_status(call);
		if (st != WV_STATUS_CONNECTING && st != WV_STATUS_CONNECTED) {
			snprintf(r->error, sizeof r->error, "call ended early: %s",
				 *wv_client_last_error(call)
					 ? wv_client_last_error(call)
					 : wv_end_reason_name(
						   wv_client_end_reason(call)));
			return -1;
		}
		if (st == WV_STATUS_CONNECTED && !until)
			until = now_us() + (int64_t)seconds * 1000000;
		if (until && now_us() >= until)
			break;
		if (!until && now_us() - begin > CONNECT_WAIT_US) {
			snprintf(r->error, sizeof r->error,
				 "call not confirmed within %d s",
				 CONNECT_WAIT_US / 1000000);
			return -1;
		}
	}
	wv_client_hangup(call);
	wv_loop_run(loop, CLOSE_WAIT_MS);
	return 0;
}

static int call_peer(struct run *r, unsigned seconds)
{
	struct wv_client_config cfg;
	struct wv_loop *loop = NULL;
	struct wv_client *call = NULL;
	char url[64];
	int rc;

	snprintf(url, sizeof url, "ws://127.0.0.1:%d", r->peer.port);
	client_config(r, &cfg, url);
	rc = wv_loop_create(&loop);
	if (rc == 0)
		rc = wv_client_create(&call, loop, &cfg);
	if (rc == 0)
		rc = wv_client_connect(call);
	if (rc < 0)
		snprintf(r->error, sizeof r->error, "cannot make the call: %s",
			 wv_strerror(rc));
	else
		rc = talk(r, loop, call, seconds);
	if (call) {
		wv_client_stats(call, &r->stats);
		wv_client_playout_stats(call, &r->playout);
		wv_client_destroy(call);
	}
	if (loop)
		wv_loop_destroy(loop);
	return rc;
}

static int run_config(struct run *r, unsigned seconds)
{
	int rc;

	if (!run_alloc(r, seconds)) {
		snprintf(r->error, sizeof r->error, "out of memory");
		return -1;
	}
	if (peer_listen(&r->peer) < 0 ||
	    pthread_create(&r->peer.thread, NULL, peer_main, &r->peer) != 0) {
		snprintf(r->error, sizeof r->error, "cannot start the peer: %s",
			 strerror(errno));
		return -1;
	}
	rc = call_peer(r, seconds);
	atomic_store(&r->peer.stop, true);
	pthread_join(r->peer.thread, NULL);
	return rc;
}

/* ---- figures ---- */

struct out_result {
	struct summary latency_ms, delay_ms, send_us, encode_us, aged_ms;
	size_t later, unmatched;
	double library_ms;
};

struct in_result {
	struct summary latency_ms, onset_ms, buffered_ms, phase_ms, loop_us;
	size_t unmatched;
	uint64_t underruns;
};

struct result {
	struct config cfg;
	struct out_result out;
	struct in_result in;
	uint64_t dropped;
};

static double library_delay_ms(unsigned rate)
{
	struct wv_resampler *rs;
	double ms = -1;

	if (wv_resampler_create(&rs, rate, WV_RATE, -1) == 0) {
		ms = wv_resampler_latency_us(rs) / 1000.0;
		wv_resampler_destroy(rs);
	}
	return ms;
}

/* The delay the peer saw between a burst going in and coming out, in
   signal time; -1 when the pairing is not one the run can explain. */
static double signal_delay_ms(const struct source *s, const struct burst *b,
			      const struct onset *o)
{
	double in = ((double)b->read * s->block + b->pos) / s->rate;
	double out = ((double)o->frame * WV_FRAME_SAMPLES + o->off) / WV_RATE;
	double ms = (out - in) * 1000;

	return ms < -1 || ms > TICK_US / 1000.0 ? -1 : ms;
}

static void outbound_figures(const struct run *r, struct out_result *o)
{
	const struct source *s = &r->src;
	size_t n = s->nbursts < r->peer.nonsets ? s->nbursts : r->peer.nonsets;
	double *v = calloc(5 * (n + 1), sizeof *v);
	double *lat = v, *delay = v + n + 1, *send = v + 2 * (n + 1),
	       *enc = v + 3 * (n + 1), *aged = v + 4 * (n + 1);
	size_t m = 0;

	o->library_ms = library_delay_ms(r->cfg.rate);
	if (!v)
		return;
	for (size_t k = 0; k < n; k++) {
		const struct burst *b = &s->bursts[k];
		const struct onset *on = &r->peer.onsets[k];
		double d = signal_delay_ms(s, b, on);

		if (d < 0 || on->frame >= s->cap || on->frame >= s->nqueued ||
		    on->frame >= s->reads) {
			o->unmatched++;
			continue;
		}
		lat[m] = (double)(on->arrival_us - b->entry_us) / 1000;
		aged[m] = lat[m] + 1000.0 * (s->block - b->pos) / s->rate;
		delay[m] = d;
		send[m] = (double)(on->arrival_us - s->read_us[on->frame]);
		enc[m] = (double)(s->queued_us[on->frame] -
				  s->read_us[on->frame]);
		o->later += on->frame > b->read;
		m++;
	}
	o->unmatched += (s->nbursts > n ? s->nbursts : r->peer.nonsets) - n;
	o->latency_ms = summarize(lat, m);
	o->delay_ms = summarize(delay, m);
	o->send_us = summarize(send, m);
	o->encode_us = summarize(enc, m);
	o->aged_ms = summarize(aged, m);
	free(v);
}

/* The first tick after t (ticks are in time order). */
static size_t tick_after(const struct sink *k, int64_t t)
{
	size_t lo = 0, hi = k->nticks;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (k->tick_us[mid] > t)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

static void inbound_figures(const struct run *r, struct in_result *in)
{
	const struct sink *k = &r->snk;
	size_t n = k->nplayed < k->narrivals ? k->nplayed : k->narrivals;
	double *v = calloc(5 * (n + 1), sizeof *v);
	double *lat = v, *onset = v + n + 1, *buf = v + 2 * (n + 1),
	       *phase = v + 3 * (n + 1), *loop = v + 4 * (n + 1);
	size_t m = 0, ons = 0, nloop = 0;

	in->underruns = r->playout.underruns;
	in->unmatched = k->nplayed > k->narrivals ? k->nplayed - k->narrivals
						   : 0;
	if (!v)
		return;
	for (size_t j = 0; j < n; j++) {
		size_t t = tick_after(k, k->arrival_us[j]);

		if (t >= k->nticks || k->played_us[j] < k->tick_us[t]) {
			in->unmatched++;
			continue;
		}
		lat[m] = (double)(k->played_us[j] - k->arrival_us[j]) / 1000;
		phase[m] = (double)(k->tick_us[t] - k->arrival_us[j]) / 1000;
		buf[m] = (double)(k->played_us[j] - k->tick_us[t]) / 1000;
		if (j % UTT_FRAMES == 0)
			onset[ons++] = lat[m];
		if (j < r->peer.nsent)
			loop[nloop++] =
				(double)(k->arrival_us[j] - r->peer.sent_us[j]);
		m++;
	}
	in->latency_ms = summarize(lat, m);
	in->onset_ms = summarize(onset, ons);
	in->buffered_ms = summarize(buf, m);
	in->phase_ms = summarize(phase, m);
	in->loop_us = summarize(loop, nloop);
	free(v);
}

/* ---- printing ---- */

static void print_machine(unsigned seconds)
{
	char load[64] = "unknown";
	FILE *f = fopen("/proc/loadavg", "r");
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);

	if (f) {
		double a, b, c;

		if (fscanf(f, "%lf %lf %lf", &a, &b, &c) == 3)
			snprintf(load, sizeof load, "%.2f %.2f %.2f", a, b, c);
		fclose(f);
	}
	printf("bench_latency: the latency the client adds, over real calls to "
	       "a peer on 127.0.0.1\n");
	printf("machine: %ld CPUs online, load average %s; %u s per "
	       "configuration\n\n",
	       cpus, load, seconds);
}

static void print_cells(const struct summary *s, const char *fmt)
{
	const double cells[] = { s->min, s->p50, s->p99, s->max };

	for (size_t i = 0; i < sizeof cells / sizeof cells[0]; i++) {
		if (s->n)
			printf(fmt, cells[i]);
		else
			printf("%8s", "-");
	}
}

/* The configuration: the first cells of every row. */
static void print_config(const struct config *cfg)
{
	if (cfg->policy == WV_PLAYOUT_ADAPTIVE)
		printf("  %2u kHz  %10s |", cfg->rate / 1000, "adaptive");
	else
		printf("  %2u kHz  %7u ms |", cfg->rate / 1000,
		       cfg->prebuffer_ms);
}

static const char *config_name(const struct config *cfg, char *buf,
			       size_t len)
{
	if (cfg->policy == WV_PLAYOUT_ADAPTIVE)
		snprintf(buf, len, "%u kHz / adaptive", cfg->rate / 1000);
	else
		snprintf(buf, len, "%u kHz / %u ms", cfg->rate / 1000,
			 cfg->prebuffer_ms);
	return buf;
}

static void print_latency(const struct config *cfg, const struct summary *s)
{
	print_config(cfg);
	printf(" %6zu |", s->n);
	print_cells(s, "%8.2f");
}

static void print_outbound(const struct result *res, size_t n)
{
	puts("Outbound: a sample entering the capture side (the source read "
	     "that hands it over returns)\n"
	     "          -> its frame received by the peer, in ms");
	puts("  source  pre-buffer | bursts |     min     p50     p99     max"
	     "    mean | +block: mean     max");
	for (size_t i = 0; i < n; i++) {
		const struct out_result *o = &res[i].out;

		print_latency(&res[i].cfg, &o->latency_ms);
		printf("%8.2f | %12.2f %7.2f\n", o->latency_ms.mean,
		       o->aged_ms.mean, o->aged_ms.max);
	}
	puts("\n  where it comes from:");
	puts("  source  pre-buffer | next frame  resampler ms: library  "
	     "measured | send path us: p50     p99     max   read->queued p50");
	for (size_t i = 0; i < n; i++) {
		const struct out_result *o = &res[i].out;
		double pct = o->latency_ms.n
				     ? 100.0 * (double)o->later /
					       (double)o->latency_ms.n
				     : 0;

		print_config(&res[i].cfg);
		printf("    %5.1f %%  %17.2f  %8.2f |"
		       " %17.0f %7.0f %7.0f %18.0f\n",
		       pct, o->library_ms, o->delay_ms.p50, o->send_us.p50,
		       o->send_us.p99, o->send_us.max, o->encode_us.p50);
	}
	puts("  +block: the same counted from when the burst's first sample was "
	     "due in real time: the loop\n"
	     "  pulls 20 ms a tick, so a sample from a live source also waits for "
	     "its read (up to a tick).\n"
	     "  next frame: bursts the resampler's delay carried into the next "
	     "frame, which left one tick\n"
	     "  (20 ms) later; that share times 20 ms is the algorithmic part "
	     "of the mean. send path: from\n"
	     "  the source read of the tick that made the frame to the peer "
	     "having it (the rest).\n");
}

static void print_inbound(const struct result *res, size_t n)
{
	puts("Inbound: a frame arriving (its audio event decoded by the client)"
	     "\n         -> its first sample handed to the sink, in ms");
	puts("  source  pre-buffer | frames |     min     p50     p99     max |"
	     " utterance onsets:  n     p50     max");
	for (size_t i = 0; i < n; i++) {
		const struct in_result *in = &res[i].in;

		print_latency(&res[i].cfg, &in->latency_ms);
		printf(" | %20zu %7.2f %7.2f\n", in->onset_ms.n,
		       in->onset_ms.p50, in->onset_ms.max);
	}
	puts("\n  where it comes from:");
	puts("  source  pre-buffer | buffered: p50     max | tick phase: p50"
	     "     p99     max | underruns | peer->client us: p50     p99");
	for (size_t i = 0; i < n; i++) {
		const struct in_result *in = &res[i].in;

		print_config(&res[i].cfg);
		printf(" %13.2f %7.2f | %15.2f %7.2f %7.2f | %9llu | %20.0f"
		       " %7.0f\n", in->buffered_ms.p50, in->buffered_ms.max,
		       in->phase_ms.p50, in->phase_ms.p99, in->phase_ms.max,
		       (unsigned long long)in->underruns, in->loop_us.p50,
		       in->loop_us.p99);
	}
	puts("  tick phase: from the arrival to the loop's next 20 ms tick "
	     "(over 20 when that tick ran late).\n"
	     "  buffered: whole ticks after that: the pre-buffer (300 ms are "
	     "queued when the 15th frame of\n"
	     "  an utterance arrives, 280 ms after the first), and a frame still "
	     "queued ahead (arrivals that\n"
	     "  jitter across the tick, or an underrun). An audio device reading "
	     "the playout adds its own\n"
	     "  block and output latency on top.");
}

/* The agent's audio, arrival to ear: the guide's fixed 300 ms beside the
   client's default, the adaptive policy (both from a 48 kHz source, which
   plays no part inbound). */
static void print_ear(const struct result *res, size_t n)
{
	puts("\nArrival-to-ear, the agent's audio (a frame arriving -> its "
	     "first sample handed to the sink),\nin ms, at the guide's fixed "
	     "300 ms and at the client's default (adaptive):");
	puts("  playout            | frames |    mean     p50     p99     max"
	     " | underruns");
	for (size_t i = 0; i < n; i++) {
		const struct config *c = &res[i].cfg;
		const struct in_result *in = &res[i].in;
		bool adaptive = c->policy == WV_PLAYOUT_ADAPTIVE;

		if (c->rate != 48000 || (!adaptive && c->prebuffer_ms != 300))
			continue;
		printf("  %-18s | %6zu | %7.2f %7.2f %7.2f %7.2f | %9llu\n",
		       adaptive ? "adaptive (default)" : "fixed 300 ms",
		       in->latency_ms.n, in->latency_ms.mean,
		       in->latency_ms.p50, in->latency_ms.p99,
		       in->latency_ms.max, (unsigned long long)in->underruns);
	}
}

static void print_checks(const struct result *res, size_t n)
{
	bool any = false;
	char name[32];

	for (size_t i = 0; i < n; i++) {
		if (!res[i].out.unmatched && !res[i].in.unmatched &&
		    !res[i].dropped)
			continue;
		if (!any)
			puts("");
		any = true;
		printf("note: %s: %zu bursts and %zu markers not "
		       "paired, %llu frames dropped\n",
		       config_name(&res[i].cfg, name, sizeof name),
		       res[i].out.unmatched, res[i].in.unmatched,
		       (unsigned long long)res[i].dropped);
	}
}

/* ---- main ---- */

static void usage(FILE *to)
{
	fprintf(to,
		"usage: bench_latency [--seconds S]\n"
		"  Measures the latency the client adds, both ways, over five "
		"calls to a peer on\n"
		"  127.0.0.1 (source 48 and 8 kHz, fixed pre-buffer 300 and 0 "
		"ms;\n  48 kHz with the adaptive playout, the client's "
		"default).\n"
		"  --seconds S  talking time per call, 1-%d (default %d)\n"
		"  --help       this text\n",
		MAX_SECONDS, DEFAULT_SECONDS);
}

static unsigned parse_args(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "seconds", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned seconds = DEFAULT_SECONDS;
	int c;

	while ((c = getopt_long(argc, argv, "s:h", opts, NULL)) != -1) {
		char *end;
		long v;

		switch (c) {
		case 's':
			errno = 0;
			v = strtol(optarg, &end, 10);
			if (errno || *end || v < 1 || v > MAX_SECONDS) {
				usage(stderr);
				exit(2);
			}
			seconds = (unsigned)v;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			exit(2);
		}
	}
	if (optind != argc) {
		usage(stderr);
		exit(2);
	}
	return seconds;
}

static int measure(const struct config *cfg, unsigned seconds,
		   struct result *res)
{
	struct run *r = calloc(1, sizeof *r);
	int rc;

	if (!r) {
		fprintf(stderr, "bench_latency: out of memory\n");
		return -1;
	}
	r->cfg = *cfg;
	if (cfg->policy == WV_PLAYOUT_ADAPTIVE)
		fprintf(stderr, "bench_latency: %u kHz source, adaptive "
			"playout...\n", cfg->rate / 1000);
	else
		fprintf(stderr, "bench_latency: %u kHz source, %u ms "
			"pre-buffer...\n", cfg->rate / 1000, cfg->prebuffer_ms);
	rc = run_config(r, seconds);
	if (rc == 0 && (r->src.nbursts == 0 || r->snk.nplayed == 0)) {
		snprintf(r->error, sizeof r->error,
			 "nothing measured (%zu bursts, %zu markers played)",
			 r->src.nbursts, r->snk.nplayed);
		rc = -1;
	}
	if (rc == 0) {
		res->cfg = *cfg;
		res->dropped = r->stats.audio_frames_dropped;
		outbound_figures(r, &res->out);
		inbound_figures(r, &res->in);
	} else {
		char name[32];

		fprintf(stderr, "bench_latency: %s: %s\n",
			config_name(cfg, name, sizeof name),
			*r->error ? r->error : "failed");
	}
	run_free(r);
	return rc;
}

int main(int argc, char **argv)
{
	unsigned seconds = parse_args(argc, argv);
	struct result res[N_CONFIGS];

	memset(res, 0, sizeof res);
	wv_log_lws(WV_LOG_ERR, NULL, NULL);
	print_machine(seconds);
	fflush(stdout);
	for (size_t i = 0; i < N_CONFIGS; i++)
		if (measure(&configs[i], seconds, &res[i]) < 0)
			return 1;
	print_outbound(res, N_CONFIGS);
	print_inbound(res, N_CONFIGS);
	print_ear(res, N_CONFIGS);
	print_checks(res, N_CONFIGS);
	return 0;
}
