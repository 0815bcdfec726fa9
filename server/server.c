/*
 * `wvoice serve` over libwebsockets: the server's life. See server.h,
 * and server_internal.h for where the rest is.
 */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "errbuf.h"
#include "server_internal.h"

#define SHUTDOWN_GRACE_US 2000000

int64_t wvs_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void wvs_logf(const struct wvs_server *srv, const char *fmt, ...)
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
	wvs_logf(NULL, "lws: %s", line);
}

void wvs_server_config_default(struct wvs_server_config *cfg)
{
	memset(cfg, 0, sizeof *cfg);
	cfg->host = WVS_DEFAULT_HOST;
	cfg->port = WVS_DEFAULT_PORT;
	cfg->max_calls = WVS_DEFAULT_MAX_CALLS;
	cfg->lead_ms = 60;
	cfg->idle_timeout_ms = 10000;
}

static void begin_shutdown(struct wvs_server *srv)
{
	int64_t now = wvs_now_us();

	if (srv->stopping_since)
		return;
	srv->stopping_since = now;
	for (struct conn *c = srv->conns; c; c = c->next) {
		wvs_session_shutdown(c->session, now);
		lws_callback_on_writable(c->wsi);
	}
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason,
		    void *user, void *in, size_t len)
{
	struct conn *c = user;

	switch (reason) {
	case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
		return wvs_handshake_filter(c, wsi, in);
	case LWS_CALLBACK_ESTABLISHED:
		return wvs_conn_established(c, wsi);
	case LWS_CALLBACK_RECEIVE:
		return c->session ? wvs_conn_receive(c, wsi, in, len) : -1;
	case LWS_CALLBACK_SERVER_WRITEABLE:
		return c->session ? wvs_conn_writeable(c, wsi) : -1;
	case LWS_CALLBACK_RECEIVE_PONG:
		return c->session ? wvs_conn_pong(c, wsi, len) : -1;
	case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
		if (c)
			wvs_conn_peer_closing(c, in, len);
		return 0;
	case LWS_CALLBACK_CLOSED:
		if (c)
			wvs_conn_finished(c);
		return 0;
	case LWS_CALLBACK_WSI_DESTROY:
		/* lws has closed its descriptor: the socket is ours to drain. */
		if (c && c->linger_fd > 0) {
			wvs_linger_start(lws_context_user(lws_get_context(wsi)),
					 c->linger_fd);
			c->linger_fd = 0;
		}
		return 0;
	case LWS_CALLBACK_EVENT_WAIT_CANCELLED: {
		struct wvs_server *srv = lws_context_user(lws_get_context(wsi));
		if (atomic_load(&srv->stop))
			begin_shutdown(srv);
		return 0;
	}
	case LWS_CALLBACK_HTTP:
		return wvs_http_request(lws_context_user(lws_get_context(wsi)),
					wsi, in);
	case LWS_CALLBACK_HTTP_FILE_COMPLETION:
		/* A web file sent: the next request, or the close. */
		return lws_http_transaction_completed(wsi) ? -1 : 0;
	default:
		return 0;
	}
}

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

/* Whether host and port can be listened on, said in the errno's words:
   lws only logs why it cannot bind, and waits for an address the machine
   does not have to appear. The probe's socket is closed again (lws binds
   its own, with the same options); the address is kept as a literal, the
   only form lws takes. */
static int probe_listen(struct wvs_server *srv, char *err, size_t errlen)
{
	const struct addrinfo hints = {
		.ai_socktype = SOCK_STREAM,
		.ai_flags = AI_PASSIVE | AI_NUMERICSERV,
	};
	const char *host = srv->cfg.host;
	struct addrinfo *res = NULL;
	char port[8];
	int rc, fd, one = 1;

	snprintf(port, sizeof port, "%d", srv->cfg.port);
	rc = getaddrinfo(host, port, &hints, &res);
	if (rc != 0)
		return wvs_errorf(err, errlen, WV_ERR_INVALID,
				  "cannot listen on %s port %d: %s", host,
				  srv->cfg.port, gai_strerror(rc));
	fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	rc = fd < 0 ? -1 : 0;
	if (rc == 0)
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (rc == 0 && res->ai_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
	if (rc == 0)
		rc = bind(fd, res->ai_addr, res->ai_addrlen);
	if (rc < 0)
		rc = wvs_errorf(err, errlen, WV_ERR_INVALID,
				"cannot listen on %s port %d: %s", host,
				srv->cfg.port, strerror(errno));
	else if (getnameinfo(res->ai_addr, res->ai_addrlen, srv->iface,
			     sizeof srv->iface, NULL, 0, NI_NUMERICHOST) != 0)
		rc = wvs_errorf(err, errlen, WV_ERR_INVALID,
				"cannot listen on %s port %d: no address",
				host, srv->cfg.port);
	if (fd >= 0)
		close(fd);
	freeaddrinfo(res);
	return rc;
}

/* The certificate and the key load, and belong together, in OpenSSL's
   words: lws only logs why not. */
static int probe_tls_files(const struct wvs_server *srv, char *err,
			   size_t errlen)
{
	const char *cert = srv->cfg.tls_cert, *key = srv->cfg.tls_key;
	const char *what = NULL, *file = NULL, *reason;
	SSL_CTX *ctx;
	FILE *f;

	if (!cert)
		return 0;
	for (int i = 0; i < 2 && !what; i++) {
		file = i ? key : cert;
		f = fopen(file, "r");
		if (!f)
			return wvs_errorf(err, errlen, WV_ERR_INVALID,
					  "cannot read %s %s: %s",
					  i ? "key" : "certificate", file,
					  strerror(errno));
		fclose(f);
	}
	ctx = SSL_CTX_new(TLS_server_method());
	if (!ctx)
		return wvs_errorf(err, errlen, WV_ERR_NOMEM, "out of memory");
	ERR_clear_error();
	if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1)
		what = "certificate", file = cert;
	else if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1)
		what = "key", file = key;
	else if (SSL_CTX_check_private_key(ctx) != 1)
		what = "key (not the certificate's)", file = key;
	SSL_CTX_free(ctx);
	if (!what)
		return 0;
	/* The first error is the cause ("no start line"); the last, where
	   it surfaced ("PEM lib"). */
	reason = ERR_reason_error_string(ERR_peek_error());
	return wvs_errorf(err, errlen, WV_ERR_INVALID, "bad %s %s: %s", what,
			  file, reason ? reason : "not usable");
}

static int start_lws(struct wvs_server *srv, char *err, size_t errlen);

/* Where a person opens the browser client: this server's address, but a
   loopback one for the any-address (a browser cannot open 0.0.0.0, or
   will not: Chromium refuses it), which the default origins allow. */
static void set_page_url(struct wvs_server *srv)
{
	const char *scheme = srv->cfg.tls_cert ? "https" : "http";
	const char *host = srv->cfg.host;

	if (strcmp(host, "0.0.0.0") == 0)
		host = "127.0.0.1";
	else if (strcmp(host, "::") == 0)
		host = "::1";
	snprintf(srv->page_url, sizeof srv->page_url,
		 strchr(host, ':') ? "%s://[%s]:%d/" : "%s://%s:%d/", scheme,
		 host, srv->port);
}

static int listen_on(struct wvs_server *srv, char *err, size_t errlen)
{
	int rc = probe_listen(srv, err, errlen);

	if (rc == 0)
		rc = probe_tls_files(srv, err, errlen);
	return rc < 0 ? rc : start_lws(srv, err, errlen);
}

static int start_lws(struct wvs_server *srv, char *err, size_t errlen)
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
	info.iface = srv->iface;
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
	srv->loop = wvs_linger_loop_new(&srv->epoll_fd);
	if (!srv->loop) {
		snprintf(err, errlen, "cannot make an event loop");
		return WV_ERR_INTERNAL;
	}
	void *loops[] = { srv->loop };
	info.foreign_loops = loops;
	info.options |= LWS_SERVER_OPTION_LIBEV;
	srv->ctx = lws_create_context(&info);
	if (!srv->ctx)
		/* The address was free a moment ago: with TLS, lws refused the
		   certificate or the key (its log says which). */
		return wvs_errorf(err, errlen, WV_ERR_INVALID,
				  srv->cfg.tls_cert
					  ? "cannot listen on %s port %d: the "
					    "certificate or key is not usable"
					  : "cannot listen on %s port %d",
				  srv->cfg.host, srv->cfg.port);
	srv->vhost = lws_get_vhost_by_name(srv->ctx, "default");
	srv->port = srv->vhost ? lws_get_vhost_listen_port(srv->vhost)
			       : srv->cfg.port;
	snprintf(srv->url, sizeof srv->url, v6 ? "%s://[%s]:%d" : "%s://%s:%d",
		 scheme, srv->cfg.host, srv->port);
	set_page_url(srv);
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
	if (!srv->cfg.idle_timeout_ms)
		srv->cfg.idle_timeout_ms = 10000;
	rc = wvs_keys_init(srv, err, errlen);
	if (rc == 0)
		rc = wvs_agents_init(srv, err, errlen);
	if (rc == 0 && cfg->record_dir)
		rc = wvs_recorder_create(&srv->recorder, cfg->record_dir, 0,
					 err, errlen);
	if (rc == 0)
		rc = listen_on(srv, err, errlen);
	/* After listening: a server that cannot listen says nothing of them. */
	if (rc == 0)
		rc = wvs_web_init(srv, err, errlen);
	if (rc < 0) {
		wvs_server_destroy(srv);
		return rc;
	}
	*out = srv;
	return 0;
}

/* While the server ends: its calls close on their own; sockets that
   linger quietly are let go. */
static void grace_tick(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	wvs_linger_sweep_quiet(w->data, wvs_now_us());
}

int wvs_server_run(struct wvs_server *srv)
{
	while (!srv->stopping_since ||
	       ((srv->conns || srv->lingering) &&
		wvs_now_us() - srv->stopping_since < SHUTDOWN_GRACE_US)) {
		if (srv->stopping_since && !ev_is_active(&srv->grace)) {
			ev_timer_init(&srv->grace, grace_tick, 0.05, 0.05);
			srv->grace.data = srv;
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

const char *wvs_server_page_url(const struct wvs_server *srv)
{
	return srv->n_web_roots ? srv->page_url : NULL;
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
	/* Closes what is left; each close comes back through wvs_conn_finished(). */
	if (srv->ctx)
		lws_context_destroy(srv->ctx);
	wvs_linger_cleanup(srv);
	for (size_t i = 0; i < srv->n_stop_signals; i++)
		ev_signal_stop(srv->loop, &srv->stop_signals[i]);
	if (srv->loop)
		ev_loop_destroy(srv->loop);
	wvs_recorder_destroy(srv->recorder);
	wvs_web_cleanup(srv);
	for (size_t i = 0; i < srv->n_scripts; i++)
		wvs_script_cleanup(&srv->scripts[i]);
	free(srv->scripts);
	free(srv->agents);
	wvs_prompts_cleanup(&srv->prompts);
	wvs_tts_destroy(srv->tts);
	free(srv->keys);
	free(srv);
}
