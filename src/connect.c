/*
 * Connecting a call: its host's name looked up off the loop (resolve.h),
 * then each address in turn handed to lws as a literal, the next after a
 * refusal, all within the connect timeout. See client_internal.h.
 */
#include <errno.h>
#include <netdb.h>
#include <string.h>
#include <sys/socket.h>

#include "client_internal.h"
#include "resolve.h"

/* Whatever was under way to connect stops: the timeout, a name lookup,
   a retry of the next address. */
void wv__connect_stop(struct wv_client *c)
{
	if (!c->loop)
		return;
	ev_timer_stop(c->loop->ev, &c->conn_timer);
	ev_timer_stop(c->loop->ev, &c->redial);
	wv__resolve_cancel(c->loop->resolver, c->lookup);
	c->lookup = NULL;
}

/* Why a socket could not even be made: errno's words, for the failures a
   person can act on. */
static const char *socket_failure(int err)
{
	switch (err) {
	case EMFILE:
	case ENFILE:
		return "too many open files";
	case ENETUNREACH:
		return "network unreachable";
	case EHOSTUNREACH:
		return "host unreachable";
	case EADDRNOTAVAIL:
		return "no local address or port free";
	case ENOMEM:
	case ENOBUFS:
		return "out of memory";
	default:
		return NULL;
	}
}

static bool dial(struct wv_client *c, const char *address)
{
	struct lws_client_connect_info ci;
	struct lws *wsi;
	const char *why;

	memset(&ci, 0, sizeof ci);
	ci.context = c->loop->ctx;
	ci.vhost = c->vhost;
	ci.address = address; /* a literal: lws looks up nothing */
	ci.port = c->addr.port;
	ci.path = c->addr.path;
	ci.host = c->host_header; /* the Host header, SNI and the cert name */
	ci.protocol = c->offer;
	ci.local_protocol_name = PROTOCOL_NAME;
	ci.ietf_version_or_minus_one = -1;
	ci.ssl_connection = LCCSCF_HTTP_NO_FOLLOW_REDIRECT;
	if (c->addr.tls)
		ci.ssl_connection |= LCCSCF_USE_SSL;
	if (c->addr.tls && c->cfg.insecure)
		ci.ssl_connection |= LCCSCF_ALLOW_SELFSIGNED |
				     LCCSCF_SKIP_SERVER_CERT_HOSTNAME_CHECK |
				     LCCSCF_ALLOW_EXPIRED | LCCSCF_ALLOW_INSECURE;
	ci.alpn = "http/1.1";
	ci.opaque_user_data = c;
	ci.retry_and_idle_policy = &c->keepalive;
	ci.pwsi = &c->wsi;
	c->in_connect = true;
	errno = 0;
	wsi = lws_client_connect_via_info(&ci);
	c->in_connect = false;
	wv__recount(c);
	if (wsi)
		return true;
	/* socket() or connect() failed at once, and lws says nothing more;
	   errno is still theirs. */
	c->wsi = NULL;
	why = socket_failure(errno);
	if (why)
		wv__diagnose(c, WV_ERR_CONNECT, "cannot connect to %s: %s",
			     c->hostport, why);
	return false;
}

/* The next address of the host, until one connects. */
static void dial_next(struct wv_client *c)
{
	char text[80]; /* an IPv6 literal and its zone, at most */

	while (c->next_addr) {
		const struct addrinfo *ai = c->next_addr;

		c->next_addr = ai->ai_next;
		/* The address as a literal (NI_NUMERICHOST: no lookup). */
		if ((ai->ai_family != AF_INET && ai->ai_family != AF_INET6) ||
		    getnameinfo(ai->ai_addr, ai->ai_addrlen, text, sizeof text,
				NULL, 0, NI_NUMERICHOST) != 0)
			continue;
		if (dial(c, text))
			return;
	}
	if (c->pending_code)
		wv__fail(c, c->pending_code, 0, "%s", c->pending);
	else
		wv__fail(c, WV_ERR_CONNECT, 0,
			 "cannot connect to %s: connection refused or unreachable",
			 c->hostport);
}

static void resolved(void *user, int rc, struct addrinfo *res)
{
	struct wv_client *c = user;
	struct wv_loop *loop = c->loop;

	wv__loop_enter(loop);
	c->lookup = NULL;
	if (rc != 0) {
		wv__fail(c, WV_ERR_CONNECT, 0, "cannot connect to %s: cannot resolve "
			 "%s (%s)", c->hostport, c->addr.host, gai_strerror(rc));
	} else {
		c->addrs = c->next_addr = res;
		dial_next(c);
	}
	wv__loop_leave(loop);
}

/* After a refused or unreachable address, from outside lws's callbacks. */
void wv__redial_due(struct ev_loop *ev, ev_timer *w, int revents)
{
	struct wv_client *c = w->data;
	struct wv_loop *loop = c->loop;

	(void)ev;
	(void)revents;
	wv__loop_enter(loop);
	if (!c->told_closed && !c->wsi)
		dial_next(c);
	wv__loop_leave(loop);
}

static void start_connecting(struct wv_client *c)
{
	struct addrinfo *one;
	int rc;

	c->connect_started = true;
	rc = wv__vhost_for(c->loop, c, &c->vhost);
	if (rc < 0) {
		wv__fail(c, rc, 0, "%s", c->pending_code ? c->pending : "out of memory");
		return;
	}
	/* One clock for the lookup, the connection and the handshake. */
	ev_timer_set(&c->conn_timer, c->cfg.connect_timeout_ms / 1e3, 0);
	ev_timer_start(c->loop->ev, &c->conn_timer);
	if (!wv__is_address(c->addr.host)) {
		rc = wv__resolve(c->loop->resolver, c->addr.host, resolved, c,
				 &c->lookup);
		if (rc < 0)
			wv__fail(c, rc, 0, "cannot connect to %s: cannot start a "
				 "name lookup (%s)", c->hostport, wv_strerror(rc));
		return;
	}
	/* An address literal: getaddrinfo() of it answers at once. */
	rc = getaddrinfo(c->addr.host, NULL,
			 &(struct addrinfo){ .ai_socktype = SOCK_STREAM,
					     .ai_flags = AI_NUMERICHOST },
			 &one);
	if (rc != 0) {
		wv__fail(c, WV_ERR_CONNECT, 0, "cannot connect to %s: %s",
			 c->hostport, gai_strerror(rc));
		return;
	}
	c->addrs = c->next_addr = one;
	dial_next(c);
}

static void connect_timed_out(struct wv_client *c)
{
	struct lws *wsi;

	if (c->opened || c->told_closed)
		return;
	wsi = wv__detach(c);
	wv__fail(c, WV_ERR_TIMEOUT, 0, "cannot connect to %s: no %s within %u ms",
		 c->hostport, c->lookup ? "answer to the name lookup"
			  : c->tcp_up ? "WebSocket handshake" : "connection",
		 c->cfg.connect_timeout_ms);
	wv__kill_socket(c->loop, wsi);
}

void wv__connect_due(struct ev_loop *ev, ev_timer *w, int revents)
{
	struct wv_client *c = w->data;
	struct wv_loop *loop = c->loop;

	(void)ev;
	(void)revents;
	wv__loop_enter(loop);
	if (!c->connect_started)
		start_connecting(c);
	else
		connect_timed_out(c);
	wv__loop_leave(loop);
}
