/*
 * bench_serve: can `wvoice serve` hold 500 concurrent `echo` calls on one
 * core with every agent frame on time? Printed as figures, never asserted
 * (machines are shared).
 *
 * It starts the server itself, pinned to one CPU, and runs the callers from
 * one thread on another CPU: epoll, non-blocking sockets and a small RFC 6455
 * client of its own, so that what is measured is the server. Each call sends
 * `start`, then 50 audio frames a second on a fixed schedule (calls spread
 * over the 20 ms), cycling through about one second of speech-like sound and
 * two of silence; the echo agent plays each utterance back during the
 * silence, and each of its marks is answered at once. After the steady
 * window every call sends `stop` and should be closed with 1000; then the
 * server gets SIGTERM and its summary line is read.
 *
 * Agent frame lateness. A burst of agent audio runs from its first frame to
 * the mark after it (echo ends every utterance with one). A client that
 * starts playing a burst when its first frame arrives hears frame k at
 * arrival_0 + k * 20 ms, so frame k's lateness is
 * arrival_k - (arrival_0 + k * 20 ms). The server sends the first frame of
 * a burst at once, 60 ms before it is to be heard, and the rest on the same
 * 20 ms pace, so on time is about 0; a frame later than 60 ms came after its
 * play time (the lead was used up, and a client would have heard a gap).
 *
 * Usage: bench_serve [--calls N] [--seconds S] [--ramp N] [--server PATH]
 *   --calls 1 without --seconds is a smoke run of two seconds or so: it ends
 *   as soon as the first echo's mark has been answered.
 * Exits 1 if the run could not be made or calls failed; figures never fail.
 */
#define _GNU_SOURCE /* sched_setaffinity, epoll_pwait2, pipe2, prctl */

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include <wvoice/base64.h>
#include <wvoice/capture.h>
#include <wvoice/codec.h>
#include <wvoice/error.h>
#include <wvoice/protocol.h>

#define FRAME_US 20000
#define LEAD_US 60000	       /* the server's lead over play time */
#define STALL_US 100000	       /* a gap this long inside a burst is a stall */
#define RAMP_EVERY_US 100000   /* a batch of connections this often */
#define HANDSHAKE_US 10000000  /* a handshake unanswered this long fails */
#define STOP_WAIT_US 5000000   /* how long calls get to close after stop */
#define SERVER_WAIT_MS 30000   /* for `listening on`, and for the exit */
#define SMOKE_MAX_US 3000000   /* a smoke run gives up on the echo here */
#define IN_CAP 16384	       /* per call: several server frames at once */
#define OUT_MAX (256 * 1024)   /* unsent bytes past this: the call fails */
#define FRAME_MAX 8192	       /* largest frame this client sends */
#define SPEECH_DBFS (-20.0)
#define PI 3.14159265358979323846
#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

enum call_state {
	CALL_IDLE,	 /* not connected yet */
	CALL_CONNECTING, /* TCP connect under way */
	CALL_HANDSHAKE,	 /* upgrade request sent */
	CALL_OPEN,	 /* WebSocket open */
	CALL_CLOSING,	 /* close frame seen; waiting for the TCP close */
	CALL_DONE,
};

enum call_result {
	RES_NONE,
	RES_CONNECTED, /* 101 */
	RES_REFUSED,   /* any other HTTP status */
	RES_FAILED,    /* no answer, or not a valid upgrade */
};

struct call {
	int fd;
	unsigned idx;
	enum call_state state;
	enum call_result result;
	int64_t connect_at;
	char key[32]; /* Sec-WebSocket-Key */
	uint8_t in[IN_CAP];
	size_t in_len;
	uint8_t *out; /* bytes the socket did not take yet */
	size_t out_len, out_off, out_cap;
	int want_out;
	int sending;	/* audio flows */
	int stop_sent, close_sent;
	int close_code; /* from the server's close frame; -1 none */
	int early;	/* the server closed before our stop */
	unsigned cycle_pos;
	int in_burst;
	int64_t burst_t0, last_rx;
	uint32_t burst_k;
};

/* A growing list of values in microseconds, for exact percentiles. */
struct samples {
	int32_t *v;
	size_t n, cap;
};

struct proc_sample {
	int64_t at_us;
	unsigned long long ticks; /* utime + stime */
	int64_t self_cpu_us;	  /* this process, for comparison */
	/* Busy ticks of the server's and the client's CPUs, by everyone: what
	   is not ours is other work that competed with the run. */
	unsigned long long busy_server, busy_client;
};

struct server_summary {
	int seen;
	unsigned long long calls, refused, frames, late;
	double worst_ms;
};

struct opts {
	unsigned calls, ramp;
	double seconds;
	int smoke;
	char server[PATH_MAX];
};

enum phase { PH_RAMP, PH_STEADY, PH_STOPPING, PH_DONE };

struct bench {
	struct opts o;
	struct call *calls;
	int epfd;
	pid_t server;
	int srv_out, srv_err; /* the server's stdout and stderr pipes */
	struct sockaddr_in addr;
	char host_port[80];
	int cpu_server, cpu_client;
	struct wv_decoder *dec;
	uint64_t rng;

	/* The audio cycle, pre-encoded as JSON text, one entry per frame. */
	char (*cycle)[WV_AUDIO_EVENT_LEN(WV_FRAME_SAMPLES) + 1];
	size_t *cycle_len;
	unsigned cycle_frames;

	/* The send schedule: slot (m, i) is due at epoch + m*20 ms + i*20 ms/N. */
	int64_t epoch, cur_m;
	unsigned cur_i;

	enum phase phase;
	int64_t next_ramp, steady_start, steady_end, stop_deadline;
	unsigned opened, resolved, done;

	/* Figures. */
	unsigned connected, refused, failed, dropped, closed_ok;
	unsigned lingering;	 /* closed 1000, but the TCP close never came */
	unsigned no_close_frame; /* TCP closed after stop, no close frame */
	unsigned no_answer;	 /* nothing at all after stop */
	unsigned bad_code;	 /* closed after stop with a code not 1000 */
	unsigned started, status[600], close_codes[5000];
	uint64_t audio_sent, marks_sent, other_sent, send_bytes;
	uint64_t audio_rx, marks_rx, clears_rx, stops_rx, other_rx, bad_rx;
	uint64_t bursts, stalls, late_frames;
	struct samples lateness, send_late;
	struct proc_sample cpu0, cpu1;
	long rss_kb, hwm_kb, srv_nofile;

	/* The server's stderr. */
	char errline[1024];
	size_t errline_len;
	unsigned err_lines;
	struct server_summary summary;
};

static int64_t now_us(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000000 + t.tv_nsec / 1000;
}

static int64_t self_cpu_us(void)
{
	struct timespec t;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
	return (int64_t)t.tv_sec * 1000000 + t.tv_nsec / 1000;
}

static uint64_t rng_next(struct bench *b)
{
	/* xorshift64*: masks and keys need only to vary, not to be secret. */
	b->rng ^= b->rng >> 12;
	b->rng ^= b->rng << 25;
	b->rng ^= b->rng >> 27;
	return b->rng * 0x2545F4914F6CDD1DULL;
}

static void die(const char *what)
{
	fprintf(stderr, "bench_serve: %s\n", what);
	exit(1);
}

/* ---- figures ---- */

static void samples_push(struct samples *s, int64_t v)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 65536;
		int32_t *p = realloc(s->v, cap * sizeof *p);

		if (!p)
			die("out of memory");
		s->v = p;
		s->cap = cap;
	}
	if (v > INT32_MAX)
		v = INT32_MAX;
	if (v < INT32_MIN)
		v = INT32_MIN;
	s->v[s->n++] = (int32_t)v;
}

static int cmp_i32(const void *a, const void *b)
{
	int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;

	return (x > y) - (x < y);
}

/* Nearest-rank percentile in ms of sorted samples. */
static double pct_ms(const struct samples *s, double q)
{
	size_t k = (size_t)ceil(q * (double)s->n);

	if (s->n == 0)
		return 0;
	if (k < 1)
		k = 1;
	if (k > s->n)
		k = s->n;
	return s->v[k - 1] / 1000.0;
}

static void print_dist(const char *what, struct samples *s)
{
	qsort(s->v, s->n, sizeof *s->v, cmp_i32);
	printf("%s over %zu frames (ms): p50 %.2f  p99 %.2f  p99.9 %.2f  "
	       "max %.2f\n",
	       what, s->n, pct_ms(s, 0.5), pct_ms(s, 0.99), pct_ms(s, 0.999),
	       pct_ms(s, 1.0));
}

/* ---- the server process ---- */

static int read_proc_stat(pid_t pid, unsigned long long *ticks)
{
	char path[64], buf[1024], *p;
	unsigned long ut, st;
	FILE *f;
	size_t n;

	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* The command name may hold spaces and parentheses: skip past the
	   last ')'; utime and stime are then the 12th and 13th fields. */
	p = strrchr(buf, ')');
	if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u "
			 "%lu %lu", &ut, &st) != 2)
		return -1;
	*ticks = (unsigned long long)ut + st;
	return 0;
}

/* The first number after `key` on its line in a /proc text file. */
static long proc_number(pid_t pid, const char *file, const char *key)
{
	char path[64], line[256];
	long v = -1;
	FILE *f;

	snprintf(path, sizeof path, "/proc/%d/%s", (int)pid, file);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof line, f))
		if (!strncmp(line, key, strlen(key))) {
			v = strtol(line + strlen(key), NULL, 10);
			break;
		}
	fclose(f);
	return v;
}

/* Ticks that CPU `cpu` spent busy (not idle or waiting), from /proc/stat. */
static unsigned long long cpu_busy(int cpu)
{
	char line[512], want[16];
	unsigned long long v[8] = { 0 }, busy = 0;
	FILE *f = fopen("/proc/stat", "r");

	if (!f || cpu < 0) {
		if (f)
			fclose(f);
		return 0;
	}
	snprintf(want, sizeof want, "cpu%d ", cpu);
	while (fgets(line, sizeof line, f)) {
		if (strncmp(line, want, strlen(want)))
			continue;
		/* user nice system idle iowait irq softirq steal */
		if (sscanf(line + strlen(want), "%llu %llu %llu %llu %llu %llu "
			   "%llu %llu", &v[0], &v[1], &v[2], &v[3], &v[4],
			   &v[5], &v[6], &v[7]) == 8)
			busy = v[0] + v[1] + v[2] + v[5] + v[6] + v[7];
		break;
	}
	fclose(f);
	return busy;
}

static void sample_cpu(struct bench *b, struct proc_sample *s)
{
	s->at_us = now_us();
	s->self_cpu_us = self_cpu_us();
	if (read_proc_stat(b->server, &s->ticks))
		s->ticks = 0;
	s->busy_server = cpu_busy(b->cpu_server);
	s->busy_client = cpu_busy(b->cpu_client);
}

/* The first two CPUs this process may run on: the server gets the first to
   itself, the client the second (if there is one). */
static void pick_cpus(struct bench *b)
{
	cpu_set_t set;

	b->cpu_server = b->cpu_client = -1;
	if (sched_getaffinity(0, sizeof set, &set))
		return;
	for (int cpu = 0; cpu < CPU_SETSIZE; cpu++) {
		if (!CPU_ISSET(cpu, &set))
			continue;
		if (b->cpu_server < 0) {
			b->cpu_server = cpu;
		} else {
			b->cpu_client = cpu;
			break;
		}
	}
}

static void pin_to(int cpu)
{
	cpu_set_t set;

	if (cpu < 0)
		return;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	sched_setaffinity(0, sizeof set, &set);
}

static void exec_server(const struct bench *b, int out_w, int err_w)
{
	char max_calls[32];
	char *argv[] = { (char *)b->o.server, "serve", "--port", "0",
			 "--api-key", "bench", "--max-calls", max_calls,
			 "--quiet", NULL };

	snprintf(max_calls, sizeof max_calls, "%u", b->o.calls + 10);
	/* Never outlive the bench, whatever happens to it. */
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	pin_to(b->cpu_server);
	if (dup2(out_w, 1) < 0 || dup2(err_w, 2) < 0)
		_exit(127);
	execv(b->o.server, argv);
	fprintf(stderr, "cannot run %s: %s\n", b->o.server, strerror(errno));
	_exit(127);
}

/* Reads the server's stdout up to `listening on ws://HOST:PORT`. */
static void await_listening(struct bench *b)
{
	char buf[512], *line;
	size_t len = 0;
	int64_t deadline = now_us() + (int64_t)SERVER_WAIT_MS * 1000;
	char host[64];
	unsigned port;

	for (;;) {
		struct pollfd p = { .fd = b->srv_out, .events = POLLIN };
		int64_t left = (deadline - now_us()) / 1000;
		ssize_t n;

		buf[len] = '\0';
		line = strstr(buf, "listening on ws://");
		if (line && strchr(line, '\n'))
			break;
		if (left <= 0 || poll(&p, 1, (int)left) <= 0)
			die("the server did not say `listening on` in time");
		n = read(b->srv_out, buf + len, sizeof buf - 1 - len);
		if (n <= 0) {
			char err[2048];
			ssize_t e = read(b->srv_err, err, sizeof err - 1);

			err[e > 0 ? e : 0] = '\0';
			fprintf(stderr, "bench_serve: the server exited before "
					"listening:\n%s", err);
			exit(1);
		}
		len += (size_t)n;
		if (len == sizeof buf - 1)
			die("the server's stdout is not what was expected");
	}
	if (sscanf(line, "listening on ws://%63[^:]:%u", host, &port) != 2 ||
	    port == 0 || port > 65535 ||
	    inet_pton(AF_INET, host, &b->addr.sin_addr) != 1)
		die("cannot read the server's address from `listening on`");
	b->addr.sin_family = AF_INET;
	b->addr.sin_port = htons((uint16_t)port);
	snprintf(b->host_port, sizeof b->host_port, "%s:%u", host, port);
}

static void start_server(struct bench *b)
{
	int out[2], err[2];

	if (pipe2(out, O_CLOEXEC) || pipe2(err, O_CLOEXEC))
		die("cannot make pipes");
	b->server = fork();
	if (b->server < 0)
		die("cannot fork");
	if (b->server == 0)
		exec_server(b, out[1], err[1]);
	close(out[1]);
	close(err[1]);
	b->srv_out = out[0];
	b->srv_err = err[0];
	await_listening(b);
	fcntl(b->srv_err, F_SETFL, O_NONBLOCK);
	fcntl(b->srv_out, F_SETFL, O_NONBLOCK);
	b->srv_nofile = proc_number(b->server, "limits", "Max open files");
}

static void server_line(struct bench *b, const char *line)
{
	struct server_summary *s = &b->summary;

	if (sscanf(line, "wvoice serve: %llu calls, %llu refused; agent frames "
			 "%llu, late %llu, worst send delay %lf ms",
		   &s->calls, &s->refused, &s->frames, &s->late,
		   &s->worst_ms) == 5) {
		s->seen = 1;
		return;
	}
	/* With --quiet the server logs only refusals and problems. */
	if (++b->err_lines <= 10)
		fprintf(stderr, "server: %s\n", line);
}

static int drain_server_err(struct bench *b)
{
	for (;;) {
		char buf[4096];
		ssize_t n = read(b->srv_err, buf, sizeof buf);

		if (n == 0)
			return 1; /* EOF: the server has gone */
		if (n < 0)
			return 0;
		for (ssize_t i = 0; i < n; i++) {
			if (buf[i] == '\n') {
				b->errline[b->errline_len] = '\0';
				server_line(b, b->errline);
				b->errline_len = 0;
			} else if (b->errline_len < sizeof b->errline - 1) {
				b->errline[b->errline_len++] = buf[i];
			}
		}
	}
}

static void stop_server(struct bench *b)
{
	int64_t deadline = now_us() + (int64_t)SERVER_WAIT_MS * 1000;
	int status = 0, gone = 0;

	kill(b->server, SIGTERM);
	while (!gone) {
		struct pollfd p = { .fd = b->srv_err, .events = POLLIN };
		int64_t left = (deadline - now_us()) / 1000;

		if (left <= 0 || poll(&p, 1, (int)left) <= 0) {
			fprintf(stderr, "bench_serve: the server did not exit "
					"after SIGTERM; killing it\n");
			kill(b->server, SIGKILL);
			break;
		}
		gone = drain_server_err(b);
	}
	waitpid(b->server, &status, 0);
	if (WIFEXITED(status) && WEXITSTATUS(status) != 0)
		fprintf(stderr, "bench_serve: the server exited with %d\n",
			WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		fprintf(stderr, "bench_serve: the server died of signal %d\n",
			WTERMSIG(status));
}

/* ---- the test audio ---- */

/*
 * Voiced speech, roughly: a harmonic pulse train around 120 Hz, its
 * harmonics (to 3.4 kHz) shaped by two formants that change with each
 * 250 ms syllable, under a 4 Hz syllabic envelope, at SPEECH_DBFS RMS.
 * The pitch drifts and falls within each syllable. A steady 120 Hz train
 * is not enough: the server's detector feeds speex only the frames above
 * its floor, speex learns a sound that never changes as noise, and then
 * hears just 2 utterances in 10 (measured); this one is heard every time.
 */
static double vowel_gain(double f, unsigned syllable)
{
	static const double f1[] = { 700, 400, 300, 600, 500 };
	static const double f2[] = { 1200, 2000, 2300, 1000, 1700 };
	double d1 = (f - f1[syllable % 5]) / 150, d2 = (f - f2[syllable % 5]) / 200;

	return 1 / (1 + d1 * d1) + 0.6 / (1 + d2 * d2) + 0.05;
}

static void make_speech(int16_t *pcm, size_t n)
{
	double *x = malloc(n * sizeof *x), sum = 0, gain, phase = 0;

	if (!x)
		die("out of memory");
	for (size_t i = 0; i < n; i++) {
		double t = (double)i / 8000.0, v = 0;
		unsigned syllable = (unsigned)(t * 4);
		double within = t * 4 - syllable;
		double f0 = 120 + 20 * sin(2 * PI * 0.7 * t) +
			    10 * (syllable % 3) - 15 * within;

		phase += 2 * PI * f0 / 8000.0;
		for (int h = 1; h * f0 < 3400; h++)
			v += vowel_gain(h * f0, syllable) * cos(h * phase);
		x[i] = 0.5 * (1 - cos(2 * PI * 4 * t)) * v;
		sum += x[i] * x[i];
	}
	gain = 32768.0 * pow(10, SPEECH_DBFS / 20) / sqrt(sum / (double)n);
	for (size_t i = 0; i < n; i++) {
		double v = x[i] * gain;

		pcm[i] = (int16_t)(v > 32767 ? 32767 : v < -32768 ? -32768 : v);
	}
	free(x);
}

static void make_cycle(struct bench *b, unsigned speech_ms, unsigned silence_ms)
{
	unsigned speech = speech_ms / 20, frames = speech + silence_ms / 20;
	int16_t *pcm = malloc((size_t)speech * WV_FRAME_SAMPLES * sizeof *pcm);
	uint8_t ulaw[WV_FRAME_SAMPLES];

	b->cycle = malloc(frames * sizeof *b->cycle);
	b->cycle_len = malloc(frames * sizeof *b->cycle_len);
	if (!pcm || !b->cycle || !b->cycle_len)
		die("out of memory");
	make_speech(pcm, (size_t)speech * WV_FRAME_SAMPLES);
	for (unsigned f = 0; f < frames; f++) {
		int n;

		if (f < speech)
			wv_ulaw_encode(ulaw, pcm + (size_t)f * WV_FRAME_SAMPLES,
				       WV_FRAME_SAMPLES);
		else
			memset(ulaw, WV_ULAW_SILENCE, sizeof ulaw);
		n = wv_encode_audio(b->cycle[f], sizeof b->cycle[f], ulaw,
				    sizeof ulaw);
		if (n < 0)
			die("cannot encode an audio frame");
		b->cycle_len[f] = (size_t)n;
	}
	b->cycle_frames = frames;
	free(pcm);
}

/* ---- sockets ---- */

static void watch(struct bench *b, struct call *c, int op)
{
	struct epoll_event ev = {
		.events = EPOLLIN | (c->want_out ? EPOLLOUT : 0u),
		.data.u64 = c->idx,
	};

	if (epoll_ctl(b->epfd, op, c->fd, &ev))
		die("epoll_ctl failed");
}

static void want_out(struct bench *b, struct call *c, int on)
{
	if (c->want_out == on)
		return;
	c->want_out = on;
	watch(b, c, EPOLL_CTL_MOD);
}

static void call_done(struct bench *b, struct call *c)
{
	if (c->state == CALL_DONE)
		return;
	if (c->state == CALL_CONNECTING || c->state == CALL_HANDSHAKE)
		b->resolved++;
	if (c->result == RES_CONNECTED) {
		if (c->early || !c->stop_sent)
			b->dropped++;
		else if (c->close_code == 1000)
			b->closed_ok++;
		else if (c->close_code >= 0)
			b->bad_code++;
		else if (b->phase == PH_DONE)
			b->no_answer++;
		else
			b->no_close_frame++;
		if (c->close_code >= 0 && b->phase == PH_DONE)
			b->lingering++;
	}
	close(c->fd);
	c->fd = -1;
	c->state = CALL_DONE;
	c->sending = 0;
	free(c->out);
	c->out = NULL;
	c->out_len = c->out_off = c->out_cap = 0;
	b->done++;
}

static void call_fail(struct bench *b, struct call *c, const char *why)
{
	if (b->failed + b->dropped < 10)
		fprintf(stderr, "bench_serve: call %u: %s\n", c->idx, why);
	if (c->result == RES_NONE) {
		c->result = RES_FAILED;
		b->failed++;
	}
	call_done(b, c);
}

static void flush_out(struct bench *b, struct call *c)
{
	while (c->out_off < c->out_len) {
		ssize_t n = send(c->fd, c->out + c->out_off,
				 c->out_len - c->out_off, MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			call_fail(b, c, "send failed");
			return;
		}
		c->out_off += (size_t)n;
	}
	if (c->out_off == c->out_len)
		c->out_off = c->out_len = 0;
	want_out(b, c, c->out_len > 0);
}

static void queue_out(struct bench *b, struct call *c, const uint8_t *p,
		      size_t len)
{
	if (c->out_off > 0) {
		memmove(c->out, c->out + c->out_off, c->out_len - c->out_off);
		c->out_len -= c->out_off;
		c->out_off = 0;
	}
	if (c->out_len + len > c->out_cap) {
		size_t cap = c->out_cap ? c->out_cap : 4096;
		uint8_t *q;

		while (cap < c->out_len + len)
			cap *= 2;
		if (cap > OUT_MAX) {
			call_fail(b, c, "the server stopped reading");
			return;
		}
		q = realloc(c->out, cap);
		if (!q)
			die("out of memory");
		c->out = q;
		c->out_cap = cap;
	}
	memcpy(c->out + c->out_len, p, len);
	c->out_len += len;
	want_out(b, c, 1);
}

/* Sends what the socket takes now and keeps the rest, in order. */
static void send_bytes(struct bench *b, struct call *c, const uint8_t *p,
		       size_t len)
{
	ssize_t n = 0;

	if (c->state == CALL_DONE)
		return;
	b->send_bytes += len;
	if (c->out_len == 0) {
		n = send(c->fd, p, len, MSG_NOSIGNAL);
		if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
			call_fail(b, c, "send failed");
			return;
		}
		if (n < 0)
			n = 0;
	}
	if ((size_t)n < len)
		queue_out(b, c, p + n, len - (size_t)n);
}

/* One masked frame, as RFC 6455 requires of a client. */
static void send_frame(struct bench *b, struct call *c, unsigned opcode,
		       const void *payload, size_t len)
{
	uint8_t buf[FRAME_MAX + 14], mask[4];
	const uint8_t *src = payload;
	uint64_t r = rng_next(b);
	size_t h = 0;

	if (len > FRAME_MAX)
		die("a frame too long for this client");
	buf[h++] = (uint8_t)(0x80 | opcode);
	if (len < 126) {
		buf[h++] = (uint8_t)(0x80 | len);
	} else {
		buf[h++] = 0x80 | 126;
		buf[h++] = (uint8_t)(len >> 8);
		buf[h++] = (uint8_t)len;
	}
	for (int i = 0; i < 4; i++)
		buf[h++] = mask[i] = (uint8_t)(r >> (8 * i));
	for (size_t i = 0; i < len; i++)
		buf[h + i] = (uint8_t)(src[i] ^ mask[i & 3]);
	send_bytes(b, c, buf, h + len);
}

static void send_text(struct bench *b, struct call *c, const char *text,
		      size_t len)
{
	send_frame(b, c, 0x1, text, len);
}

static void send_close(struct bench *b, struct call *c, int code)
{
	uint8_t p[2] = { (uint8_t)(code >> 8), (uint8_t)code };

	if (c->close_sent)
		return;
	c->close_sent = 1;
	send_frame(b, c, 0x8, p, sizeof p);
}

/* ---- the handshake ---- */

static void open_call(struct bench *b, struct call *c)
{
	int one = 1;

	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	c->connect_at = now_us();
	c->state = CALL_CONNECTING;
	c->close_code = -1;
	c->want_out = 1;
	b->opened++;
	if (c->fd < 0) {
		call_fail(b, c, strerror(errno));
		return;
	}
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	if (connect(c->fd, (struct sockaddr *)&b->addr, sizeof b->addr) &&
	    errno != EINPROGRESS) {
		call_fail(b, c, strerror(errno));
		return;
	}
	watch(b, c, EPOLL_CTL_ADD);
}

static void send_upgrade(struct bench *b, struct call *c)
{
	uint8_t nonce[16];
	char req[512];
	int err = 0, n;
	socklen_t len = sizeof err;

	if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) || err) {
		call_fail(b, c, err ? strerror(err) : "connect failed");
		return;
	}
	for (size_t i = 0; i < sizeof nonce; i++)
		nonce[i] = (uint8_t)rng_next(b);
	wv_base64_encode(c->key, nonce, sizeof nonce);
	n = snprintf(req, sizeof req,
		     "GET /telephony/websocket/call?agent_id=echo HTTP/1.1\r\n"
		     "Host: %s\r\n"
		     "Upgrade: websocket\r\n"
		     "Connection: Upgrade\r\n"
		     "Sec-WebSocket-Key: %s\r\n"
		     "Sec-WebSocket-Version: 13\r\n"
		     "Sec-WebSocket-Protocol: apikey, bench\r\n"
		     "\r\n",
		     b->host_port, c->key);
	c->state = CALL_HANDSHAKE;
	want_out(b, c, 0);
	send_bytes(b, c, (const uint8_t *)req, (size_t)n);
}

/* The value of header `name` in an HTTP response head, or NULL. */
static const char *header(const char *head, const char *name, char *out,
			  size_t cap)
{
	size_t nlen = strlen(name);

	for (const char *l = strstr(head, "\r\n"); l; l = strstr(l, "\r\n")) {
		const char *v, *end;
		size_t n;

		l += 2;
		if (strncasecmp(l, name, nlen) || l[nlen] != ':')
			continue;
		v = l + nlen + 1;
		while (*v == ' ' || *v == '\t')
			v++;
		end = strstr(v, "\r\n");
		n = end ? (size_t)(end - v) : strlen(v);
		while (n && (v[n - 1] == ' ' || v[n - 1] == '\t'))
			n--;
		if (n >= cap)
			return NULL;
		memcpy(out, v, n);
		out[n] = '\0';
		return out;
	}
	return NULL;
}

static int accept_matches(const char *key, const char *accept)
{
	char in[64], want[WV_BASE64_ENCODED_LEN(20) + 1];
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;
	int n = snprintf(in, sizeof in, "%s%s", key, WS_GUID);

	if (!EVP_Digest(in, (size_t)n, md, &mdlen, EVP_sha1(), NULL) ||
	    mdlen != 20)
		return 0;
	wv_base64_encode(want, md, 20);
	return !strcmp(want, accept);
}

static void process_frames(struct bench *b, struct call *c, int64_t t);

static void on_upgrade_answer(struct bench *b, struct call *c, int64_t t)
{
	static const char start[] = "{\"event\":\"start\"}";
	char *end, value[128];
	size_t head_len;
	int status = 0;

	c->in[c->in_len < IN_CAP ? c->in_len : IN_CAP - 1] = '\0';
	end = strstr((char *)c->in, "\r\n\r\n");
	if (!end) {
		if (c->in_len >= IN_CAP - 1)
			call_fail(b, c, "an HTTP answer too long");
		return;
	}
	*end = '\0';
	head_len = (size_t)(end + 4 - (char *)c->in);
	if (sscanf((char *)c->in, "HTTP/1.1 %d", &status) != 1 ||
	    status < 100 || status > 599) {
		call_fail(b, c, "not an HTTP answer");
		return;
	}
	if (status != 101) {
		c->result = RES_REFUSED;
		b->refused++;
		b->status[status]++;
		call_done(b, c);
		return;
	}
	if (!header((char *)c->in, "Sec-WebSocket-Accept", value, sizeof value) ||
	    !accept_matches(c->key, value)) {
		call_fail(b, c, "bad Sec-WebSocket-Accept");
		return;
	}
	if (!header((char *)c->in, "Sec-WebSocket-Protocol", value,
		    sizeof value) || strcmp(value, "apikey")) {
		call_fail(b, c, "the server did not answer subprotocol apikey");
		return;
	}
	c->result = RES_CONNECTED;
	b->connected++;
	b->resolved++;
	c->state = CALL_OPEN;
	memmove(c->in, c->in + head_len, c->in_len - head_len);
	c->in_len -= head_len;
	send_text(b, c, start, sizeof start - 1);
	b->other_sent++;
	c->sending = 1;
	/* Calls start at different points of the cycle, so that the agents'
	   talk is spread evenly over time. */
	c->cycle_pos = (unsigned)((uint64_t)c->idx * b->cycle_frames /
				  b->o.calls);
	process_frames(b, c, t);
}

/* ---- what the server sends ---- */

static void burst_frame(struct bench *b, struct call *c, int64_t t)
{
	int64_t late;

	if (!c->in_burst) {
		c->in_burst = 1;
		c->burst_t0 = t;
		c->burst_k = 0;
		b->bursts++;
	} else {
		c->burst_k++;
		if (t - c->last_rx >= STALL_US)
			b->stalls++;
	}
	late = t - (c->burst_t0 + (int64_t)c->burst_k * FRAME_US);
	if (late > LEAD_US)
		b->late_frames++;
	samples_push(&b->lateness, late);
	c->last_rx = t;
}

static void on_event(struct bench *b, struct call *c, const char *text,
		     size_t len, int64_t t)
{
	struct wv_event ev;
	char reply[FRAME_MAX];
	int n;

	if (wv_decoder_decode(b->dec, text, len, &ev)) {
		if (b->bad_rx++ < 5)
			fprintf(stderr, "bench_serve: call %u: bad event: %s\n",
				c->idx, wv_decoder_error(b->dec));
		return;
	}
	switch (ev.type) {
	case WV_EVENT_AUDIO:
		b->audio_rx++;
		burst_frame(b, c, t);
		break;
	case WV_EVENT_MARK:
		b->marks_rx++;
		c->in_burst = 0;
		n = wv_encode_event(reply, sizeof reply, &ev);
		if (n < 0)
			die("cannot encode a mark");
		send_text(b, c, reply, (size_t)n);
		b->marks_sent++;
		break;
	case WV_EVENT_START:
		b->started++;
		break;
	case WV_EVENT_CLEAR:
		b->clears_rx++;
		c->in_burst = 0;
		break;
	case WV_EVENT_STOP:
		b->stops_rx++;
		break;
	default:
		b->other_rx++;
		break;
	}
}

static void on_close_frame(struct bench *b, struct call *c,
			   const uint8_t *p, size_t len)
{
	int code = len >= 2 ? p[0] << 8 | p[1] : 1005;

	if (c->close_code >= 0)
		return; /* a second close frame: ignored */
	c->close_code = code;
	if (code < 5000)
		b->close_codes[code]++;
	c->early = !c->stop_sent;
	c->sending = 0;
	send_close(b, c, code == 1005 ? 1000 : code);
	if (c->state == CALL_OPEN)
		c->state = CALL_CLOSING;
}

/* Handles one whole frame; returns bytes used, 0 if it is incomplete. */
static size_t one_frame(struct bench *b, struct call *c, int64_t t)
{
	const uint8_t *p = c->in;
	size_t have = c->in_len, h = 2;
	uint64_t len;
	unsigned op;

	if (have < 2)
		return 0;
	op = p[0] & 0x0f;
	len = p[1] & 0x7f;
	if (p[1] & 0x80) {
		call_fail(b, c, "the server masked a frame");
		return 0;
	}
	if (len == 126) {
		if (have < 4)
			return 0;
		len = (uint64_t)p[2] << 8 | p[3];
		h = 4;
	} else if (len == 127) {
		if (have < 10)
			return 0;
		len = 0;
		for (int i = 0; i < 8; i++)
			len = len << 8 | p[2 + i];
		h = 10;
	}
	if (len > IN_CAP - 1 - h) {
		call_fail(b, c, "a frame too long for this client");
		return 0;
	}
	if (have < h + len)
		return 0;
	if (!(p[0] & 0x80) || op == 0x0) {
		/* The server's events are small: one frame each. */
		call_fail(b, c, "a fragmented message");
		return 0;
	}
	if (op == 0x1)
		on_event(b, c, (const char *)p + h, (size_t)len, t);
	else if (op == 0x8)
		on_close_frame(b, c, p + h, (size_t)len);
	else if (op == 0x9)
		send_frame(b, c, 0xA, p + h, (size_t)len);
	else if (op != 0xA)
		call_fail(b, c, "an unexpected frame type");
	return h + (size_t)len;
}

static void process_frames(struct bench *b, struct call *c, int64_t t)
{
	size_t used = 0;

	while (c->state != CALL_DONE) {
		size_t n;

		memmove(c->in, c->in + used, c->in_len - used);
		c->in_len -= used;
		n = one_frame(b, c, t);
		if (n == 0)
			break;
		used = n;
	}
}

static void on_readable(struct bench *b, struct call *c)
{
	for (;;) {
		ssize_t n = recv(c->fd, c->in + c->in_len,
				 IN_CAP - 1 - c->in_len, 0);
		int64_t t = now_us();

		if (n == 0) {
			call_done(b, c);
			return;
		}
		if (n < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				call_done(b, c);
			return;
		}
		c->in_len += (size_t)n;
		if (c->state == CALL_HANDSHAKE)
			on_upgrade_answer(b, c, t);
		else
			process_frames(b, c, t);
		if (c->state == CALL_DONE)
			return;
	}
}

static void on_call_event(struct bench *b, struct call *c, uint32_t events)
{
	if (c->state == CALL_CONNECTING) {
		if (events & (EPOLLOUT | EPOLLERR | EPOLLHUP))
			send_upgrade(b, c);
		return;
	}
	if (events & EPOLLOUT)
		flush_out(b, c);
	if (c->state != CALL_DONE && (events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
		on_readable(b, c);
}

/* ---- the schedule ---- */

static int64_t slot_due(const struct bench *b)
{
	return b->epoch + b->cur_m * FRAME_US +
	       (int64_t)b->cur_i * FRAME_US / b->o.calls;
}

static void send_due_audio(struct bench *b, int64_t now)
{
	for (int64_t due = slot_due(b); due <= now; due = slot_due(b)) {
		struct call *c = &b->calls[b->cur_i];

		if (c->sending && c->state == CALL_OPEN) {
			unsigned f = c->cycle_pos;

			c->cycle_pos = (f + 1) % b->cycle_frames;
			send_text(b, c, b->cycle[f], b->cycle_len[f]);
			b->audio_sent++;
			samples_push(&b->send_late, now - due);
		}
		if (++b->cur_i == b->o.calls) {
			b->cur_i = 0;
			b->cur_m++;
		}
	}
}

static void ramp(struct bench *b, int64_t now)
{
	if (now < b->next_ramp)
		return;
	for (unsigned n = 0; n < b->o.ramp && b->opened < b->o.calls; n++)
		open_call(b, &b->calls[b->opened]);
	b->next_ramp += RAMP_EVERY_US;
	for (unsigned i = 0; i < b->opened; i++) {
		struct call *c = &b->calls[i];

		if ((c->state == CALL_CONNECTING ||
		     c->state == CALL_HANDSHAKE) &&
		    now - c->connect_at > HANDSHAKE_US)
			call_fail(b, c, "no answer to the upgrade request");
	}
}

static void begin_steady(struct bench *b, int64_t now)
{
	b->phase = PH_STEADY;
	b->steady_start = now;
	b->steady_end = now + (int64_t)(b->o.seconds * 1e6);
	sample_cpu(b, &b->cpu0);
}

static void begin_stopping(struct bench *b, int64_t now)
{
	static const char stop[] = "{\"event\":\"stop\"}";

	sample_cpu(b, &b->cpu1);
	b->rss_kb = proc_number(b->server, "status", "VmRSS:");
	b->hwm_kb = proc_number(b->server, "status", "VmHWM:");
	for (unsigned i = 0; i < b->o.calls; i++) {
		struct call *c = &b->calls[i];

		if (c->state != CALL_OPEN || c->stop_sent)
			continue;
		c->sending = 0;
		c->stop_sent = 1;
		send_text(b, c, stop, sizeof stop - 1);
		b->other_sent++;
	}
	b->phase = PH_STOPPING;
	b->stop_deadline = now + STOP_WAIT_US;
}

static void advance_phase(struct bench *b, int64_t now)
{
	if (b->phase == PH_RAMP) {
		ramp(b, now);
		if (b->resolved == b->o.calls)
			begin_steady(b, now);
	}
	if (b->phase == PH_STEADY &&
	    (now >= b->steady_end ||
	     (b->o.smoke && (b->marks_sent > 0 ||
			     now - b->steady_start > SMOKE_MAX_US))))
		begin_stopping(b, now);
	if (b->phase == PH_STOPPING &&
	    (b->done == b->o.calls || now >= b->stop_deadline))
		b->phase = PH_DONE;
}

static int64_t next_wake(const struct bench *b, int64_t now)
{
	int64_t at = now + 100000;

	if (b->phase == PH_RAMP || b->phase == PH_STEADY) {
		int64_t due = slot_due(b);

		if (due < at)
			at = due;
	}
	if (b->phase == PH_RAMP && b->next_ramp < at)
		at = b->next_ramp;
	if (b->phase == PH_STEADY && b->steady_end < at)
		at = b->steady_end;
	return at > now ? at - now : 0;
}

static void run(struct bench *b)
{
	struct epoll_event evs[256];
	struct epoll_event ev = { .events = EPOLLIN };

	ev.data.u64 = b->o.calls;
	if (epoll_ctl(b->epfd, EPOLL_CTL_ADD, b->srv_err, &ev))
		die("epoll_ctl failed");
	b->epoch = b->next_ramp = now_us();
	b->phase = PH_RAMP;
	while (b->phase != PH_DONE) {
		int64_t now = now_us(), wait;
		struct timespec ts;
		int n;

		advance_phase(b, now);
		if (b->phase == PH_RAMP || b->phase == PH_STEADY)
			send_due_audio(b, now);
		wait = next_wake(b, now_us());
		ts.tv_sec = wait / 1000000;
		ts.tv_nsec = (long)(wait % 1000000) * 1000;
		n = epoll_pwait2(b->epfd, evs, 256, &ts, NULL);
		if (n < 0 && errno != EINTR)
			die("epoll_pwait2 failed");
		for (int i = 0; i < n; i++) {
			uint64_t id = evs[i].data.u64;

			if (id == b->o.calls)
				drain_server_err(b);
			else
				on_call_event(b, &b->calls[id], evs[i].events);
		}
	}
	for (unsigned i = 0; i < b->o.calls; i++)
		if (b->calls[i].state != CALL_IDLE &&
		    b->calls[i].state != CALL_DONE)
			call_done(b, &b->calls[i]);
}

/* ---- report ---- */

static void print_closes(const struct bench *b)
{
	printf("close codes from the server:");
	for (int code = 0; code < 5000; code++)
		if (b->close_codes[code])
			printf(" %d x%u", code, b->close_codes[code]);
	printf("%s\n", b->closed_ok == b->connected ? "" : "  (expected 1000 "
		"for every call)");
}

static void report(struct bench *b)
{
	double secs = (double)(b->cpu1.at_us - b->cpu0.at_us) / 1e6;
	double tick = (double)sysconf(_SC_CLK_TCK);
	double cpu = secs > 0 ? (double)(b->cpu1.ticks - b->cpu0.ticks) /
					tick / secs * 100 : 0;
	double self = secs > 0 ? (double)(b->cpu1.self_cpu_us -
					  b->cpu0.self_cpu_us) / 1e6 / secs *
					 100 : 0;
	const struct server_summary *s = &b->summary;

	printf("calls: %u connected, %u refused, %u failed; %u confirmed by "
	       "start; %u dropped by the server before stop\n",
	       b->connected, b->refused, b->failed, b->started, b->dropped);
	printf("after stop: %u closed 1000 (%u of them left the TCP "
	       "connection open), %u closed with another code, %u closed TCP "
	       "without a close frame, %u no answer in %d s\n",
	       b->closed_ok, b->lingering, b->bad_code, b->no_close_frame,
	       b->no_answer, STOP_WAIT_US / 1000000);
	for (int st = 0; st < 600; st++)
		if (b->status[st])
			printf("  refused with HTTP %d: %u\n", st, b->status[st]);
	print_closes(b);
	printf("frames sent: %llu audio, %llu marks, %llu other (%.1f MB)\n",
	       (unsigned long long)b->audio_sent,
	       (unsigned long long)b->marks_sent,
	       (unsigned long long)b->other_sent, (double)b->send_bytes / 1e6);
	printf("frames received: %llu audio, %llu marks, %llu clear, %llu "
	       "stop, %llu other, %llu undecodable\n",
	       (unsigned long long)b->audio_rx,
	       (unsigned long long)b->marks_rx,
	       (unsigned long long)b->clears_rx,
	       (unsigned long long)b->stops_rx,
	       (unsigned long long)b->other_rx,
	       (unsigned long long)b->bad_rx);
	printf("agent playback: %llu bursts; lateness = arrival_k - "
	       "(arrival_0 + k*20 ms), on time ~ 0\n",
	       (unsigned long long)b->bursts);
	print_dist("  agent frame lateness", &b->lateness);
	printf("  frames later than the %d ms lead (after their play time): "
	       "%llu; gaps over %d ms inside a burst: %llu\n",
	       LEAD_US / 1000, (unsigned long long)b->late_frames,
	       STALL_US / 1000, (unsigned long long)b->stalls);
	print_dist("client send lateness (our 50/s schedule)", &b->send_late);
	printf("steady window %.1f s: server CPU %.1f%% of a core (CPU %d), "
	       "client CPU %.1f%% (CPU %d)\n",
	       secs, cpu, b->cpu_server, self, b->cpu_client);
	if (secs > 0) {
		double srv_busy = (double)(b->cpu1.busy_server -
					   b->cpu0.busy_server) / tick / secs * 100;
		double cli_busy = (double)(b->cpu1.busy_client -
					   b->cpu0.busy_client) / tick / secs * 100;

		/* Other processes on these CPUs make every figure worse. */
		printf("other work on those CPUs: %.0f%% of CPU %d, %.0f%% of "
		       "CPU %d%s\n",
		       srv_busy > cpu ? srv_busy - cpu : 0, b->cpu_server,
		       cli_busy > self ? cli_busy - self : 0, b->cpu_client,
		       srv_busy - cpu > 5 || cli_busy - self > 5
			       ? " (a shared machine: figures are pessimistic)"
			       : "");
	}
	printf("server memory: VmRSS %.1f MiB, peak %.1f MiB; open files limit "
	       "%ld\n",
	       (double)b->rss_kb / 1024, (double)b->hwm_kb / 1024,
	       b->srv_nofile);
	if (!s->seen) {
		printf("server summary: missing\n");
		return;
	}
	printf("server says: %llu calls, %llu refused; agent frames %llu, "
	       "late %llu, worst send delay %.1f ms\n",
	       s->calls, s->refused, s->frames, s->late, s->worst_ms);
	printf("%u echo calls on one core: %llu agent frames, %llu late (sent "
	       "after their play time), worst send delay %.1f ms, server CPU "
	       "%.0f%% of a core\n",
	       b->connected, s->frames, s->late, s->worst_ms, cpu);
}

/* ---- setup ---- */

static void default_server_path(char *out, size_t cap)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
	char *slash;

	if (n <= 0)
		die("cannot find this program's directory; use --server");
	self[n] = '\0';
	slash = strrchr(self, '/');
	*slash = '\0';
	if ((size_t)snprintf(out, cap, "%s/wvoice", self) >= cap)
		die("path too long; use --server");
}

static void usage_exit(void)
{
	fputs("usage: bench_serve [--calls N] [--seconds S] [--ramp N] "
	      "[--server PATH]\n"
	      "  --calls N     concurrent echo calls (500)\n"
	      "  --seconds S   steady window once all calls are up (30; a "
	      "smoke run with --calls 1)\n"
	      "  --ramp N      connections opened every 100 ms (50)\n"
	      "  --server PATH the wvoice program (next to this one)\n",
	      stderr);
	exit(2);
}

static void parse_opts(struct opts *o, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "calls", required_argument, NULL, 'c' },
		{ "seconds", required_argument, NULL, 's' },
		{ "ramp", required_argument, NULL, 'r' },
		{ "server", required_argument, NULL, 'S' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int c, seconds_given = 0;
	char *end;

	o->calls = 500;
	o->ramp = 50;
	o->seconds = 30;
	o->server[0] = '\0';
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			o->calls = (unsigned)strtoul(optarg, &end, 10);
			if (*end || o->calls == 0 || o->calls > 100000)
				usage_exit();
			break;
		case 's':
			o->seconds = strtod(optarg, &end);
			if (*end || !(o->seconds > 0))
				usage_exit();
			seconds_given = 1;
			break;
		case 'r':
			o->ramp = (unsigned)strtoul(optarg, &end, 10);
			if (*end || o->ramp == 0)
				usage_exit();
			break;
		case 'S':
			if (strlen(optarg) >= sizeof o->server)
				usage_exit();
			strcpy(o->server, optarg);
			break;
		default:
			usage_exit();
		}
	}
	if (optind < argc)
		usage_exit();
	o->smoke = o->calls == 1 && !seconds_given;
	if (!o->server[0])
		default_server_path(o->server, sizeof o->server);
}

/* Enough descriptors for every call; the server only inherits what the
   environment gave it, so that a server that does not raise its own limit
   shows up here rather than being hidden by the bench. */
static void raise_nofile(const struct bench *b)
{
	struct rlimit rl;
	rlim_t need = (rlim_t)b->o.calls + 64;

	if (getrlimit(RLIMIT_NOFILE, &rl))
		return;
	if (rl.rlim_cur < need) {
		rl.rlim_cur = need < rl.rlim_max ? need : rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (rl.rlim_cur < need)
		fprintf(stderr, "bench_serve: only %llu file descriptors; some "
				"calls will fail\n",
			(unsigned long long)rl.rlim_cur);
	if (b->srv_nofile >= 0 && b->srv_nofile < (long)b->o.calls + 50)
		fprintf(stderr, "bench_serve: the server may open only %ld "
				"files: not enough for %u calls\n",
			b->srv_nofile, b->o.calls);
}

int main(int argc, char **argv)
{
	struct bench *b = calloc(1, sizeof *b);
	int ok;

	if (!b)
		die("out of memory");
	parse_opts(&b->o, argc, argv);
	signal(SIGPIPE, SIG_IGN);
	b->rng = 0x9E3779B97F4A7C15ULL ^ (uint64_t)now_us();
	if (b->o.smoke)
		make_cycle(b, 500, 1500);
	else
		make_cycle(b, 1000, 2000);
	b->calls = calloc(b->o.calls, sizeof *b->calls);
	if (!b->calls || wv_decoder_create(&b->dec, 0))
		die("out of memory");
	for (unsigned i = 0; i < b->o.calls; i++) {
		b->calls[i].idx = i;
		b->calls[i].fd = -1;
	}
	pick_cpus(b);
	start_server(b);
	pin_to(b->cpu_client);
	raise_nofile(b);
	/* Timers to the microsecond: the default 50 us slack is more than
	   the gap between two calls' sends at 500 calls. */
	prctl(PR_SET_TIMERSLACK, 1UL);
	b->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (b->epfd < 0)
		die("epoll_create1 failed");

	printf("bench_serve: %u echo calls, %s, server %s on CPU %d, client on "
	       "CPU %d%s\n",
	       b->o.calls, b->o.smoke ? "smoke run" : "steady window",
	       b->host_port, b->cpu_server, b->cpu_client,
	       b->cpu_client < 0 ? " (one CPU: they share it)" : "");
	fflush(stdout);
	run(b);
	stop_server(b);
	report(b);
	ok = b->summary.seen && b->failed == 0 && b->refused == 0 &&
		 b->dropped == 0 && b->closed_ok == b->connected &&
		 b->lingering == 0 &&
		 b->audio_rx > 0;
	if (b->audio_rx == 0)
		fprintf(stderr, "bench_serve: no agent audio came back: did the "
				"server's VAD hear the test speech?\n");
	for (unsigned i = 0; i < b->o.calls; i++)
		free(b->calls[i].out);
	free(b->calls);
	free(b->cycle);
	free(b->cycle_len);
	free(b->lateness.v);
	free(b->send_late.v);
	wv_decoder_destroy(b->dec);
	close(b->epfd);
	close(b->srv_out);
	close(b->srv_err);
	free(b);
	return ok ? 0 : 1;
}
