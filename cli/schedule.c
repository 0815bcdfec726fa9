/* Scheduled DTMF, mute windows and hang-up: see schedule.h. */
#include "schedule.h"

#include <stdlib.h>
#include <string.h>

#include <wvoice/error.h>
#include <wvoice/protocol.h>

#include "errbuf.h"

/* Longest piece of an item quoted back in an error message. */
#define QUOTE_MAX 64

void cli_schedule_init(struct cli_schedule *s)
{
	*s = (struct cli_schedule){ .hangup_ms = CLI_SCHEDULE_NEVER };
}

void cli_schedule_cleanup(struct cli_schedule *s)
{
	free(s->dtmf);
	free(s->mute);
	cli_schedule_init(s);
}

/* ---- Seconds ---- */

static int bad(const char **why, const char *text)
{
	if (why)
		*why = text;
	return WV_ERR_INVALID;
}

int cli_parse_seconds(const char *s, size_t len, int64_t *ms,
		      const char **why)
{
	int64_t whole = 0, frac = 0;
	size_t i = 0, digits = 0, decimals = 0;

	if (len == 0)
		return bad(why, "no time given");
	for (; i < len && s[i] >= '0' && s[i] <= '9'; i++, digits++) {
		whole = whole * 10 + (s[i] - '0');
		if (whole > CLI_SCHEDULE_MAX_S)
			return bad(why, "over 1000000 seconds");
	}
	if (i < len && s[i] == '.')
		for (i++; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
			if (++decimals > 3)
				return bad(why, "more than 3 decimal places");
			frac = frac * 10 + (s[i] - '0');
		}
	if (i < len || digits + decimals == 0)
		return bad(why, "not a number of seconds (like 4 or 1.5)");
	for (; decimals < 3; decimals++)
		frac *= 10;
	if (whole * 1000 + frac > (int64_t)CLI_SCHEDULE_MAX_S * 1000)
		return bad(why, "over 1000000 seconds");
	*ms = whole * 1000 + frac;
	return 0;
}

/* ---- Splitting a spec into items ---- */

typedef int (*item_fn)(void *acc, const char *item, size_t len,
		       const char **why);

static size_t quote_len(size_t len)
{
	return len < QUOTE_MAX ? len : QUOTE_MAX;
}

/* Calls fn on each comma-separated item of spec; stops at the first it
 * refuses, with a message naming it. */
static int for_each_item(const char *opt, const char *spec, item_fn fn,
			 void *acc, char *err, size_t errlen)
{
	const char *p = spec, *why = "";
	size_t no = 1;

	for (;; no++) {
		size_t len = strcspn(p, ",");
		int rc = len ? fn(acc, p, len, &why)
			     : bad(&why, "empty item");

		if (rc == WV_ERR_NOMEM)
			return rc;
		if (rc < 0)
			return wvs_errorf(err, errlen, rc,
					  "%s item %zu \"%.*s%s\": %s", opt,
					  no, (int)quote_len(len), p,
					  len > QUOTE_MAX ? "..." : "", why);
		if (!p[len])
			return 0;
		p += len + 1;
	}
}

/* ---- The lists being parsed ---- */

/* A growing array of one element type, `size` bytes each. */
struct list {
	void *v;
	size_t n, cap, size;
};

static int list_push(struct list *l, const void *elem)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 8;
		void *v = realloc(l->v, cap * l->size);

		if (!v)
			return WV_ERR_NOMEM;
		l->v = v;
		l->cap = cap;
	}
	memcpy((char *)l->v + l->n * l->size, elem, l->size);
	l->n++;
	return 0;
}

/* ---- DTMF ---- */

struct dtmf_item {
	struct cli_dtmf_at at;
	size_t seq; /* order given: ties keep it */
};

static int dtmf_push(struct list *l, struct cli_dtmf_at at)
{
	struct dtmf_item it = { at, l->n };

	return list_push(l, &it);
}

static int dtmf_item(void *l, const char *item, size_t len, const char **why)
{
	const char *at = memchr(item, '@', len);
	int64_t ms;

	if (!at)
		return bad(why, "no '@' (write digit@seconds, like 5@1.5)");
	if (at == item)
		return bad(why, "no digit before '@'");
	if (at - item > 1)
		return bad(why, "more than one digit before '@'");
	if (!wv_dtmf_valid(item[0]))
		return bad(why, "not a DTMF digit (0-9 * #)");
	if (cli_parse_seconds(at + 1, len - (size_t)(at + 1 - item), &ms,
			      why) < 0)
		return WV_ERR_INVALID;
	return dtmf_push(l, (struct cli_dtmf_at){ ms, item[0] });
}

static int dtmf_cmp(const void *a, const void *b)
{
	const struct dtmf_item *x = a, *y = b;

	if (x->at.at_ms != y->at.at_ms)
		return x->at.at_ms < y->at.at_ms ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

int cli_schedule_add_dtmf(struct cli_schedule *s, const char *spec, char *err,
			  size_t errlen)
{
	struct list l = { .size = sizeof(struct dtmf_item) };
	struct cli_dtmf_at *all = NULL;
	int rc = 0;

	/* What is there already comes first, so it wins ties. */
	for (size_t i = 0; i < s->n_dtmf && rc == 0; i++)
		rc = dtmf_push(&l, s->dtmf[i]);
	if (rc == 0)
		rc = for_each_item("--dtmf", spec, dtmf_item, &l, err, errlen);
	if (rc == 0) {
		all = malloc(l.n * sizeof *all);
		rc = all ? 0 : WV_ERR_NOMEM;
	}
	if (rc == 0) {
		const struct dtmf_item *items = l.v;

		qsort(l.v, l.n, l.size, dtmf_cmp);
		for (size_t i = 0; i < l.n; i++)
			all[i] = items[i].at;
		free(s->dtmf);
		s->dtmf = all;
		s->n_dtmf = l.n;
	}
	free(l.v);
	return rc;
}

/* ---- Mute windows ---- */

static int mute_item(void *l, const char *item, size_t len, const char **why)
{
	const char *dash = memchr(item, '-', len);
	struct cli_window w;

	if (!dash)
		return bad(why, "no '-' (write start-end, like 2-3.5)");
	if (cli_parse_seconds(item, (size_t)(dash - item), &w.start_ms, why) <
	    0)
		return WV_ERR_INVALID;
	if (cli_parse_seconds(dash + 1, len - (size_t)(dash + 1 - item),
			      &w.end_ms, why) < 0)
		return WV_ERR_INVALID;
	if (w.end_ms <= w.start_ms)
		return bad(why, "the end is not after the start");
	return list_push(l, &w);
}

static int window_cmp(const void *a, const void *b)
{
	const struct cli_window *x = a, *y = b;

	return x->start_ms < y->start_ms ? -1 : x->start_ms > y->start_ms;
}

/* Sorts the windows and merges those that overlap or touch, in place. */
static size_t merge_windows(struct cli_window *v, size_t n)
{
	size_t out = 0;

	qsort(v, n, sizeof *v, window_cmp);
	for (size_t i = 0; i < n; i++) {
		if (out > 0 && v[i].start_ms <= v[out - 1].end_ms) {
			if (v[i].end_ms > v[out - 1].end_ms)
				v[out - 1].end_ms = v[i].end_ms;
			continue;
		}
		v[out++] = v[i];
	}
	return out;
}

int cli_schedule_add_mute(struct cli_schedule *s, const char *spec, char *err,
			  size_t errlen)
{
	struct list l = { .size = sizeof(struct cli_window) };
	int rc = 0;

	for (size_t i = 0; i < s->n_mute && rc == 0; i++)
		rc = list_push(&l, &s->mute[i]);
	if (rc == 0)
		rc = for_each_item("--mute", spec, mute_item, &l, err, errlen);
	if (rc < 0) {
		free(l.v);
		return rc;
	}
	free(s->mute);
	s->mute = l.v;
	s->n_mute = merge_windows(l.v, l.n);
	return 0;
}

int cli_schedule_set_hangup(struct cli_schedule *s, const char *arg, char *err,
			    size_t errlen)
{
	const char *why = "";
	size_t len = strlen(arg);
	int64_t ms;

	if (cli_parse_seconds(arg, len, &ms, &why) < 0)
		return wvs_errorf(err, errlen, WV_ERR_INVALID,
				  "--hangup-after \"%.*s%s\": %s",
				  (int)quote_len(len), arg,
				  len > QUOTE_MAX ? "..." : "", why);
	s->hangup_ms = ms;
	return 0;
}

/* ---- Evaluation ---- */

size_t cli_schedule_due_dtmf(struct cli_schedule *s, int64_t now_ms,
			     char *digits, size_t cap)
{
	size_t n = 0;

	while (n < cap && s->dtmf_done < s->n_dtmf &&
	       s->dtmf[s->dtmf_done].at_ms <= now_ms)
		digits[n++] = s->dtmf[s->dtmf_done++].digit;
	return n;
}

bool cli_schedule_muted(const struct cli_schedule *s, int64_t now_ms)
{
	for (size_t i = 0; i < s->n_mute && s->mute[i].start_ms <= now_ms;
	     i++)
		if (now_ms < s->mute[i].end_ms)
			return true;
	return false;
}

bool cli_schedule_hangup_due(const struct cli_schedule *s, int64_t now_ms)
{
	return s->hangup_ms != CLI_SCHEDULE_NEVER && now_ms >= s->hangup_ms;
}

static int64_t earlier(int64_t a, int64_t b)
{
	return a < b ? a : b;
}

int64_t cli_schedule_next_ms(const struct cli_schedule *s, int64_t now_ms)
{
	int64_t next = CLI_SCHEDULE_NEVER;

	/* A digit due already but not handed out is due now. */
	if (s->dtmf_done < s->n_dtmf)
		next = earlier(next, s->dtmf[s->dtmf_done].at_ms > now_ms
					     ? s->dtmf[s->dtmf_done].at_ms
					     : now_ms);
	for (size_t i = 0; i < s->n_mute; i++) {
		if (s->mute[i].start_ms > now_ms) {
			next = earlier(next, s->mute[i].start_ms);
			break;
		}
		if (s->mute[i].end_ms > now_ms) {
			next = earlier(next, s->mute[i].end_ms);
			break;
		}
	}
	if (s->hangup_ms > now_ms)
		next = earlier(next, s->hangup_ms);
	return next;
}
