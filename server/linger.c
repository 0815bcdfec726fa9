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
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
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
	int64_t quiet_since; /* when it last read anything, or began */
};

/* At the server's end, a socket quiet this long is closed without waiting
   for the client's: it has nothing unread, and a client that has not
   closed by then may not (waiting for a FIN it has, say). */
#define LINGER_QUIET_AT_END_US 200000

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
	if (n > 0) {
		l->drained += (size_t)n;
		l->quiet_since = wvs_now_us();
	}
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

/*
 * The duplicate has a cost on libev's epoll set: epoll forgets a
 * descriptor when its socket closes, not when the descriptor does, and
 * libev never removes one itself (it counts on the close). With the
 * socket kept open, the set would go on reporting it under the closed
 * descriptor's number, which libev answers by rebuilding the whole set,
 * and which another thread (the recorder opening a file) may have taken
 * by then. So the socket leaves the set here, while lws still owns the
 * descriptor and before it closes it (both in one call of lws's, with no
 * turn of the loop between). libev answers a later ADD of the number for
 * another socket as usual.
 */
int wvs_linger_hold(struct wvs_server *srv, struct lws *wsi)
{
	lws_sockfd_type fd = lws_get_socket_fd(wsi);
	struct epoll_event none = { 0 };
	int dup;

	if (fd < 0)
		return -1;
	/* At least 3: 0 in a conn means none. */
	dup = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	if (dup >= 0 && srv->epoll_fd >= 0)
		epoll_ctl(srv->epoll_fd, EPOLL_CTL_DEL, fd, &none);
	return dup;
}

/* The descriptors of epoll sets open now, in fds (at most max); how many. */
static size_t epoll_sets(int *fds, size_t max)
{
	DIR *dir = opendir("/proc/self/fd");
	struct dirent *e;
	size_t n = 0;

	if (!dir)
		return 0;
	while ((e = readdir(dir)) && n < max) {
		char target[64];
		ssize_t len = readlinkat(dirfd(dir), e->d_name, target,
					 sizeof target - 1);

		if (len < 0)
			continue;
		target[len] = '\0';
		if (strcmp(target, "anon_inode:[eventpoll]") == 0)
			fds[n++] = atoi(e->d_name);
	}
	closedir(dir);
	return n;
}

/* libev does not say which descriptor is its epoll set: the one that
   making the loop added. */
struct ev_loop *wvs_linger_loop_new(int *epoll_fd)
{
	int before[16], after[16];
	size_t nb = epoll_sets(before, 16), na;
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO | EVFLAG_NOSIGMASK);

	*epoll_fd = -1;
	if (!loop || ev_backend(loop) != EVBACKEND_EPOLL)
		return loop;
	na = epoll_sets(after, 16);
	for (size_t i = 0; i < na && *epoll_fd < 0; i++) {
		size_t j = 0;

		while (j < nb && before[j] != after[i])
			j++;
		if (j == nb)
			*epoll_fd = after[i];
	}
	return loop;
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
	l->quiet_since = wvs_now_us();
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

void wvs_linger_sweep_quiet(struct wvs_server *srv, int64_t now)
{
	struct wvs_linger *l = srv->lingering, *next;

	for (; l; l = next) {
		next = l->next;
		if (now - l->quiet_since >= LINGER_QUIET_AT_END_US)
			linger_end(l);
	}
}
