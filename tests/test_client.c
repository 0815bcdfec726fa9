/*
 * The client end to end: real sockets on 127.0.0.1, against the local agent
 * server run in-process (wvoice serve's own code) and, for what a faithful
 * server never does, against a scripted WebSocket server in a thread.
 * Times here are safety limits for a hung call, never assertions.
 */
#define _GNU_SOURCE /* RTLD_NEXT */

#include <arpa/inet.h>
#include <dlfcn.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <math.h>

#include <wvoice/wvoice.h>

#include "client.h"
#include "rawws.h"
#include "localserver.h"
#include "server.h"

#define KEY "test-key-0123456789"
#define SAFETY_MS 30000
#define PI 3.14159265358979323846

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* ---- the local agent server, in a thread ---- */

struct world {
	struct local_server plain;
	struct local_server tls;
	struct local_server small; /* takes one call at a time */
	char dir[64];
	char cert[128], key[128];
};

/* A self-signed certificate for localhost only: reached as 127.0.0.1, its
   name does not match. */
static void make_cert(struct world *w)
{
	char cmd[512];

	snprintf(w->dir, sizeof w->dir, "/tmp/wv-client-XXXXXX");
	assert_non_null(mkdtemp(w->dir));
	snprintf(w->cert, sizeof w->cert, "%s/cert.pem", w->dir);
	snprintf(w->key, sizeof w->key, "%s/key.pem", w->dir);
	snprintf(cmd, sizeof cmd,
		 "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1"
		 " -nodes -days 2 -subj /CN=localhost -addext"
		 " subjectAltName=DNS:localhost -keyout %s -out %s"
		 " 2>/dev/null",
		 w->key, w->cert);
	assert_int_equal(system(cmd), 0);
}

static int group_setup(void **state)
{
	struct world *w = calloc(1, sizeof *w);

	assert_non_null(w);
	make_cert(w);
	local_server_start(&w->plain, KEY, NULL, NULL, 100);
	local_server_start(&w->tls, KEY, w->cert, w->key, 100);
	local_server_start(&w->small, KEY, NULL, NULL, 1);
	*state = w;
	return 0;
}

static int group_teardown(void **state)
{
	struct world *w = *state;

	local_server_stop(&w->plain);
	local_server_stop(&w->tls);
	local_server_stop(&w->small);
	unlink(w->cert);
	unlink(w->key);
	rmdir(w->dir);
	free(w);
	return 0;
}

/* ---- a caller: speech then silence in, a recording sink out ---- */

struct voice {
	unsigned rate;
	float *speech;
	size_t len, pos;
	uint64_t requested; /* samples the loop asked for, ever */
	unsigned reads;
};

/* A glottal pulse train at 120 Hz through two vowel formants with a
   syllable envelope: enough like speech for the server's voice detector. */
static void voice_init(struct voice *v, unsigned rate, double seconds)
{
	const double f[2] = { 730, 1090 }, bw[2] = { 90, 110 };
	double y1[2] = { 0 }, y2[2] = { 0 }, phase = 0, sum = 0, gain;

	memset(v, 0, sizeof *v);
	v->rate = rate;
	v->len = (size_t)(seconds * rate);
	v->speech = calloc(v->len, sizeof *v->speech);
	assert_non_null(v->speech);
	for (size_t i = 0; i < v->len; i++) {
		double x = 0, t = (double)i / rate;

		phase += 120.0 / rate;
		if (phase >= 1.0) {
			phase -= 1.0;
			x = 1.0;
		}
		for (int k = 0; k < 2; k++) {
			double r = exp(-PI * bw[k] / rate);
			double y = (1 - r) * x +
				   2 * r * cos(2 * PI * f[k] / rate) * y1[k] -
				   r * r * y2[k];

			y2[k] = y1[k];
			y1[k] = y;
			x = y;
		}
		x *= 0.4 + 0.6 * (0.5 - 0.5 * cos(2 * PI * 4 * t));
		v->speech[i] = (float)x;
		sum += x * x;
	}
	gain = 0.1 / sqrt(sum / (double)v->len); /* -20 dBFS RMS */
	for (size_t i = 0; i < v->len; i++)
		v->speech[i] = (float)(v->speech[i] * gain);
}

static int voice_read(void *user, float *dst, size_t n)
{
	struct voice *v = user;

	v->requested += n;
	v->reads++;
	for (size_t i = 0; i < n; i++)
		dst[i] = v->pos < v->len ? v->speech[v->pos++] : 0.0f;
	return v->pos >= v->len;
}

struct ear {
	uint64_t samples, loud;
};

static void ear_write(void *user, const int16_t *pcm, size_t n)
{
	struct ear *e = user;

	e->samples += n;
	for (size_t i = 0; i < n; i++)
		e->loud += pcm[i] > 1000 || pcm[i] < -1000;
}

struct seen {
	struct wv_loop *loop; /* set: each callback tries wv_loop_run() */
	int reentry;	      /* what it returned */
	enum wv_status from[8], to[8];
	int nstatus;
	char comm_id[80];
	int errors[16];
	int nerror;
	char last_detail[256];
};

static void seen_status(void *user, enum wv_status from, enum wv_status to)
{
	struct seen *s = user;

	if (s->loop)
		s->reentry = wv_loop_run(s->loop, 0);
	if (s->nstatus < 8) {
		s->from[s->nstatus] = from;
		s->to[s->nstatus++] = to;
	}
}

static void seen_comm_id(void *user, const char *id)
{
	struct seen *s = user;

	snprintf(s->comm_id, sizeof s->comm_id, "%s", id);
}

static void seen_error(void *user, int code, const char *detail)
{
	struct seen *s = user;

	if (s->nerror < 16)
		s->errors[s->nerror++] = code;
	snprintf(s->last_detail, sizeof s->last_detail, "%s", detail);
}

static void config_for(struct wv_client_config *cfg, const char *url,
		       const char *agent, struct seen *seen)
{
	wv_client_config_default(cfg);
	cfg->url = url;
	cfg->api_key = KEY;
	cfg->agent_id = agent;
	cfg->cb = (struct wv_call_callbacks){
		.status = seen_status,
		.communication_id = seen_comm_id,
		.error = seen_error,
	};
	cfg->user = seen;
}

/* One call on a loop of its own: prepare(), adjust cfg, dial(). */
struct one {
	struct seen seen;
	struct wv_client_config cfg;
	struct wv_loop *loop;
	struct wv_client *c;
	char url[96];
};

static void prepare(struct one *o, const char *url, const char *agent)
{
	memset(o, 0, sizeof *o);
	snprintf(o->url, sizeof o->url, "%s", url);
	config_for(&o->cfg, o->url, agent, &o->seen);
	assert_int_equal(wv_loop_create(&o->loop), 0);
}

static void dial(struct one *o)
{
	assert_int_equal(wv_client_create(&o->c, o->loop, &o->cfg), 0);
	assert_int_equal(wv_client_connect(o->c), 0);
}

static void finish(struct one *o)
{
	wv_client_destroy(o->c);
	wv_loop_destroy(o->loop);
}

/* Turns the loop until done() or the safety limit. */
static bool run_until(struct wv_loop *loop, bool (*done)(const void *),
		      const void *arg)
{
	for (int t = 0; t < SAFETY_MS && !done(arg); t += 20)
		if (wv_loop_run(loop, 20) == 0 && !done(arg))
			sleep_ms(1);
	return done(arg);
}

static bool is_connected(const void *c)
{
	return wv_client_status(c) == WV_STATUS_CONNECTED;
}

static bool is_over(const void *c)
{
	return wv_client_status(c) == WV_STATUS_DISCONNECTED;
}

static void dial_and_connect(struct one *o)
{
	dial(o);
	assert_true(run_until(o->loop, is_connected, o->c));
}

/* Hangs up a connected call; it ends cleanly. */
static void hang_up(struct one *o)
{
	const char *reason;

	assert_int_equal(wv_client_hangup(o->c), 0);
	assert_int_equal(wv_loop_run(o->loop, SAFETY_MS), 0);
	assert_int_equal(wv_client_end_reason(o->c), WV_END_HANGUP);
	assert_int_equal(wv_client_close_code(o->c, &reason), 1000);
	assert_int_equal(wv_client_error(o->c), 0);
}

/* A call that fails before it starts, with a clear error and no key. */
static void dial_and_fail(struct one *o, int want)
{
	dial(o);
	assert_int_equal(wv_loop_run(o->loop, SAFETY_MS), 0);
	assert_int_equal(wv_client_status(o->c), WV_STATUS_DISCONNECTED);
	assert_int_equal(wv_client_end_reason(o->c), WV_END_ERROR);
	assert_int_equal(wv_client_error(o->c), want);
	assert_null(strstr(wv_client_last_error(o->c), o->cfg.api_key));
	/* One error, told before the end. */
	assert_int_equal(o->seen.nerror, 1);
	assert_int_equal(o->seen.errors[0], want);
	assert_int_equal(o->seen.to[o->seen.nstatus - 1], WV_STATUS_DISCONNECTED);
}

/* ---- the local agent server ---- */

struct echo_call {
	struct one o;
	struct voice voice;
	struct ear ear;
};

static bool echo_heard(const void *arg)
{
	const struct echo_call *e = arg;
	struct wv_call_stats st;

	wv_client_stats(e->o.c, &st);
	return (e->ear.loud > 800 && st.marks_answered >= 1) ||
	       wv_client_status(e->o.c) == WV_STATUS_DISCONNECTED;
}

static void test_client_echo_call_round_trip(void **state)
{
	struct world *w = *state;
	struct echo_call e;
	struct wv_call_stats st;
	struct one *o = &e.o;

	memset(&e, 0, sizeof e);
	prepare(o, w->plain.url, "echo");
	/* 11025 Hz: 220.5 samples per 20 ms, so the carry is exercised. */
	voice_init(&e.voice, 11025, 1.0);
	o->cfg.source = (struct wv_source){ 11025, voice_read, &e.voice };
	o->cfg.sink = (struct wv_sink){ ear_write, &e.ear };
	assert_int_equal(wv_client_create(&o->c, o->loop, &o->cfg), 0);
	assert_int_equal(wv_client_status(o->c), WV_STATUS_IDLE);
	assert_null(wv_client_communication_id(o->c));
	assert_int_equal(wv_client_connect(o->c), 0);
	assert_true(run_until(o->loop, echo_heard, &e));
	assert_int_equal(wv_client_status(o->c), WV_STATUS_CONNECTED);

	assert_int_equal(o->seen.nstatus, 2);
	assert_int_equal(o->seen.from[0], WV_STATUS_IDLE);
	assert_int_equal(o->seen.to[0], WV_STATUS_CONNECTING);
	assert_int_equal(o->seen.to[1], WV_STATUS_CONNECTED);
	assert_int_equal(strlen(o->seen.comm_id), 36); /* a UUID */
	assert_string_equal(wv_client_communication_id(o->c), o->seen.comm_id);
	assert_int_equal(wv_client_http_status(o->c), 101);
	wv_client_stats(o->c, &st);
	assert_true(st.marks_received >= 1);
	assert_true(st.marks_answered >= 1);
	assert_true(st.audio_frames_sent > 50);
	assert_int_equal(st.audio_frames_dropped, 0);
	assert_int_equal(st.bad_frames, 0);
	/* The source was pulled at its exact rate: 220.5 samples a tick. */
	assert_int_equal(e.voice.requested, (uint64_t)e.voice.reads * 11025 / 50);
	assert_int_equal(e.ear.samples % 160, 0);

	hang_up(o);
	assert_int_equal(wv_client_hangup(o->c), WV_ERR_STATE);
	assert_int_equal(o->seen.nerror, 0);
	assert_true(wv_client_elapsed_ms(o->c) > 0);
	finish(o);
	free(e.voice.speech);
}

static void test_client_header_auth_connects(void **state)
{
	struct world *w = *state;
	struct one o;

	prepare(&o, w->plain.url, "silent");
	o.cfg.auth = WV_AUTH_HEADER;
	o.seen.loop = o.loop;
	dial_and_connect(&o);
	/* From a callback, running the loop again is refused. */
	assert_int_equal(o.seen.reentry, WV_ERR_STATE);
	o.seen.loop = NULL;
	hang_up(&o);
	finish(&o);
}

struct refusal {
	const char *agent;
	const char *key;
	enum wv_auth auth;
	int status;
	const char *says;
};

static void test_client_refusals_name_the_http_status(void **state)
{
	static const struct refusal rows[] = {
		{ "echo", "wrong-key-0123", WV_AUTH_SUBPROTOCOL, 401,
		  "handshake refused: 401 (API key refused)" },
		{ "echo", "wrong-key-0123", WV_AUTH_HEADER, 401,
		  "handshake refused: 401 (API key refused)" },
		{ "no-such-agent", KEY, WV_AUTH_SUBPROTOCOL, 404,
		  "handshake refused: 404 (unknown agent or path)" },
	};
	struct world *w = *state;

	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		struct one o;

		prepare(&o, w->plain.url, rows[i].agent);
		o.cfg.api_key = rows[i].key;
		o.cfg.auth = rows[i].auth;
		dial_and_fail(&o, WV_ERR_REFUSED);
		assert_int_equal(wv_client_http_status(o.c), rows[i].status);
		assert_string_equal(wv_client_last_error(o.c), rows[i].says);
		finish(&o);
	}
}

static void test_client_full_server_is_refused_503(void **state)
{
	struct world *w = *state;
	struct one first, second;

	prepare(&first, w->small.url, "silent");
	dial_and_connect(&first);
	prepare(&second, w->small.url, "silent");
	dial_and_fail(&second, WV_ERR_REFUSED);
	assert_int_equal(wv_client_http_status(second.c), 503);
	assert_string_equal(wv_client_last_error(second.c),
			    "handshake refused: 503 (server at capacity)");
	finish(&second);
	hang_up(&first);
	finish(&first);
}

/* A port that was free a moment ago. */
static int free_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof a;
	int fd = socket(AF_INET, SOCK_STREAM, 0), port;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	port = ntohs(a.sin_port);
	close(fd);
	return port;
}

static void test_client_nothing_listening_is_a_connect_error(void **state)
{
	struct one o;
	char url[64], want[96];
	int port = free_port();

	(void)state;
	snprintf(url, sizeof url, "ws://127.0.0.1:%d", port);
	prepare(&o, url, "echo");
	dial_and_fail(&o, WV_ERR_CONNECT);
	snprintf(want, sizeof want, "cannot connect to 127.0.0.1:%d: ", port);
	assert_memory_equal(wv_client_last_error(o.c), want, strlen(want));
	assert_int_equal(wv_client_http_status(o.c), 0);
	finish(&o);
}

static void test_client_unknown_host_is_a_connect_error(void **state)
{
	struct one o;

	(void)state;
	/* A 64-byte label is not a DNS name: the resolver fails it here,
	   with no query leaving the machine. */
	prepare(&o,
		"ws://aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.invalid:8765",
		"echo");
	dial_and_fail(&o, WV_ERR_CONNECT);
	assert_non_null(strstr(wv_client_last_error(o.c), "cannot resolve"));
	finish(&o);
}

static void test_client_pound_on_demo_ends_with_remote_stop(void **state)
{
	struct world *w = *state;
	struct wv_call_stats st;
	struct one o;
	const char *reason;

	prepare(&o, w->plain.url, "demo");
	assert_int_equal(wv_client_create(&o.c, o.loop, &o.cfg), 0);
	assert_int_equal(wv_client_send_dtmf(o.c, '#'), WV_ERR_STATE);
	assert_int_equal(wv_client_connect(o.c), 0);
	assert_int_equal(wv_client_connect(o.c), WV_ERR_STATE);
	assert_true(run_until(o.loop, is_connected, o.c));
	assert_int_equal(wv_client_send_dtmf(o.c, 'x'), WV_ERR_DTMF);
	assert_int_equal(wv_client_send_dtmf(o.c, '#'), 0);
	/* The agent says goodbye and hangs up once its mark comes back. */
	assert_true(run_until(o.loop, is_over, o.c));
	assert_int_equal(wv_client_end_reason(o.c), WV_END_REMOTE_STOP);
	assert_int_equal(wv_loop_run(o.loop, SAFETY_MS), 0);
	assert_int_equal(wv_client_close_code(o.c, &reason), 1000);
	assert_int_equal(wv_client_error(o.c), 0);
	wv_client_stats(o.c, &st);
	assert_int_equal(st.dtmf_sent, 1);
	assert_true(st.marks_answered >= 1);
	finish(&o);
}

#define MANY 20

static bool all_connected(const void *arg)
{
	struct wv_client *const *cs = arg;

	for (int i = 0; i < MANY; i++)
		if (wv_client_status(cs[i]) != WV_STATUS_CONNECTED)
			return false;
	return true;
}

/* A second of audio sent on every call. */
static bool all_talked(const void *arg)
{
	struct wv_client *const *cs = arg;
	struct wv_call_stats st;

	for (int i = 0; i < MANY; i++) {
		wv_client_stats(cs[i], &st);
		if (st.audio_frames_sent < 50)
			return false;
	}
	return true;
}

static void test_client_twenty_calls_share_one_loop(void **state)
{
	struct world *w = *state;
	struct wv_client *cs[MANY];
	struct seen seen[MANY];
	struct wv_loop *loop;

	memset(seen, 0, sizeof seen);
	assert_int_equal(wv_loop_create(&loop), 0);
	for (int i = 0; i < MANY; i++) {
		struct wv_client_config cfg;

		config_for(&cfg, w->plain.url, i % 2 ? "silent" : "echo",
			   &seen[i]);
		assert_int_equal(wv_client_create(&cs[i], loop, &cfg), 0);
		assert_int_equal(wv_client_connect(cs[i]), 0);
	}
	assert_true(run_until(loop, all_connected, cs));
	assert_true(run_until(loop, all_talked, cs));
	assert_int_equal(wv_loop_run(loop, 0), MANY);
	for (int i = 0; i < MANY; i++) {
		struct wv_call_stats st;

		wv_client_stats(cs[i], &st);
		assert_int_equal(st.audio_frames_dropped, 0);
		assert_int_equal(wv_client_status(cs[i]), WV_STATUS_CONNECTED);
		for (int j = 0; j < i; j++)
			assert_string_not_equal(seen[i].comm_id, seen[j].comm_id);
		assert_int_equal(wv_client_hangup(cs[i]), 0);
	}
	assert_int_equal(wv_loop_run(loop, SAFETY_MS), 0);
	for (int i = 0; i < MANY; i++) {
		const char *reason;

		assert_int_equal(wv_client_end_reason(cs[i]), WV_END_HANGUP);
		assert_int_equal(wv_client_close_code(cs[i], &reason), 1000);
		wv_client_destroy(cs[i]);
	}
	wv_loop_destroy(loop);
}

static void test_client_destroying_a_live_call_still_hangs_up(void **state)
{
	struct world *w = *state;
	struct one o;

	prepare(&o, w->plain.url, "silent");
	dial_and_connect(&o);
	wv_client_destroy(o.c);
	/* Its socket is still closing: the loop has it. */
	assert_int_equal(wv_loop_run(o.loop, SAFETY_MS), 0);
	/* No callbacks after destroy: seen saw connecting and connected. */
	assert_int_equal(o.seen.nstatus, 2);
	wv_loop_destroy(o.loop);
}

static void test_client_loop_destroy_ends_open_calls(void **state)
{
	struct world *w = *state;
	struct one o;
	const char *reason;

	prepare(&o, w->plain.url, "silent");
	dial_and_connect(&o);
	wv_loop_destroy(o.loop);
	assert_int_equal(wv_client_status(o.c), WV_STATUS_DISCONNECTED);
	assert_int_equal(wv_client_end_reason(o.c), WV_END_HANGUP);
	assert_int_equal(wv_client_close_code(o.c, &reason), 1000);
	assert_int_equal(wv_client_connect(o.c), WV_ERR_STATE);
	wv_client_destroy(o.c);
}

/* ---- TLS ---- */

static void test_client_wss_insecure_accepts_a_self_signed_cert(void **state)
{
	struct world *w = *state;
	struct one o;

	assert_memory_equal(w->tls.url, "wss://", 6);
	prepare(&o, w->tls.url, "silent");
	o.cfg.insecure = true;
	dial_and_connect(&o);
	hang_up(&o);
	finish(&o);
}

static void test_client_wss_verifies_the_cert_by_default(void **state)
{
	struct world *w = *state;
	struct one o;

	prepare(&o, w->tls.url, "silent");
	dial_and_fail(&o, WV_ERR_TLS);
	assert_non_null(strstr(wv_client_last_error(o.c), "TLS handshake with"));
	assert_non_null(strstr(wv_client_last_error(o.c), "self-signed"));
	finish(&o);
}

struct ca_row {
	bool by_name;	 /* wss://localhost: the name in the certificate */
	bool real_file;
	int want;
	const char *says;
};

static void test_client_wss_trusts_a_given_ca_file(void **state)
{
	static const struct ca_row rows[] = {
		{ true, true, 0, NULL },
		/* Trusted, but reached under an address it does not carry. */
		{ false, true, WV_ERR_TLS, "address mismatch" },
		{ true, false, WV_ERR_TLS, "/nonexistent/ca.pem" },
	};
	struct world *w = *state;

	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		struct one o;
		char url[80];

		snprintf(url, sizeof url, "wss://%s:%d",
			 rows[i].by_name ? "localhost" : "127.0.0.1", w->tls.port);
		prepare(&o, url, "silent");
		o.cfg.ca_file = rows[i].real_file ? w->cert : "/nonexistent/ca.pem";
		if (rows[i].want) {
			dial_and_fail(&o, rows[i].want);
			assert_non_null(strstr(wv_client_last_error(o.c),
					       rows[i].says));
		} else {
			dial_and_connect(&o);
			hang_up(&o);
		}
		finish(&o);
	}
}

/* ---- the managed phone ---- */

static void test_client_phone_is_driven_from_another_thread(void **state)
{
	struct world *w = *state;
	struct wv_client_config cfg;
	struct wv_call_stats st;
	struct wv_phone *p;
	char id[80], err[64], reason[64];

	wv_client_config_default(&cfg);
	cfg.url = w->plain.url;
	cfg.api_key = KEY;
	cfg.agent_id = "demo";
	assert_int_equal(wv_phone_create(&p, &cfg), 0);
	assert_int_equal(wv_phone_status(p), WV_STATUS_IDLE);
	assert_int_equal(wv_phone_send_dtmf(p, '1'), WV_ERR_STATE);
	assert_int_equal(wv_phone_wait(p, 0), 0);
	assert_int_equal(wv_phone_wait_status(p, WV_STATUS_CONNECTED, 0),
			 WV_STATUS_IDLE);
	assert_int_equal(wv_phone_connect(p), 0);
	assert_int_equal(wv_phone_wait_status(p, WV_STATUS_CONNECTED, SAFETY_MS),
			 WV_STATUS_CONNECTED);
	assert_int_equal(wv_phone_status(p), WV_STATUS_CONNECTED);
	assert_int_equal(wv_phone_close_code(p, reason, sizeof reason), 0);
	assert_int_equal(wv_phone_communication_id(p, id, sizeof id), 36);
	assert_int_equal(strlen(id), 36);
	wv_phone_set_muted(p, true);
	assert_int_equal(wv_phone_send_dtmf(p, '1'), 0);
	assert_int_equal(wv_phone_send_dtmf(p, 'z'), WV_ERR_DTMF);
	assert_int_equal(wv_phone_hangup(p), 0);
	assert_int_equal(wv_phone_wait(p, SAFETY_MS), 1);
	assert_int_equal(wv_phone_status(p), WV_STATUS_DISCONNECTED);
	assert_int_equal(wv_phone_end_reason(p), WV_END_HANGUP);
	assert_int_equal(wv_phone_error(p), 0);
	assert_int_equal(wv_phone_http_status(p), 101);
	/* The close follows the hang-up. */
	for (int t = 0; t < SAFETY_MS && !wv_phone_close_code(p, NULL, 0);
	     t += 10)
		sleep_ms(10);
	assert_int_equal(wv_phone_close_code(p, reason, sizeof reason), 1000);
	/* Ours after our stop, or the server's if the closes crossed. */
	assert_int_not_equal(wv_phone_closed_by(p), WV_CLOSED_BY_NONE);
	assert_int_equal(wv_phone_last_error(p, err, sizeof err), 0);
	wv_phone_stats(p, &st);
	assert_int_equal(st.dtmf_sent, 1);
	assert_true(wv_phone_elapsed_ms(p) >= 0);
	assert_int_equal(wv_phone_hangup(p), WV_ERR_STATE);
	wv_phone_destroy(p);
}

static void test_client_phone_reports_a_refusal(void **state)
{
	struct world *w = *state;
	struct wv_client_config cfg;
	struct wv_phone *p;
	char err[128];

	wv_client_config_default(&cfg);
	cfg.url = w->plain.url;
	cfg.api_key = "wrong-key-0123";
	cfg.agent_id = "demo";
	assert_int_equal(wv_phone_create(&p, &cfg), 0);
	assert_int_equal(wv_phone_connect(p), 0);
	assert_int_equal(wv_phone_wait(p, SAFETY_MS), 1);
	assert_int_equal(wv_phone_error(p), WV_ERR_REFUSED);
	assert_int_equal(wv_phone_http_status(p), 401);
	assert_true(wv_phone_last_error(p, err, sizeof err) > 0);
	assert_non_null(strstr(err, "401"));
	wv_phone_destroy(p);
}

/* ---- a scripted server, for what a faithful one never does ---- */

enum script {
	SCRIPT_SILENT,	       /* accepts the TCP connection, never answers */
	SCRIPT_NO_SUBPROTOCOL, /* answers 101 without choosing "apikey" */
	SCRIPT_ABUSE,	       /* fragments, a binary frame, then 70000 bytes */
	SCRIPT_CLOSE,	       /* start, then a close 4000 "bye now" */
	SCRIPT_BAD_UTF8,       /* start, then text that is not UTF-8 */
	SCRIPT_PONGS,	       /* start, then nothing but pongs to pings */
	SCRIPT_NO_PONGS,       /* start, then nothing at all */
	SCRIPT_VANISH,	       /* start, then a reset mid-call */
};

struct fake {
	enum script script;
	int lfd, port;
	pthread_t thread;
	char request[4096]; /* the handshake request as received */
	int close_seen;	    /* the client's close code */
	char texts[8][512]; /* the client's text frames */
	int ntexts;
	atomic_int pings; /* the client's, counted as they come */
};

/* The subprotocol the server answers with: the one the client offered,
   unless the script says not to. */
static const char *chosen(const struct fake *f)
{
	if (f->script == SCRIPT_NO_SUBPROTOCOL ||
	    !strstr(f->request, "Sec-WebSocket-Protocol:"))
		return NULL;
	return "apikey";
}

/* Keeps what the client sends until its close frame, and answers it. */
static void read_until_close(struct fake *f, int fd)
{
	static char buf[70000];
	size_t len;
	int op;

	while ((op = rawws_read_frame(fd, buf, sizeof buf, &len)) >= 0) {
		if (op == RAWWS_TEXT && f->ntexts < 8)
			snprintf(f->texts[f->ntexts++], sizeof f->texts[0],
				 "%.500s", buf);
		if (op == RAWWS_PING) {
			if (f->script != SCRIPT_NO_PONGS)
				rawws_send_frame(fd, RAWWS_PONG, true, buf,
						 len);
			atomic_fetch_add(&f->pings, 1);
		}
		if (op == RAWWS_CLOSE) {
			f->close_seen = len >= 2 ? (unsigned char)buf[0] << 8 |
							   (unsigned char)buf[1]
						 : 1005;
			rawws_send_frame(fd, RAWWS_CLOSE, true, buf,
					 len >= 2 ? 2 : 0);
			return;
		}
	}
}

static void abuse(int fd)
{
	static const char start[] =
		"{\"event\":\"start\",\"communication_id\":\"frag-1\"}";
	char *big = malloc(70000);

	/* start in three fragments. */
	rawws_send_frame(fd, RAWWS_TEXT, false, start, 10);
	rawws_send_frame(fd, RAWWS_CONT, false, start + 10, 20);
	rawws_send_frame(fd, RAWWS_CONT, true, start + 30, strlen(start) - 30);
	rawws_send_frame(fd, RAWWS_BINARY, true, "\x01\x02\x03", 3);
	/* Over the 64 KiB cap, as one message in two frames. */
	assert_non_null(big);
	memset(big, ' ', 70000);
	big[0] = '{';
	rawws_send_frame(fd, RAWWS_TEXT, false, big, 40000);
	rawws_send_frame(fd, RAWWS_CONT, true, big + 40000, 30000);
	free(big);
}

static void *fake_serve(void *arg)
{
	struct fake *f = arg;
	struct timeval tv = { .tv_sec = 10 };
	int fd = accept(f->lfd, NULL, NULL);

	if (fd < 0)
		return NULL;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	if (f->script == SCRIPT_SILENT) {
		char sink[4096];

		while (recv(fd, sink, sizeof sink, 0) > 0)
			;
		close(fd);
		return NULL;
	}
	if (rawws_read_request(fd, f->request, sizeof f->request) &&
	    rawws_answer_upgrade(fd, f->request, chosen(f))) {
		if (f->script == SCRIPT_ABUSE)
			abuse(fd);
		if (f->script == SCRIPT_BAD_UTF8) {
			static const char start[] =
				"{\"event\":\"start\",\"communication_id\":\"u\"}";
			static const char bad[] = "{\"event\":\"x\xff\"}";

			rawws_send_text(fd, start);
			rawws_send_text(fd, bad);
		}
		if (f->script == SCRIPT_PONGS || f->script == SCRIPT_NO_PONGS) {
			static const char start[] =
				"{\"event\":\"start\",\"communication_id\":\"p\"}";

			rawws_send_text(fd, start);
		}
		if (f->script == SCRIPT_VANISH) {
			static const char start[] =
				"{\"event\":\"start\",\"communication_id\":\"v\"}";
			struct linger now = { .l_onoff = 1, .l_linger = 0 };
			char frame[1024];
			size_t len;

			rawws_send_text(fd, start);
			/* The client's start and first audio: the call is up. */
			for (int i = 0; i < 3; i++)
				rawws_read_frame(fd, frame, sizeof frame, &len);
			setsockopt(fd, SOL_SOCKET, SO_LINGER, &now, sizeof now);
			close(fd);
			return NULL;
		}
		if (f->script == SCRIPT_CLOSE) {
			static const char start[] =
				"{\"event\":\"start\",\"communication_id\":\"c\"}";
			static const char bye[] = "\x0f\xa0"
						  "bye now";

			rawws_send_text(fd, start);
			sleep_ms(100);
			rawws_send_frame(fd, RAWWS_CLOSE, true, bye,
					 sizeof bye - 1);
		}
		read_until_close(f, fd);
	}
	close(fd);
	return NULL;
}

static void fake_start(struct fake *f, enum script script)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof a;

	memset(f, 0, sizeof *f);
	atomic_init(&f->pings, 0);
	f->script = script;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	f->lfd = socket(AF_INET, SOCK_STREAM, 0);
	assert_int_equal(bind(f->lfd, (struct sockaddr *)&a, sizeof a), 0);
	assert_int_equal(listen(f->lfd, 4), 0);
	assert_int_equal(getsockname(f->lfd, (struct sockaddr *)&a, &len), 0);
	f->port = ntohs(a.sin_port);
	assert_int_equal(pthread_create(&f->thread, NULL, fake_serve, f), 0);
}

static void fake_stop(struct fake *f)
{
	shutdown(f->lfd, SHUT_RDWR);
	pthread_join(f->thread, NULL);
	close(f->lfd);
}

/* A call to the scripted server, run until it is over. */
static void call_fake(struct one *o, struct fake *f, enum script script,
		      const char *path, enum wv_auth auth)
{
	char url[80];

	fake_start(f, script);
	snprintf(url, sizeof url, "ws://127.0.0.1:%d%s", f->port, path);
	prepare(o, url, "echo");
	o->cfg.auth = auth;
}

static void run_fake(struct one *o, struct fake *f)
{
	dial(o);
	assert_int_equal(wv_loop_run(o->loop, SAFETY_MS), 0);
	fake_stop(f);
}

static void test_client_offers_the_key_as_a_subprotocol_on_the_path(void **state)
{
	static const char line[] = "GET /base/telephony/websocket/call?agent_id="
				   "a%20b&from=me HTTP/1.1\r\n";
	struct fake f;
	struct one o;

	(void)state;
	call_fake(&o, &f, SCRIPT_CLOSE, "/base/", WV_AUTH_SUBPROTOCOL);
	o.cfg.agent_id = "a b";
	o.cfg.from = "me";
	run_fake(&o, &f);
	assert_memory_equal(f.request, line, strlen(line));
	assert_non_null(strstr(f.request,
			       "Sec-WebSocket-Protocol: apikey, " KEY "\r\n"));
	assert_null(strstr(f.request, "x-api-key"));
	assert_null(strstr(f.request, "ermessage-deflate"));
	/* The client said start first. */
	assert_true(f.ntexts >= 1);
	assert_string_equal(f.texts[0], "{\"event\":\"start\"}");
	finish(&o);
}

static void test_client_server_close_code_and_reason_are_reported(void **state)
{
	const char *reason;
	struct fake f;
	struct one o;

	(void)state;
	call_fake(&o, &f, SCRIPT_CLOSE, "", WV_AUTH_HEADER);
	run_fake(&o, &f);
	assert_non_null(strstr(f.request, "x-api-key: " KEY "\r\n"));
	assert_null(strstr(f.request, "Sec-WebSocket-Protocol"));
	assert_int_equal(wv_client_end_reason(o.c), WV_END_CLOSED);
	assert_string_equal(wv_client_communication_id(o.c), "c");
	assert_int_equal(wv_client_close_code(o.c, &reason), 4000);
	assert_string_equal(reason, "bye now");
	assert_int_equal(wv_client_closed_by(o.c), WV_CLOSED_BY_SERVER);
	assert_int_equal(f.close_seen, 4000); /* echoed, as RFC 6455 says */
	assert_int_equal(wv_client_error(o.c), 0);
	finish(&o);
}

struct fake_failure {
	enum script script;
	unsigned timeout_ms;
	int want;
	const char *says;
};

static void test_client_bad_servers_are_named(void **state)
{
	static const struct fake_failure rows[] = {
		{ SCRIPT_NO_SUBPROTOCOL, 0, WV_ERR_PROTOCOL,
		  "did not select the subprotocol \"apikey\"" },
		{ SCRIPT_SILENT, 300, WV_ERR_TIMEOUT, "within 300 ms" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		struct fake f;
		struct one o;

		call_fake(&o, &f, rows[i].script, "", WV_AUTH_SUBPROTOCOL);
		if (rows[i].timeout_ms)
			o.cfg.connect_timeout_ms = rows[i].timeout_ms;
		dial_and_fail(&o, rows[i].want);
		assert_non_null(strstr(wv_client_last_error(o.c), rows[i].says));
		fake_stop(&f);
		finish(&o);
	}
}

static void test_client_text_not_utf8_closes_1007(void **state)
{
	const char *reason;
	struct fake f;
	struct one o;

	(void)state;
	call_fake(&o, &f, SCRIPT_BAD_UTF8, "", WV_AUTH_SUBPROTOCOL);
	run_fake(&o, &f);
	assert_string_equal(wv_client_communication_id(o.c), "u");
	assert_int_equal(wv_client_error(o.c), WV_ERR_PROTOCOL);
	assert_int_equal(wv_client_end_reason(o.c), WV_END_ERROR);
	assert_string_equal(wv_client_last_error(o.c),
			    "text from server not UTF-8: closed (1007)");
	assert_int_equal(wv_client_close_code(o.c, &reason), 1007);
	assert_int_equal(f.close_seen, 1007);
	assert_int_equal(wv_client_closed_by(o.c), WV_CLOSED_BY_CLIENT);
	finish(&o);
}

static void test_client_reassembles_and_caps_messages(void **state)
{
	struct wv_call_stats st;
	const char *reason;
	struct fake f;
	struct one o;

	(void)state;
	call_fake(&o, &f, SCRIPT_ABUSE, "", WV_AUTH_SUBPROTOCOL);
	run_fake(&o, &f);
	/* The fragmented start arrived whole. */
	assert_string_equal(o.seen.comm_id, "frag-1");
	/* The binary frame was reported and the call went on. */
	assert_int_equal(o.seen.nerror, 2);
	assert_int_equal(o.seen.errors[0], WV_ERR_PROTOCOL);
	wv_client_stats(o.c, &st);
	assert_int_equal(st.bad_frames, 1);
	/* The oversized message ended it with 1009. */
	assert_int_equal(o.seen.errors[1], WV_ERR_TOO_LARGE);
	assert_int_equal(wv_client_error(o.c), WV_ERR_TOO_LARGE);
	assert_int_equal(wv_client_end_reason(o.c), WV_END_ERROR);
	assert_int_equal(wv_client_close_code(o.c, &reason), 1009);
	assert_int_equal(f.close_seen, 1009);
	assert_int_equal(wv_client_closed_by(o.c), WV_CLOSED_BY_CLIENT);
	finish(&o);
}

/* With ping_s 1, a call with no pong for 11 s is over: 13 pings answered
   prove that the answers kept it alive. */
static bool pinged_past_the_hang_up(const void *f)
{
	return atomic_load(&((const struct fake *)f)->pings) >= 13;
}

static void test_client_pings_keep_a_quiet_call_alive(void **state)
{
	struct fake f;
	struct one o;

	(void)state;
	call_fake(&o, &f, SCRIPT_PONGS, "", WV_AUTH_SUBPROTOCOL);
	o.cfg.ping_s = 1;
	dial_and_connect(&o);
	/* The server says nothing after start; the client pings it. */
	assert_true(run_until(o.loop, pinged_past_the_hang_up, &f));
	assert_int_equal(wv_client_status(o.c), WV_STATUS_CONNECTED);
	hang_up(&o);
	fake_stop(&f);
	finish(&o);
}

static void test_client_no_pongs_end_the_call(void **state)
{
	const char *says = "lost: no answer to pings for 11 s";
	struct fake f;
	struct one o;

	(void)state;
	call_fake(&o, &f, SCRIPT_NO_PONGS, "", WV_AUTH_SUBPROTOCOL);
	o.cfg.ping_s = 1;
	run_fake(&o, &f);
	assert_true(atomic_load(&f.pings) >= 1);
	assert_int_equal(wv_client_end_reason(o.c), WV_END_ERROR);
	assert_int_equal(wv_client_error(o.c), WV_ERR_CONNECT);
	assert_non_null(strstr(wv_client_last_error(o.c), says));
	finish(&o);
}

/* ---- name lookups ---- */

/* A name that takes 300 ms to look up, as with a slow name server, and is
   then 127.0.0.1. */
#define SLOW_NAME "slow.wvoice.test"
/* A name with two addresses, the first of which refuses. */
#define TWO_NAME "two.wvoice.test"

static pthread_t loop_thread;
static atomic_int slow_lookups_on_loop, slow_lookups_elsewhere;

typedef int getaddrinfo_fn(const char *, const char *,
			   const struct addrinfo *, struct addrinfo **);
static getaddrinfo_fn *real_getaddrinfo;
static pthread_once_t real_once = PTHREAD_ONCE_INIT;

static void find_real_getaddrinfo(void)
{
	*(void **)&real_getaddrinfo = dlsym(RTLD_NEXT, "getaddrinfo");
}

/* Stands in for the C library's, for libwvoice and libwebsockets alike:
   it sees which thread looks SLOW_NAME up. Other names go to the real
   one. */
int getaddrinfo(const char *node, const char *service,
		const struct addrinfo *hints, struct addrinfo **res)
{
	pthread_once(&real_once, find_real_getaddrinfo);
	if (node && strcmp(node, TWO_NAME) == 0) {
		/* ::1 first, where nothing listens, then 127.0.0.1 (each
		   node is freed on its own by freeaddrinfo()). */
		struct addrinfo *v6 = NULL, *v4 = NULL, *last;
		int rc = real_getaddrinfo("::1", service, hints, &v6);

		if (rc != 0)
			return real_getaddrinfo("127.0.0.1", service, hints, res);
		rc = real_getaddrinfo("127.0.0.1", service, hints, &v4);
		if (rc != 0) {
			freeaddrinfo(v6);
			return rc;
		}
		for (last = v6; last->ai_next; last = last->ai_next)
			;
		last->ai_next = v4;
		*res = v6;
		return 0;
	}
	if (node && strcmp(node, SLOW_NAME) == 0) {
		if (pthread_equal(pthread_self(), loop_thread))
			atomic_fetch_add(&slow_lookups_on_loop, 1);
		else
			atomic_fetch_add(&slow_lookups_elsewhere, 1);
		sleep_ms(300);
		node = "127.0.0.1";
	}
	return real_getaddrinfo(node, service, hints, res);
}

/* A call on a loop of its own to a name of the stand-in getaddrinfo's,
   at port. */
static void prepare_named(struct one *o, const char *name, int port)
{
	char url[96];

	snprintf(url, sizeof url, "ws://%s:%d", name, port);
	prepare(o, url, "echo");
}

/* A lookup that blocks would stall the 20 ms clock of every call on the
   loop: it runs on another thread, and the call connects once it is
   answered. */
static void test_client_name_lookups_stay_off_the_loop(void **state)
{
	struct world *w = *state;
	struct one o;

	loop_thread = pthread_self();
	prepare_named(&o, SLOW_NAME, w->plain.port);
	dial_and_connect(&o);
	hang_up(&o);
	assert_int_equal(atomic_load(&slow_lookups_on_loop), 0);
	assert_int_equal(atomic_load(&slow_lookups_elsewhere), 1);
	finish(&o);
}

/* A name's addresses are tried in turn: the one that refuses does not end
   the call while another is left. */
static void test_client_each_address_is_tried_in_turn(void **state)
{
	struct world *w = *state;
	struct one o;

	prepare_named(&o, TWO_NAME, w->plain.port);
	dial_and_connect(&o);
	hang_up(&o);
	assert_int_equal(o.seen.nerror, 0);
	finish(&o);
}

/* Destroyed while its name is being looked up: no answer comes for it. */
static void test_client_destroyed_during_its_lookup(void **state)
{
	struct world *w = *state;
	struct one o;

	prepare_named(&o, SLOW_NAME, w->plain.port);
	dial(&o);
	assert_int_equal(wv_loop_run(o.loop, 50), 1);
	assert_int_equal(wv_client_status(o.c), WV_STATUS_CONNECTING);
	finish(&o);
	assert_int_equal(o.seen.nerror, 0);
}

/* A lookup slower than the connect timeout ends the call, and says so. */
static void test_client_slow_lookup_times_out(void **state)
{
	struct world *w = *state;
	struct one o;

	prepare_named(&o, SLOW_NAME, w->plain.port);
	o.cfg.connect_timeout_ms = 100;
	dial_and_fail(&o, WV_ERR_TIMEOUT);
	assert_non_null(strstr(wv_client_last_error(o.c),
			       "no answer to the name lookup within 100 ms"));
	finish(&o);
}

/* Out of file descriptors is said as such, not as a refusal. */
static void test_client_too_many_open_files_is_named(void **state)
{
	struct world *w = *state;
	struct rlimit old, none;
	struct one o;
	int lowest;

	prepare(&o, w->plain.url, "echo");
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
	/* Every descriptor below the lowest free one is in use: a limit
	   there leaves none to open. */
	lowest = dup(0);
	assert_true(lowest >= 0);
	close(lowest);
	none = old;
	none.rlim_cur = (rlim_t)lowest;
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &none), 0);
	dial_and_fail(&o, WV_ERR_CONNECT);
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
	assert_non_null(strstr(wv_client_last_error(o.c), "too many open files"));
	finish(&o);
}

/* ---- destroying a call from its own callback ---- */

/* The natural pattern: free the call when its status says disconnected,
   inside that callback. Each way a call ends runs it (under ASan, a write
   to the freed call fails the test). */
struct self_destroy {
	struct wv_client *c;
	int ended, errors;
};

static void destroy_when_over(void *user, enum wv_status from,
			      enum wv_status to)
{
	struct self_destroy *s = user;

	(void)from;
	if (to != WV_STATUS_DISCONNECTED)
		return;
	s->ended++;
	wv_client_destroy(s->c);
	s->c = NULL;
}

static void count_error(void *user, int code, const char *detail)
{
	(void)code;
	(void)detail;
	((struct self_destroy *)user)->errors++;
}

static struct wv_loop *self_destroying_call(struct self_destroy *s,
					    const char *url,
					    unsigned timeout_ms)
{
	struct wv_client_config cfg;
	struct wv_loop *loop;

	memset(s, 0, sizeof *s);
	wv_client_config_default(&cfg);
	cfg.url = url;
	cfg.api_key = KEY;
	cfg.agent_id = "echo";
	cfg.connect_timeout_ms = timeout_ms;
	cfg.cb.status = destroy_when_over;
	cfg.cb.error = count_error;
	cfg.user = s;
	assert_int_equal(wv_loop_create(&loop), 0);
	assert_int_equal(wv_client_create(&s->c, loop, &cfg), 0);
	assert_int_equal(wv_client_connect(s->c), 0);
	return loop;
}

static void run_to_its_end(struct self_destroy *s, struct wv_loop *loop,
			   int errors)
{
	assert_int_equal(wv_loop_run(loop, SAFETY_MS), 0);
	assert_int_equal(s->ended, 1);
	assert_null(s->c);
	assert_int_equal(s->errors, errors);
	wv_loop_destroy(loop);
}

static void test_client_destroy_from_callback_connect_refused(void **state)
{
	struct self_destroy s;
	char url[64];

	(void)state;
	snprintf(url, sizeof url, "ws://127.0.0.1:%d", free_port());
	run_to_its_end(&s, self_destroying_call(&s, url, 0), 1);
}

/* A self-destroying call to the scripted server, to its end. */
static void self_destroy_against(enum script script, unsigned timeout_ms)
{
	struct self_destroy s;
	struct fake f;
	char url[64];

	fake_start(&f, script);
	snprintf(url, sizeof url, "ws://127.0.0.1:%d", f.port);
	run_to_its_end(&s, self_destroying_call(&s, url, timeout_ms), 1);
	fake_stop(&f);
}

static void test_client_destroy_from_callback_connect_timeout(void **state)
{
	(void)state;
	self_destroy_against(SCRIPT_SILENT, 200);
}

static void test_client_destroy_from_callback_server_vanishes(void **state)
{
	(void)state;
	self_destroy_against(SCRIPT_VANISH, 0);
}

static bool self_destroy_connected(const void *arg)
{
	const struct self_destroy *s = arg;

	return !s->c || wv_client_status(s->c) == WV_STATUS_CONNECTED;
}

static void test_client_destroy_from_callback_on_hangup(void **state)
{
	struct world *w = *state;
	struct self_destroy s;
	struct wv_loop *loop = self_destroying_call(&s, w->plain.url, 0);

	assert_true(run_until(loop, self_destroy_connected, &s));
	assert_non_null(s.c);
	assert_int_equal(wv_client_hangup(s.c), 0);
	run_to_its_end(&s, loop, 0);
}

/* ---- configuration ---- */

struct bad_config {
	const char *url, *key, *agent, *metadata;
	enum wv_auth auth;
	unsigned rate;
	int want;
	const char *says; /* in wv_client_check_config()'s words */
};

static int no_sound(void *user, float *dst, size_t n)
{
	(void)user;
	memset(dst, 0, n * sizeof *dst);
	return 1;
}

static void test_client_create_checks_its_config(void **state)
{
	char err[256];
	static const struct bad_config rows[] = {
		{ NULL, KEY, "echo", NULL, WV_AUTH_SUBPROTOCOL, 0, WV_ERR_URL,
		  "no url" },
		{ "http://h", KEY, "echo", NULL, WV_AUTH_SUBPROTOCOL, 0, WV_ERR_URL,
		  "url \"http://h\": a call's URL is ws:// or wss:// (ws:// "
		  "where it says http://)" },
		{ "https://h", KEY, "echo", NULL, WV_AUTH_SUBPROTOCOL, 0, WV_ERR_URL,
		  "(wss:// where it says https://)" },
		{ "WS://h", KEY, "echo", NULL, WV_AUTH_SUBPROTOCOL, 0, WV_ERR_URL,
		  "the scheme is lower case: ws://" },
		{ "127.0.0.1:8765", KEY, "echo", NULL, WV_AUTH_SUBPROTOCOL, 0,
		  WV_ERR_URL, "has no scheme: ws://127.0.0.1:8765 or "
			      "wss://127.0.0.1:8765?" },
		{ "ws://h:99999", KEY, "echo", NULL, WV_AUTH_SUBPROTOCOL, 0,
		  WV_ERR_URL, "the port is from 1 to 65535" },
		{ "ws://h:0", KEY, "echo", NULL, WV_AUTH_SUBPROTOCOL, 0, WV_ERR_URL,
		  "the port is from 1 to 65535" },
		{ "ws://u@h", KEY, "echo", NULL, WV_AUTH_SUBPROTOCOL, 0, WV_ERR_URL,
		  "no user name or password" },
		{ "ws://h?q", KEY, "echo", NULL, WV_AUTH_SUBPROTOCOL, 0, WV_ERR_URL,
		  "leave the query out" },
		{ "ws://h\x01st", KEY, "echo", NULL, WV_AUTH_SUBPROTOCOL, 0,
		  WV_ERR_URL, "url \"ws://h\\x01st\": the host is not" },
		{ "ws://h", NULL, "echo", NULL, WV_AUTH_SUBPROTOCOL, 0,
		  WV_ERR_INVALID, "no API key" },
		{ "ws://h", "", "echo", NULL, WV_AUTH_SUBPROTOCOL, 0, WV_ERR_INVALID,
		  "no API key" },
		{ "ws://h", KEY, "", NULL, WV_AUTH_SUBPROTOCOL, 0, WV_ERR_INVALID,
		  "no agent_id" },
		{ "ws://h", "a,b", "echo", NULL, WV_AUTH_SUBPROTOCOL, 0,
		  WV_ERR_INVALID, "without a comma" },
		{ "ws://h", "a\r\nX: y", "echo", NULL, WV_AUTH_HEADER, 0,
		  WV_ERR_INVALID, "visible ASCII characters" },
		{ "ws://h", KEY, "echo", "[1]", WV_AUTH_SUBPROTOCOL, 0,
		  WV_ERR_NOT_OBJECT, "metadata is a JSON array; it must be an "
				     "object" },
		{ "ws://h", KEY, "echo", "notjson", WV_AUTH_SUBPROTOCOL, 0,
		  WV_ERR_JSON, "metadata is not JSON: " },
		{ "ws://h", KEY, "echo", "{", WV_AUTH_SUBPROTOCOL, 0, WV_ERR_JSON,
		  "metadata is not JSON: " },
		{ "ws://h", KEY, "echo", NULL, 7, 0, WV_ERR_INVALID, "auth is 7" },
		{ "ws://h", KEY, "echo", NULL, WV_AUTH_SUBPROTOCOL, 4000,
		  WV_ERR_RATE, "source rate 4000 Hz" },
		{ "ws://h", "a,b", "echo", "{\"x\":1}", WV_AUTH_HEADER, 48000, 0,
		  "" },
		{ "wss://[::1]:9/p", KEY, "echo", NULL, WV_AUTH_SUBPROTOCOL, 0, 0,
		  "" },
		{ "ws://h:9/telephony/websocket/call?agent_id=x", KEY, "echo",
		  NULL, WV_AUTH_SUBPROTOCOL, 0, WV_ERR_URL,
		  "leave the query out (agent_id, from, metadata and synthetic "
		  "are settings of their own)" },
	};
	struct wv_loop *loop;

	(void)state;
	assert_int_equal(wv_loop_create(&loop), 0);
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		struct wv_client_config cfg;
		struct wv_client *c = NULL;

		wv_client_config_default(&cfg);
		cfg.url = rows[i].url;
		cfg.api_key = rows[i].key;
		cfg.agent_id = rows[i].agent;
		cfg.metadata = rows[i].metadata;
		cfg.auth = rows[i].auth;
		if (rows[i].rate)
			cfg.source = (struct wv_source){ rows[i].rate, no_sound,
							 NULL };
		if (wv_client_create(&c, loop, &cfg) != rows[i].want)
			fail_msg("row %zu: %s", i, rows[i].url ? rows[i].url : "-");
		assert_true((c != NULL) == (rows[i].want == 0));
		wv_client_destroy(c);
		/* The same verdict, in words, and never the key. */
		assert_int_equal(wv_client_check_config(&cfg, err, sizeof err),
				 rows[i].want);
		if (!strstr(err, rows[i].says))
			fail_msg("row %zu says \"%s\"", i, err);
		assert_null(strstr(err, KEY));
	}
	/* A call URL too long for lws's request line: the same verdict. */
	{
		static char from[3000];
		struct wv_client_config cfg;
		struct wv_client *c = NULL;

		memset(from, 'f', sizeof from - 1);
		wv_client_config_default(&cfg);
		cfg.url = "ws://h";
		cfg.api_key = KEY;
		cfg.agent_id = "echo";
		cfg.from = from;
		assert_int_equal(wv_client_create(&c, loop, &cfg), WV_ERR_INVALID);
		assert_int_equal(wv_client_check_config(&cfg, err, sizeof err),
				 WV_ERR_INVALID);
		assert_non_null(strstr(err, "the call URL would be over 2000"));
	}
	wv_loop_destroy(loop);
}

static void test_client_empty_loop_returns_at_once(void **state)
{
	struct wv_loop *loop;

	(void)state;
	assert_int_equal(wv_loop_create(&loop), 0);
	/* Nothing on it: returns at once, with nothing going. */
	assert_int_equal(wv_loop_run(loop, -1), 0);
	assert_int_equal(wv_loop_run(loop, 0), 0);
	wv_loop_destroy(loop);
}

/* ---- the media clock, its timing, impairment ---- */

#define SPREAD 40

struct sent_log {
	uint64_t n;
	int64_t min_late;
};

static void log_sent(void *user, int64_t late_us)
{
	struct sent_log *l = user;

	if (l->n++ == 0 || late_us < l->min_late)
		l->min_late = late_us;
}

static bool spread_connected(const void *arg)
{
	struct wv_client *const *cs = arg;

	for (int i = 0; i < SPREAD; i++)
		if (wv_client_status(cs[i]) != WV_STATUS_CONNECTED)
			return false;
	return true;
}

static bool spread_talked(const void *arg)
{
	struct wv_client *const *cs = arg;
	struct wv_call_stats st;

	for (int i = 0; i < SPREAD; i++) {
		wv_client_stats(cs[i], &st);
		if (st.audio_frames_sent < 10)
			return false;
	}
	return true;
}

/* Forty calls opened together take the 20 phases of the frame two each,
   and each call's audio_sent is told of every frame it sent. */
static void test_client_calls_are_spread_over_the_frame(void **state)
{
	struct world *w = *state;
	struct wv_client *cs[SPREAD];
	struct sent_log logs[SPREAD];
	struct wv_client_timing tm, first;
	unsigned per_phase[20] = { 0 };
	struct wv_loop *loop;

	memset(logs, 0, sizeof logs);
	assert_int_equal(wv_loop_create(&loop), 0);
	for (int i = 0; i < SPREAD; i++) {
		struct wv_client_config cfg;

		wv_client_config_default(&cfg);
		cfg.url = w->plain.url;
		cfg.api_key = KEY;
		cfg.agent_id = "silent";
		cfg.audio_sent = log_sent;
		cfg.user = &logs[i];
		assert_int_equal(wv_client_create(&cs[i], loop, &cfg), 0);
		assert_int_equal(wv_client_connect(cs[i]), 0);
	}
	assert_true(run_until(loop, spread_connected, cs));
	wv_client_timing(cs[0], &first);
	for (int i = 0; i < SPREAD; i++) {
		int64_t off;

		wv_client_timing(cs[i], &tm);
		off = ((tm.grid - first.grid) % 20000 + 20000) % 20000;
		assert_int_equal(off % 1000, 0);
		per_phase[off / 1000]++;
	}
	for (int p = 0; p < 20; p++)
		assert_int_equal(per_phase[p], SPREAD / 20);
	assert_true(run_until(loop, spread_talked, cs));
	for (int i = 0; i < SPREAD; i++)
		assert_int_equal(wv_client_hangup(cs[i]), 0);
	assert_int_equal(wv_loop_run(loop, SAFETY_MS), 0);
	for (int i = 0; i < SPREAD; i++) {
		struct wv_call_stats st;

		wv_client_stats(cs[i], &st);
		assert_true(st.audio_frames_sent > 0);
		assert_int_equal(logs[i].n, st.audio_frames_sent);
		assert_true(logs[i].min_late >= 0);
		wv_client_timing(cs[i], &tm);
		assert_true(tm.connect > 0 && tm.connect <= tm.tcp);
		assert_true(tm.tcp <= tm.open && tm.open <= tm.start);
		assert_true(tm.start <= tm.end && tm.open <= tm.grid);
		wv_client_destroy(cs[i]);
	}
	wv_loop_destroy(loop);
}

/* With 300 ms of delay each way, the server's start comes at least
   600 ms after the socket opened (start out, start back), and no audio
   frame leaves less than 300 ms after it was due. */
static void test_client_impairment_delays_both_ways(void **state)
{
	struct world *w = *state;
	struct wv_impairment im = { .delay_ms = 300, .jitter_ms = 40,
				    .seed = 7 };
	struct sent_log log = { 0 };
	struct wv_client_timing tm;
	struct one o;

	prepare(&o, w->plain.url, "echo");
	o.cfg.impair = &im;
	o.cfg.audio_sent = log_sent;
	o.cfg.user = &log;
	o.cfg.cb = (struct wv_call_callbacks){ 0 };
	dial_and_connect(&o);
	wv_loop_run(o.loop, 500);
	hang_up(&o);
	wv_client_timing(o.c, &tm);
	assert_true(tm.start - tm.open >= 600000);
	assert_true(log.n > 10);
	assert_true(log.min_late >= 300000);
	finish(&o);
}

static void test_client_impairment_is_checked(void **state)
{
	struct world *w = *state;
	struct wv_impairment bad = { .stall_ms = 500, .stall_period_ms = 500 };
	struct wv_client_config cfg;
	char err[160];

	config_for(&cfg, w->plain.url, "echo", NULL);
	cfg.impair = &bad;
	assert_int_equal(wv_client_check_config(&cfg, err, sizeof err),
			 WV_ERR_INVALID);
	assert_non_null(strstr(err, "impair: a stall of 500 ms"));
	bad = (struct wv_impairment){ .delay_ms = 60001 };
	assert_int_equal(wv_client_check_config(&cfg, err, sizeof err),
			 WV_ERR_INVALID);
	cfg.impair = NULL;
	cfg.playout_max_ms = 200; /* under the 300 ms pre-buffer */
	assert_int_equal(wv_client_check_config(&cfg, err, sizeof err),
			 WV_ERR_INVALID);
	assert_non_null(strstr(err, "playout_max_ms 200"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_client_create_checks_its_config),
		cmocka_unit_test(test_client_empty_loop_returns_at_once),
		cmocka_unit_test(test_client_echo_call_round_trip),
		cmocka_unit_test(test_client_header_auth_connects),
		cmocka_unit_test(test_client_refusals_name_the_http_status),
		cmocka_unit_test(test_client_full_server_is_refused_503),
		cmocka_unit_test(test_client_nothing_listening_is_a_connect_error),
		cmocka_unit_test(test_client_unknown_host_is_a_connect_error),
		cmocka_unit_test(test_client_pound_on_demo_ends_with_remote_stop),
		cmocka_unit_test(test_client_twenty_calls_share_one_loop),
		cmocka_unit_test(test_client_destroying_a_live_call_still_hangs_up),
		cmocka_unit_test(test_client_loop_destroy_ends_open_calls),
		cmocka_unit_test(test_client_wss_insecure_accepts_a_self_signed_cert),
		cmocka_unit_test(test_client_wss_verifies_the_cert_by_default),
		cmocka_unit_test(test_client_wss_trusts_a_given_ca_file),
		cmocka_unit_test(test_client_phone_is_driven_from_another_thread),
		cmocka_unit_test(test_client_phone_reports_a_refusal),
		cmocka_unit_test(test_client_offers_the_key_as_a_subprotocol_on_the_path),
		cmocka_unit_test(test_client_server_close_code_and_reason_are_reported),
		cmocka_unit_test(test_client_bad_servers_are_named),
		cmocka_unit_test(test_client_reassembles_and_caps_messages),
		cmocka_unit_test(test_client_text_not_utf8_closes_1007),
		cmocka_unit_test(test_client_pings_keep_a_quiet_call_alive),
		cmocka_unit_test(test_client_no_pongs_end_the_call),
		cmocka_unit_test(test_client_name_lookups_stay_off_the_loop),
		cmocka_unit_test(test_client_each_address_is_tried_in_turn),
		cmocka_unit_test(test_client_destroyed_during_its_lookup),
		cmocka_unit_test(test_client_slow_lookup_times_out),
		cmocka_unit_test(test_client_too_many_open_files_is_named),
		cmocka_unit_test(test_client_destroy_from_callback_connect_refused),
		cmocka_unit_test(test_client_destroy_from_callback_connect_timeout),
		cmocka_unit_test(test_client_destroy_from_callback_server_vanishes),
		cmocka_unit_test(test_client_destroy_from_callback_on_hangup),
		cmocka_unit_test(test_client_calls_are_spread_over_the_frame),
		cmocka_unit_test(test_client_impairment_delays_both_ways),
		cmocka_unit_test(test_client_impairment_is_checked),
	};

	/* The in-process servers refuse lws's notices (a refused key). */
	wv_log_lws(WV_LOG_ERR, NULL, NULL);
	/* WV_TEST_FILTER=pattern runs only the tests it matches. */
	if (getenv("WV_TEST_FILTER"))
		cmocka_set_test_filter(getenv("WV_TEST_FILTER"));
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
