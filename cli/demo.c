/*
 * `wvoice demo`: a whole call to the built-in demo agent, with nobody at the
 * keyboard. A caller synthesized by espeak-ng waits for the greeting, talks
 * over it (the agent must stop and clear), hears its words said back, says
 * something more in its turn and hears that back too, presses 5, hears the
 * digit named, then presses # and the agent says goodbye and hangs up.
 *
 * The caller reacts to what it hears rather than to a stopwatch: each step
 * waits for the agent's audio to be played out (the mark it sent coming
 * back), so the demo runs the same on a slow machine and under sanitizers.
 *
 * It writes the call as a stereo WAV (caller left, agent right, as heard at
 * the caller's end) and as a JSONL event log, prints a timeline as the call
 * goes, and exits 0 only if every step happened. The timeline keeps the
 * recording's time, the loop's 20 ms clock, so each step is found in the WAV
 * where the timeline puts it even when a busy machine makes the loop late.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <wvoice/capture.h>
#include <wvoice/pcm.h>
#include <wvoice/wvoice.h>

#include "cli.h"
#include "clip.h"
#include "events.h"
#include "level.h"
#include "local.h"
#include "tts.h"
#include "wavfile.h"

#define EXIT_FAILED 1
#define EXIT_USAGE 2

#define WAV_NAME "demo-call.wav"
#define JSONL_NAME "demo-call.jsonl"
#define CALLER_VOICE "en-us+f3"
#define BARGE_IN_MS 1500 /* into the greeting */
#define KEY_PAUSE_MS 700 /* after hearing the agent out */
#define DEADLINE_MS 60000
#define TALK_DBFS -40.0	 /* a block of agent audio louder than this... */
#define QUIET_MS 300	 /* ...starts a turn; this long below ends it */
#define LOOP_SLICE_MS 10

/* What the caller says: first over the greeting, then in its turn. */
static const char *const caller_lines[] = {
	"Hi, sorry to cut in. Can you hear me?",
	"Great. I would like to check on my order, please.",
};
#define CALLER_LINES (sizeof caller_lines / sizeof caller_lines[0])

static const char usage[] =
	"usage: wvoice demo [--dir DIR] [--quiet]\n"
	"\n"
	"Runs a whole call against the built-in demo agent: a synthesized\n"
	"caller talks over the greeting, hears itself said back, says more\n"
	"and hears that back, presses 5 and then #, and the agent says\n"
	"goodbye and hangs up. Prints a timeline and writes " WAV_NAME "\n"
	"(stereo 8 kHz: caller left, agent right) and " JSONL_NAME "\n"
	"(every event sent and received).\n"
	"\n"
	"  --dir DIR    write the two files here (default: the current "
	"directory)\n"
	"  --quiet      no timeline; problems only\n"
	"  -h, --help   this help\n"
	"\n"
	"Exit status: 0 the call went as planned, 1 it did not (the message\n"
	"says which step failed), 2 usage error.\n";

/* What the caller waits for next. */
enum step {
	AWAIT_GREETING, /* the agent's first words */
	AWAIT_BARGE_IN, /* BARGE_IN_MS into them */
	TALKING,	/* one of the caller's lines going out */
	AWAIT_REPLY,	/* the agent's reply to it, played to its mark */
	AWAIT_DIGIT,	/* the digit named, played to its mark */
	AWAIT_GOODBYE,	/* the agent's stop */
};

struct demo {
	bool quiet;
	struct wv_client *c;
	struct cli_stereo_wav *wav;
	struct cli_events *events;
	size_t nevents;
	int64_t opened_us;
	uint64_t clock; /* samples of the call so far, on the loop's clock */

	struct wvs_clip lines[CALLER_LINES]; /* the caller's words, 8 kHz */
	size_t line;			     /* the one being said or answered */
	size_t line_pos;		     /* samples of it sent */
	enum step step;
	int64_t due_us; /* the step acts then (0: on an event) */
	char mark[64];	/* the agent mark that ends the current wait */

	struct cli_level agent_level; /* over the last block heard */
	bool agent_talking;
	int64_t agent_quiet_ms; /* how long its audio has been quiet */
	int turn; /* turn_key() of the agent turn last on the timeline */

	bool barged_in, cleared, digit_named, hung_up;
	size_t replies; /* caller lines said back to it and heard out */
};

static atomic_int interrupted;

static void on_sigint(int sig)
{
	(void)sig;
	atomic_store(&interrupted, 1);
}

/* Seconds since the socket opened: the times of the JSONL file. */
static double since_open(const struct demo *d)
{
	return d->opened_us ? (double)(cli_mono_us() - d->opened_us) / 1e6
			    : 0.0;
}

/* The same on the recording's clock: a tick late by the wall clock is still
   its 20 ms of the call, so the timeline and the WAV agree. */
static double call_time(const struct demo *d)
{
	return (double)d->clock / 8000.0;
}

static void say(const struct demo *d, const char *who, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void say(const struct demo *d, const char *who, const char *fmt, ...)
{
	va_list ap;

	if (d->quiet)
		return;
	printf("%7.2f  %-6s  ", call_time(d), who);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

/* ---- the caller's side of the call ---- */

static void press(struct demo *d, char digit, enum step next)
{
	wv_client_send_dtmf(d->c, digit);
	d->step = next;
	d->due_us = 0;
	d->mark[0] = '\0';
}

/* The steps that come at a time rather than on an event. */
static void follow(struct demo *d, int64_t now)
{
	if (!d->due_us || now < d->due_us)
		return;
	d->due_us = 0;
	switch (d->step) {
	case AWAIT_BARGE_IN:
		d->step = TALKING;
		d->barged_in = d->agent_talking;
		say(d, "caller", "talks over the greeting: \"%s\"",
		    caller_lines[d->line]);
		break;
	case AWAIT_REPLY:
		if (++d->line < CALLER_LINES) {
			d->step = TALKING;
			d->line_pos = 0;
			d->mark[0] = '\0';
			say(d, "caller", "says: \"%s\"", caller_lines[d->line]);
		} else {
			press(d, '5', AWAIT_DIGIT);
		}
		break;
	case AWAIT_DIGIT:
		press(d, '#', AWAIT_GOODBYE);
		break;
	default:
		break;
	}
}

/* The source runs at 8 kHz, so n is one frame; what goes out is also the
   recording's left side, sample for sample. */
static int read_caller(void *user, float *dst, size_t n)
{
	struct demo *d = user;
	int16_t pcm[WV_FRAME_SAMPLES] = { 0 };
	size_t m = n < WV_FRAME_SAMPLES ? n : WV_FRAME_SAMPLES, i = 0;

	if (d->step == TALKING) {
		const struct wvs_clip *line = &d->lines[d->line];

		for (; i < m && d->line_pos < line->len; i++)
			pcm[i] = line->pcm[d->line_pos++];
		if (d->line_pos == line->len) {
			d->step = AWAIT_REPLY;
			say(d, "caller", "stops talking and listens");
		}
	}
	wv_pcm_to_float(dst, pcm, m);
	for (i = m; i < n; i++)
		dst[i] = 0.0f;
	cli_stereo_wav_write_left(d->wav, pcm, m);
	d->clock += m;
	return 0;
}

static const char *turn_name(enum step s)
{
	switch (s) {
	case AWAIT_GREETING:
	case AWAIT_BARGE_IN: return "greets the caller";
	case AWAIT_REPLY: return "says back what it heard";
	case AWAIT_DIGIT: return "names the digit";
	case AWAIT_GOODBYE: return "says goodbye";
	default: return "talks";
	}
}

/* Which agent turn the caller expects: one per step, and one per line
   said back. */
static int turn_key(const struct demo *d)
{
	enum step s = d->step == AWAIT_BARGE_IN ? AWAIT_GREETING : d->step;

	return (int)s * (int)(CALLER_LINES + 1) + (int)d->line + 1;
}

/* The agent as the caller hears it: the start of each turn goes on the
   timeline. */
static void hear_agent(void *user, const int16_t *pcm, size_t n)
{
	struct demo *d = user;

	cli_stereo_wav_write_right(d->wav, pcm, n);
	cli_level_feed_pcm(&d->agent_level, pcm, n);
	if (cli_level_rms_db(&d->agent_level) < TALK_DBFS) {
		d->agent_quiet_ms += (int64_t)n / 8;
		if (d->agent_quiet_ms >= QUIET_MS)
			d->agent_talking = false;
		return;
	}
	d->agent_quiet_ms = 0;
	if (d->agent_talking)
		return;
	d->agent_talking = true;
	/* A turn may pause between sentences: name it once. */
	if (d->turn != turn_key(d)) {
		d->turn = turn_key(d);
		say(d, "agent", "%s", turn_name(d->step));
	}
	if (d->step == AWAIT_GREETING) {
		d->step = AWAIT_BARGE_IN;
		d->due_us = cli_mono_us() + BARGE_IN_MS * 1000;
	}
}

/* ---- what goes over the wire ---- */

static void on_event_in(struct demo *d, const struct wv_event *ev)
{
	switch (ev->type) {
	case WV_EVENT_START:
		say(d, "agent", "answers: communication id %s",
		    ev->communication_id ? ev->communication_id : "-");
		break;
	case WV_EVENT_CLEAR:
		d->cleared = true;
		say(d, "agent", "hears the caller, stops and clears its audio");
		break;
	case WV_EVENT_MARK:
		/* The first mark after the caller acts closes its wait. */
		if (!d->mark[0] && (d->step == AWAIT_REPLY ||
				    d->step == AWAIT_DIGIT))
			snprintf(d->mark, sizeof d->mark, "%s", ev->mark);
		break;
	case WV_EVENT_STOP:
		d->hung_up = d->step == AWAIT_GOODBYE;
		say(d, "agent", "hangs up");
		break;
	default:
		break;
	}
}

static void on_event_out(struct demo *d, const struct wv_event *ev)
{
	switch (ev->type) {
	case WV_EVENT_START:
		say(d, "caller", "calls the demo agent");
		break;
	case WV_EVENT_DTMF:
		say(d, "caller", "presses %c", ev->dtmf);
		break;
	case WV_EVENT_MARK:
		if (!d->mark[0] || strcmp(ev->mark, d->mark) != 0)
			break;
		say(d, "phone", "played the agent's words to mark %s",
		    ev->mark);
		if (d->step == AWAIT_REPLY)
			d->replies++;
		else
			d->digit_named = true;
		d->due_us = cli_mono_us() + KEY_PAUSE_MS * 1000;
		break;
	default:
		break;
	}
}

static void on_event(void *user, enum wv_direction dir,
		     const struct wv_event *ev)
{
	struct demo *d = user;
	int64_t now = cli_mono_us();

	if (!d->opened_us)
		d->opened_us = now;
	if (cli_events_write(d->events, now - d->opened_us, dir, ev) == 0)
		d->nevents++;
	if (dir == WV_DIR_IN)
		on_event_in(d, ev);
	else
		on_event_out(d, ev);
}

static void on_error(void *user, int code, const char *detail)
{
	struct demo *d = user;

	(void)code;
	cli_events_write_error(d->events, (int64_t)(since_open(d) * 1e6),
			       detail);
	fprintf(stderr, "wvoice demo: %s\n", detail);
}

/* ---- the command ---- */

/* Why the call did not go as planned, or NULL. */
static const char *what_failed(const struct demo *d)
{
	if (wv_client_error(d->c))
		return wv_client_last_error(d->c);
	if (!d->barged_in)
		return "the caller never talked over the greeting";
	if (!d->cleared)
		return "the agent did not stop for the caller (no clear)";
	if (d->replies < CALLER_LINES)
		return "the agent's reply was never played to its mark";
	if (!d->digit_named)
		return "the digit's name was never played to its mark";
	if (!d->hung_up)
		return "the agent did not hang up after #";
	return NULL;
}

static int parse(int argc, char **argv, const char **dir, bool *quiet)
{
	static const struct option opts[] = {
		{ "dir", required_argument, NULL, 'd' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int c;

	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'd': *dir = optarg; break;
		case 'q': *quiet = true; break;
		case 'h': fputs(usage, stdout); return 0;
		default:
			fprintf(stderr, "wvoice demo: unknown or incomplete "
					"option '%s'\nTry 'wvoice demo "
					"--help'.\n",
				argv[optind - 1]);
			return EXIT_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "wvoice demo: unexpected argument '%s'\n"
				"Try 'wvoice demo --help'.\n",
			argv[optind]);
		return EXIT_USAGE;
	}
	return -1;
}

/* The caller's words, in a voice unlike the agent's. */
static int render_lines(struct wvs_clip *lines, char *err, size_t errlen)
{
	struct wvs_tts *tts;
	int rc = 0;

	if (wvs_tts_create(&tts, CALLER_VOICE, 0, err, errlen) < 0)
		return -1;
	for (size_t i = 0; i < CALLER_LINES && rc == 0; i++) {
		rc = wvs_tts_render(tts, caller_lines[i], &lines[i]);
		if (rc == 0 && lines[i].len == 0)
			rc = WV_ERR_INTERNAL;
	}
	wvs_tts_destroy(tts);
	if (rc < 0) {
		snprintf(err, errlen, "synthesizing the caller: %s",
			 wv_strerror(rc));
		return -1;
	}
	return 0;
}

static int open_files(struct demo *d, const char *dir, char *err,
		      size_t errlen)
{
	char path[4096];

	/* Made if missing, as serve --record makes its directory. */
	if (mkdir(dir, 0777) != 0 && errno != EEXIST) {
		snprintf(err, errlen, "cannot create the directory %s: %s", dir,
			 strerror(errno));
		return -1;
	}
	snprintf(path, sizeof path, "%s/%s", dir, WAV_NAME);
	if (cli_stereo_wav_open(&d->wav, path, 8000, err, errlen) < 0)
		return -1;
	snprintf(path, sizeof path, "%s/%s", dir, JSONL_NAME);
	return cli_events_open(&d->events, path, err, errlen) < 0 ? -1 : 0;
}

/* Closes the files; 0, or -1 with the first problem in err. */
static int close_files(struct demo *d, char *err, size_t errlen)
{
	char why[512];
	int rc = 0;

	if (cli_stereo_wav_close(d->wav, why, sizeof why) < 0) {
		snprintf(err, errlen, "%s", why);
		rc = -1;
	}
	if (cli_events_close(d->events, why, sizeof why) < 0 && rc == 0) {
		snprintf(err, errlen, "%s", why);
		rc = -1;
	}
	d->wav = NULL;
	d->events = NULL;
	return rc;
}

static void run(struct demo *d, struct wv_loop *loop)
{
	int64_t deadline = cli_mono_us() + (int64_t)DEADLINE_MS * 1000;

	wv_client_connect(d->c);
	while (wv_loop_run(loop, LOOP_SLICE_MS) > 0) {
		int64_t now = cli_mono_us();

		if (atomic_exchange(&interrupted, 0) || now > deadline)
			wv_client_hangup(d->c);
		follow(d, now);
	}
	say(d, "", "the call ends: %s",
	    wv_end_reason_name(wv_client_end_reason(d->c)));
}

static int call_agent(struct demo *d, const struct cli_local *local)
{
	struct wv_client_config cfg;
	struct wv_loop *loop = NULL;
	int rc = -1;

	wv_client_config_default(&cfg);
	cfg.url = cli_local_url(local);
	cfg.api_key = cli_local_key(local);
	cfg.agent_id = "demo";
	cfg.from = "wvoice demo";
	cfg.synthetic = true;
	cfg.source = (struct wv_source){ 8000, read_caller, d };
	cfg.sink = (struct wv_sink){ hear_agent, d };
	cfg.cb.event = on_event;
	cfg.cb.error = on_error;
	cfg.user = d;
	if (wv_loop_create(&loop) == 0 &&
	    wv_client_create(&d->c, loop, &cfg) == 0) {
		run(d, loop);
		rc = 0;
	} else {
		fprintf(stderr, "wvoice demo: cannot make the call: out of "
				"memory\n");
	}
	wv_loop_destroy(loop);
	return rc;
}

static void report(const struct demo *d, const char *dir)
{
	struct wv_playout_stats pst;
	struct wv_call_stats st;

	if (d->quiet)
		return;
	wv_client_stats(d->c, &st);
	wv_client_playout_stats(d->c, &pst);
	printf("\nwrote %s/%s (stereo, 8 kHz, caller left, agent right) and "
	       "%s/%s (%zu events)\n",
	       dir, WAV_NAME, dir, JSONL_NAME, d->nevents);
	printf("frames sent %llu, received %llu, marks %llu, underruns "
	       "%llu\n",
	       (unsigned long long)st.audio_frames_sent,
	       (unsigned long long)st.audio_events_received,
	       (unsigned long long)st.marks_answered,
	       (unsigned long long)pst.underruns);
}

int cli_demo(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_sigint };
	struct demo d = { 0 };
	struct cli_local local = { 0 };
	const char *dir = ".", *failed;
	char err[512];
	int status;

	status = parse(argc, argv, &dir, &d.quiet);
	if (status >= 0)
		return status;
	status = EXIT_FAILED;
	cli_level_init(&d.agent_level, 8000, 20);
	if (render_lines(d.lines, err, sizeof err) < 0 ||
	    open_files(&d, dir, err, sizeof err) < 0 ||
	    cli_local_start(&local, err, sizeof err) < 0) {
		fprintf(stderr, "wvoice demo: %s\n", err);
		goto out;
	}
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (!d.quiet)
		printf("  t (s)  who     what\n");
	if (call_agent(&d, &local) < 0)
		goto out;
	if (close_files(&d, err, sizeof err) < 0) {
		fprintf(stderr, "wvoice demo: %s\n", err);
		goto out;
	}
	report(&d, dir);
	failed = what_failed(&d);
	if (failed)
		fprintf(stderr, "wvoice demo: the call did not go as planned: "
				"%s\n",
			failed);
	else
		status = 0;
out:
	wv_client_destroy(d.c);
	close_files(&d, err, sizeof err);
	cli_local_stop(&local);
	for (size_t i = 0; i < CALLER_LINES; i++)
		wvs_clip_cleanup(&d.lines[i]);
	return status;
}
