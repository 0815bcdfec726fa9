/*
 * The playout buffer (src/playout.c) under any sequence of what its two
 * sides can do, both policies: pushes of any audio at any time (silence,
 * speech, bursts, nothing for a while), reads of any size (the clock),
 * marks, clears, flushes, polls.
 *
 * The input: a configuration byte (policy, pre-buffer, cap, floor and
 * ceiling, marks answered on clear), then operations, each a byte and its
 * arguments.
 *
 * Invariants: every sample pushed is played, dropped, cleared or still
 * queued, and after a read nothing else; every sample handed out is
 * played or silence; marks come in the order placed, each once, and all
 * of them are reported or were cleared; a mark is reported only once what
 * was queued before it has left; the target is within its bounds; the
 * silence inserted or concealed is silence handed out.
 */
#include <wvoice/error.h>
#include <wvoice/playout.h>

#include "fuzz.h"

#define MAX_READ 1024
#define MAX_PUSH 2048

struct state {
	struct wv_playout *p;
	struct wv_playout_config cfg;
	uint64_t placed, reported, cleared_marks;
	uint64_t handed_out; /* samples read() gave, ever */
	uint64_t mark_pos[64]; /* pushed-count at each pending mark */
	uint64_t pushed;
	uint64_t clear_at; /* pushed at the last clear */
};

static void on_mark(void *user, const char *id)
{
	struct state *s = user;
	char want[32];

	snprintf(want, sizeof want, "%llu",
		 (unsigned long long)(s->reported + s->cleared_marks));
	FUZZ_CHECK(strcmp(id, want) == 0);
	s->reported++;
}

static struct wv_playout_stats stats(const struct state *s)
{
	struct wv_playout_stats st;

	wv_playout_stats(s->p, &st);
	return st;
}

static void configure(struct state *s, uint8_t c)
{
	static const unsigned prebuffer[] = { 0, 20, 300, 1000 };
	static const unsigned cap[] = { 40, 500, 3000, 60000 };

	wv_playout_config_default(&s->cfg);
	s->cfg.policy = c & 1 ? WV_PLAYOUT_ADAPTIVE : WV_PLAYOUT_FIXED;
	s->cfg.answer_marks_on_clear = c & 2;
	s->cfg.max_ms = cap[c >> 2 & 3];
	s->cfg.prebuffer_ms = prebuffer[c >> 4 & 3];
	if (s->cfg.prebuffer_ms > s->cfg.max_ms)
		s->cfg.prebuffer_ms = s->cfg.max_ms;
	if (c & 64) { /* a narrow adaptive range */
		s->cfg.min_delay_ms = 0;
		s->cfg.max_delay_ms = 60;
	}
	s->cfg.max_marks = c & 128 ? 2 : 64;
}

/* Samples of one kind a push: silence, quiet noise, speech, or bytes. */
static void fill(struct fuzz_in *in, int16_t *buf, size_t n, uint8_t kind)
{
	for (size_t i = 0; i < n; i++) {
		switch (kind & 3) {
		case 0:
			buf[i] = 0;
			break;
		case 1:
			buf[i] = (int16_t)((int)(i * 7 % 129) - 64);
			break;
		case 2:
			buf[i] = (int16_t)(i % 40 < 20 ? 8000 : -8000);
			break;
		default:
			buf[i] = (int16_t)fuzz_u16(in);
		}
	}
}

static void push(struct state *s, struct fuzz_in *in)
{
	static int16_t buf[MAX_PUSH];
	uint8_t kind = fuzz_u8(in);
	size_t n = (size_t)(fuzz_u8(in) % 16 + 1) * 40 * (kind >> 2 & 3 ? 1 : 4);
	size_t took;

	if (n > MAX_PUSH)
		n = MAX_PUSH;
	fill(in, buf, n, kind);
	took = wv_playout_push(s->p, buf, n);
	FUZZ_CHECK(took <= n);
	s->pushed += took;
}

static void push_ulaw(struct state *s, struct fuzz_in *in)
{
	uint8_t buf[160];
	size_t took;

	for (size_t i = 0; i < sizeof buf; i++)
		buf[i] = fuzz_u8(in);
	took = wv_playout_push_ulaw(s->p, buf, sizeof buf);
	s->pushed += took;
}

static void mark(struct state *s)
{
	char id[32];
	uint64_t pending = s->placed - s->reported - s->cleared_marks;
	int rc;

	snprintf(id, sizeof id, "%llu", (unsigned long long)s->placed);
	rc = wv_playout_mark(s->p, id);
	if (pending >= s->cfg.max_marks) {
		FUZZ_CHECK(rc == WV_ERR_FULL);
		return;
	}
	FUZZ_CHECK(rc == 0);
	s->mark_pos[s->placed % 64] = s->pushed;
	s->placed++;
}

static void clear(struct state *s)
{
	wv_playout_clear(s->p);
	s->clear_at = s->pushed;
	if (!s->cfg.answer_marks_on_clear)
		s->cleared_marks = s->placed - s->reported;
}

/* Each reported mark was reached: the read position (what was played,
 * dropped or cleared) or a clear is at or past it. */
static void poll(struct state *s)
{
	struct wv_playout_stats st = stats(s);
	uint64_t read = st.played_samples + st.dropped_samples +
			st.cleared_samples;
	uint64_t first = s->reported + s->cleared_marks;
	size_t n = wv_playout_poll_marks(s->p, on_mark, s);

	if (s->clear_at > read)
		read = s->clear_at;
	for (uint64_t m = first; m < first + n; m++)
		FUZZ_CHECK(s->mark_pos[m % 64] <= read);
}

static void read_and_check(struct state *s, struct fuzz_in *in)
{
	static int16_t out[MAX_READ];
	size_t n = (size_t)fuzz_u8(in) * 4 + 1;
	struct wv_playout_stats st;
	uint64_t lo, hi;

	if (n > MAX_READ)
		n = MAX_READ;
	wv_playout_read(s->p, out, n);
	s->handed_out += n;
	st = stats(s);
	/* A clear has been acted on: every sample is accounted for. */
	FUZZ_CHECK(st.pushed_samples == s->pushed);
	FUZZ_CHECK(st.pushed_samples == st.played_samples +
						st.dropped_samples +
						st.cleared_samples +
						st.queued_samples);
	FUZZ_CHECK(st.played_samples + st.silence_samples == s->handed_out);
	FUZZ_CHECK(st.concealed_samples + st.inserted_samples <=
		   st.silence_samples);
	if (s->cfg.policy == WV_PLAYOUT_FIXED) {
		FUZZ_CHECK(st.target_ms == s->cfg.prebuffer_ms);
		FUZZ_CHECK(st.dropped_samples == 0 &&
			   st.inserted_samples == 0);
	} else {
		lo = s->cfg.min_delay_ms;
		hi = s->cfg.max_delay_ms < s->cfg.max_ms ? s->cfg.max_delay_ms
							 : s->cfg.max_ms;
		if (lo > hi)
			lo = hi;
		FUZZ_CHECK(st.target_ms >= lo && st.target_ms <= hi);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	struct state s = { 0 };

	configure(&s, fuzz_u8(&in));
	FUZZ_CHECK(wv_playout_create(&s.p, &s.cfg) == 0);
	while (in.left > 0) {
		switch (fuzz_u8(&in) % 8) {
		case 0:
		case 1:
			push(&s, &in);
			break;
		case 2:
			push_ulaw(&s, &in);
			break;
		case 3:
		case 4:
			read_and_check(&s, &in);
			break;
		case 5:
			mark(&s);
			break;
		case 6:
			clear(&s);
			break;
		default:
			if (fuzz_u8(&in) & 1)
				wv_playout_flush(s.p);
			poll(&s);
		}
	}
	poll(&s);
	FUZZ_CHECK(s.reported + s.cleared_marks <= s.placed);
	wv_playout_destroy(s.p);
	return 0;
}
