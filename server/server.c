/* `wvoice serve` over libwebsockets: see server.h. */
#include "server.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <time.h>

#include <ev.h>
#include <jansson.h>
#include <libwebsockets.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <uuid/uuid.h>

#include <wvoice/base64.h>
#include <wvoice/error.h>
#include <wvoice/message.h>
#include <wvoice/protocol.h>
#include <wvoice/url.h>

#include "agents.h"
#include "recorder.h"
#include "script.h"
#include "session.h"
#include "tts.h"

#define TX_MAX 16384	     /* longest server message (a long mark id) */
#define SHUTDOWN_GRACE_US 2000000
/* epoll waits whole milliseconds: what falls due within one is done now
   (a frame then leaves up to 1 ms early, well inside its 60 ms lead). */
#define SLACK_US 1000

struct agent_entry {
	const char *id;
	const struct wvs_agent *agent;
	const void *arg;
};

/* One WebSocket connection (lws per-session user data). */
struct conn {
	struct wvs_server *srv;
	struct lws *wsi;
	struct wvs_session *session;
	struct wvs_record *rec;
	ev_timer pace; /* when the session next has something to do */
	const struct agent_entry *agent;
	struct conn *prev, *next;
	char id[37];
	char peer[64];
	int64_t opened;
	struct wv_message *rx; /* the caller's messages, put together */
	/* Handshake details, read in the filter, used once established. */
	char from[128];
	char *metadata; /* decoded JSON, or NULL */
	int synthetic;
};

struct wvs_server {
	struct wvs_server_config cfg;
	/* lws runs on a libev loop of ours (epoll): its own poll() loop scans
	   every socket on each wake-up and spins through the sub-millisecond
	   rest of every timer, which costs most of a core at 500 calls. */
	struct ev_loop *loop;
	ev_timer grace; /* wakes the loop while calls close at shutdown */
	ev_signal stop_signals[WVS_STOP_SIGNALS];
	size_t n_stop_signals;
	struct lws_context *ctx;
	struct lws_vhost *vhost;
	struct lws_protocols protocols[2];
	char url[128];
	int port;
	char generated_key[64];
	unsigned char (*keys)[SHA256_DIGEST_LENGTH];
	size_t n_keys;

	struct wvs_tts *tts;
	struct wvs_prompts prompts;
	struct wvs_script *scripts;
	size_t n_scripts;
	struct agent_entry *agents;
	size_t n_agents;
	struct wvs_recorder *recorder;

	struct conn *conns;
	struct wvs_server_stats stats;
	atomic_int stop;
	int64_t stopping_since;
	char tx[LWS_PRE + TX_MAX];
};

static int64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* One line on stderr, time-stamped; never holds a key. Nothing from a
   silent server (srv NULL: a line from libwebsockets, which has none). */
static void logf_(const struct wvs_server *srv, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void logf_(const struct wvs_server *srv, const char *fmt, ...)
{
	char stamp[32], line[1024];
	struct timespec ts;
	struct tm tm;
	va_list ap;

	if (srv && srv->cfg.silent)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(stamp, sizeof stamp, "%H:%M:%S", &tm);
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	fprintf(stderr, "%s.%03ld %s\n", stamp, ts.tv_nsec / 1000000, line);
}

void wvs_log_lws_line(void *user, int level, const char *line)
{
	(void)user;
	(void)level;
	logf_(NULL, "lws: %s", line);
}

void wvs_server_config_default(struct wvs_server_config *cfg)
{
	memset(cfg, 0, sizeof *cfg);
	cfg->host = WVS_DEFAULT_HOST;
	cfg->port = WVS_DEFAULT_PORT;
	cfg->max_calls = WVS_DEFAULT_MAX_CALLS;
	cfg->lead_ms = 60;
}

/* ---- keys ---- */

static int key_add(struct wvs_server *srv, const char *key)
{
	size_t n = strlen(key);

	if (n == 0 || n > WVS_KEY_MAX)
		return WV_ERR_INVALID;
	SHA256((const unsigned char *)key, n, srv->keys[srv->n_keys++]);
	return 0;
}

/* Compares digests, so the time taken says nothing about the key, and
   looks at every key so it says nothing about which one matched. */
static int key_ok(const struct wvs_server *srv, const char *key, size_t n)
{
	unsigned char d[SHA256_DIGEST_LENGTH];
	int ok = 0;

	SHA256((const unsigned char *)key, n, d);
	for (size_t i = 0; i < srv->n_keys; i++)
		ok |= CRYPTO_memcmp(d, srv->keys[i], sizeof d) == 0;
	return ok;
}

static int keys_init(struct wvs_server *srv, char *err, size_t errlen)
{
	size_t n = srv->cfg.n_api_keys ? srv->cfg.n_api_keys : 1;

	srv->keys = calloc(n, sizeof *srv->keys);
	if (!srv->keys)
		return WV_ERR_NOMEM;
	for (size_t i = 0; i < srv->cfg.n_api_keys; i++) {
		if (key_add(srv, srv->cfg.api_keys[i]) < 0) {
			snprintf(err, errlen,
				 "API key %zu: empty or over %d characters",
				 i + 1, WVS_KEY_MAX);
			return WV_ERR_INVALID;
		}
		/* lws reads Sec-WebSocket-Protocol into 128 bytes and drops a
		   longer one, so "apikey, KEY" must fit in 127. */
		if (strlen(srv->cfg.api_keys[i]) > WVS_SUBPROTOCOL_KEY_MAX)
			logf_(srv, "API key %zu is over %d characters: clients can "
			      "present it as X-API-Key only, not as a subprotocol "
			      "(browsers)",
			      i + 1, WVS_SUBPROTOCOL_KEY_MAX);
	}
	if (srv->cfg.n_api_keys == 0) {
		uint8_t raw[24];

		if (getrandom(raw, sizeof raw, 0) != (ssize_t)sizeof raw) {
			snprintf(err, errlen, "no randomness for a key: %s",
				 strerror(errno));
			return WV_ERR_INTERNAL;
		}
		srv->generated_key[wv_base64url_encode(srv->generated_key, raw,
						       sizeof raw)] = '\0';
		key_add(srv, srv->generated_key);
	}
	return 0;
}

/* ---- agents ---- */

static int agents_init(struct wvs_server *srv, char *err, size_t errlen)
{
	static const struct wvs_agent *const builtin[] = {
		&wvs_agent_demo, &wvs_agent_echo, &wvs_agent_silent,
	};
	size_t nb = sizeof builtin / sizeof builtin[0];
	int rc;

	rc = wvs_tts_create(&srv->tts, srv->cfg.voice, 0, err, errlen);
	if (rc == 0)
		rc = wvs_prompts_render(&srv->prompts, srv->tts, err, errlen);
	if (rc < 0)
		return rc;
	srv->scripts = calloc(srv->cfg.n_scripts + 1, sizeof *srv->scripts);
	srv->agents = calloc(nb + srv->cfg.n_scripts, sizeof *srv->agents);
	if (!srv->scripts || !srv->agents)
		return WV_ERR_NOMEM;
	for (size_t i = 0; i < nb; i++)
		srv->agents[srv->n_agents++] = (struct agent_entry){
			builtin[i]->name, builtin[i], &srv->prompts
		};
	for (size_t i = 0; i < srv->cfg.n_scripts; i++) {
		const struct wvs_script_arg *sa = &srv->cfg.scripts[i];
		struct wvs_script *sc = &srv->scripts[i];

		rc = wvs_script_load(sc, sa->name, sa->path, srv->tts, err,
				     errlen);
		if (rc < 0)
			return rc;
		srv->n_scripts++;
		/* A script may take a built-in's name: the user asked for it. */
		struct agent_entry *e = NULL;
		for (size_t j = 0; j < srv->n_agents; j++)
			if (strcmp(srv->agents[j].id, sa->name) == 0)
				e = &srv->agents[j];
		if (!e)
			e = &srv->agents[srv->n_agents++];
		*e = (struct agent_entry){ sc->name, &wvs_agent_script, sc };
	}
	return 0;
}

static const struct agent_entry *agent_find(const struct wvs_server *srv,
					    const char *id)
{
	for (size_t i = 0; i < srv->n_agents; i++)
		if (strcmp(srv->agents[i].id, id) == 0)
			return &srv->agents[i];
	return NULL;
}

/* ---- the handshake ---- */

/* Refuses the upgrade with an HTTP status. The filter callback runs after
   lws has switched the connection to the ws role, where LWS_WRITE_HTTP
   goes out raw; returning nonzero then drops the connection. */
static int refuse(struct conn *c, struct lws *wsi, int status,
		  const char *reason, const char *detail)
{
	char *p = c->srv->tx + LWS_PRE;
	char body[160];
	int blen, n;

	blen = snprintf(body, sizeof body, "%d %s\n", status, reason);
	n = snprintf(p, TX_MAX,
		     "HTTP/1.1 %d %s\r\ncontent-type: text/plain\r\n"
		     "content-length: %d\r\nconnection: close\r\n\r\n%s",
		     status, reason, blen, body);
	lws_write(wsi, (unsigned char *)p, (size_t)n, LWS_WRITE_HTTP);
	c->srv->stats.refused++;
	logf_(c->srv, "refused %s: %d %s%s%s", c->peer, status, reason,
	      detail ? ": " : "", detail ? detail : "");
	return 1;
}

/* The key offered in `Sec-WebSocket-Protocol: apikey, KEY`: the token
   after "apikey". Returns its length, or -1 when there is none. */
static int subprotocol_key(const char *list, const char **key)
{
	const char *p = list;
	int after_apikey = 0;

	while (p && *p) {
		const char *start, *end;

		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		start = p;
		while (*p && *p != ',')
			p++;
		end = p;
		while (end > start && (end[-1] == ' ' || end[-1] == '\t'))
			end--;
		if (end == start)
			continue;
		if (after_apikey) {
			*key = start;
			return (int)(end - start);
		}
		after_apikey = (size_t)(end - start) == 6 &&
			       strncmp(start, "apikey", 6) == 0;
	}
	return -1;
}

static int authorized(struct conn *c, struct lws *wsi, const char *offered)
{
	char key[WVS_KEY_MAX + 2];
	const char *k;
	int n;

	if (offered && (n = subprotocol_key(offered, &k)) >= 0)
		return n <= WVS_KEY_MAX && key_ok(c->srv, k, (size_t)n);
	n = lws_hdr_custom_length(wsi, "x-api-key:", 10);
	if (n <= 0 || n > WVS_KEY_MAX)
		return 0;
	if (lws_hdr_custom_copy(wsi, key, sizeof key, "x-api-key:", 10) < 0)
		return 0;
	return key_ok(c->srv, key, strlen(key));
}

static int origin_ok(const struct wvs_server *srv, struct lws *wsi)
{
	char origin[256], own[160];
	const char *scheme = srv->cfg.tls_cert ? "https" : "http";
	static const char *const local[] = { "127.0.0.1", "localhost", "[::1]" };

	/* Clients that are not browsers send no Origin: nothing to check. */
	if (lws_hdr_total_length(wsi, WSI_TOKEN_ORIGIN) <= 0)
		return 1;
	if (lws_hdr_copy(wsi, origin, sizeof origin, WSI_TOKEN_ORIGIN) < 0)
		return 0;
	for (size_t i = 0; i < srv->cfg.n_origins; i++)
		if (strcmp(srv->cfg.origins[i], "*") == 0 ||
		    strcasecmp(srv->cfg.origins[i], origin) == 0)
			return 1;
	if (srv->cfg.n_origins)
		return 0;
	/* By default, only pages the server itself could have served. */
	snprintf(own, sizeof own, "%s://%s:%d", scheme, srv->cfg.host,
		 srv->port);
	if (strcasecmp(own, origin) == 0)
		return 1;
	for (size_t i = 0; i < sizeof local / sizeof local[0]; i++) {
		snprintf(own, sizeof own, "%s://%s:%d", scheme, local[i],
			 srv->port);
		if (strcasecmp(own, origin) == 0)
			return 1;
	}
	return 0;
}

/* base64url into dst, which holds at least len bytes. Returns the
   decoded length, or -1. Unpadded, as the call URL carries metadata; the
   padding a browser's encoder may leave is taken too. */
static long base64url_decode(char *dst, const char *src, size_t len)
{
	size_t out, pad = 0;

	while (pad < 2 && len > pad && src[len - 1 - pad] == '=')
		pad++;
	if (pad && len % 4 != 0)
		return -1; /* padding, but not to a group of four */
	len -= pad;
	if (wv_base64url_decode((uint8_t *)dst, len, &out, src, len, NULL) < 0)
		return -1;
	return (long)out;
}

/* Reads from, metadata and synthetic off the query for the record. */
static void read_query(struct conn *c, struct lws *wsi)
{
	char buf[4096];
	const char *v;

	v = lws_get_urlarg_by_name(wsi, "from=", buf, sizeof buf);
	snprintf(c->from, sizeof c->from, "%s", v ? v : "");
	v = lws_get_urlarg_by_name(wsi, "synthetic=", buf, sizeof buf);
	c->synthetic = v && strcmp(v, "true") == 0;
	v = lws_get_urlarg_by_name(wsi, "metadata=", buf, sizeof buf);
	if (v && *v) {
		size_t len = strlen(v);
		char *json = malloc(len + 1);
		json_error_t jerr;
		json_t *obj = NULL;
		long out = json ? base64url_decode(json, v, len) : -1;

		if (out >= 0) {
			json[out] = '\0';
			obj = json_loadb(json, (size_t)out, 0, &jerr);
		}
		if (obj && json_is_object(obj)) {
			c->metadata = json;
			json = NULL;
		} else {
			logf_(c->srv, "call %s: metadata is not base64url of a JSON "
			      "object; ignored",
			      c->id);
		}
		json_decref(obj);
		free(json);
	}
}

static int filter(struct conn *c, struct lws *wsi, const char *offered)
{
	struct wvs_server *srv = lws_context_user(lws_get_context(wsi));
	char path[256], agent[128];
	const char *a;
	uuid_t u;

	memset(c, 0, sizeof *c);
	c->srv = srv;
	lws_get_peer_simple(wsi, c->peer, sizeof c->peer);
	if (atomic_load(&srv->stop))
		return refuse(c, wsi, 503, "Service Unavailable",
			      "shutting down");
	if (lws_hdr_copy(wsi, path, sizeof path, WSI_TOKEN_GET_URI) < 0 ||
	    strcmp(path, WV_CALL_PATH) != 0)
		return refuse(c, wsi, 404, "Not Found", "no such path");
	if (!origin_ok(srv, wsi))
		return refuse(c, wsi, 403, "Forbidden", "origin not allowed");
	if (!authorized(c, wsi, offered))
		return refuse(c, wsi, 401, "Unauthorized",
			      "missing or wrong API key");
	a = lws_get_urlarg_by_name(wsi, "agent_id=", agent, sizeof agent);
	if (!a || !(c->agent = agent_find(srv, a)))
		return refuse(c, wsi, 404, "Not Found",
			      a ? "unknown agent" : "no agent_id");
	if (srv->stats.active >= srv->cfg.max_calls)
		return refuse(c, wsi, 503, "Service Unavailable",
			      "at --max-calls");
	uuid_generate_random(u);
	uuid_unparse_lower(u, c->id);
	read_query(c, wsi);
	return 0;
}

/* ---- tracing and recording ---- */

/* One JSONL line: the time (to the millisecond, as jansson would print
   every digit of the double) and direction, then the fields of obj. */
static void record_line(struct conn *c, double t, const char *dir, json_t *obj)
{
	char *fields = obj ? json_dumps(obj, JSON_COMPACT | JSON_PRESERVE_ORDER)
			   : NULL;
	char head[64];
	int n;

	json_decref(obj);
	if (!fields)
		return;
	/* fields is "{...}": the line goes on after its brace. */
	n = snprintf(head, sizeof head, "{\"t\":%.3f,\"dir\":\"%s\"%s", t, dir,
		     fields[1] == '}' ? "" : ",");
	char *line = malloc((size_t)n + strlen(fields));
	if (line) {
		memcpy(line, head, (size_t)n);
		strcpy(line + n, fields + 1);
		wvs_record_line(c->rec, line, strlen(line));
		free(line);
	}
	free(fields);
}

static void on_trace(void *user, enum wvs_dir dir, const struct wv_event *ev,
		     const char *problem, int64_t now)
{
	struct conn *c = user;
	const char *d = dir == WVS_IN ? "in" : "out";
	double t = (double)(now - c->opened) / 1e6;
	json_t *obj;

	if (c->srv->cfg.verbose && (!ev || ev->type != WV_EVENT_AUDIO))
		logf_(c->srv, "call %s: %s %s%s%s", c->id, d,
		      ev ? ev->name : "bad frame", ev && ev->mark ? " " : "",
		      ev && ev->mark ? ev->mark : "");
	if (!c->rec)
		return;
	if (ev && ev->type == WV_EVENT_AUDIO) {
		char line[96];
		int n = snprintf(line, sizeof line,
				 "{\"t\":%.3f,\"dir\":\"%s\",\"event\":\"audio\","
				 "\"bytes\":%zu}",
				 t, d, ev->audio_len);
		wvs_record_line(c->rec, line, (size_t)n);
		return;
	}
	obj = json_object();
	if (!obj)
		return;
	if (!ev) {
		json_object_set_new(obj, "error", json_string(problem));
	} else {
		json_object_set_new(obj, "event", json_string(ev->name));
		if (ev->communication_id)
			json_object_set_new(obj, "communication_id",
					    json_string(ev->communication_id));
		if (ev->type == WV_EVENT_MARK)
			json_object_set_new(obj, "mark", json_string(ev->mark));
		if (ev->type == WV_EVENT_DTMF)
			json_object_set_new(obj, "dtmf",
					    json_stringn(&ev->dtmf, 1));
	}
	record_line(c, t, d, obj);
}

static void on_audio(void *user, enum wvs_dir dir, uint64_t pos,
		     const int16_t *pcm, size_t n)
{
	struct conn *c = user;

	if (c->rec)
		wvs_record_audio(c->rec, dir == WVS_IN ? WVS_CALLER : WVS_AGENT,
				 pos, pcm, n);
}

static void on_log(void *user, const char *line)
{
	struct conn *c = user;

	logf_(c->srv, "call %s: %s", c->id, line);
}

static void record_open(struct conn *c)
{
	json_t *obj, *meta = NULL;

	if (!c->srv->recorder ||
	    wvs_record_open(c->srv->recorder, c->id, &c->rec) < 0)
		return;
	if (c->metadata)
		meta = json_loads(c->metadata, 0, NULL);
	obj = json_pack("{s:s,s:s,s:s,s:b,s:o*}", "event", "connect",
			"agent_id", c->agent->id, "from", c->from, "synthetic",
			c->synthetic, "metadata", meta);
	record_line(c, 0.0, "in", obj);
}

/* ---- a call's life on the socket ---- */

static int pump(struct conn *c, struct lws *wsi, int writeable);
static void pace_due(struct ev_loop *loop, ev_timer *w, int revents);

static int established(struct conn *c, struct lws *wsi)
{
	struct wvs_server *srv = c->srv;
	struct wvs_session_config cfg;

	c->wsi = wsi;
	c->opened = now_us();
	ev_timer_init(&c->pace, pace_due, 0, 0);
	c->pace.data = c;
	wvs_session_config_default(&cfg);
	cfg.agent = c->agent->agent;
	cfg.agent_arg = c->agent->arg;
	cfg.id = c->id;
	cfg.lead_ms = srv->cfg.lead_ms;
	cfg.early_us = SLACK_US;
	cfg.trace = on_trace;
	cfg.audio = on_audio;
	cfg.log = on_log;
	cfg.user = c;
	if (wvs_session_create(&c->session, &cfg, c->opened) < 0) {
		logf_(c->srv, "call %s: out of memory", c->id);
		return -1;
	}
	record_open(c);
	c->next = srv->conns;
	if (srv->conns)
		srv->conns->prev = c;
	srv->conns = c;
	srv->stats.calls++;
	srv->stats.active++;
	pump(c, wsi, 0); /* arms the start timeout */
	if (!srv->cfg.quiet)
		logf_(srv, "call %s start agent=%s peer=%s%s%s", c->id, c->agent->id,
		      c->peer, *c->from ? " from=" : "", c->from);
	return 0;
}

static void finished(struct conn *c)
{
	struct wvs_server *srv = c->srv;
	const struct wvs_session_stats *st;

	wv_message_destroy(c->rx);
	free(c->metadata);
	c->rx = NULL;
	c->metadata = NULL;
	if (!c->session)
		return;
	ev_timer_stop(srv->loop, &c->pace);
	wvs_session_closed(c->session, now_us());
	st = wvs_session_stats(c->session);
	srv->stats.frames_in += st->frames_in;
	srv->stats.frames_out += st->frames_out;
	srv->stats.late_frames += st->late_frames;
	if (st->max_send_delay > srv->stats.max_send_delay_us)
		srv->stats.max_send_delay_us = st->max_send_delay;
	if (!srv->cfg.quiet)
		logf_(srv, "call %s end agent=%s duration=%.3fs reason=%s "
		      "frames_in=%llu frames_out=%llu marks=%llu late=%llu",
		      c->id, c->agent->id, (double)(now_us() - c->opened) / 1e6,
		      wvs_end_name(wvs_session_end(c->session)),
		      (unsigned long long)st->frames_in,
		      (unsigned long long)st->frames_out,
		      (unsigned long long)st->marks_played,
		      (unsigned long long)st->late_frames);
	if (c->rec)
		wvs_record_close(c->rec);
	c->rec = NULL;
	wvs_session_destroy(c->session);
	c->session = NULL;
	if (c->prev)
		c->prev->next = c->next;
	else
		srv->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	srv->stats.active--;
}

/* After anything happens on a call: close it, or arrange to be called
   again when it next has something to do. A close starts from the
   writeable callback: lws then sends the close frame and waits for the
   client's answer, reading and dropping what the client still sends, where
   a close from the receive callback can reset the connection under the
   close frame while a flooding client's data is unread. */
static int pump(struct conn *c, struct lws *wsi, int writeable)
{
	int64_t now = now_us(), at;
	const char *reason;
	int code;

	wvs_session_tick(c->session, now);
	if (wvs_session_should_close(c->session, &code, &reason)) {
		if (!writeable) {
			lws_callback_on_writable(wsi);
			return 0;
		}
		lws_close_reason(wsi, (enum lws_close_status)code,
				 (unsigned char *)reason, strlen(reason));
		return -1;
	}
	at = wvs_session_deadline(c->session);
	ev_timer_stop(c->srv->loop, &c->pace);
	if (at <= now + SLACK_US) {
		lws_callback_on_writable(wsi);
	} else if (at != INT64_MAX) {
		/* Our own timer, not lws_set_timer_usecs(): lws 4.1.6's libev
		   glue re-arms its one timer with ev_timer_start(), which does
		   nothing while the timer runs, so a nearer deadline waits. */
		ev_timer_set(&c->pace, (double)(at - now) / 1e6, 0);
		ev_timer_start(c->srv->loop, &c->pace);
	}
	return 0;
}

static void pace_due(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct conn *c = w->data;

	(void)loop;
	(void)revents;
	pump(c, c->wsi, 0);
}

static int writeable(struct conn *c, struct lws *wsi)
{
	char *p = c->srv->tx + LWS_PRE;
	int n = wvs_session_next(c->session, now_us(), p, TX_MAX);

	if (n < 0) {
		logf_(c->srv, "call %s: %s encoding a message", c->id, wv_strerror(n));
		return -1;
	}
	if (n > 0 &&
	    lws_write(wsi, (unsigned char *)p, (size_t)n, LWS_WRITE_TEXT) < n)
		return -1;
	return pump(c, wsi, 1);
}

static int receive(struct conn *c, struct lws *wsi, const char *in, size_t len)
{
	int64_t now = now_us();
	enum wv_message_result r = WV_MESSAGE_NOMEM;
	const char *text;
	size_t n;

	if (c->rx || wv_message_create(&c->rx, WV_MESSAGE_MAX) == 0)
		r = wv_message_feed(c->rx, in, len, lws_is_first_fragment(wsi),
				    lws_is_final_fragment(wsi),
				    lws_frame_is_binary(wsi), &text, &n);
	switch (r) {
	case WV_MESSAGE_PARTIAL:
	case WV_MESSAGE_SKIPPED:
		return 0;
	case WV_MESSAGE_TEXT:
		wvs_session_receive(c->session, text, n, now);
		break;
	case WV_MESSAGE_BINARY:
		wvs_session_reject(c->session, 1003,
				   "binary frame: this protocol is JSON text",
				   now);
		break;
	case WV_MESSAGE_TOO_BIG:
		wvs_session_reject(c->session, 1009,
				   "message over 65536 bytes", now);
		break;
	case WV_MESSAGE_NOT_UTF8:
		wvs_session_reject(c->session, 1007, "text frame not UTF-8",
				   now);
		break;
	case WV_MESSAGE_NOMEM:
		wvs_session_reject(c->session, 1011, "out of memory", now);
		break;
	}
	return pump(c, wsi, 0);
}

/* ---- shutdown ---- */

static void begin_shutdown(struct wvs_server *srv)
{
	int64_t now = now_us();

	if (srv->stopping_since)
		return;
	srv->stopping_since = now;
	for (struct conn *c = srv->conns; c; c = c->next) {
		wvs_session_shutdown(c->session, now);
		lws_callback_on_writable(c->wsi);
	}
}

/* ---- the lws callback ---- */

static int callback(struct lws *wsi, enum lws_callback_reasons reason,
		    void *user, void *in, size_t len)
{
	struct conn *c = user;

	switch (reason) {
	case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
		return filter(c, wsi, in);
	case LWS_CALLBACK_ESTABLISHED:
		return established(c, wsi);
	case LWS_CALLBACK_RECEIVE:
		return c->session ? receive(c, wsi, in, len) : -1;
	case LWS_CALLBACK_SERVER_WRITEABLE:
		return c->session ? writeable(c, wsi) : -1;
	case LWS_CALLBACK_CLOSED:
		if (c)
			finished(c);
		return 0;
	case LWS_CALLBACK_EVENT_WAIT_CANCELLED: {
		struct wvs_server *srv = lws_context_user(lws_get_context(wsi));
		if (atomic_load(&srv->stop))
			begin_shutdown(srv);
		return 0;
	}
	case LWS_CALLBACK_HTTP:
		/* Plain HTTP: nothing here but the call path. */
		if (lws_return_http_status(wsi, HTTP_STATUS_NOT_FOUND, NULL))
			return -1;
		return lws_http_transaction_completed(wsi) ? -1 : 0;
	default:
		return 0;
	}
}

/* ---- life ---- */

/* Every call is a socket, and a recorded one two files more: raise the
   descriptor limit before lws sizes its tables from it (to a bound, as
   those tables are per descriptor). */
static void raise_fd_limit(void)
{
	const rlim_t want = 16384;
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < want) {
		rl.rlim_cur = rl.rlim_max < want ? rl.rlim_max : want;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static int listen_on(struct wvs_server *srv, char *err, size_t errlen)
{
	struct lws_context_creation_info info;
	const char *scheme = srv->cfg.tls_cert ? "wss" : "ws";
	int v6 = strchr(srv->cfg.host, ':') != NULL;

	srv->protocols[0] = (struct lws_protocols){
		.name = "apikey",
		.callback = callback,
		.per_session_data_size = sizeof(struct conn),
		.rx_buffer_size = 4096,
	};
	memset(&info, 0, sizeof info);
	info.port = srv->cfg.port;
	info.iface = srv->cfg.host;
	info.protocols = srv->protocols;
	info.user = srv;
	info.gid = -1;
	info.uid = -1;
	/* Our own UTF-8 check names the problem in the log; lws's would close
	   the call without telling us why. */
	info.options = LWS_SERVER_OPTION_DISABLE_IPV6 * !v6 |
		       LWS_SERVER_OPTION_IPV6_V6ONLY_MODIFY * v6 |
		       LWS_SERVER_OPTION_IPV6_V6ONLY_VALUE * v6;
	info.timeout_secs = 10;
	if (srv->cfg.tls_cert) {
		info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
		info.ssl_cert_filepath = srv->cfg.tls_cert;
		info.ssl_private_key_filepath = srv->cfg.tls_key;
		info.alpn = "http/1.1";
	}
	raise_fd_limit();
	srv->loop = ev_loop_new(EVFLAG_AUTO | EVFLAG_NOSIGMASK);
	if (!srv->loop) {
		snprintf(err, errlen, "cannot make an event loop");
		return WV_ERR_INTERNAL;
	}
	void *loops[] = { srv->loop };
	info.foreign_loops = loops;
	info.options |= LWS_SERVER_OPTION_LIBEV;
	srv->ctx = lws_create_context(&info);
	if (!srv->ctx) {
		snprintf(err, errlen,
			 "cannot listen on %s port %d (in use? a bad address%s?)",
			 srv->cfg.host, srv->cfg.port,
			 srv->cfg.tls_cert ? ", or a bad certificate or key" : "");
		return WV_ERR_INTERNAL;
	}
	srv->vhost = lws_get_vhost_by_name(srv->ctx, "default");
	srv->port = srv->vhost ? lws_get_vhost_listen_port(srv->vhost)
			       : srv->cfg.port;
	snprintf(srv->url, sizeof srv->url, v6 ? "%s://[%s]:%d" : "%s://%s:%d",
		 scheme, srv->cfg.host, srv->port);
	return 0;
}

int wvs_server_create(struct wvs_server **out,
		      const struct wvs_server_config *cfg, char *err,
		      size_t errlen)
{
	struct wvs_server *srv;
	int rc;

	*out = NULL;
	if (!cfg || !cfg->host || cfg->port < 0 || cfg->port > 65535 ||
	    !cfg->tls_cert != !cfg->tls_key) {
		snprintf(err, errlen, "bad server configuration");
		return WV_ERR_INVALID;
	}
	srv = calloc(1, sizeof *srv);
	if (!srv)
		return WV_ERR_NOMEM;
	srv->cfg = *cfg;
	if (lwsl_visible(LLL_NOTICE)) {
		/* lws's server prints a refused Sec-WebSocket-Protocol, which
		   holds the offered key, at NOTICE. */
		snprintf(err, errlen, "libwebsockets logs notices, where it "
			 "would print an offered API key: set wv_log_lws("
			 "WV_LOG_ERR | WV_LOG_WARN, ...) first");
		free(srv);
		return WV_ERR_STATE;
	}
	if (!srv->cfg.lead_ms)
		srv->cfg.lead_ms = 60;
	rc = keys_init(srv, err, errlen);
	if (rc == 0)
		rc = agents_init(srv, err, errlen);
	if (rc == 0 && cfg->record_dir)
		rc = wvs_recorder_create(&srv->recorder, cfg->record_dir, 0,
					 err, errlen);
	if (rc == 0)
		rc = listen_on(srv, err, errlen);
	if (rc < 0) {
		wvs_server_destroy(srv);
		return rc;
	}
	*out = srv;
	return 0;
}

static void grace_tick(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)w;
	(void)revents;
}

int wvs_server_run(struct wvs_server *srv)
{
	while (!srv->stopping_since || (srv->conns && now_us() -
			srv->stopping_since < SHUTDOWN_GRACE_US)) {
		if (srv->stopping_since && !ev_is_active(&srv->grace)) {
			ev_timer_init(&srv->grace, grace_tick, 0.05, 0.05);
			ev_timer_start(srv->loop, &srv->grace);
		}
		ev_run(srv->loop, EVRUN_ONCE);
	}
	if (ev_is_active(&srv->grace))
		ev_timer_stop(srv->loop, &srv->grace);
	return 0;
}

void wvs_server_stop(struct wvs_server *srv)
{
	atomic_store(&srv->stop, 1);
	lws_cancel_service(srv->ctx);
}

static void stop_signalled(struct ev_loop *loop, ev_signal *w, int revents)
{
	(void)loop;
	(void)revents;
	wvs_server_stop(w->data);
}

int wvs_server_stop_on_signal(struct wvs_server *srv, int signum)
{
	ev_signal *w;

	if (srv->n_stop_signals == WVS_STOP_SIGNALS)
		return WV_ERR_FULL;
	w = &srv->stop_signals[srv->n_stop_signals++];
	ev_signal_init(w, stop_signalled, signum);
	w->data = srv;
	ev_signal_start(srv->loop, w);
	return 0;
}

int wvs_server_port(const struct wvs_server *srv)
{
	return srv->port;
}

const char *wvs_server_url(const struct wvs_server *srv)
{
	return srv->url;
}

const char *wvs_server_generated_key(const struct wvs_server *srv)
{
	return srv->generated_key[0] ? srv->generated_key : NULL;
}

void wvs_server_get_stats(const struct wvs_server *srv,
			  struct wvs_server_stats *out)
{
	*out = srv->stats;
}

void wvs_server_destroy(struct wvs_server *srv)
{
	if (!srv)
		return;
	/* Closes what is left; each close comes back through finished(). */
	if (srv->ctx)
		lws_context_destroy(srv->ctx);
	for (size_t i = 0; i < srv->n_stop_signals; i++)
		ev_signal_stop(srv->loop, &srv->stop_signals[i]);
	if (srv->loop)
		ev_loop_destroy(srv->loop);
	wvs_recorder_destroy(srv->recorder);
	for (size_t i = 0; i < srv->n_scripts; i++)
		wvs_script_cleanup(&srv->scripts[i]);
	free(srv->scripts);
	free(srv->agents);
	wvs_prompts_cleanup(&srv->prompts);
	wvs_tts_destroy(srv->tts);
	free(srv->keys);
	free(srv);
}
