/*
 * A lingering close (as Apache's lingering_close): after the server closed
 * a call, what the client still sends is read and dropped until it closes
 * its side, within a byte and time budget, and only then is the socket
 * closed. See server_internal.h.
 *
 * Why: closing a socket whose receive queue still holds data makes the
 * kernel answer with a reset, not a FIN, and a client that is still
 * writing (the rest of an oversized message, a fragment flood) then loses
 * the close frame sent just before: it sees 1006, not 1009 or 1003.
 * libwebsockets 4.1.6 lingers this way on its own poll() loop only; on
 * libev it closes at once. So the socket is kept by a duplicate descriptor:
 * lws closes its own, which neither resets nor frees the connection while
 * the duplicate is open, and the drain below closes the duplicate.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "server_internal.h"

/* What a client may still send after the close before it is cut off: an
   oversized message's rest, or a flood's, at loopback speed. */
#define LINGER_MAX_BYTES (32u << 20)
#define LINGER_MAX_S 5.0

struct wvs_linger {
	struct wvs_server *srv;
	struct wvs_linger *prev, *next;
	ev_io io;
	ev_timer budget;
	int fd;
	size_t drained;
};

static void linger_end(struct wvs_linger *l)
{
	struct wvs_server *srv = l->srv;

	ev_io_stop(srv->loop, &l->io);
	ev_timer_stop(srv->loop, &l->budget);
	close(l->fd);
	srv->n_lingering--;
	if (l->prev)
		l->prev->next = l->next;
	else
		srv->lingering = l->next;
	if (l->next)
		l->next->prev = l->prev;
	free(l);
}

static void linger_readable(struct ev_loop *loop, ev_io *w, int revents)
{
	struct wvs_linger *l = w->data;
	char buf[65536];
	ssize_t n;

	(void)loop;
	(void)revents;
	n = recv(l->fd, buf, sizeof buf, MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return;
	if (n > 0)
		l->drained += (size_t)n;
	/* The client's end (0), its reset (< 0), or past the budget: a reset
	   from us now costs the client nothing it has not had time to read. */
	if (n <= 0 || l->drained >= LINGER_MAX_BYTES)
		linger_end(l);
}

static void linger_timeout(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	linger_end(w->data);
}

int wvs_linger_hold(struct lws *wsi)
{
	lws_sockfd_type fd = lws_get_socket_fd(wsi);

	/* At least 3: 0 in a conn means none. */
	return fd < 0 ? -1 : fcntl(fd, F_DUPFD_CLOEXEC, 3);
}

void wvs_linger_start(struct wvs_server *srv, int fd)
{
	struct wvs_linger *l = NULL;

	/* lws has sent its close frame (and TLS close_notify) and closed its
	   descriptor: the FIN is ours to send. As many sockets linger as
	   calls may be up at once, so that clients closed in a stream cannot
	   hold the server's descriptors. */
	shutdown(fd, SHUT_WR);
	if (srv->n_lingering < srv->cfg.max_calls)
		l = calloc(1, sizeof *l);
	if (!l) {
		close(fd);
		return;
	}
	srv->n_lingering++;
	l->srv = srv;
	l->fd = fd;
	ev_io_init(&l->io, linger_readable, fd, EV_READ);
	ev_timer_init(&l->budget, linger_timeout, LINGER_MAX_S, 0);
	l->io.data = l->budget.data = l;
	ev_io_start(srv->loop, &l->io);
	ev_timer_start(srv->loop, &l->budget);
	l->next = srv->lingering;
	if (l->next)
		l->next->prev = l;
	srv->lingering = l;
}

void wvs_linger_cleanup(struct wvs_server *srv)
{
	while (srv->lingering)
		linger_end(srv->lingering);
}
