/*
 * The server's side of a call (server/session.c) fed arbitrary sequences
 * of what a client and the socket can do, on a fake clock, with the real
 * agents: echo, silent, and a script agent whose script speaks, marks,
 * waits for marks, digits and speech, clears and hangs up.
 *
 * The input: a configuration byte (agent, lead, flood limits), then
 * operations, each a byte and its argument: a client frame (the rest of
 * the line), a refused message, a time step, a socket close, a shutdown.
 *
 * Invariants: every message the session sends is a server event that
 * decodes, `start` (with the call's id) first and once (a caller that
 * never started may be sent only `stop`), nothing after `stop`; it
 * never writes past the buffer it is given and says so when that is too
 * small; a session that asks to close gives a close code RFC 6455 allows
 * (1006 once the socket has closed) and has ended, and one that has ended says why; the counters agree.
 */
#include <wvoice/error.h>
#include <wvoice/protocol.h>

#include "agents.h"
#include "clip.h"
#include "fuzz.h"
#include "script.h"
#include "session.h"

#define CALL_ID "00000000-0000-4000-8000-000000000000"

/* Made once: what a script agent says, and its script. */
static struct wvs_script script;

static const char script_json[] =
	"[{\"say\":\"hello\"},{\"mark\":\"greeting\"},"
	"{\"wait_mark\":\"greeting\",\"timeout_ms\":3000},"
	"{\"wait_dtmf\":\"12#\",\"timeout_ms\":2000},"
	"{\"say\":\"you pressed\"},{\"clear\":true},{\"say\":\"again\"},"
	"{\"mark\":\"m2\"},{\"wait_speech\":true,\"timeout_ms\":2000},"
	"{\"pause\":100},{\"say\":\"bye\"},{\"hangup\":true}]";

static void make_script(void)
{
	char err[512];
	int16_t tone[1600];

	FUZZ_CHECK(wvs_script_parse(&script, "fuzz", script_json,
				    strlen(script_json), NULL, NULL, err,
				    sizeof err) == 0);
	for (size_t i = 0; i < 1600; i++)
		tone[i] = (int16_t)((i % 20 < 10 ? 1 : -1) * 8000);
	/* Rendered without a voice, say steps get a 200 ms tone. */
	for (size_t i = 0; i < script.n_steps; i++)
		if (script.steps[i].type == WVS_STEP_SAY)
			FUZZ_CHECK(wvs_clip_copy(&script.steps[i].clip, tone,
						 1600) == 0);
}

struct state {
	struct wvs_session *s;
	struct wv_decoder *dec;
	int64_t now;
	uint64_t sent, audio_sent;
	bool started; /* `start` went out */
	bool stopped; /* `stop` went out */
};

static struct state st;

static void on_log(void *user, const char *line)
{
	(void)user;
	FUZZ_CHECK(line && !strchr(line, '\n'));
}

static void on_trace(void *user, enum wvs_dir dir, const struct wv_event *ev,
		     const char *problem, int64_t now)
{
	(void)user;
	(void)dir;
	(void)now;
	FUZZ_CHECK(ev || problem);
}

/* Sends whatever is due, into a buffer that is sometimes too small. */
static void send_due(size_t cap)
{
	static char buf[WV_MESSAGE_MAX + 1];
	int n;

	while ((n = wvs_session_next(st.s, st.now, buf, cap)) != 0) {
		struct wv_event ev;

		if (n < 0) {
			FUZZ_CHECK(n == WV_ERR_NOSPACE && cap < sizeof buf);
			cap = sizeof buf;
			continue;
		}
		FUZZ_CHECK((size_t)n < cap && buf[n] == '\0');
		FUZZ_CHECK(wv_decoder_decode(st.dec, buf, (size_t)n, &ev) == 0);
		FUZZ_CHECK(ev.type == WV_EVENT_START ||
			   ev.type == WV_EVENT_AUDIO ||
			   ev.type == WV_EVENT_MARK ||
			   ev.type == WV_EVENT_CLEAR ||
			   ev.type == WV_EVENT_STOP);
		/* `start` once, before all else but a `stop` to a caller
		   that never started. */
		FUZZ_CHECK(st.started == (ev.type != WV_EVENT_START) ||
			   (!st.started && ev.type == WV_EVENT_STOP));
		if (ev.type == WV_EVENT_START)
			FUZZ_CHECK(ev.communication_id &&
				   strcmp(ev.communication_id, CALL_ID) == 0);
		st.started |= ev.type == WV_EVENT_START;
		FUZZ_CHECK(!st.stopped);
		st.stopped = ev.type == WV_EVENT_STOP;
		st.sent++;
		st.audio_sent += ev.type == WV_EVENT_AUDIO;
	}
}

static void check_close(void)
{
	const char *reason = NULL;
	int code = 0;

	if (!wvs_session_should_close(st.s, &code, &reason))
		return;
	/* 1006: the socket closed first; 1011: the agent could not start. */
	FUZZ_CHECK(code == 1000 || code == 1003 || code == 1006 ||
		   code == 1007 || code == 1008 || code == 1009 ||
		   code == 1011);
	FUZZ_CHECK(reason);
	FUZZ_CHECK(wvs_session_end(st.s) != WVS_END_NONE);
}

static void receive_line(struct fuzz_in *in)
{
	size_t len;
	const char *s = fuzz_line(in, &len);
	char *text = fuzz_strndup(s, len);

	FUZZ_CHECK(text);
	wvs_session_receive(st.s, text, len, st.now);
	free(text);
}

static void step(struct fuzz_in *in)
{
	static const int rejects[] = { 1003, 1007, 1009 };
	uint8_t op = fuzz_u8(in);

	switch (op % 8) {
	case 0:
	case 1:
	case 2:
		receive_line(in);
		break;
	case 3: /* the clock: up to 6.5 s at a time */
		st.now += (int64_t)fuzz_u16(in) * 100;
		break;
	case 4:
		wvs_session_reject(st.s, rejects[fuzz_u8(in) % 3], "refused",
				   st.now);
		break;
	case 5:
		wvs_session_closed(st.s, st.now);
		break;
	case 6:
		wvs_session_shutdown(st.s, st.now);
		break;
	default: /* the due time, as a loop's timer would wake */
		if (wvs_session_deadline(st.s) != INT64_MAX &&
		    wvs_session_deadline(st.s) > st.now)
			st.now = wvs_session_deadline(st.s);
		break;
	}
	wvs_session_tick(st.s, st.now);
	send_due(op & 0x80 ? 64 : WV_MESSAGE_MAX + 1);
	check_close();
}

static void check_end(void)
{
	const struct wvs_session_stats *stats = wvs_session_stats(st.s);

	FUZZ_CHECK(stats->frames_out == st.audio_sent);
	FUZZ_CHECK(!st.stopped || wvs_session_end(st.s) != WVS_END_NONE);
	FUZZ_CHECK(wvs_end_name(wvs_session_end(st.s)) != NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct wvs_agent *const agents[] = {
		&wvs_agent_echo, &wvs_agent_silent, &wvs_agent_script
	};
	struct fuzz_in in = { data, size };
	struct wvs_session_config cfg;
	uint8_t conf = fuzz_u8(&in);

	if (!script.steps)
		make_script();
	memset(&st, 0, sizeof st);
	st.now = 5000000;
	wvs_session_config_default(&cfg);
	cfg.agent = agents[conf % 3];
	cfg.agent_arg = &script;
	cfg.id = CALL_ID;
	cfg.lead_ms = conf & 4 ? 0 : 60;
	cfg.max_bad_frames = conf & 8 ? 2 : 100;
	cfg.max_frames_per_s = conf & 16 ? 5 : 200;
	cfg.flood_burst = conf & 16 ? 10 : 1000;
	cfg.early_us = conf & 32 ? 2000 : 0;
	cfg.max_queue_ms = conf & 64 ? 500 : 120000;
	cfg.trace = on_trace;
	cfg.log = on_log;
	FUZZ_CHECK(wvs_session_create(&st.s, &cfg, st.now) == 0);
	FUZZ_CHECK(wv_decoder_create(&st.dec, 0) == 0);
	while (in.left)
		step(&in);
	check_end();
	wvs_session_destroy(st.s);
	wv_decoder_destroy(st.dec);
	return 0;
}
