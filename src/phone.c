/*
 * The managed phone: one call on a wv_loop that runs on a thread of its own
 * (the browser guide's Web Worker). See wvoice.h.
 *
 * Everything about the loop and the call stays on that thread. Other
 * threads post commands to a mutex-protected list and wake the loop with
 * an ev_async (libev's thread-safe wake-up, which merges wake-ups: the
 * whole list is drained each time), then wait for the result. What they
 * read is a snapshot the network thread keeps up to date under the same
 * mutex; on the audio path (every 20 ms) it is refreshed with a try-lock,
 * never a wait.
 */
#include <wvoice/wvoice.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <ev.h>

#include "client.h"
#include "sized.h"
#include "alloc.h"

enum cmd_type { CMD_CONNECT, CMD_HANGUP, CMD_DTMF, CMD_AUDIO };

struct cmd {
	enum cmd_type type;
	char digit;
	const struct wv_audio_config *acfg; /* CMD_AUDIO: on the caller's */
	char *err;			    /* stack, which waits */
	size_t err_cap;
	int result;
	bool done;
	struct cmd *next;
};

struct snapshot {
	enum wv_status status;
	enum wv_end_reason end_reason;
	char comm_id[WV_ID_MAX + 1];
	size_t comm_id_len;
	int64_t started_at, ended_at; /* µs on wv__now_us(); 0: not yet */
	char last_error[256];
	int error, http_status;
	int close_code;
	char close_reason[128];
	enum wv_closed_by closed_by;
	struct wv_call_stats stats;
	struct wv_playout_stats playout;
};

struct wv_phone {
	struct wv_loop *loop;
	struct ev_loop *ev; /* the loop's, kept: the loop itself goes first */
	struct wv_client *client;
	const struct wv_audio *audio; /* under mu */
	pthread_t thread;
	ev_async wake;

	pthread_mutex_t mu;
	pthread_cond_t cv; /* a command done, or the call's status changed */
	struct cmd *head, *tail;
	bool quit;
	struct snapshot snap;
};

/* ---- the network thread ---- */

static void snap_all(struct wv_phone *p, struct wv_client *c)
{
	struct snapshot *s = &p->snap;
	const char *id = wv_client_communication_id(c), *reason;
	enum wv_status was = s->status;

	s->status = wv_client_status(c);
	s->end_reason = wv_client_end_reason(c);
	if (id && !s->comm_id_len) {
		s->comm_id_len = strlen(id);
		memcpy(s->comm_id, id, s->comm_id_len + 1);
	}
	snprintf(s->last_error, sizeof s->last_error, "%s",
		 wv_client_last_error(c));
	s->error = wv_client_error(c);
	s->http_status = wv_client_http_status(c);
	s->close_code = wv_client_close_code(c, &reason);
	snprintf(s->close_reason, sizeof s->close_reason, "%s", reason);
	s->closed_by = wv_client_closed_by(c);
	wv_client_stats(c, &s->stats);
	wv_client_playout_stats(c, &s->playout);
	if (was != s->status && s->status == WV_STATUS_CONNECTED)
		s->started_at = wv__now_us();
	if (was != s->status && s->status == WV_STATUS_DISCONNECTED)
		s->ended_at = wv__now_us();
	if (was != s->status)
		pthread_cond_broadcast(&p->cv);
}

static void observe(void *user, struct wv_client *c, enum wv__client_note note)
{
	struct wv_phone *p = user;

	if (note == WV__NOTE_TICK) {
		/* The audio path: skip a refresh rather than wait. */
		if (pthread_mutex_trylock(&p->mu) != 0)
			return;
		wv_client_stats(c, &p->snap.stats);
		wv_client_playout_stats(c, &p->snap.playout);
	} else {
		pthread_mutex_lock(&p->mu);
		snap_all(p, c);
	}
	pthread_mutex_unlock(&p->mu);
}

static int open_audio(struct wv_phone *p, const struct cmd *cmd)
{
	int rc = wv_client_open_audio(p->client, cmd->acfg, cmd->err,
				      cmd->err_cap);

	pthread_mutex_lock(&p->mu);
	p->audio = wv_client_audio(p->client);
	pthread_mutex_unlock(&p->mu);
	return rc;
}

static int run_cmd(struct wv_phone *p, const struct cmd *cmd)
{
	switch (cmd->type) {
	case CMD_AUDIO:
		return open_audio(p, cmd);
	case CMD_CONNECT:
		return wv_client_connect(p->client);
	case CMD_HANGUP:
		return wv_client_hangup(p->client);
	case CMD_DTMF:
		return wv_client_send_dtmf(p->client, cmd->digit);
	}
	return WV_ERR_INVALID;
}

static void woken(struct ev_loop *ev, ev_async *w, int revents)
{
	struct wv_phone *p = w->data;
	struct cmd *list, *next;
	bool quit;

	(void)revents;
	pthread_mutex_lock(&p->mu);
	list = p->head;
	p->head = p->tail = NULL;
	quit = p->quit;
	pthread_mutex_unlock(&p->mu);
	/* Run without the lock: the call's callbacks take it. */
	for (struct cmd *c = list; c; c = c->next)
		c->result = run_cmd(p, c);
	pthread_mutex_lock(&p->mu);
	for (struct cmd *c = list; c; c = next) {
		next = c->next; /* c lives on a waiting caller's stack */
		c->done = true;
	}
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
	if (quit)
		ev_break(ev, EVBREAK_ALL);
}

static void *network_thread(void *arg)
{
	struct wv_phone *p = arg;

	ev_run(p->ev, 0); /* until woken() breaks it: the ev_async keeps it up */
	ev_async_stop(p->ev, &p->wake);
	/* Hangs up if needed; the loop then closes the socket cleanly. */
	wv_client_destroy(p->client);
	wv_loop_destroy(p->loop);
	return NULL;
}

/* ---- any other thread ---- */

/* Runs cmd on the network thread and waits for its result. */
static int post(struct wv_phone *p, struct cmd *cmd)
{
	if (pthread_equal(pthread_self(), p->thread))
		return WV_ERR_STATE; /* from a callback: it would wait forever */
	pthread_mutex_lock(&p->mu);
	if (p->tail)
		p->tail->next = cmd;
	else
		p->head = cmd;
	p->tail = cmd;
	ev_async_send(p->ev, &p->wake);
	while (!cmd->done)
		pthread_cond_wait(&p->cv, &p->mu);
	pthread_mutex_unlock(&p->mu);
	return cmd->result;
}

static int sync_init(struct wv_phone *p)
{
	pthread_condattr_t ca;
	int rc;

	if (pthread_mutex_init(&p->mu, NULL) != 0)
		return WV_ERR_INTERNAL;
	/* wv_phone_wait() times out on the monotonic clock. */
	rc = pthread_condattr_init(&ca);
	if (rc == 0) {
		rc = pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
		if (rc == 0)
			rc = pthread_cond_init(&p->cv, &ca);
		pthread_condattr_destroy(&ca);
	}
	if (rc != 0) {
		pthread_mutex_destroy(&p->mu);
		return WV_ERR_INTERNAL;
	}
	return 0;
}

int wv_phone_create(struct wv_phone **out, const struct wv_client_config *cfg)
{
	struct wv_phone *p;
	int rc;

	*out = NULL;
	p = wv__calloc(1, sizeof *p);
	if (!p)
		return WV_ERR_NOMEM;
	rc = sync_init(p);
	if (rc < 0) {
		wv_free(p);
		return rc;
	}
	rc = wv_loop_create(&p->loop);
	if (rc == 0)
		rc = wv_client_create(&p->client, p->loop, cfg);
	if (rc < 0)
		goto fail;
	wv__client_observe(p->client, observe, p);
	p->ev = wv__loop_ev(p->loop);
	ev_async_init(&p->wake, woken);
	p->wake.data = p;
	ev_async_start(p->ev, &p->wake);
	/* Until the thread starts, this thread is the only one here. */
	if (pthread_create(&p->thread, NULL, network_thread, p) != 0) {
		ev_async_stop(p->ev, &p->wake);
		rc = WV_ERR_INTERNAL;
		goto fail;
	}
	*out = p;
	return 0;
fail:
	wv_client_destroy(p->client);
	wv_loop_destroy(p->loop);
	pthread_cond_destroy(&p->cv);
	pthread_mutex_destroy(&p->mu);
	wv_free(p);
	return rc;
}

void wv_phone_destroy(struct wv_phone *p)
{
	if (!p)
		return;
	/* Sent under the lock: the network thread frees the loop once it has
	   seen quit, which it reads under the same lock. */
	pthread_mutex_lock(&p->mu);
	p->quit = true;
	ev_async_send(p->ev, &p->wake);
	pthread_mutex_unlock(&p->mu);
	pthread_join(p->thread, NULL);
	pthread_cond_destroy(&p->cv);
	pthread_mutex_destroy(&p->mu);
	wv_free(p);
}

int wv_phone_connect(struct wv_phone *p)
{
	struct cmd cmd = { .type = CMD_CONNECT };

	return post(p, &cmd);
}

int wv_phone_hangup(struct wv_phone *p)
{
	struct cmd cmd = { .type = CMD_HANGUP };

	return post(p, &cmd);
}

int wv_phone_send_dtmf(struct wv_phone *p, char digit)
{
	struct cmd cmd = { .type = CMD_DTMF, .digit = digit };

	return post(p, &cmd);
}

int wv_phone_open_audio(struct wv_phone *p, const struct wv_audio_config *acfg,
			char *err, size_t err_cap)
{
	struct cmd cmd = {
		.type = CMD_AUDIO, .acfg = acfg, .err = err, .err_cap = err_cap,
	};

	return post(p, &cmd);
}

const struct wv_audio *wv_phone_audio(const struct wv_phone *p)
{
	struct wv_phone *q = (struct wv_phone *)p; /* for its mutex */
	const struct wv_audio *a;

	pthread_mutex_lock(&q->mu);
	a = q->audio;
	pthread_mutex_unlock(&q->mu);
	return a;
}

/* The call's mute is an atomic of the core's, safe from any thread. */
void wv_phone_set_muted(struct wv_phone *p, bool muted)
{
	wv_client_set_muted(p->client, muted);
}

static struct timespec deadline_after(int timeout_ms)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += timeout_ms / 1000;
	ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	return ts;
}

int wv_phone_wait_status(struct wv_phone *p, enum wv_status status,
			 int timeout_ms)
{
	struct timespec until = deadline_after(timeout_ms < 0 ? 0 : timeout_ms);
	int rc = 0, now;

	if (pthread_equal(pthread_self(), p->thread))
		return WV_ERR_STATE; /* from a callback: it would wait forever */
	pthread_mutex_lock(&p->mu);
	while (p->snap.status < status && rc != ETIMEDOUT) {
		if (timeout_ms < 0)
			pthread_cond_wait(&p->cv, &p->mu);
		else
			rc = pthread_cond_timedwait(&p->cv, &p->mu, &until);
	}
	now = (int)p->snap.status;
	pthread_mutex_unlock(&p->mu);
	return now;
}

int wv_phone_wait(struct wv_phone *p, int timeout_ms)
{
	int rc = wv_phone_wait_status(p, WV_STATUS_DISCONNECTED, timeout_ms);

	return rc < 0 ? rc : rc == WV_STATUS_DISCONNECTED;
}

/* A copy of the snapshot: the getters read it without holding the lock. */
static struct snapshot read_snap(const struct wv_phone *p)
{
	struct wv_phone *q = (struct wv_phone *)p; /* for its mutex */
	struct snapshot s;

	pthread_mutex_lock(&q->mu);
	s = q->snap;
	pthread_mutex_unlock(&q->mu);
	return s;
}

enum wv_status wv_phone_status(const struct wv_phone *p)
{
	return read_snap(p).status;
}

enum wv_end_reason wv_phone_end_reason(const struct wv_phone *p)
{
	return read_snap(p).end_reason;
}

size_t wv_phone_communication_id(const struct wv_phone *p, char *dst,
				 size_t cap)
{
	struct snapshot s = read_snap(p);

	if (cap)
		snprintf(dst, cap, "%s", s.comm_id);
	return s.comm_id_len;
}

int64_t wv_phone_elapsed_ms(const struct wv_phone *p)
{
	struct snapshot s = read_snap(p);
	int64_t to = s.ended_at ? s.ended_at : wv__now_us();

	if (!s.started_at)
		return 0;
	return to > s.started_at ? (to - s.started_at) / 1000 : 0;
}

size_t wv_phone_last_error(const struct wv_phone *p, char *dst, size_t cap)
{
	struct snapshot s = read_snap(p);

	if (cap)
		snprintf(dst, cap, "%s", s.last_error);
	return strlen(s.last_error);
}

int wv_phone_error(const struct wv_phone *p)
{
	return read_snap(p).error;
}

int wv_phone_http_status(const struct wv_phone *p)
{
	return read_snap(p).http_status;
}

int wv_phone_close_code(const struct wv_phone *p, char *reason, size_t cap)
{
	struct snapshot s = read_snap(p);

	if (cap)
		snprintf(reason, cap, "%s", s.close_reason);
	return s.close_code;
}

enum wv_closed_by wv_phone_closed_by(const struct wv_phone *p)
{
	return read_snap(p).closed_by;
}

void wv_phone_stats_sized(const struct wv_phone *p, struct wv_call_stats *st,
			  size_t size)
{
	struct snapshot s = read_snap(p);

	wv__give_sized(st, size, &s.stats, sizeof s.stats);
}

void wv_phone_playout_stats_sized(const struct wv_phone *p,
				  struct wv_playout_stats *st, size_t size)
{
	struct snapshot s = read_snap(p);

	wv__give_sized(st, size, &s.playout, sizeof s.playout);
}
