/* One synthetic call of `wvoice load`: see loadcall.h. */
#include "loadcall.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "playoutopt.h"

/* An inbound pause longer than this inside an utterance is a gap. */
#define GAP_US 150000
/* A frame sent later than this counts in frames_late. */
#define LATE_US 10000

static uint32_t hash_id(const char *s)
{
	uint32_t h = 2166136261u; /* FNV-1a */

	while (s && *s)
		h = (h ^ (unsigned char)*s++) * 16777619u;
	return h;
}

static void add(struct cli_load_call_state *lc, enum cli_metric m,
		int64_t us)
{
	cli_histo_add(&lc->run->rep->metrics[m], us > 0 ? (uint64_t)us : 0);
}

/* ---- the caller script's moments ---- */

static void on_moment(void *user, enum cli_moment m, int64_t t, size_t step)
{
	struct cli_load_call_state *lc = user;
	int64_t turn;

	(void)step;
	switch (m) {
	case CLI_MOMENT_SPEECH_END:
		lc->speech_end_us = t;
		lc->turn_open = true;
		break;
	case CLI_MOMENT_BARGE_IN:
		lc->barge_us = t;
		lc->barge_open = true;
		lc->clear_us = 0;
		lc->sum.barge_ins++;
		break;
	case CLI_MOMENT_AGENT_START:
		if (!lc->first_audio) {
			struct wv_client_timing tm;

			wv_client_timing(lc->c, &tm);
			lc->first_audio = true;
			lc->sum.first_audio_ms = (double)(t - tm.start) / 1e3;
			add(lc, CLI_M_FIRST_AUDIO, t - tm.start);
		}
		if (!lc->turn_open)
			break;
		lc->turn_open = false;
		turn = t - lc->speech_end_us;
		add(lc, CLI_M_TURN, turn);
		cli_histo_add(lc->run->turn_now, turn > 0 ? (uint64_t)turn : 0);
		lc->sum.turns++;
		lc->turn_sum_us += (uint64_t)(turn > 0 ? turn : 0);
		if (turn > (int64_t)lc->turn_max_us)
			lc->turn_max_us = (uint64_t)turn;
		break;
	case CLI_MOMENT_AGENT_QUIET:
		/* The barge-in is over when the agent, cleared, is silent. */
		if (lc->barge_open && lc->clear_us) {
			add(lc, CLI_M_BARGE_SILENT, t - lc->barge_us);
			lc->barge_open = false;
		}
		break;
	case CLI_MOMENT_TIMEOUT:
		lc->sum.script_timeouts++;
		lc->run->rep->counts.script_timeouts++;
		break;
	case CLI_MOMENT_SPEECH_START:
	case CLI_MOMENT_DONE:
		break;
	}
}

/* ---- the call's audio ---- */

static int read_source(void *user, float *dst, size_t n)
{
	struct cli_load_call_state *lc = user;

	/* The tick's time, for the playout this tick writes too: the script
	   hears the same stretch of time it spoke. */
	lc->tick_us = wv_now_us();
	if (lc->confirmed)
		cli_callscript_speak(&lc->script, dst, n, lc->tick_us);
	else
		memset(dst, 0, n * sizeof *dst);
	return 0;
}

/* What the script wants done, and --duration's hang-up. */
static void act(struct cli_load_call_state *lc, int64_t now)
{
	enum cli_action a;
	char digit = 0;

	while ((a = cli_callscript_next(&lc->script, now, &digit)) !=
	       CLI_ACTION_NONE) {
		switch (a) {
		case CLI_ACTION_DTMF:
			wv_client_send_dtmf(lc->c, digit);
			break;
		case CLI_ACTION_MUTE:
		case CLI_ACTION_UNMUTE:
			wv_client_set_muted(lc->c, a == CLI_ACTION_MUTE);
			break;
		case CLI_ACTION_HANGUP:
			wv_client_hangup(lc->c);
			return;
		case CLI_ACTION_NONE:
			break;
		}
	}
	if (now >= lc->hangup_us)
		wv_client_hangup(lc->c);
}

/* The concealed ms since the last look, into the run's interval. */
static void count_concealed(struct cli_load_call_state *lc,
			    const struct wv_playout_stats *pst)
{
	uint64_t ms = cli_samples_ms(pst->concealed_samples);

	if (ms > lc->concealed_seen_ms) {
		lc->run->concealed_now += ms - lc->concealed_seen_ms;
		lc->concealed_seen_ms = ms;
	}
}

/* Each tick's playout: its target and delay while the agent's audio
   plays (between utterances the delay is nobody's), and what it hid. */
static void sample_playout(struct cli_load_call_state *lc)
{
	struct cli_load_run *run = lc->run;
	struct wv_playout_stats pst;

	wv_client_playout_stats(lc->c, &pst);
	count_concealed(lc, &pst);
	if (!pst.playing)
		return;
	cli_histo_add(&run->rep->metrics[CLI_M_PLAYOUT_TARGET],
		      (uint64_t)pst.target_ms * 1000);
	cli_histo_add(&run->rep->metrics[CLI_M_PLAYOUT_DELAY],
		      (uint64_t)pst.delay_ms * 1000);
	cli_histo_add(run->delay_now, (uint64_t)pst.delay_ms * 1000);
	if (pst.target_ms > lc->sum.playout_target_ms_max)
		lc->sum.playout_target_ms_max = pst.target_ms;
}

static void write_sink(void *user, const int16_t *pcm, size_t n)
{
	struct cli_load_call_state *lc = user;

	if (!lc->confirmed || lc->ended)
		return;
	cli_callscript_heard(&lc->script, pcm, n, lc->tick_us);
	sample_playout(lc);
	act(lc, lc->tick_us);
}

static void on_audio_sent(void *user, int64_t late_us)
{
	struct cli_load_call_state *lc = user;
	struct cli_load_run *run = lc->run;

	cli_histo_add(&run->rep->metrics[CLI_M_LATENESS], (uint64_t)late_us);
	cli_histo_add(run->late_now, (uint64_t)late_us);
	run->frames_now++;
	run->rep->counts.frames_sent++;
	lc->sum.frames_sent++;
	if (late_us > LATE_US)
		run->rep->counts.frames_late++;
	if ((uint64_t)late_us > lc->late_max_us)
		lc->late_max_us = (uint64_t)late_us;
}

/* RFC 3550's estimator, on the agent's clock as its audio says it: each
   message carries audio_len / 8 ms of it. An utterance starts after a
   mark or a clear (the agent said all it meant to), where the pause is
   the agent's own, not the network's. */
static void agent_audio(struct cli_load_call_state *lc, size_t len,
			int64_t now)
{
	struct cli_load_counts *k = &lc->run->rep->counts;
	int64_t transit;

	k->frames_received++;
	k->audio_ms_received += len / 8;
	lc->sum.frames_received++;
	if (!lc->in_utterance) {
		lc->in_utterance = true;
		lc->last_sent_us = 0;
	} else {
		int64_t d;

		if (now - lc->last_arrival_us > GAP_US) {
			k->gaps++;
			lc->sum.gaps++;
		}
		transit = now - lc->last_sent_us;
		d = transit - lc->last_transit_us;
		lc->jitter_us += ((double)(d < 0 ? -d : d) - lc->jitter_us) /
				 16.0;
		add(lc, CLI_M_JITTER, (int64_t)lc->jitter_us);
	}
	lc->last_arrival_us = now;
	lc->last_transit_us = now - lc->last_sent_us;
	lc->last_sent_us += (int64_t)len * 125; /* 8 kHz: 125 µs a byte */
}

static void mark_in(struct cli_load_call_state *lc, const char *id,
		    int64_t now)
{
	lc->run->rep->counts.marks_received++;
	lc->in_utterance = false;
	if (lc->marks_n == CLI_LOADCALL_MARKS) { /* the oldest goes untimed */
		lc->marks_head = (lc->marks_head + 1) % CLI_LOADCALL_MARKS;
		lc->marks_n--;
	}
	lc->marks[(lc->marks_head + lc->marks_n++) % CLI_LOADCALL_MARKS] =
		(struct cli_load_mark){ hash_id(id), now };
}

/* The call answered a mark: the playout reached it. Marks are answered
   in the order they came. */
static void mark_out(struct cli_load_call_state *lc, const char *id,
		     int64_t now)
{
	uint32_t h = hash_id(id);

	lc->run->rep->counts.marks_answered++;
	lc->sum.marks_answered++;
	while (lc->marks_n) {
		bool match = lc->marks[lc->marks_head].hash == h;
		int64_t at = lc->marks[lc->marks_head].at;

		lc->marks_head = (lc->marks_head + 1) % CLI_LOADCALL_MARKS;
		lc->marks_n--;
		if (match) {
			add(lc, CLI_M_MARK_RTT, now - at);
			break;
		}
	}
	if (lc->confirmed)
		cli_callscript_mark_played(&lc->script, id, now);
}

static void on_event(void *user, enum wv_direction dir,
		     const struct wv_event *ev)
{
	struct cli_load_call_state *lc = user;
	int64_t now = wv_now_us();

	switch (ev->type) {
	case WV_EVENT_AUDIO:
		if (dir == WV_DIR_IN)
			agent_audio(lc, ev->audio_len, now);
		break;
	case WV_EVENT_MARK:
		if (dir == WV_DIR_IN)
			mark_in(lc, ev->mark, now);
		else
			mark_out(lc, ev->mark, now);
		break;
	case WV_EVENT_CLEAR:
		lc->run->rep->counts.clears_received++;
		lc->in_utterance = false;
		lc->marks_n = 0; /* cleared marks are never answered */
		if (lc->barge_open && !lc->clear_us) {
			lc->clear_us = now;
			add(lc, CLI_M_BARGE_CLEAR, now - lc->barge_us);
		}
		break;
	case WV_EVENT_DTMF:
		if (dir == WV_DIR_OUT)
			lc->run->rep->counts.dtmf_sent++;
		break;
	default:
		break;
	}
}

static void on_status(void *user, enum wv_status from, enum wv_status to)
{
	struct cli_load_call_state *lc = user;
	struct cli_load_run *run = lc->run;
	int64_t now = wv_now_us();

	if (from == WV_STATUS_CONNECTING)
		run->connecting--;
	else if (from == WV_STATUS_CONNECTED)
		run->up--;
	switch (to) {
	case WV_STATUS_CONNECTING:
		run->connecting++;
		break;
	case WV_STATUS_CONNECTED:
		run->up++;
		if (run->up > run->rep->counts.calls_peak)
			run->rep->counts.calls_peak = run->up;
		run->rep->counts.calls_connected++;
		lc->confirmed = true;
		lc->hangup_us = now + run->duration_us;
		cli_callscript_run_init(&lc->script, run->script,
					&(struct cli_callscript_hooks){
						.moment = on_moment,
						.user = lc },
					now);
		break;
	case WV_STATUS_DISCONNECTED:
		lc->ended = true;
		lc->ended_us = now;
		break;
	case WV_STATUS_IDLE:
		break;
	}
}

int cli_load_call_make(struct cli_load_call_state *lc, struct cli_load_run *run,
		       struct wv_loop *loop, struct wv_client_config *cfg,
		       uint64_t id, char *err, size_t errlen)
{
	int rc;

	memset(lc, 0, sizeof *lc);
	lc->run = run;
	lc->id = id;
	lc->sum.id = id;
	cfg->source = (struct wv_source){ 8000, read_source, lc };
	cfg->sink = (struct wv_sink){ write_sink, lc };
	cfg->cb = (struct wv_call_callbacks){ .status = on_status,
					      .event = on_event };
	cfg->audio_sent = on_audio_sent;
	cfg->user = lc;
	rc = wv_client_create(&lc->c, loop, cfg);
	if (rc < 0)
		wv_client_check_config(cfg, err, errlen);
	return rc;
}

/* "refused: 503", "timeout", "closed: 1006"...: what the errors table
   counts a failed call under. */
static void failure_kind(const struct wv_client *c, char *dst, size_t cap)
{
	const char *reason;
	int code = wv_client_close_code(c, &reason);
	int err = wv_client_error(c);

	if (err == WV_ERR_REFUSED)
		snprintf(dst, cap, "refused: %d", wv_client_http_status(c));
	else if (wv_client_end_reason(c) == WV_END_START_TIMEOUT)
		snprintf(dst, cap, "timeout: no start");
	else if (err)
		snprintf(dst, cap, "%s", wv_strerror(err));
	else
		snprintf(dst, cap, "closed: %d", code);
}

static bool completed(const struct wv_client *c)
{
	const char *reason;

	switch (wv_client_end_reason(c)) {
	case WV_END_HANGUP:
	case WV_END_REMOTE_STOP:
		return true;
	case WV_END_CLOSED:
		return wv_client_close_code(c, &reason) == 1000;
	default:
		return false;
	}
}

/* The playout's figures at the call's end, into its summary and the
   run's counts. */
static void playout_figures(struct cli_load_call_state *lc,
			    const struct wv_playout_stats *pst)
{
	struct cli_load_counts *k = &lc->run->rep->counts;
	struct cli_load_call *s = &lc->sum;

	count_concealed(lc, pst);
	s->playout_target_ms = pst->target_ms;
	if (pst->target_ms > s->playout_target_ms_max)
		s->playout_target_ms_max = pst->target_ms;
	s->playout_delay_ms = pst->delay_ms;
	s->concealed_ms = (uint32_t)lc->concealed_seen_ms;
	s->silence_inserted_ms =
		(uint32_t)cli_samples_ms(pst->inserted_samples);
	s->silence_dropped_ms = (uint32_t)cli_samples_ms(pst->dropped_samples);
	s->late_arrivals = (uint32_t)pst->late_arrivals;
	k->concealed_ms += s->concealed_ms;
	k->silence_inserted_ms += s->silence_inserted_ms;
	k->silence_dropped_ms += s->silence_dropped_ms;
	k->late_arrivals += s->late_arrivals;
}

static double ms_between(int64_t from, int64_t to)
{
	return from && to ? (double)(to - from) / 1e3 : -1;
}

void cli_load_call_finish(struct cli_load_call_state *lc)
{
	struct cli_load_report *rep = lc->run->rep;
	struct cli_load_call *s = &lc->sum;
	struct wv_playout_stats pst;
	struct wv_client_timing tm;
	const char *reason;
	const char *id = wv_client_communication_id(lc->c);
	char code[16], kind[96];

	wv_client_timing(lc->c, &tm);
	wv_client_playout_stats(lc->c, &pst);
	if (tm.tcp)
		add(lc, CLI_M_CONNECT, tm.tcp - tm.connect);
	if (tm.open)
		add(lc, CLI_M_HANDSHAKE, tm.open - tm.tcp);
	if (tm.start)
		add(lc, CLI_M_START, tm.start - tm.open);
	s->connect_ms = ms_between(tm.connect, tm.tcp);
	s->handshake_ms = ms_between(tm.tcp, tm.open);
	s->start_ms = ms_between(tm.open, tm.start);
	s->duration_ms = ms_between(tm.start, tm.end);
	if (!lc->first_audio)
		s->first_audio_ms = -1;
	s->turn_ms_mean = s->turns ? (double)lc->turn_sum_us / s->turns / 1e3
				   : -1;
	s->turn_ms_max = s->turns ? (double)lc->turn_max_us / 1e3 : -1;
	s->lateness_ms_max = (double)lc->late_max_us / 1e3;
	s->jitter_ms = lc->jitter_us / 1e3;
	s->underruns = (uint32_t)pst.underruns;
	rep->counts.underruns += pst.underruns;
	playout_figures(lc, &pst);
	if (id)
		snprintf(s->comm_id, sizeof s->comm_id, "%s", id);
	s->end = wv_end_reason_name(wv_client_end_reason(lc->c));
	s->close_code = wv_client_close_code(lc->c, &reason);
	s->http_status = wv_client_http_status(lc->c);
	if (s->close_code) {
		snprintf(code, sizeof code, "%d", s->close_code);
		cli_load_tally_add(&rep->close_codes, &rep->n_close_codes, code,
				   1);
	}
	if (completed(lc->c)) {
		rep->counts.calls_completed++;
	} else {
		rep->counts.calls_failed++;
		failure_kind(lc->c, kind, sizeof kind);
		cli_load_tally_add(&rep->errors, &rep->n_errors, kind, 1);
		snprintf(s->error, sizeof s->error, "%s",
			 *wv_client_last_error(lc->c)
				 ? wv_client_last_error(lc->c)
				 : kind);
	}
	cli_load_report_add_call(rep, s);
	wv_client_destroy(lc->c);
	lc->c = NULL;
}
