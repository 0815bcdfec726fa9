/*
 * Private to the client: name lookups off the loop. getaddrinfo() blocks
 * (for seconds, when a name server is slow or gone), and every call on a
 * loop shares its 20 ms clock, so a loop never runs one itself: a thread
 * of the resolver's does, and the answer comes back on the loop's thread.
 */
#ifndef WV_RESOLVE_PRIVATE_H
#define WV_RESOLVE_PRIVATE_H

#include <stdbool.h>

struct addrinfo;
struct ev_loop;
struct wv__resolver;
struct wv__lookup;

/* The answer to one lookup, on the loop's thread: rc is getaddrinfo()'s (0
   or an EAI_* code, for gai_strerror()), and res, owned by the callee, is
   NULL unless rc is 0. */
typedef void wv__resolved_fn(void *user, int rc, struct addrinfo *res);

/* A resolver for the calls on ev; its thread starts with the first
   lookup. Returns 0 or WV_ERR_NOMEM. Thread: ev's. */
int wv__resolver_create(struct wv__resolver **out, struct ev_loop *ev);
/* Cancels what is pending: no answer comes after this. A lookup still
   inside getaddrinfo() finishes on its own thread, which then frees what
   is left and ends. NULL is a no-op. Thread: ev's. */
void wv__resolver_destroy(struct wv__resolver *r);

/* Looks up host's TCP addresses (IPv4 and IPv6) and calls fn(user, ...)
   on ev's thread once known. *out names the lookup for cancelling until
   fn runs. Returns 0, WV_ERR_NOMEM or WV_ERR_INTERNAL (no thread). */
int wv__resolve(struct wv__resolver *r, const char *host,
		wv__resolved_fn *fn, void *user, struct wv__lookup **out);
/* fn will not be called for q, which is gone. Thread: ev's. */
void wv__resolve_cancel(struct wv__resolver *r, struct wv__lookup *q);

/* Whether host is an IPv4 or IPv6 address literal: connecting to one
   needs no lookup. */
bool wv__is_address(const char *host);

#endif
