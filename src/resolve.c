/*
 * Name lookups on a thread of their own: see resolve.h.
 *
 * The loop and the thread share the resolver, under its mutex: lookups
 * waiting, the one inside getaddrinfo(), and the answers not yet handed
 * back. The thread wakes the loop with an ev_async (which merges wake-ups:
 * each wake takes every answer there is). The thread is detached and
 * holds a reference of its own, so a loop that goes while a lookup still
 * blocks does not wait for it: the last of the two to leave frees the
 * resolver.
 */
#include "resolve.h"
#include "alloc.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <ev.h>

#include <wvoice/error.h>

struct wv__lookup {
	struct wv__lookup *next;
	char *host;
	wv__resolved_fn *fn;
	void *user;
	int rc;
	struct addrinfo *res;
	bool cancelled; /* while inside getaddrinfo(): the thread frees it */
};

struct wv__resolver {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct wv__lookup *pending; /* oldest first */
	struct wv__lookup *busy;    /* inside getaddrinfo() */
	struct wv__lookup *done;    /* answered, oldest first */
	bool quit;
	bool thread_started;
	int refs; /* the loop's, and the thread's while it runs */
	struct ev_loop *ev;
	ev_async answered;
};

static void free_lookup(struct wv__lookup *q)
{
	if (q->res)
		freeaddrinfo(q->res);
	wv_free(q->host);
	wv_free(q);
}

static void free_list(struct wv__lookup *q)
{
	for (struct wv__lookup *next; q; q = next) {
		next = q->next;
		free_lookup(q);
	}
}

static void append(struct wv__lookup **list, struct wv__lookup *q)
{
	while (*list)
		list = &(*list)->next;
	q->next = NULL;
	*list = q;
}

static struct wv__lookup *pop(struct wv__lookup **list)
{
	struct wv__lookup *q = *list;

	if (q)
		*list = q->next;
	return q;
}

static bool unlink_from(struct wv__lookup **list, struct wv__lookup *q)
{
	for (; *list; list = &(*list)->next)
		if (*list == q) {
			*list = q->next;
			return true;
		}
	return false;
}

static void release(struct wv__resolver *r)
{
	pthread_cond_destroy(&r->cv);
	pthread_mutex_destroy(&r->mu);
	wv_free(r);
}

static void *run(void *arg)
{
	const struct addrinfo hints = { .ai_socktype = SOCK_STREAM };
	struct wv__resolver *r = arg;
	struct wv__lookup *q;
	bool last;

	pthread_mutex_lock(&r->mu);
	for (;;) {
		while (!r->pending && !r->quit)
			pthread_cond_wait(&r->cv, &r->mu);
		if (r->quit)
			break;
		q = r->busy = pop(&r->pending);
		pthread_mutex_unlock(&r->mu);
		q->rc = getaddrinfo(q->host, NULL, &hints, &q->res);
		pthread_mutex_lock(&r->mu);
		r->busy = NULL;
		if (q->cancelled || r->quit) {
			free_lookup(q);
			continue;
		}
		append(&r->done, q);
		/* Under the lock: the loop is not gone while quit is false. */
		ev_async_send(r->ev, &r->answered);
	}
	last = --r->refs == 0;
	pthread_mutex_unlock(&r->mu);
	if (last)
		release(r);
	return NULL;
}

/* The answers, one at a time: an answer's callback may cancel another. */
static void answered(struct ev_loop *ev, ev_async *w, int revents)
{
	struct wv__resolver *r = w->data;
	struct wv__lookup *q;

	(void)ev;
	(void)revents;
	for (;;) {
		pthread_mutex_lock(&r->mu);
		q = pop(&r->done);
		pthread_mutex_unlock(&r->mu);
		if (!q)
			return;
		q->fn(q->user, q->rc, q->res);
		q->res = NULL; /* the callee's now */
		free_lookup(q);
	}
}

int wv__resolver_create(struct wv__resolver **out, struct ev_loop *ev)
{
	struct wv__resolver *r = wv__calloc(1, sizeof *r);

	*out = NULL;
	if (!r)
		return WV_ERR_NOMEM;
	if (pthread_mutex_init(&r->mu, NULL) != 0) {
		wv_free(r);
		return WV_ERR_NOMEM;
	}
	if (pthread_cond_init(&r->cv, NULL) != 0) {
		pthread_mutex_destroy(&r->mu);
		wv_free(r);
		return WV_ERR_NOMEM;
	}
	r->refs = 1;
	r->ev = ev;
	ev_async_init(&r->answered, answered);
	r->answered.data = r;
	ev_async_start(ev, &r->answered);
	/* Only an answer wakes the loop: it does not keep ev_run() going. */
	ev_unref(ev);
	*out = r;
	return 0;
}

/* Detached, with every signal blocked: the application's handlers run on
   its own threads, never on this one. */
static int start_thread(struct wv__resolver *r)
{
	pthread_attr_t attr;
	sigset_t all, old;
	pthread_t t;
	int rc;

	if (pthread_attr_init(&attr) != 0)
		return WV_ERR_INTERNAL;
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&t, &attr, run, r);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_attr_destroy(&attr);
	if (rc != 0)
		return WV_ERR_INTERNAL;
	r->thread_started = true;
	r->refs++;
	return 0;
}

int wv__resolve(struct wv__resolver *r, const char *host,
		wv__resolved_fn *fn, void *user, struct wv__lookup **out)
{
	struct wv__lookup *q = wv__calloc(1, sizeof *q);
	int rc = 0;

	*out = NULL;
	if (!q || !(q->host = wv__strdup(host))) {
		wv_free(q);
		return WV_ERR_NOMEM;
	}
	q->fn = fn;
	q->user = user;
	pthread_mutex_lock(&r->mu);
	if (!r->thread_started)
		rc = start_thread(r);
	if (rc == 0) {
		append(&r->pending, q);
		pthread_cond_signal(&r->cv);
	}
	pthread_mutex_unlock(&r->mu);
	if (rc < 0) {
		free_lookup(q);
		return rc;
	}
	*out = q;
	return 0;
}

void wv__resolve_cancel(struct wv__resolver *r, struct wv__lookup *q)
{
	bool mine;

	if (!q)
		return;
	pthread_mutex_lock(&r->mu);
	if (r->busy == q)
		q->cancelled = true;
	mine = unlink_from(&r->pending, q) || unlink_from(&r->done, q);
	pthread_mutex_unlock(&r->mu);
	if (mine)
		free_lookup(q);
}

void wv__resolver_destroy(struct wv__resolver *r)
{
	struct wv__lookup *pending, *done;
	bool last;

	if (!r)
		return;
	pthread_mutex_lock(&r->mu);
	r->quit = true;
	pending = r->pending;
	done = r->done;
	r->pending = r->done = NULL;
	pthread_cond_signal(&r->cv);
	pthread_mutex_unlock(&r->mu);
	/* The thread, which has seen quit, sends no more. */
	ev_ref(r->ev);
	ev_async_stop(r->ev, &r->answered);
	free_list(pending);
	free_list(done);
	pthread_mutex_lock(&r->mu);
	last = --r->refs == 0;
	pthread_mutex_unlock(&r->mu);
	if (last)
		release(r);
}

bool wv__is_address(const char *host)
{
	unsigned char buf[sizeof(struct in6_addr)];

	return inet_pton(AF_INET, host, buf) == 1 ||
	       inet_pton(AF_INET6, host, buf) == 1;
}
