/* `wvoice call`: a call from the command line. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <wvoice/device.h>
#include <wvoice/wvoice.h>

#include "callscript.h"
#include "cli.h"
#include "events.h"
#include "level.h"
#include "local.h"
#include "playoutopt.h"
#include "repeats.h"
#include "report.h"
#include "schedule.h"
#include "terminal.h"
#include "wavfile.h"

#define EXIT_FAILED 1
#define EXIT_USAGE 2
#define EXIT_REFUSED 3
#define TAIL_AFTER_INPUT_MS 3000 /* hang up this long after --input ends */
#define KEY_FILE_MAX 4096	    /* --api-key-file reads no more */
#define LOOP_SLICE_MS 10
#define DIGIT_SHOWN_US 1500000 /* a digit sent stays on it this long */
#define SAMPLE_US 125		 /* at 8 kHz: the script's clock */
#define EVENTS_MAX_DEFAULT (64ull << 20) /* --events-max */
#define QUOTE_MAX 80 /* a server's name or id shown on stderr */

static const char usage[] =
	"usage: wvoice call [options]\n"
	"\n"
	"Places a call to a voice agent. Without --url (or WVOICE_URL) it starts\n"
	"the built-in local agent (wvoice serve) on a free loopback port and\n"
	"calls its demo agent.\n"
	"\n"
	"  --url URL              the service: ws://HOST:PORT or wss://...\n"
	"                         (default: $WVOICE_URL)\n"
	"  --api-key KEY          the key (default: $WVOICE_API_KEY)\n"
	"  --api-key-file FILE    read the key from FILE's first line (- for\n"
	"                         standard input), kept out of ps and history\n"
	"  --auth subprotocol|header\n"
	"                         how the key is sent (subprotocol)\n"
	"  --agent ID             the agent to call (required with --url)\n"
	"  --from NAME            the caller, passed to the agent\n"
	"  --metadata JSON        a JSON object passed to the agent\n"
	"  --synthetic            mark the call as synthetic\n"
	"  --input FILE.wav       speak this file (any rate, sent in real time;\n"
	"                         silence after it); default: the microphone\n"
	"  --script FILE.json     be the caller this script describes: it\n"
	"                         speaks, presses digits and hangs up on what\n"
	"                         it hears played (see Caller scripts in\n"
	"                         wvoice(1)); no audio devices are used\n"
	"  --input-device N       the microphone to use (wvoice devices)\n"
	"  --output FILE.wav      write the agent's audio, 8 kHz, as played;\n"
	"                         default: the speaker\n"
	"  --output-device N      the speaker to use\n"
	"  --events FILE.jsonl    one line per event sent or received, and how\n"
	"                         the call ended (- for standard output)\n"
	"  --events-max SIZE      bound the event log to SIZE bytes (k, M, G\n"
	"                         suffixes; at least 8k; 0: no bound): past it\n"
	"                         a \"truncated\" line, then only the end (64M)\n"
	"  --dtmf SPEC            digits at seconds after the call is confirmed:\n"
	"                         \"5@1.5,#@4\"\n"
	"  --mute SPEC            mute windows in seconds: \"2-3.5,6-7\"\n"
	"  --hangup-after SEC     hang up SEC seconds after the call is confirmed\n"
	"                         (with --input: 3 s after the input ends;\n"
	"                         with --script: a cap on the call)\n"
	"  --playout adaptive|fixed\n"
	"                         how much of the agent's audio to hold before\n"
	"                         playing it: as little as its arrivals need\n"
	"                         (adaptive, 40 to 500 ms), or --prebuffer-ms\n"
	"                         before each utterance (fixed); see PLAYOUT in\n"
	"                         wvoice(1) (adaptive)\n"
	"  --prebuffer-ms N       the fixed policy's pre-buffer (300); given\n"
	"                         alone, it means --playout fixed\n"
	"  --connect-timeout SEC  give up connecting after SEC seconds (10)\n"
	"  --ca FILE              trust these certificates for wss://\n"
	"  --insecure             accept any certificate (testing only)\n"
	"  --summary text|json    the summary at the end, as lines (text) or one\n"
	"                         JSON object; on standard output (standard\n"
	"                         error when --events -)\n"
	"  --quiet | --verbose    less or more on standard error\n"
	"  -h, --help             this help\n"
	"\n"
	"Exit status: 0 the call ended normally, 1 it failed, 2 usage error,\n"
	"3 refused at the handshake (any HTTP answer but 101: key, agent,\n"
	"capacity, a server error), 128 + N interrupted by signal N before the\n"
	"call was confirmed (130 for Ctrl-C).\n";

struct opts {
	const char *url, *key, *agent, *from, *metadata;
	const char *key_file;
	char key_buf[KEY_FILE_MAX + 1]; /* the key read from key_file */
	enum wv_auth auth;
	bool synthetic, insecure, quiet, verbose;
	bool json_summary;
	bool dtmf_given, mute_given; /* --dtmf, --mute: --script's job */
	const char *input, *output, *events, *ca, *script;
	uint64_t events_max; /* --events-max, 0 for none */
	int input_device, output_device; /* WV_DEVICE_DEFAULT or an index */
	unsigned long prebuffer_ms;
	struct cli_playout playout;
	int64_t connect_timeout_ms;
	struct cli_schedule sched;
};

/* What the running call needs beside the client. */
struct run {
	struct opts *o;
	struct cli_events *events;
	int64_t opened_us; /* the first event: `start` goes out as it opens */
	struct cli_wav_source *input;
	struct cli_wav_sink *output;
	struct wv_audio *audio; /* the devices, where no file stands in */
	bool audio_output;	/* ... and it has a speaker */
	struct cli_level in_level, out_level;
	int64_t input_end_ms; /* call time the input ran out, or -1 */
	bool key_muted;	      /* the m key's; --mute windows add to it */
	bool muted;	      /* what the call was last told */
	int cut_short;	      /* the signal that ended an unconfirmed call */
	char digit;	      /* the last digit sent, and when */
	int64_t digit_us;
	struct cli_term term; /* keys and the status line, on a terminal */
	struct cli_repeats repeats; /* problems said, and those counted */
	struct cli_callscript *script; /* --script, and its run */
	struct cli_callscript_run srun;
	bool script_muted;
	/* The script's clock: the source and the sink are each called once
	   per 20 ms tick of the call's media clock, the source first, so
	   samples counted on each side keep the two in step. */
	int64_t spoken_us, heard_us;
	/* The last "playout" line of the event log: when, and its target. */
	int64_t playout_logged_us;
	unsigned playout_logged_ms;
	bool stopped; /* a stop went or came: only the end is left to log */
};

static atomic_int interrupted; /* the signal, or 0 */

static void on_sigint(int sig)
{
	atomic_store(&interrupted, sig);
}

/* ---- callbacks from the call ---- */

/* --verbose: one line per event but audio. An unknown event's name and a
   mark id are the server's: escaped, they can neither break the line nor
   reach the terminal as escapes. */
static void say_event(struct run *r, enum wv_direction dir,
		      const struct wv_event *ev)
{
	char name[QUOTE_MAX], mark[QUOTE_MAX] = "";

	cli_term_clear(&r->term);
	if (ev->type == WV_EVENT_DTMF) {
		fprintf(stderr, "%s dtmf %c\n", dir == WV_DIR_IN ? "<-" : "->",
			ev->dtmf);
		return;
	}
	wv_escape(name, sizeof name, ev->name, strlen(ev->name));
	if (ev->mark)
		wv_escape(mark, sizeof mark, ev->mark, strlen(ev->mark));
	fprintf(stderr, "%s %s%s%s\n", dir == WV_DIR_IN ? "<-" : "->", name,
		ev->mark ? " " : "", mark);
}

static void on_event(void *user, enum wv_direction dir,
		     const struct wv_event *ev)
{
	struct run *r = user;
	int64_t now = cli_mono_us();

	if (!r->opened_us)
		r->opened_us = now;
	if (r->events)
		cli_events_write(r->events, now - r->opened_us, dir, ev);
	if (ev->type == WV_EVENT_STOP)
		r->stopped = true;
	if (ev->type == WV_EVENT_DTMF && dir == WV_DIR_OUT) {
		r->digit = ev->dtmf;
		r->digit_us = now;
	}
	if (r->o->verbose && ev->type != WV_EVENT_AUDIO)
		say_event(r, dir, ev);
	/* An answered mark is the playout reaching it: what the script
	   waits for. */
	if (r->script && ev->type == WV_EVENT_MARK && dir == WV_DIR_OUT)
		cli_callscript_mark_played(&r->srun, ev->mark, r->heard_us);
}

static void start_script(struct run *r);

static void on_status(void *user, enum wv_status from, enum wv_status to)
{
	struct run *r = user;

	(void)from;
	if (r->o->verbose) {
		cli_term_clear(&r->term);
		fprintf(stderr, "status: %s\n", wv_status_name(to));
	}
	if (to == WV_STATUS_CONNECTED && r->script)
		start_script(r);
}

static void on_error(void *user, int code, const char *detail)
{
	struct run *r = user;
	int64_t now = cli_mono_us();

	(void)code;
	if (r->events)
		cli_events_write_error(r->events,
				       r->opened_us ? now - r->opened_us : 0,
				       detail);
	/* Every problem goes to the event log; stderr says a kind once a
	   second and then how many more there were. */
	if (r->o->quiet || !cli_repeats_take(&r->repeats, detail, now))
		return;
	cli_term_clear(&r->term);
	fprintf(stderr, "wvoice call: %s\n", detail);
}

/* The counts of problems not said: those whose second is over, or with
   all set, every one (at the end of the call). */
static void say_repeats(struct run *r, bool all)
{
	char line[256];

	while (cli_repeats_summary(&r->repeats, cli_mono_us(), all, line,
				   sizeof line)) {
		cli_term_clear(&r->term);
		fprintf(stderr, "wvoice call: %s\n", line);
	}
}

/* ---- options ---- */

static int usage_error(const char *fmt, const char *arg)
{
	fputs("wvoice call: ", stderr);
	fprintf(stderr, fmt, arg);
	fputs("\nTry 'wvoice call --help'.\n", stderr);
	return EXIT_USAGE;
}

/* A script is the caller's voice and hands, and hears what the sink is
   given: a speaker would read the playout past it. --hangup-after stays,
   as a cap on the call. Returns 0, or -1 having said why. */
static int check_script_options(const struct opts *o)
{
	static const char *const what[] = {
		"--input", "--input-device", "--output-device", "--dtmf",
		"--mute",
	};
	const bool given[] = {
		o->input != NULL, o->input_device != WV_DEVICE_DEFAULT,
		o->output_device != WV_DEVICE_DEFAULT, o->dtmf_given,
		o->mute_given,
	};

	for (size_t i = 0; i < sizeof what / sizeof what[0]; i++)
		if (given[i]) {
			usage_error("--script and %s conflict", what[i]);
			return -1;
		}
	return 0;
}

/* A size in bytes, with k, M or G for 2^10, 2^20, 2^30: 0, or 8k to
   1024G. Returns 0 or -1. */
static int parse_size(const char *s, uint64_t *out)
{
	static const char units[] = "kMG";
	unsigned long n;
	char digits[24];
	size_t len = strlen(s);
	const char *unit;
	int shift = 0;

	if (len == 0 || len >= sizeof digits)
		return -1;
	memcpy(digits, s, len + 1);
	unit = strchr(units, digits[len - 1]);
	if (unit && *unit) {
		shift = 10 * (int)(unit - units + 1);
		digits[len - 1] = '\0';
	}
	if (cli_parse_uint(digits, 0, 1ul << (40 - shift), &n) < 0)
		return -1;
	*out = (uint64_t)n << shift;
	return *out == 0 || *out >= CLI_EVENTS_MAX_LEAST ? 0 : -1;
}

/* Returns -1 to go on, else the exit status. */
static int parse(int argc, char **argv, struct opts *o)
{
	enum { O_URL = 256, O_KEY, O_AUTH, O_AGENT, O_FROM, O_META, O_SYN,
	       O_IN, O_OUT, O_EVENTS, O_DTMF, O_MUTE, O_HANGUP, O_PRE, O_CA,
	       O_INSECURE, O_QUIET, O_VERBOSE, O_IN_DEV, O_OUT_DEV, O_TIMEOUT,
	       O_KEY_FILE, O_SUMMARY, O_SCRIPT, O_EVENTS_MAX, O_PLAYOUT };
	static const struct option opts[] = {
		{ "url", required_argument, NULL, O_URL },
		{ "api-key", required_argument, NULL, O_KEY },
		{ "api-key-file", required_argument, NULL, O_KEY_FILE },
		{ "auth", required_argument, NULL, O_AUTH },
		{ "agent", required_argument, NULL, O_AGENT },
		{ "from", required_argument, NULL, O_FROM },
		{ "metadata", required_argument, NULL, O_META },
		{ "synthetic", no_argument, NULL, O_SYN },
		{ "input", required_argument, NULL, O_IN },
		{ "output", required_argument, NULL, O_OUT },
		{ "input-device", required_argument, NULL, O_IN_DEV },
		{ "output-device", required_argument, NULL, O_OUT_DEV },
		{ "events", required_argument, NULL, O_EVENTS },
		{ "events-max", required_argument, NULL, O_EVENTS_MAX },
		{ "dtmf", required_argument, NULL, O_DTMF },
		{ "mute", required_argument, NULL, O_MUTE },
		{ "hangup-after", required_argument, NULL, O_HANGUP },
		{ "prebuffer-ms", required_argument, NULL, O_PRE },
		{ "playout", required_argument, NULL, O_PLAYOUT },
		{ "connect-timeout", required_argument, NULL, O_TIMEOUT },
		{ "ca", required_argument, NULL, O_CA },
		{ "insecure", no_argument, NULL, O_INSECURE },
		{ "quiet", no_argument, NULL, O_QUIET },
		{ "verbose", no_argument, NULL, O_VERBOSE },
		{ "summary", required_argument, NULL, O_SUMMARY },
		{ "script", required_argument, NULL, O_SCRIPT },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	char err[256];
	unsigned long dev;
	int c;

	o->prebuffer_ms = 300;
	o->playout.policy = CLI_PLAYOUT_DEFAULT;
	o->events_max = EVENTS_MAX_DEFAULT;
	o->connect_timeout_ms = 10000;
	o->auth = WV_AUTH_SUBPROTOCOL;
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case O_URL: o->url = optarg; break;
		case O_KEY: o->key = optarg; break;
		case O_KEY_FILE: o->key_file = optarg; break;
		case O_AGENT: o->agent = optarg; break;
		case O_FROM: o->from = optarg; break;
		case O_META: o->metadata = optarg; break;
		case O_SYN: o->synthetic = true; break;
		case O_IN: o->input = optarg; break;
		case O_SCRIPT: o->script = optarg; break;
		case O_OUT: o->output = optarg; break;
		case O_EVENTS: o->events = optarg; break;
		case O_EVENTS_MAX:
			if (parse_size(optarg, &o->events_max) < 0)
				return usage_error("--events-max: '%s' is not 0 or "
						   "8k to 1024G (a number of "
						   "bytes, or with k, M or G)",
						   optarg);
			break;
		case O_CA: o->ca = optarg; break;
		case O_INSECURE: o->insecure = true; break;
		case O_QUIET: o->quiet = true; break;
		case O_VERBOSE: o->verbose = true; break;
		case O_SUMMARY:
			if (strcmp(optarg, "text") && strcmp(optarg, "json"))
				return usage_error("--summary: '%s' is not text "
						   "or json",
						   optarg);
			o->json_summary = !strcmp(optarg, "json");
			break;
		case O_AUTH:
			if (!strcmp(optarg, "subprotocol"))
				o->auth = WV_AUTH_SUBPROTOCOL;
			else if (!strcmp(optarg, "header"))
				o->auth = WV_AUTH_HEADER;
			else
				return usage_error("--auth: '%s' is not "
						   "subprotocol or header",
						   optarg);
			break;
		case O_DTMF:
			if (cli_schedule_add_dtmf(&o->sched, optarg, err,
						  sizeof err) < 0)
				return usage_error("%s", err);
			o->dtmf_given = true;
			break;
		case O_MUTE:
			if (cli_schedule_add_mute(&o->sched, optarg, err,
						  sizeof err) < 0)
				return usage_error("%s", err);
			o->mute_given = true;
			break;
		case O_HANGUP:
			if (cli_schedule_set_hangup(&o->sched, optarg, err,
						    sizeof err) < 0)
				return usage_error("%s", err);
			break;
		case O_PRE:
			if (cli_parse_uint(optarg, 0, 60000, &o->prebuffer_ms))
				return usage_error("--prebuffer-ms: '%s' is not "
						   "0 to 60000",
						   optarg);
			o->playout.prebuffer_given = true;
			break;
		case O_PLAYOUT:
			if (cli_playout_take(&o->playout, optarg) < 0)
				return usage_error(CLI_PLAYOUT_BAD, optarg);
			break;
		case O_TIMEOUT:
			if (cli_parse_connect_timeout(optarg,
						      &o->connect_timeout_ms))
				return usage_error(CLI_CONNECT_TIMEOUT_BAD,
						   optarg);
			break;
		case O_IN_DEV:
		case O_OUT_DEV:
			if (cli_parse_uint(optarg, 0, 4096, &dev))
				return usage_error("%s: not a device number "
						   "(see wvoice devices)",
						   argv[optind - 1]);
			*(c == O_IN_DEV ? &o->input_device
					: &o->output_device) = (int)dev;
			break;
		case 'h':
			fputs(usage, stdout);
			return 0;
		default:
			return usage_error("unknown or incomplete option '%s'",
					   argv[optind - 1]);
		}
	}
	if (optind < argc)
		return usage_error("unexpected argument '%s'", argv[optind]);
	if (o->quiet && o->verbose)
		return usage_error("%s", "--quiet and --verbose conflict");
	if (o->input && o->input_device != WV_DEVICE_DEFAULT)
		return usage_error("%s", "--input and --input-device conflict");
	if (o->output && o->output_device != WV_DEVICE_DEFAULT)
		return usage_error("%s", "--output and --output-device "
					 "conflict");
	if (o->script && check_script_options(o) < 0)
		return EXIT_USAGE;
	if (cli_playout_resolve(&o->playout) < 0)
		return usage_error("%s", CLI_PLAYOUT_CONFLICT);
	if (cli_resolve_service(&o->url, &o->key, o->key_file, o->agent,
				o->key_buf, sizeof o->key_buf, "wvoice call") < 0)
		return EXIT_USAGE;
	return -1;
}

/* ---- the call ---- */

/* A close 1000 without a stop is still the server hanging up. */
static bool closed_normally(const struct wv_client *c)
{
	const char *reason;

	return wv_client_end_reason(c) == WV_END_CLOSED &&
	       wv_client_close_code(c, &reason) == 1000;
}

static int exit_status(const struct wv_client *c)
{
	switch (wv_client_end_reason(c)) {
	case WV_END_HANGUP:
	case WV_END_REMOTE_STOP:
		return 0;
	case WV_END_CLOSED:
		return closed_normally(c) ? 0 : EXIT_FAILED;
	default:
		return wv_client_error(c) == WV_ERR_REFUSED ? EXIT_REFUSED
							     : EXIT_FAILED;
	}
}

/* Muted while the m key says so or a --mute window is open at call time
   t (ms after the confirmation). */
static void update_mute(struct run *r, struct wv_client *c, int64_t t)
{
	r->muted = r->key_muted || r->script_muted ||
		   cli_schedule_muted(&r->o->sched, t);
	wv_client_set_muted(c, r->muted);
}

/* Digits, mutes and the hang-up, at their times after the confirmation. */
static void follow_schedule(struct run *r, struct wv_client *c)
{
	int64_t t = wv_client_elapsed_ms(c);
	char digits[16];
	size_t n;

	if (wv_client_status(c) != WV_STATUS_CONNECTED)
		return;
	n = cli_schedule_due_dtmf(&r->o->sched, t, digits, sizeof digits);
	for (size_t i = 0; i < n; i++)
		wv_client_send_dtmf(c, digits[i]);
	update_mute(r, c, t);
	if (r->input && r->input_end_ms < 0 &&
	    cli_wav_source_ended(r->input))
		r->input_end_ms = t;
	if (cli_schedule_hangup_due(&r->o->sched, t) ||
	    (r->o->sched.hangup_ms == CLI_SCHEDULE_NEVER &&
	     r->input_end_ms >= 0 && t >= r->input_end_ms + TAIL_AFTER_INPUT_MS))
		wv_client_hangup(c);
}

/* A close from the server that is not a hang-up: no error was reported,
   so say here what ended the call. */
static void explain_close(const struct wv_client *c)
{
	const char *reason = NULL;
	int code = wv_client_close_code(c, &reason);
	char shown[4 * 124]; /* the server's words, escaped */

	wv_escape(shown, sizeof shown, reason ? reason : "",
		  reason ? strlen(reason) : 0);
	fprintf(stderr, "wvoice call: the server closed the call: %d%s%s\n",
		code, *shown ? " " : "", shown);
}

/* The event log's last line: how the call ended, and the playout's
   figures at the end. */
static void log_end(struct run *r, const struct wv_client *c)
{
	const char *reason = NULL;
	int code = wv_client_close_code(c, &reason);
	struct wv_playout_stats pst;

	if (!r->events)
		return;
	wv_client_playout_stats(c, &pst);
	cli_events_write_end(r->events,
			     r->opened_us ? cli_mono_us() - r->opened_us : 0,
			     wv_end_reason_name(wv_client_end_reason(c)), code,
			     reason, wv_client_closed_by(c),
			     cli_playout_json(r->o->playout.policy, &pst));
}

/* A "playout" line when the target has moved since the last one (the
   first says where it began), at most one a second: how the policy
   adapted over the call, without a line for every small step. */
static void log_playout(struct run *r, const struct wv_client *c)
{
	struct wv_playout_stats pst;
	int64_t now = cli_mono_us();

	if (!r->events || wv_client_status(c) != WV_STATUS_CONNECTED ||
	    r->stopped ||
	    (r->playout_logged_us && now - r->playout_logged_us < 1000000))
		return;
	wv_client_playout_stats(c, &pst);
	if (r->playout_logged_us && pst.target_ms == r->playout_logged_ms)
		return;
	r->playout_logged_us = now;
	r->playout_logged_ms = pst.target_ms;
	cli_events_write_own(r->events, r->opened_us ? now - r->opened_us : 0,
			     "playout",
			     json_pack("{s:I,s:I,s:I}", "playout_target_ms",
				       (json_int_t)pst.target_ms,
				       "playout_delay_ms",
				       (json_int_t)pst.delay_ms, "jitter_ms",
				       (json_int_t)pst.jitter_ms));
}

/* On standard output, unless the event log is there. */
static void summary(const struct opts *o, const struct wv_client *c,
		    int status)
{
	FILE *f = o->events && !strcmp(o->events, "-") ? stderr : stdout;

	if (!o->json_summary)
		cli_report_text(f, c, o->playout.policy);
	else if (cli_report_json(f, c, status, o->playout.policy) < 0)
		fputs("wvoice call: no memory for the summary\n", stderr);
}

/* ---- the caller's script ---- */

/* Loads --script, every problem on a line of its own. Returns 0, or the
   exit status having said why. */
static int load_script(struct run *r)
{
	char err[4096];
	int rc = cli_callscript_load(&r->script, r->o->script, err,
				     sizeof err);

	if (rc == 0)
		return 0;
	for (char *line = err, *nl; line && *line; line = nl) {
		nl = strchr(line, '\n');
		if (nl)
			*nl++ = '\0';
		fprintf(stderr, "wvoice call: %s\n", line);
	}
	return rc == WV_ERR_NOMEM ? EXIT_FAILED : EXIT_USAGE;
}

static const char *step_name(const struct run *r, size_t step)
{
	const char *name = cli_callscript_step_name(r->script, step);

	return name ? name : "end";
}

static void on_script_moment(void *user, enum cli_moment m, int64_t t_us,
			     size_t step)
{
	struct run *r = user;

	if (m == CLI_MOMENT_TIMEOUT && !r->o->quiet) {
		cli_term_clear(&r->term);
		fprintf(stderr,
			"wvoice call: %s: step %zu (%s) timed out after %lld "
			"ms; going on\n",
			r->o->script, step + 1, step_name(r, step),
			(long long)((t_us - r->srun.step_start_us) / 1000));
	} else if (m == CLI_MOMENT_DONE && r->o->verbose) {
		cli_term_clear(&r->term);
		fprintf(stderr, "wvoice call: %s: done\n", r->o->script);
	}
}

static void on_script_step(void *user, size_t step, int64_t t_us)
{
	struct run *r = user;

	(void)t_us;
	if (!r->o->verbose)
		return;
	cli_term_clear(&r->term);
	fprintf(stderr, "wvoice call: %s: step %zu: %s\n", r->o->script,
		step + 1, step_name(r, step));
}

/* The call is confirmed: the script's first step begins. */
static void start_script(struct run *r)
{
	const struct cli_callscript_hooks hooks = {
		.moment = on_script_moment,
		.step = on_script_step,
		.user = r,
	};

	if (!r->srun.started)
		cli_callscript_run_init(&r->srun, r->script, &hooks,
					r->heard_us);
}

/* What the script wants done, after each turn of the loop. */
static void follow_script(struct run *r, struct wv_client *c)
{
	enum cli_action a;
	char digit;

	if (!r->script || wv_client_status(c) != WV_STATUS_CONNECTED)
		return;
	while ((a = cli_callscript_next(&r->srun, r->heard_us, &digit)) !=
	       CLI_ACTION_NONE) {
		switch (a) {
		case CLI_ACTION_DTMF:
			wv_client_send_dtmf(c, digit);
			break;
		case CLI_ACTION_MUTE:
		case CLI_ACTION_UNMUTE:
			r->script_muted = a == CLI_ACTION_MUTE;
			update_mute(r, c, wv_client_elapsed_ms(c));
			break;
		case CLI_ACTION_HANGUP:
			wv_client_hangup(c);
			break;
		case CLI_ACTION_NONE:
			break;
		}
	}
}

/* A call that ended with the script under way says where it was: what
   the rest of it would have done did not happen. */
static void script_cut_short(const struct run *r)
{
	if (!r->script || r->o->quiet || cli_callscript_done(&r->srun))
		return;
	if (!r->srun.started)
		fprintf(stderr, "wvoice call: %s: the call ended before the "
				"script began\n",
			r->o->script);
	else
		fprintf(stderr, "wvoice call: %s: the call ended at step %zu "
				"(%s)\n",
			r->o->script, r->srun.step + 1,
			step_name(r, r->srun.step));
}

/* ---- the terminal: keys and a status line ---- */

/* The keys: m mutes, digits go as DTMF, q hangs up. */
static void take_keys(struct run *r, struct wv_client *c)
{
	int k;

	while ((k = cli_term_key(&r->term)) >= 0) {
		if (k == 'q' || k == 'Q') {
			wv_client_hangup(c);
		} else if (k == 'm' || k == 'M') {
			r->key_muted = !r->key_muted;
			update_mute(r, c, wv_client_elapsed_ms(c));
		} else if (wv_dtmf_valid((char)k)) {
			wv_client_send_dtmf(c, (char)k);
		}
	}
}

/* The status line, with a digit sent in the last DIGIT_SHOWN_US. */
static void draw_status(struct run *r, struct wv_client *c)
{
	struct wv_playout_stats pst;
	int64_t now = cli_mono_us();
	char mmss[16];

	wv_client_playout_stats(c, &pst);
	cli_format_mmss(mmss, sizeof mmss, wv_client_elapsed_ms(c));
	cli_term_draw(&r->term,
		      &(struct cli_status){
			      .state = wv_status_name(wv_client_status(c)),
			      .mmss = mmss,
			      .id = wv_client_communication_id(c),
			      .muted = r->muted,
			      .digit = now - r->digit_us < DIGIT_SHOWN_US
					       ? r->digit
					       : 0,
			      .in_db = cli_level_rms_db(&r->in_level),
			      .out_db = cli_level_rms_db(&r->out_level),
			      .underruns = pst.underruns,
			      .playout = true,
			      .delay_ms = pst.delay_ms,
		      },
		      now);
}

/* ---- media: files or devices ---- */

static int open_files(struct run *r, char *err, size_t errlen)
{
	const struct opts *o = r->o;

	if (o->input &&
	    cli_wav_source_open(&r->input, o->input, err, errlen) < 0)
		return -1;
	if (o->output &&
	    cli_wav_sink_open(&r->output, o->output, err, errlen) < 0)
		return -1;
	if (o->events &&
	    cli_events_open(&r->events, o->events, err, errlen) < 0)
		return -1;
	if (r->events)
		cli_events_set_max(r->events, o->events_max);
	return 0;
}

static int try_audio(struct run *r, struct wv_client *c, int in, int out,
		     char *err, size_t errlen)
{
	struct wv_audio_config cfg;
	struct wv_audio_info info;
	int saved, rc;

	wv_audio_config_default(&cfg);
	cfg.input_device = in;
	cfg.output_device = out;
	saved = cli_stderr_off();
	rc = wv_client_open_audio(c, &cfg, err, errlen);
	cli_stderr_on(saved);
	if (rc < 0)
		return rc;
	r->audio = wv_client_audio(c);
	wv_audio_get_info(r->audio, &info);
	r->audio_output = info.output_device >= 0;
	return 0;
}

/* The microphone and speaker, where no file stands in for them; if both
   cannot be had, either one. Without a device the call still runs:
   silence goes out, and what comes in is not heard. */
static void open_devices(struct run *r, struct wv_client *c)
{
	int in = r->o->input ? WV_DEVICE_NONE : r->o->input_device;
	int out = r->o->output ? WV_DEVICE_NONE : r->o->output_device;
	char err[256], ignored[256];

	/* A script speaks for the microphone and hears through the sink,
	   which a speaker would take the place of. */
	if (r->script || (in == WV_DEVICE_NONE && out == WV_DEVICE_NONE))
		return;
	if (try_audio(r, c, in, out, err, sizeof err) == 0)
		return;
	/* A machine without audio (a server, a container) is normal here:
	   with a file for either side nothing is said, else one line. A
	   device asked for by number is another matter. */
	if (in < 0 && out < 0 && !cli_audio_devices_exist()) {
		if (!r->o->quiet && !r->o->input && !r->o->output)
			fputs("wvoice call: no audio devices: silence goes out "
			      "and the agent is not heard\n",
			      stderr);
		return;
	}
	if (in != WV_DEVICE_NONE && out != WV_DEVICE_NONE &&
	    (try_audio(r, c, WV_DEVICE_NONE, out, ignored, sizeof ignored) ==
		     0 ||
	     try_audio(r, c, in, WV_DEVICE_NONE, ignored, sizeof ignored) ==
		     0)) {
		if (!r->o->quiet)
			fprintf(stderr, "wvoice call: %s; going on with one "
					"audio device\n",
				err);
		return;
	}
	if (!r->o->quiet)
		fprintf(stderr, "wvoice call: %s; going on without audio "
				"devices\n",
			err);
}

static int read_source(void *user, float *dst, size_t n)
{
	struct run *r = user;
	int ended = 0;

	if (r->script) {
		cli_callscript_speak(&r->srun, dst, n, r->spoken_us);
		r->spoken_us += (int64_t)n * SAMPLE_US;
	} else if (r->input)
		ended = cli_wav_source_read(r->input, dst, n);
	else if (r->audio)
		ended = wv_audio_source_read(r->audio, dst, n);
	else
		memset(dst, 0, n * sizeof *dst);
	cli_level_feed_float(&r->in_level, dst, n);
	return ended;
}

static void write_sink(void *user, const int16_t *pcm, size_t n)
{
	struct run *r = user;

	cli_level_feed_pcm(&r->out_level, pcm, n);
	if (r->script) {
		cli_callscript_heard(&r->srun, pcm, n, r->heard_us);
		r->heard_us += (int64_t)n * SAMPLE_US;
	}
	if (r->output)
		cli_wav_sink_write(r->output, pcm, n);
}

static void close_media(struct run *r)
{
	char err[256];

	cli_wav_source_close(r->input);
	if (r->output && cli_wav_sink_close(r->output, err, sizeof err) < 0)
		fprintf(stderr, "wvoice call: %s\n", err);
	if (r->events && cli_events_close(r->events, err, sizeof err) < 0)
		fprintf(stderr, "wvoice call: %s\n", err);
}

/* ---- the command ---- */

static int run_call(struct opts *o, struct run *r)
{
	struct wv_client_config cfg;
	struct wv_loop *loop = NULL;
	struct wv_client *c = NULL;
	int status = EXIT_FAILED, rc;

	wv_client_config_default(&cfg);
	cfg.url = o->url;
	cfg.api_key = o->key;
	cfg.auth = o->auth;
	cfg.agent_id = o->agent;
	cfg.from = o->from;
	cfg.metadata = o->metadata;
	cfg.synthetic = o->synthetic;
	cfg.prebuffer_ms = (unsigned)o->prebuffer_ms;
	cfg.playout_policy = o->playout.policy;
	cfg.ca_file = o->ca;
	cfg.insecure = o->insecure;
	cfg.connect_timeout_ms = (unsigned)o->connect_timeout_ms;
	cfg.source = (struct wv_source){
		r->input ? cli_wav_source_rate(r->input) : 8000, read_source, r
	};
	cfg.sink = (struct wv_sink){ write_sink, r };
	cfg.cb.event = on_event;
	cfg.cb.status = on_status;
	cfg.cb.error = on_error;
	cfg.user = r;
	if (wv_loop_create(&loop) < 0) {
		fprintf(stderr, "wvoice call: cannot make an event loop\n");
		goto out;
	}
	rc = wv_client_create(&c, loop, &cfg);
	if (rc < 0) {
		char why[256];

		/* The library's words name the flag's field. */
		wv_client_check_config(&cfg, why, sizeof why);
		fprintf(stderr, "wvoice call: %s\n", why[0] ? why : wv_strerror(rc));
		if (rc != WV_ERR_NOMEM)
			status = EXIT_USAGE;
		goto out;
	}
	open_devices(r, c);
	cli_level_init(&r->in_level, cfg.source.rate, 0);
	cli_level_init(&r->out_level, 8000, 0);
	/* A window open at 0 holds from the first frame. */
	update_mute(r, c, 0);
	if (o->verbose)
		fprintf(stderr, "wvoice call: calling %s\n", wv_client_url(c));
	wv_client_connect(c);
	cli_term_start(&r->term, o->quiet);
	while (wv_loop_run(loop, LOOP_SLICE_MS) > 0) {
		int sig = atomic_exchange(&interrupted, 0);

		/* A hang-up once the call is up; before that, no call was
		   made: the exit says so, as a shell's 128 + signal. */
		if (sig && wv_client_status(c) != WV_STATUS_CONNECTED &&
		    !r->cut_short)
			r->cut_short = sig;
		if (sig)
			wv_client_hangup(c);
		follow_schedule(r, c);
		follow_script(r, c);
		take_keys(r, c);
		say_repeats(r, false);
		draw_status(r, c);
		log_playout(r, c);
	}
	cli_term_stop(&r->term);
	say_repeats(r, true);
	script_cut_short(r);
	log_end(r, c);
	if (wv_client_error(c) && o->quiet)
		fprintf(stderr, "wvoice call: %s\n", wv_client_last_error(c));
	else if (wv_client_end_reason(c) == WV_END_CLOSED && !closed_normally(c))
		explain_close(c);
	status = r->cut_short ? 128 + r->cut_short : exit_status(c);
	summary(o, c, status);
out:
	if (r->audio) { /* the devices close with the call, ALSA's words
			   kept off stderr */
		int saved = cli_stderr_off();

		wv_client_destroy(c);
		cli_stderr_on(saved);
		r->audio = NULL;
	} else {
		wv_client_destroy(c);
	}
	wv_loop_destroy(loop);
	return status;
}

int cli_call(int argc, char **argv)
{
	struct opts o = { .input_device = WV_DEVICE_DEFAULT,
			  .output_device = WV_DEVICE_DEFAULT };
	struct run r = { .o = &o, .input_end_ms = -1 };
	struct sigaction sa = { .sa_handler = on_sigint };
	struct cli_local local = { 0 };
	char err[512] = "";
	int status;

	cli_schedule_init(&o.sched);
	status = parse(argc, argv, &o);
	if (status >= 0)
		goto out;
	/* Checked whole before anything starts. */
	if (o.script && (status = load_script(&r)) != 0)
		goto out;
	status = -1;
	if (!o.url) {
		if (cli_local_start(&local, err, sizeof err) < 0) {
			fprintf(stderr, "wvoice call: the local agent: %s\n",
				err);
			status = EXIT_FAILED;
			goto out;
		}
		o.url = cli_local_url(&local);
		o.key = cli_local_key(&local);
		if (!o.agent)
			o.agent = "demo";
	}
	if (open_files(&r, err, sizeof err) < 0) {
		fprintf(stderr, "wvoice call: %s\n", err);
		status = EXIT_FAILED;
		goto out;
	}
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	status = run_call(&o, &r);
out:
	close_media(&r);
	cli_local_stop(&local);
	cli_callscript_destroy(r.script);
	cli_schedule_cleanup(&o.sched);
	cli_forget(o.key_buf, sizeof o.key_buf);
	return status;
}
