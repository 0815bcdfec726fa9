/*
 * The client: calls over libwebsockets. See wvoice.h for the contract and
 * call.h for the protocol, which lives in the sans-I/O core. This file is
 * the call handle; client_internal.h says where the rest is.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/crypto.h>

#include "client_internal.h"
#include "sized.h"
#include "alloc.h"

#define KEY_MAX 512
/* lws writes the request line into 2048 bytes and cuts it silently. */
#define PATH_MAX_LEN 2000
#define URL_CAP 4096
#define CONNECT_TIMEOUT_MAX_MS 60000
#define PING_MAX_S 3600

/* wv_client_config as first published with its size (0.2). */
#define CONFIG_FIRST_SIZE offsetof(struct wv_client_config, last_words_ms)
/* Ten minutes of playout, 9.6 MB: more is a mistake. */
#define PLAYOUT_MAX_MS 600000
/* The playout's marks waiting at once: the core's default at most. */
#define MARKS_MIN 64
#define MARKS_MAX 1024

void wv__recount(struct wv_client *c)
{
	if (c->loop)
		c->loop->recount = true;
}

void wv__notify(struct wv_client *c, enum wv__client_note note)
{
	if (c->obs)
		c->obs(c->obs_user, c, note);
}

/* Records an error of the call and tells the application. */
void wv__record_error(struct wv_client *c, int code, const char *msg)
{
	snprintf(c->last_error, sizeof c->last_error, "%s", msg);
	wv__notify(c, WV__NOTE_ERROR);
	if (c->ucb.error)
		c->ucb.error(c->cfg.user, code, c->last_error);
}

/* The reason a call reports with a close code of its own side. */
static const char *close_words(int code)
{
	switch (code) {
	case 1002:
		return "protocol error";
	case 1006:
		return "connection lost";
	case 1007:
		return "invalid UTF-8";
	case 1009:
		return "message too big";
	default:
		return NULL;
	}
}

/* Tells the core the socket has closed (once) and the observer that the
   close code is known. */
void wv__tell_closed(struct wv_client *c, int code, const char *reason,
		     bool error)
{
	if (c->told_closed)
		return;
	wv__impair_flush_in(c);
	c->told_closed = true;
	wv_call_closed(c->call, code, reason, error, wv__now_us());
	wv__notify(c, WV__NOTE_CLOSED);
}

void wv__closing(struct wv_client *c, enum wv_closed_by by)
{
	if (c->closed_by == WV_CLOSED_BY_NONE)
		c->closed_by = by;
}

/* Ends the call with an error: the socket failed or we are closing it
   because the server broke the protocol. close_code is what the call
   reports as its close (0: none). */
#if defined(__GNUC__)
__attribute__((format(printf, 4, 5)))
#endif
void wv__fail(struct wv_client *c, int code, int close_code,
	      const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	if (c->told_closed)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	wv__connect_stop(c);
	/* The agent has hung up and its last words are playing: a socket
	   lost now ends nothing and is no error of the call's. */
	if (wv_call_stopping(c->call)) {
		wv__tell_closed(c, close_code, close_words(close_code), true);
		return;
	}
	/* The error that ended the call; a socket lost after a hang-up is
	   still told, but did not end anything. */
	if (!c->error && wv_call_status(c->call) != WV_STATUS_DISCONNECTED)
		c->error = code;
	wv__record_error(c, code, msg);
	c->mute_core = true;
	wv__tell_closed(c, close_code, close_words(close_code), true);
	c->mute_core = false;
}

/* The first clear diagnosis of a failing handshake wins over what lws
   says when it then gives up. */
#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
void wv__diagnose(struct wv_client *c, int code, const char *fmt, ...)
{
	va_list ap;

	if (c->pending_code)
		return;
	c->pending_code = code;
	va_start(ap, fmt);
	vsnprintf(c->pending, sizeof c->pending, fmt, ap);
	va_end(ap);
}

static void on_status(void *user, enum wv_status from, enum wv_status to)
{
	struct wv_client *c = user;

	if (to == WV_STATUS_CONNECTED)
		c->timing.start = wv__now_us();
	else if (to == WV_STATUS_DISCONNECTED)
		c->timing.end = wv__now_us();
	if (to == WV_STATUS_DISCONNECTED && !c->error &&
	    wv_call_end_reason(c->call) == WV_END_START_TIMEOUT)
		c->error = WV_ERR_TIMEOUT;
	wv__recount(c);
	wv__notify(c, WV__NOTE_STATUS);
	if (c->ucb.status)
		c->ucb.status(c->cfg.user, from, to);
}

static void on_comm_id(void *user, const char *id)
{
	struct wv_client *c = user;

	wv__notify(c, WV__NOTE_COMM_ID);
	if (c->ucb.communication_id)
		c->ucb.communication_id(c->cfg.user, id);
}

static void on_error(void *user, int code, const char *detail)
{
	struct wv_client *c = user;

	/* Out of memory, the core has lost something the call needs (an
	   event, a mark): the call ends, once the core has returned. */
	if (wv_is_fatal(code) && !c->fatal)
		c->fatal = code;
	if (!c->mute_core)
		wv__record_error(c, code, detail);
}

static void on_unknown(void *user, const char *name, const char *json,
		       size_t len)
{
	struct wv_client *c = user;

	if (c->ucb.unknown_event)
		c->ucb.unknown_event(c->cfg.user, name, json, len);
}

static void on_event(void *user, enum wv_direction dir,
		     const struct wv_event *ev)
{
	struct wv_client *c = user;

	if (c->ucb.event)
		c->ucb.event(c->cfg.user, dir, ev);
}

static const struct wv_client_config defaults = {
	.size = sizeof defaults,
	.auth = WV_AUTH_SUBPROTOCOL,
	.prebuffer_ms = 300,
	.connect_timeout_ms = 10000,
	.ping_s = 20,
	.last_words_ms = 2000,
	.playout_max_ms = 60000,
	.playout_policy = WV_PLAYOUT_ADAPTIVE,
};

void wv_client_config_default_sized(struct wv_client_config *cfg,
				    size_t size)
{
	wv__give_sized(cfg, size, &defaults, sizeof defaults);
	cfg->size = size;
}

/* A key goes into a header: visible ASCII only, and no comma where it is
   one token of a list. */
static bool key_ok(const char *key, enum wv_auth auth)
{
	size_t n = strlen(key);

	if (n == 0 || n > KEY_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (key[i] < 0x21 || key[i] > 0x7e ||
		    (auth == WV_AUTH_SUBPROTOCOL && key[i] == ','))
			return false;
	return true;
}

/* One line into err (cap bytes; none if err is NULL); returns code. */
#if defined(__GNUC__)
__attribute__((format(printf, 4, 5)))
#endif
static int say(char *err, size_t cap, int code, const char *fmt, ...)
{
	va_list ap;

	if (err && cap) {
		va_start(ap, fmt);
		vsnprintf(err, cap, fmt, ap);
		va_end(ap);
	}
	return code;
}

/* What is wrong with a URL that wv_url_split() refused, in words. */
static int explain_url(const char *url, char *err, size_t cap)
{
	const char *sep = strstr(url, "://"), *auth, *end, *colon;
	char shown[160], scheme[16];
	size_t n = sep ? (size_t)(sep - url) : 0;

	wv_escape(shown, sizeof shown, url, strlen(url));
	if (!sep || n == 0 || n >= sizeof scheme)
		return say(err, cap, WV_ERR_URL,
			   "url \"%s\" has no scheme: ws://%s or wss://%s?",
			   shown, shown, shown);
	memcpy(scheme, url, n);
	scheme[n] = '\0';
	for (size_t i = 0; i < n; i++)
		scheme[i] = (char)(scheme[i] >= 'A' && scheme[i] <= 'Z'
					   ? scheme[i] - 'A' + 'a'
					   : scheme[i]);
	if (strcmp(scheme, "ws") && strcmp(scheme, "wss"))
		return say(err, cap, WV_ERR_URL,
			   "url \"%s\": a call's URL is ws:// or wss://%s",
			   shown,
			   !strcmp(scheme, "http")	 ? " (ws:// where it says http://)"
			   : !strcmp(scheme, "https") ? " (wss:// where it says https://)"
						  : "");
	if (strncmp(url, scheme, n) != 0)
		return say(err, cap, WV_ERR_URL,
			   "url \"%s\": the scheme is lower case: %s://",
			   shown, scheme);
	auth = sep + 3;
	end = auth + strcspn(auth, "/?#");
	if (memchr(auth, '@', (size_t)(end - auth)))
		return say(err, cap, WV_ERR_URL,
			   "url \"%s\": no user name or password in it (the key "
			   "goes in api_key)", shown);
	colon = *auth == '[' ? memchr(auth, ']', (size_t)(end - auth)) : auth;
	colon = colon ? memchr(colon, ':', (size_t)(end - colon)) : NULL;
	if (colon) {
		size_t plen = (size_t)(end - colon - 1);
		bool digits = plen > 0 && plen <= 5 &&
			      strspn(colon + 1, "0123456789") >= plen;
		long port = digits ? strtol(colon + 1, NULL, 10) : -1;

		if (port < 1 || port > 65535)
			return say(err, cap, WV_ERR_URL,
				   "url \"%s\": the port is from 1 to 65535",
				   shown);
	}
	return say(err, cap, WV_ERR_URL,
		   "url \"%s\": the host is not a name or an IP address",
		   shown);
}

static int check_metadata(const char *text, char *err, size_t cap)
{
	json_error_t jerr;
	json_t *j = json_loads(text, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY,
			       &jerr);
	char why[120];
	int rc = 0;

	if (!j) {
		if (json_error_code(&jerr) == json_error_out_of_memory)
			return say(err, cap, WV_ERR_NOMEM, "out of memory");
		wv_escape(why, sizeof why, jerr.text, strlen(jerr.text));
		return say(err, cap, WV_ERR_JSON,
			   "metadata is not JSON: %s (column %d)", why,
			   jerr.column);
	}
	if (!json_is_object(j))
		rc = say(err, cap, WV_ERR_NOT_OBJECT,
			 "metadata is a JSON %s; it must be an object, "
			 "{\"key\": value, ...}",
			 json_is_array(j)    ? "array"
			 : json_is_string(j) ? "string"
			 : json_is_number(j) ? "number"
					     : "literal");
	json_decref(j);
	return rc;
}

/* lws cuts a request line over 2048 bytes without a word. */
static int check_length(const struct wv_client_config *cfg, char *err,
			size_t cap)
{
	struct wv_url_params p = {
		.base = cfg->url, .agent_id = cfg->agent_id, .from = cfg->from,
		.metadata = cfg->metadata, .synthetic = cfg->synthetic,
	};
	struct wv_url_parts parts;
	char *buf = wv_malloc(URL_CAP);
	int rc;

	if (!buf)
		return say(err, cap, WV_ERR_NOMEM, "out of memory");
	rc = wv_url_build(buf, URL_CAP, &p);
	if (rc >= 0 && (wv_url_split(buf, &parts) < 0 ||
			strlen(parts.path) > PATH_MAX_LEN))
		rc = WV_ERR_NOSPACE;
	wv_free(buf);
	if (rc == WV_ERR_NOSPACE)
		return say(err, cap, WV_ERR_INVALID,
			   "the call URL would be over %d bytes: from or "
			   "metadata is too long", PATH_MAX_LEN);
	return rc < 0 ? say(err, cap, rc, "url: %s", wv_strerror(rc)) : 0;
}

static int check(const struct wv_client_config *cfg, char *err, size_t cap)
{
	struct wv_url_parts parts;
	unsigned rate = cfg->source.read ? cfg->source.rate : WV_RATE;

	if (!cfg->url || !*cfg->url)
		return say(err, cap, WV_ERR_URL, "no url");
	if (strpbrk(cfg->url, "?#")) {
		char shown[160];

		wv_escape(shown, sizeof shown, cfg->url, strlen(cfg->url));
		return say(err, cap, WV_ERR_URL,
			   "url \"%s\": leave the query out (agent_id, from, "
			   "metadata and synthetic are settings of their own)",
			   shown);
	}
	if (wv_url_split(cfg->url, &parts) < 0)
		return explain_url(cfg->url, err, cap);
	if (!cfg->agent_id || !*cfg->agent_id)
		return say(err, cap, WV_ERR_INVALID, "no agent_id");
	if (!cfg->api_key || !*cfg->api_key)
		return say(err, cap, WV_ERR_INVALID, "no API key");
	if (cfg->auth != WV_AUTH_SUBPROTOCOL && cfg->auth != WV_AUTH_HEADER)
		return say(err, cap, WV_ERR_INVALID, "auth is %d: "
			   "WV_AUTH_SUBPROTOCOL or WV_AUTH_HEADER",
			   (int)cfg->auth);
	if (!key_ok(cfg->api_key, cfg->auth))
		return say(err, cap, WV_ERR_INVALID,
			   "the API key must be 1 to %d visible ASCII "
			   "characters%s", KEY_MAX,
			   cfg->auth == WV_AUTH_SUBPROTOCOL
				   ? ", without a comma when offered as a "
				     "subprotocol (X-API-Key takes one)"
				   : "");
	if (cfg->metadata && *cfg->metadata) {
		int rc = check_metadata(cfg->metadata, err, cap);

		if (rc < 0)
			return rc;
	}
	if (rate < WV_RATE_MIN || rate > WV_RATE_MAX)
		return say(err, cap, WV_ERR_RATE,
			   "source rate %u Hz: from %u to %u", rate,
			   (unsigned)WV_RATE_MIN, (unsigned)WV_RATE_MAX);
	if (cfg->playout_max_ms < cfg->prebuffer_ms ||
	    cfg->playout_max_ms > PLAYOUT_MAX_MS)
		return say(err, cap, WV_ERR_INVALID,
			   "playout_max_ms %u: from prebuffer_ms (%u) to %u",
			   cfg->playout_max_ms, cfg->prebuffer_ms,
			   PLAYOUT_MAX_MS);
	if (cfg->playout_policy != WV_PLAYOUT_FIXED &&
	    cfg->playout_policy != WV_PLAYOUT_ADAPTIVE)
		return say(err, cap, WV_ERR_INVALID,
			   "playout_policy %d: WV_PLAYOUT_FIXED or "
			   "WV_PLAYOUT_ADAPTIVE",
			   (int)cfg->playout_policy);
	return cfg->impair ? wv__impair_check(cfg->impair, err, cap) : 0;
}

int wv_client_check_config(const struct wv_client_config *cfg, char *err,
			   size_t err_cap)
{
	struct wv_client_config mine = defaults;
	int rc;

	if (err && err_cap)
		err[0] = '\0';
	if (!cfg || wv__take_sized(&mine, sizeof mine, cfg, cfg->size,
				   CONFIG_FIRST_SIZE) < 0)
		return say(err, err_cap, WV_ERR_INVALID,
			   "a config not made by wv_client_config_default()");
	rc = check(&mine, err, err_cap);
	/* wv_client_create() finds this out building the URL it keeps. */
	return rc < 0 ? rc : check_length(&mine, err, err_cap);
}

static int dup_opt(char **dst, const char *src)
{
	*dst = NULL;
	if (!src)
		return 0;
	*dst = wv__strdup(src);
	return *dst ? 0 : WV_ERR_NOMEM;
}

static int copy_strings(struct wv_client *c, const struct wv_client_config *cfg)
{
	if (dup_opt(&c->url, cfg->url) || dup_opt(&c->key, cfg->api_key) ||
	    dup_opt(&c->agent, cfg->agent_id) || dup_opt(&c->from, cfg->from) ||
	    dup_opt(&c->metadata, cfg->metadata) ||
	    dup_opt(&c->ca_file, cfg->ca_file))
		return WV_ERR_NOMEM;
	c->cfg.url = c->url;
	c->cfg.api_key = c->key;
	c->cfg.agent_id = c->agent;
	c->cfg.from = c->from;
	c->cfg.metadata = c->metadata;
	c->cfg.ca_file = c->ca_file;
	return 0;
}

/* The call URL, where it goes, and what to say in messages about it. */
static int resolve_url(struct wv_client *c)
{
	struct wv_url_params p = {
		.base = c->url, .agent_id = c->agent, .from = c->from,
		.metadata = c->metadata, .synthetic = c->cfg.synthetic,
	};
	char *buf = wv_malloc(URL_CAP);
	const char *h = c->addr.host;
	bool v6;
	int rc;

	if (!buf)
		return WV_ERR_NOMEM;
	rc = wv_url_build(buf, URL_CAP, &p);
	if (rc >= 0)
		c->full_url = wv__strdup(buf);
	wv_free(buf);
	if (rc < 0) /* too long, with from and metadata */
		return rc == WV_ERR_NOMEM ? rc : WV_ERR_INVALID;
	if (!c->full_url)
		return WV_ERR_NOMEM;
	if (wv_url_split(c->full_url, &c->addr) < 0 ||
	    strlen(c->addr.path) > PATH_MAX_LEN)
		return WV_ERR_INVALID;
	v6 = c->addr.ipv6;
	snprintf(c->hostport, sizeof c->hostport, v6 ? "[%s]:%d" : "%s:%d", h,
		 c->addr.port);
	if (c->addr.port == (c->addr.tls ? 443 : 80))
		snprintf(c->host_header, sizeof c->host_header,
			 v6 ? "[%s]" : "%s", h);
	else
		snprintf(c->host_header, sizeof c->host_header, "%s",
			 c->hostport);
	return 0;
}

static int make_call(struct wv_client *c)
{
	struct wv_playout_config pc;
	struct wv_call_config cc;
	size_t cap;

	wv_playout_config_default(&pc);
	pc.prebuffer_ms = c->cfg.prebuffer_ms;
	pc.policy = c->cfg.playout_policy;
	pc.max_ms = c->cfg.playout_max_ms;
	/* A mark a frame of the cap is more than any agent places; a small
	   cap (many calls in one process) keeps its marks' table small. */
	pc.max_marks = c->cfg.playout_max_ms / 20;
	if (pc.max_marks < MARKS_MIN)
		pc.max_marks = MARKS_MIN;
	if (pc.max_marks > MARKS_MAX)
		pc.max_marks = MARKS_MAX;
	wv_call_config_default(&cc);
	c->src_rate = c->cfg.source.read ? c->cfg.source.rate : WV_RATE;
	cc.capture_rate = c->src_rate;
	cc.playout = &pc;
	cc.last_words_ms = c->cfg.last_words_ms;
	cc.cb = (struct wv_call_callbacks){
		.status = on_status,
		.communication_id = on_comm_id,
		.error = on_error,
		.unknown_event = on_unknown,
		.event = c->ucb.event ? on_event : NULL,
	};
	cc.user = c;
	cap = c->src_rate / 50 + 1; /* check() has seen the rate */
	c->src_buf = wv__calloc(cap, sizeof *c->src_buf);
	if (!c->src_buf)
		return WV_ERR_NOMEM;
	return wv_call_create(&c->call, &cc);
}

int wv_client_create(struct wv_client **out, struct wv_loop *loop,
		     const struct wv_client_config *cfg)
{
	struct wv_client_config mine = defaults;
	struct wv_client *c;
	int rc;

	*out = NULL;
	if (!loop || !cfg)
		return WV_ERR_INVALID;
	rc = wv__take_sized(&mine, sizeof mine, cfg, cfg->size,
			    CONFIG_FIRST_SIZE);
	if (rc == 0)
		rc = check(&mine, NULL, 0);
	if (rc < 0)
		return rc;
	cfg = &mine;
	c = wv__calloc(1, sizeof *c);
	if (!c)
		return WV_ERR_NOMEM;
	c->cfg = *cfg;
	c->ucb = cfg->cb;
	c->phase = -1;
	if (!c->cfg.connect_timeout_ms)
		c->cfg.connect_timeout_ms = 10000;
	if (c->cfg.connect_timeout_ms > CONNECT_TIMEOUT_MAX_MS)
		c->cfg.connect_timeout_ms = CONNECT_TIMEOUT_MAX_MS;
	if (c->cfg.ping_s > PING_MAX_S)
		c->cfg.ping_s = PING_MAX_S;
	/* ping_s 0: no pings (a zero hang-up time turns lws's check off). */
	if (c->cfg.ping_s)
		c->keepalive = (lws_retry_bo_t){
			.secs_since_valid_ping = (uint16_t)c->cfg.ping_s,
			.secs_since_valid_hangup = (uint16_t)(c->cfg.ping_s + 10),
		};
	rc = copy_strings(c, cfg);
	if (rc == 0)
		rc = resolve_url(c);
	if (rc == 0 && c->cfg.auth == WV_AUTH_SUBPROTOCOL) {
		size_t n = strlen(c->key) + sizeof "apikey, ";

		c->offer = wv_malloc(n);
		if (c->offer)
			snprintf(c->offer, n, "apikey, %s", c->key);
		else
			rc = WV_ERR_NOMEM;
	}
	if (rc == 0)
		rc = make_call(c);
	if (rc == 0)
		rc = wv_message_create(&c->rx, WV_MESSAGE_MAX);
	c->cfg.impair = NULL; /* the caller's; ours is c->impair */
	if (rc == 0 && cfg->impair)
		rc = wv__impair_create(c, cfg->impair, loop->n_made);
	if (rc < 0) {
		wv__free_client(c);
		return rc;
	}
	loop->n_made++;
	c->loop = loop;
	ev_timer_init(&c->conn_timer, wv__connect_due, 0, 0);
	c->conn_timer.data = c;
	ev_timer_init(&c->redial, wv__redial_due, 0, 0);
	c->redial.data = c;
	c->next = loop->clients;
	if (loop->clients)
		loop->clients->prev = c;
	loop->clients = c;
	*out = c;
	return 0;
}

/* The devices stop before anything they read goes. */
static void close_audio(struct wv_client *c)
{
	wv_audio_close(c->audio);
	c->audio = NULL;
	c->device_playout = false;
}

void wv__free_client(struct wv_client *c)
{
	struct wv_loop *loop = c->loop;

	wv__clock_leave(c);
	wv__impair_destroy(c);
	if (loop) {
		loop->recount = true;
		wv__connect_stop(c);
		if (c->prev)
			c->prev->next = c->next;
		else if (loop->clients == c)
			loop->clients = c->next;
		if (c->next)
			c->next->prev = c->prev;
	}
	close_audio(c);
	if (c->addrs)
		freeaddrinfo(c->addrs);
	wv_call_destroy(c->call);
	if (c->key)
		OPENSSL_cleanse(c->key, strlen(c->key));
	if (c->offer)
		OPENSSL_cleanse(c->offer, strlen(c->offer));
	wv_free(c->url);
	wv_free(c->key);
	wv_free(c->agent);
	wv_free(c->from);
	wv_free(c->metadata);
	wv_free(c->ca_file);
	wv_free(c->full_url);
	wv_free(c->offer);
	wv_message_destroy(c->rx);
	wv_free(c->src_buf);
	wv_free(c);
}

int wv_client_open_audio(struct wv_client *c, const struct wv_audio_config *acfg,
			 char *err, size_t err_cap)
{
	struct wv_audio_info info;
	struct wv_audio *a;
	int rc;

	if (c->audio || c->doomed ||
	    wv_call_status(c->call) != WV_STATUS_IDLE) {
		if (err && err_cap)
			snprintf(err, err_cap, "audio devices are opened once, "
				 "before the call connects");
		return WV_ERR_STATE;
	}
	rc = wv_audio_open(&a, acfg, wv_call_playout(c->call), err, err_cap);
	if (rc < 0)
		return rc;
	wv_audio_get_info(a, &info);
	c->audio = a;
	c->device_playout = info.output_device != WV_DEVICE_NONE;
	if (!c->cfg.source.read && info.input_device != WV_DEVICE_NONE &&
	    wv_audio_input_rate(a) == c->src_rate)
		c->cfg.source = (struct wv_source){ c->src_rate,
						    wv_audio_source_read, a };
	return 0;
}

const char *wv_client_url(const struct wv_client *c)
{
	return c->full_url;
}

struct wv_audio *wv_client_audio(struct wv_client *c)
{
	return c->audio;
}

void wv_client_destroy(struct wv_client *c)
{
	struct wv_loop *loop;

	if (!c || c->doomed)
		return;
	loop = c->loop;
	/* The application may free what these point at as soon as we
	   return: nothing of its is touched again. */
	memset(&c->ucb, 0, sizeof c->ucb);
	memset(&c->cfg.source, 0, sizeof c->cfg.source);
	memset(&c->cfg.sink, 0, sizeof c->cfg.sink);
	c->obs = NULL;
	close_audio(c);
	c->doomed = true;
	wv__recount(c);
	wv__loop_enter(loop);
	if (loop && c->wsi && c->opened)
		/* Ends cleanly (stop, close 1000) after we return; the loop
		   frees it when the socket is gone. */
		wv__hangup(c);
	else
		wv__kill_socket(loop, wv__detach(c));
	if (!loop)
		wv__free_client(c);
	else if (!c->wsi)
		loop->reap = true;
	wv__loop_leave(loop);
}

static int start_call(struct wv_client *c)
{
	int64_t now = wv__now_us();
	int rc = wv_call_connect(c->call, now);

	if (rc < 0 || c->doomed)
		return rc;
	c->timing.connect = now;
	/* The loop starts it: every callback then happens inside
	   wv_loop_run(), not here. */
	ev_timer_set(&c->conn_timer, 0, 0);
	ev_timer_start(c->loop->ev, &c->conn_timer);
	return 0;
}

int wv_client_connect(struct wv_client *c)
{
	struct wv_loop *loop = c->loop;
	int rc;

	if (!loop || c->doomed)
		return WV_ERR_STATE;
	wv__loop_enter(loop);
	rc = start_call(c);
	wv__loop_leave(loop);
	return rc;
}

int wv__hangup(struct wv_client *c)
{
	int rc = wv_call_hangup(c->call, wv__now_us());

	if (rc < 0)
		return rc;
	if (c->opened) {
		wv__kick(c);
		return 0;
	}
	/* Not open yet: nothing to say to the server, just stop. */
	wv__connect_stop(c);
	wv__kill_socket(c->loop, wv__detach(c));
	wv__tell_closed(c, 0, NULL, false);
	return 0;
}

int wv_client_hangup(struct wv_client *c)
{
	struct wv_loop *loop = c->loop;
	int rc;

	wv__loop_enter(loop);
	rc = wv__hangup(c);
	wv__loop_leave(loop);
	return rc;
}

int wv_client_send_dtmf(struct wv_client *c, char digit)
{
	struct wv_loop *loop = c->loop;
	int rc;

	wv__loop_enter(loop);
	rc = wv_call_send_dtmf(c->call, digit, wv__now_us());
	if (rc == 0)
		wv__kick(c);
	wv__loop_leave(loop);
	return rc;
}

void wv_client_set_muted(struct wv_client *c, bool muted)
{
	wv_call_set_muted(c->call, muted);
}

enum wv_status wv_client_status(const struct wv_client *c)
{
	return wv_call_status(c->call);
}

enum wv_end_reason wv_client_end_reason(const struct wv_client *c)
{
	return wv_call_end_reason(c->call);
}

const char *wv_client_communication_id(const struct wv_client *c)
{
	return wv_call_communication_id(c->call);
}

int64_t wv_client_elapsed_ms(const struct wv_client *c)
{
	return wv_call_elapsed_ms(c->call, wv__now_us());
}

const char *wv_client_last_error(const struct wv_client *c)
{
	return c->last_error;
}

int wv_client_error(const struct wv_client *c)
{
	return c->error;
}

int wv_client_http_status(const struct wv_client *c)
{
	return c->http_status;
}

int wv_client_close_code(const struct wv_client *c, const char **reason)
{
	return wv_call_close_code(c->call, reason);
}

enum wv_closed_by wv_client_closed_by(const struct wv_client *c)
{
	return c->closed_by;
}

void wv_client_stats_sized(const struct wv_client *c,
			   struct wv_call_stats *out, size_t size)
{
	struct wv_call_stats st;

	wv_call_stats(c->call, &st);
	st.bad_frames += c->bad_frames;
	wv__give_sized(out, size, &st, sizeof st);
}

void wv_client_playout_stats_sized(const struct wv_client *c,
				   struct wv_playout_stats *st, size_t size)
{
	wv_playout_stats_sized(wv_call_playout(c->call), st, size);
}

void wv_client_timing_sized(const struct wv_client *c,
			    struct wv_client_timing *t, size_t size)
{
	wv__give_sized(t, size, &c->timing, sizeof c->timing);
}

int64_t wv_now_us(void)
{
	return wv__now_us();
}

void wv__client_observe(struct wv_client *c, wv__client_observer *fn,
			void *user)
{
	c->obs = fn;
	c->obs_user = user;
}
