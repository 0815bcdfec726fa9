/*
 * `wvoice load`: many synthetic calls from one process, each a caller
 * script on the embedded client API, measured on the audio itself. One
 * loop, no thread per call, no devices: the loop's media clock spreads
 * the calls over the 20 ms frame and sends each call's frame k at its
 * start + k x 20 ms; the agent's audio plays out into a counting sink at
 * real time. See loadcall.h for one call, loadreport.h for the figures.
 */
#include <errno.h>
#include <limits.h>
#include <getopt.h>
#include <malloc.h>
#include <math.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <wvoice/wvoice.h>

#include "callscript.h"
#include "cli.h"
#include "loadcall.h"
#include "loadreport.h"
#include "localproc.h"
#include "playoutopt.h"
#include "schedule.h"

#define EXIT_FAILED 1
#define EXIT_USAGE 2
#define KEY_FILE_MAX 4096
#define CALLS_MAX 1000000
#define SHARDS_MAX 100000
#define SLICE_MS 10
/* An ended call keeps its client this long for its close to complete. */
#define CLOSE_WAIT_US 2000000
/* Past the last call's planned end, the generator waits this long. */
#define OVERRUN_US 30000000
/* The playout cap of each call: an agent may send this far ahead (the
   client's default, 60 s, is 960 KB a call); and the pre-buffer's most. */
#define PLAYOUT_MAX_MS 2000
#define PREBUFFER_MAX_MS 1000
/* How often and how long apart the built-in server is asked at the end
   whether its calls are all down. */
#define HEALTH_TRIES 20
#define HEALTH_WAIT_US 100000
/* Descriptors kept beside one per call. */
#define FD_SPARE 64

static const char usage[] =
	"usage: wvoice load [options] --calls N\n"
	"       wvoice load merge FILE.json... [--report F] [--html F] "
	"[--csv F]\n"
	"\n"
	"Places N synthetic calls (synthetic=true) from this one process, each\n"
	"speaking a caller script, and measures what a caller hears: connect\n"
	"and start times, time to the agent's first audio, turn latency,\n"
	"barge-in, mark round trips, how late each outgoing frame left, the\n"
	"agent's inbound jitter and gaps, underruns. Without --url it starts\n"
	"the built-in server in a second process and calls its echo agent.\n"
	"\n"
	"  --url URL              the service: ws://HOST:PORT or wss://...\n"
	"                         (default: $WVOICE_URL)\n"
	"  --api-key KEY          the key (default: $WVOICE_API_KEY)\n"
	"  --api-key-file FILE    read the key from FILE's first line\n"
	"  --auth subprotocol|header  how the key is sent (subprotocol)\n"
	"  --agent ID             the agent to call (required with --url)\n"
	"  --calls N              calls to place in all\n"
	"  --rate CPS             new calls a second (20)\n"
	"  --ramp SEC             rise to that rate over SEC seconds (0)\n"
	"  --duration SEC         each call hangs up after SEC seconds (30),\n"
	"                         unless its script or the agent ends it first\n"
	"  --script FILE          the caller's script (see CALLER SCRIPTS in\n"
	"                         wvoice(1)); default: three turns of speech\n"
	"  --input FILE.wav       speak this file once instead\n"
	"  --impair SPEC          a bad network, both ways, seeded:\n"
	"                         delay=MS,jitter=MS,stall=MS@PERIOD_MS,seed=N\n"
	"  --shard I/N            run part I (0 to N-1) of N: calls, rate and\n"
	"                         ids split evenly (merge the reports after)\n"
	"  --report FILE.json     every figure, with its histogram\n"
	"  --csv FILE.csv         a row a second, periodic and cumulative\n"
	"  --html FILE.html       one page with plots, readable offline\n"
	"  --fail-if SPEC         exit 1 when a threshold is crossed:\n"
	"                         \"p99_turn_ms>1500,errors>0\"\n"
	"  --playout adaptive|fixed\n"
	"                         each call's playout policy, as wvoice call's\n"
	"                         (adaptive)\n"
	"  --prebuffer-ms N       the fixed policy's pre-buffer (300); given\n"
	"                         alone, it means --playout fixed\n"
	"  --connect-timeout SEC  give up connecting after SEC seconds (10)\n"
	"  --ca FILE | --insecure certificates for wss://, as wvoice call\n"
	"  --quiet                no progress line\n"
	"  -h, --help             this help\n"
	"\n"
	"Exit status: 0 every call completed and no --fail-if threshold was\n"
	"crossed, 1 calls failed or a threshold was crossed, 2 usage error.\n";

/* The caller when no script is given: three turns, each heard out. */
static const char default_script[] =
	"["
	"{\"say\": \"Hello, this is a test call.\"},"
	"{\"wait_agent_quiet\": 800, \"timeout_ms\": 8000},"
	"{\"say\": \"I would like to know the opening hours.\"},"
	"{\"wait_agent_quiet\": 800, \"timeout_ms\": 8000},"
	"{\"say\": \"Thank you, goodbye.\"},"
	"{\"wait_agent_quiet\": 800, \"timeout_ms\": 8000}"
	"]";

struct load_opts {
	const char *url, *key, *key_file, *agent, *script, *input, *ca;
	const char *report, *csv, *html, *fail_if_spec, *impair_spec;
	char key_buf[KEY_FILE_MAX + 1];
	enum wv_auth auth;
	bool insecure, quiet, impaired;
	unsigned long calls, prebuffer_ms;
	struct cli_playout playout;
	double rate, ramp_s;
	int64_t duration_ms, connect_timeout_ms;
	unsigned shard_i, shard_n;
	struct wv_impairment impair;
	struct cli_fail_if *fail_if;
};

static atomic_int interrupted;

static void on_signal(int sig)
{
	atomic_store(&interrupted, sig);
}

static int usage_error(const char *fmt, const char *arg)
{
	fputs("wvoice load: ", stderr);
	fprintf(stderr, fmt, arg);
	fputs("\nTry 'wvoice load --help'.\n", stderr);
	return EXIT_USAGE;
}

/* A decimal number of seconds or calls a second, in (0, max]. */
static int parse_positive(const char *s, double max, double *out)
{
	char *end;
	double v;

	if (!s || !*s || *s == '-' || *s == '+' || *s == ' ')
		return -1;
	errno = 0;
	v = strtod(s, &end);
	if (errno || *end || !isfinite(v) || v < 0 || v > max)
		return -1;
	*out = v;
	return 0;
}

static int parse_shard(const char *s, struct load_opts *o)
{
	unsigned long i, n;
	char *slash = strchr(s, '/');
	char head[32];

	if (!slash || (size_t)(slash - s) >= sizeof head)
		return -1;
	memcpy(head, s, (size_t)(slash - s));
	head[slash - s] = '\0';
	if (cli_parse_uint(head, 0, SHARDS_MAX - 1, &i) ||
	    cli_parse_uint(slash + 1, 1, SHARDS_MAX, &n) || i >= n)
		return -1;
	o->shard_i = (unsigned)i;
	o->shard_n = (unsigned)n;
	return 0;
}

/* delay=MS,jitter=MS,stall=MS@PERIOD,seed=N; says what is wrong in err. */
static int parse_impair(const char *spec, struct wv_impairment *im,
			char *err, size_t errlen)
{
	char buf[256], *item, *save = NULL;
	unsigned long v, p;

	memset(im, 0, sizeof *im);
	if (strlen(spec) >= sizeof buf || !*spec) {
		snprintf(err, errlen, "--impair: empty or too long");
		return -1;
	}
	strcpy(buf, spec);
	for (item = strtok_r(buf, ",", &save); item;
	     item = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(item, '='), *at;

		if (!eq)
			goto bad;
		*eq++ = '\0';
		if (!strcmp(item, "delay") && !cli_parse_uint(eq, 0, 60000, &v))
			im->delay_ms = (unsigned)v;
		else if (!strcmp(item, "jitter") &&
			 !cli_parse_uint(eq, 0, 60000, &v))
			im->jitter_ms = (unsigned)v;
		else if (!strcmp(item, "seed") &&
			 !cli_parse_uint(eq, 0, ULONG_MAX, &v))
			im->seed = v;
		else if (!strcmp(item, "stall") && (at = strchr(eq, '@'))) {
			*at++ = '\0';
			if (cli_parse_uint(eq, 1, 60000, &v) ||
			    cli_parse_uint(at, 2, 60000, &p) || v >= p) {
				snprintf(err, errlen,
					 "--impair: stall=MS@PERIOD wants "
					 "1 <= MS < PERIOD <= 60000");
				return -1;
			}
			im->stall_ms = (unsigned)v;
			im->stall_period_ms = (unsigned)p;
		} else {
			eq[-1] = '=';
			goto bad;
		}
	}
	return 0;
bad:
	snprintf(err, errlen,
		 "--impair: '%.40s' is not delay=MS, jitter=MS, "
		 "stall=MS@PERIOD or seed=N (MS from 0 to 60000)",
		 item);
	return -1;
}

/* Returns -1 to go on, else the exit status. */
static int parse(int argc, char **argv, struct load_opts *o)
{
	enum { O_URL = 256, O_KEY, O_KEY_FILE, O_AUTH, O_AGENT, O_CALLS,
	       O_RATE, O_RAMP, O_DURATION, O_SCRIPT, O_INPUT, O_IMPAIR,
	       O_SHARD, O_REPORT, O_CSV, O_HTML, O_FAIL_IF, O_PRE,
	       O_TIMEOUT, O_CA, O_INSECURE, O_QUIET, O_PLAYOUT };
	static const struct option opts[] = {
		{ "url", required_argument, NULL, O_URL },
		{ "api-key", required_argument, NULL, O_KEY },
		{ "api-key-file", required_argument, NULL, O_KEY_FILE },
		{ "auth", required_argument, NULL, O_AUTH },
		{ "agent", required_argument, NULL, O_AGENT },
		{ "calls", required_argument, NULL, O_CALLS },
		{ "rate", required_argument, NULL, O_RATE },
		{ "ramp", required_argument, NULL, O_RAMP },
		{ "duration", required_argument, NULL, O_DURATION },
		{ "script", required_argument, NULL, O_SCRIPT },
		{ "input", required_argument, NULL, O_INPUT },
		{ "impair", required_argument, NULL, O_IMPAIR },
		{ "shard", required_argument, NULL, O_SHARD },
		{ "report", required_argument, NULL, O_REPORT },
		{ "csv", required_argument, NULL, O_CSV },
		{ "html", required_argument, NULL, O_HTML },
		{ "fail-if", required_argument, NULL, O_FAIL_IF },
		{ "prebuffer-ms", required_argument, NULL, O_PRE },
		{ "playout", required_argument, NULL, O_PLAYOUT },
		{ "connect-timeout", required_argument, NULL, O_TIMEOUT },
		{ "ca", required_argument, NULL, O_CA },
		{ "insecure", no_argument, NULL, O_INSECURE },
		{ "quiet", no_argument, NULL, O_QUIET },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	char err[256];
	double secs;
	int c;

	o->rate = 20;
	o->duration_ms = 30000;
	o->prebuffer_ms = 300;
	o->playout.policy = CLI_PLAYOUT_DEFAULT;
	o->connect_timeout_ms = 10000;
	o->shard_n = 1;
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case O_URL: o->url = optarg; break;
		case O_KEY: o->key = optarg; break;
		case O_KEY_FILE: o->key_file = optarg; break;
		case O_AGENT: o->agent = optarg; break;
		case O_SCRIPT: o->script = optarg; break;
		case O_INPUT: o->input = optarg; break;
		case O_REPORT: o->report = optarg; break;
		case O_CSV: o->csv = optarg; break;
		case O_HTML: o->html = optarg; break;
		case O_CA: o->ca = optarg; break;
		case O_INSECURE: o->insecure = true; break;
		case O_QUIET: o->quiet = true; break;
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
		case O_CALLS:
			if (cli_parse_uint(optarg, 1, CALLS_MAX, &o->calls))
				return usage_error("--calls: '%s' is not 1 to "
						   "1000000",
						   optarg);
			break;
		case O_RATE:
			if (parse_positive(optarg, 100000, &o->rate) ||
			    o->rate <= 0)
				return usage_error("--rate: '%s' is not a "
						   "number of calls a second "
						   "over 0",
						   optarg);
			break;
		case O_RAMP:
			if (parse_positive(optarg, 86400, &o->ramp_s))
				return usage_error("--ramp: '%s' is not 0 to "
						   "86400 seconds",
						   optarg);
			break;
		case O_DURATION:
			if (parse_positive(optarg, 86400, &secs) || secs <= 0)
				return usage_error("--duration: '%s' is not "
						   "over 0 and up to 86400 "
						   "seconds",
						   optarg);
			o->duration_ms = (int64_t)(secs * 1000 + 0.5);
			break;
		case O_IMPAIR:
			if (parse_impair(optarg, &o->impair, err, sizeof err))
				return usage_error("%s", err);
			o->impair_spec = optarg;
			o->impaired = true;
			break;
		case O_SHARD:
			if (parse_shard(optarg, o))
				return usage_error("--shard: '%s' is not I/N "
						   "with 0 <= I < N",
						   optarg);
			break;
		case O_FAIL_IF:
			cli_fail_if_destroy(o->fail_if);
			o->fail_if = NULL;
			if (cli_fail_if_parse(&o->fail_if, optarg, err,
					      sizeof err) < 0)
				return usage_error("--fail-if: %s", err);
			o->fail_if_spec = optarg;
			break;
		case O_PRE:
			if (cli_parse_uint(optarg, 0, PREBUFFER_MAX_MS,
					   &o->prebuffer_ms))
				return usage_error("--prebuffer-ms: '%s' is not "
						   "0 to 1000",
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
	if (!o->calls)
		return usage_error("%s", "--calls N is required");
	if (o->script && o->input)
		return usage_error("%s", "--script and --input conflict");
	if (cli_playout_resolve(&o->playout) < 0)
		return usage_error("%s", CLI_PLAYOUT_CONFLICT);
	if (cli_resolve_service(&o->url, &o->key, o->key_file, o->agent,
				o->key_buf, sizeof o->key_buf, "wvoice load") < 0)
		return EXIT_USAGE;
	return -1;
}

/* ---- the plan: which calls this shard makes, and when ---- */

/* When global call g starts, in seconds from the run's start: the rate
   rises linearly over the ramp, so C(t) = rate t^2 / (2 ramp) calls have
   started by t inside it, and rate per second after. */
static double start_time(const struct load_opts *o, uint64_t g)
{
	double in_ramp = o->rate * o->ramp_s / 2;

	if (o->ramp_s > 0 && (double)g < in_ramp)
		return sqrt(2.0 * (double)g * o->ramp_s / o->rate);
	return o->ramp_s + ((double)g - (o->ramp_s > 0 ? in_ramp : 0)) /
				   o->rate;
}

/* This shard's k-th call is global call shard_i + k * shard_n. */
static uint64_t shard_calls(const struct load_opts *o)
{
	return o->calls > o->shard_i
		       ? (o->calls - o->shard_i + o->shard_n - 1) / o->shard_n
		       : 0;
}

/* ---- the run ---- */

struct load {
	struct load_opts *o;
	struct cli_load_report rep;
	struct cli_load_run run;
	struct cli_callscript *script;
	struct wv_loop *loop;
	struct cli_load_call_state *calls; /* this shard's, in order */
	uint64_t n, made, finished;
	int64_t t0_us, t0_unix_ms;
	int64_t next_row_us, row_unix_ms; /* the next row's end */
	char metadata[96];
	size_t heap_base; /* before the calls, for bytes_per_call */
	bool on_tty, stopping;
};

static int64_t unix_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Every call is a socket: raise the limit as far as allowed. */
static void raise_fd_limit(uint64_t calls, bool quiet)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (!quiet && rl.rlim_cur != RLIM_INFINITY &&
	    rl.rlim_cur < calls + FD_SPARE)
		fprintf(stderr, "wvoice load: only %llu open files allowed "
				"(ulimit -n); %llu calls need more\n",
			(unsigned long long)rl.rlim_cur,
			(unsigned long long)calls);
}

static size_t heap_in_use(void)
{
	struct mallinfo2 mi = mallinfo2();

	return mi.uordblks + mi.hblkhd;
}

static void make_call(struct load *L, uint64_t k)
{
	struct load_opts *o = L->o;
	struct cli_load_call_state *lc = &L->calls[k];
	uint64_t id = o->shard_i + k * o->shard_n;
	struct wv_client_config cfg;
	char err[256];

	wv_client_config_default(&cfg);
	cfg.url = o->url;
	cfg.api_key = o->key;
	cfg.auth = o->auth;
	cfg.agent_id = o->agent;
	cfg.from = "wvoice-load";
	snprintf(L->metadata, sizeof L->metadata,
		 "{\"load_call\": %llu, \"shard\": %u}",
		 (unsigned long long)id, o->shard_i);
	cfg.metadata = L->metadata;
	cfg.synthetic = true;
	cfg.prebuffer_ms = (unsigned)o->prebuffer_ms;
	cfg.playout_policy = o->playout.policy;
	cfg.playout_max_ms = PLAYOUT_MAX_MS;
	cfg.ca_file = o->ca;
	cfg.insecure = o->insecure;
	cfg.connect_timeout_ms = (unsigned)o->connect_timeout_ms;
	cfg.impair = o->impaired ? &o->impair : NULL;
	err[0] = '\0';
	L->rep.counts.calls_started++;
	if (cli_load_call_make(lc, &L->run, L->loop, &cfg, id, err,
			       sizeof err) == 0 &&
	    wv_client_connect(lc->c) == 0)
		return;
	/* The settings were checked before the run: what is left is
	   memory. The call counts as failed, under its reason. */
	wv_client_destroy(lc->c);
	lc->c = NULL;
	snprintf(lc->sum.error, sizeof lc->sum.error, "%.*s",
		 (int)sizeof lc->sum.error - 1,
		 err[0] ? err : "cannot make the call: out of memory");
	lc->sum.end = "none";
	L->rep.counts.calls_failed++;
	cli_load_tally_add(&L->rep.errors, &L->rep.n_errors,
			   "cannot make the call", 1);
	cli_load_report_add_call(&L->rep, &lc->sum);
}

/* Calls whose time has come, and ended calls given time to close. */
static void housekeep(struct load *L, int64_t now)
{
	double t = (double)(now - L->t0_us) / 1e6;

	while (!L->stopping && L->made < L->n &&
	       start_time(L->o, L->o->shard_i + L->made * L->o->shard_n) <= t)
		make_call(L, L->made++);
	for (uint64_t k = L->finished; k < L->made; k++) {
		struct cli_load_call_state *lc = &L->calls[k];
		struct wv_client_timing tm;
		const char *reason;

		if (!lc->c || !lc->ended)
			continue;
		/* Its close code is known, or never will be. */
		wv_client_timing(lc->c, &tm);
		if (wv_client_close_code(lc->c, &reason) || !tm.open ||
		    now - lc->ended_us > CLOSE_WAIT_US)
			cli_load_call_finish(lc);
	}
	while (L->finished < L->made && !L->calls[L->finished].c)
		L->finished++;
}

/* The interval's histogram goes into its row, a new one takes its place;
   an empty one stays (9 KB a row saved: the row says NULL). */
static int take_histo(struct cli_histo **now, struct cli_histo **row)
{
	struct cli_histo *next;

	*row = NULL;
	if (!(*now)->count)
		return 0;
	next = malloc(sizeof *next);
	if (!next)
		return -1;
	cli_histo_init(next);
	*row = *now;
	*now = next;
	return 0;
}

/* The interval's row, and the memory figure at the peak of calls. Rows
   end on whole seconds of the wall clock (but for the last), so that the
   rows of shards started at different moments line up in a merge. */
static void take_row(struct load *L, int64_t now, bool last)
{
	struct cli_load_row row = {
		.unix_ms = last ? L->t0_unix_ms + (now - L->t0_us) / 1000
				: L->row_unix_ms,
		.t_s = (double)(now - L->t0_us) / 1e6,
		.calls_up = L->run.up,
		.connecting = L->run.connecting,
		.started = L->rep.counts.calls_started,
		.failed = L->rep.counts.calls_failed,
		.completed = L->rep.counts.calls_completed,
		.frames_sent = L->run.frames_now,
		.concealed_ms = L->run.concealed_now,
	};
	struct rusage ru;

	if (L->run.up && L->run.up >= L->rep.counts.calls_peak) {
		size_t heap = heap_in_use();

		L->rep.bytes_per_call =
			heap > L->heap_base ? (heap - L->heap_base) / L->run.up
					    : 0;
	}
	if (getrusage(RUSAGE_SELF, &ru) == 0)
		L->rep.peak_rss_kib = (uint64_t)ru.ru_maxrss;
	if (take_histo(&L->run.late_now, &row.lateness) < 0 ||
	    take_histo(&L->run.turn_now, &row.turn) < 0 ||
	    take_histo(&L->run.delay_now, &row.playout_delay) < 0 ||
	    cli_load_report_add_row(&L->rep, &row) < 0) {
		fputs("wvoice load: out of memory\n", stderr);
		exit(EXIT_FAILED);
	}
	L->run.frames_now = 0;
	L->run.concealed_now = 0;
	L->row_unix_ms += CLI_LOAD_PERIOD_S * 1000;
	L->next_row_us += CLI_LOAD_PERIOD_S * 1000000;
}

/* The live line on a terminal: calls, frames, lateness, turn latency. */
static void progress(struct load *L, const struct cli_load_row *row)
{
	if (!L->on_tty)
		return;
	fprintf(stderr,
		"\r\033[K%5.0fs  up %u  connecting %u  failed %llu  "
		"%llu frames/s  late p99 %.1f ms  turn p50 %.0f ms",
		row->t_s, row->calls_up, row->connecting,
		(unsigned long long)row->failed,
		(unsigned long long)row->frames_sent,
		row->lateness ? (double)cli_histo_quantile(row->lateness,
							   0.99) / 1e3
			      : 0.0,
		(double)cli_histo_quantile(&L->rep.metrics[CLI_M_TURN], 0.5) /
			1e3);
	fflush(stderr);
}

static void hang_up_all(struct load *L)
{
	L->stopping = true;
	for (uint64_t k = L->finished; k < L->made; k++)
		if (L->calls[k].c && !L->calls[k].ended)
			wv_client_hangup(L->calls[k].c);
}

static void sleep_us(int64_t us)
{
	struct timespec ts = { us / 1000000, (us % 1000000) * 1000 };

	if (us > 0)
		nanosleep(&ts, NULL);
}

static void run_calls(struct load *L)
{
	double last = L->n ? start_time(L->o, L->o->shard_i +
						       (L->n - 1) * L->o->shard_n)
			   : 0;
	int64_t give_up = L->t0_us + (int64_t)(last * 1e6) +
			  L->o->duration_ms * 1000 + OVERRUN_US;

	L->row_unix_ms = (L->t0_unix_ms / 1000 + 1) * 1000;
	L->next_row_us = L->t0_us + (L->row_unix_ms - L->t0_unix_ms) * 1000;
	while (L->finished < L->n) {
		int64_t now;
		int going = wv_loop_run(L->loop, SLICE_MS);

		now = wv_now_us();
		if (going <= 0 && L->made < L->n) /* idle until the next start */
			sleep_us(SLICE_MS * 1000);
		if (atomic_exchange(&interrupted, 0) || now > give_up) {
			if (!L->stopping && !L->o->quiet)
				fprintf(stderr, "%swvoice load: %s; hanging up "
						"every call\n",
					L->on_tty ? "\n" : "",
					now > give_up ? "calls overran their "
							"time"
						      : "interrupted");
			hang_up_all(L);
			if (L->made < L->n) /* those never made are not run */
				L->n = L->made;
		}
		housekeep(L, now);
		if (now >= L->next_row_us) {
			take_row(L, now, false);
			progress(L, &L->rep.rows[L->rep.n_rows - 1]);
		}
	}
	take_row(L, wv_now_us(), true);
	if (L->on_tty)
		fputs("\n", stderr);
}

static int load_script(struct load *L, char *err, size_t errlen)
{
	const struct load_opts *o = L->o;

	if (o->script)
		return cli_callscript_load(&L->script, o->script, err, errlen);
	if (o->input)
		return cli_callscript_from_wav(&L->script, o->input, err,
					       errlen);
	return cli_callscript_parse(&L->script, "the default script",
				    default_script, sizeof default_script - 1,
				    NULL, err, errlen);
}

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

/* What was run, in the report. */
static void describe(struct load *L)
{
	const struct load_opts *o = L->o;
	struct cli_load_report *r = &L->rep;

	r->version = strdup(wv_version());
	r->url = dup_or_null(o->url);
	r->agent = dup_or_null(o->agent);
	r->script = dup_or_null(o->script ? o->script : o->input);
	r->impair = dup_or_null(o->impair_spec);
	r->playout = strdup(cli_playout_name(o->playout.policy));
	r->prebuffer_ms = o->playout.policy == WV_PLAYOUT_FIXED
				  ? (long)o->prebuffer_ms
				  : -1;
	r->calls = o->calls;
	r->rate_cps = o->rate;
	r->ramp_s = o->ramp_s;
	r->duration_s = (double)o->duration_ms / 1e3;
	r->shard_index = o->shard_i;
	r->shard_count = o->shard_n;
	r->shards_merged = 1;
	r->counts.calls_planned = L->n;
}

static int by_id(const void *a, const void *b)
{
	const struct cli_load_call *x = a, *y = b;

	return (x->id > y->id) - (x->id < y->id);
}

/* What the built-in server says of itself: its /healthz at the end, and
   the line it ends with (its frames, how late, its worst send delay). */
static void server_report(struct load *L, struct cli_serve_child *child)
{
	char summary[512];
	json_t *o = NULL;

	/* Our calls have ended; the server may take a moment to see the
	   last of them go. */
	for (int i = 0; i < HEALTH_TRIES; i++) {
		char *health = cli_serve_child_health(child);

		json_decref(o);
		o = health ? json_loads(health, 0, NULL) : NULL;
		free(health);
		if (!o || json_integer_value(json_object_get(o, "calls_up")) == 0)
			break;
		sleep_us(HEALTH_WAIT_US);
	}
	cli_serve_child_stop(child, summary, sizeof summary);
	if (!o)
		return;
	if (!json_is_object(o) ||
	    (summary[0] &&
	     json_object_set_new(o, "summary", json_string(summary)) < 0)) {
		json_decref(o);
		return;
	}
	L->rep.server_json = json_dumps(o, JSON_COMPACT);
	json_decref(o);
}

static int write_outputs(struct load *L)
{
	const struct load_opts *o = L->o;
	char err[512], where[4096];
	int status = 0;

	if (o->report &&
	    cli_load_report_write_json(&L->rep, o->report, err, sizeof err) < 0) {
		fprintf(stderr, "wvoice load: %s\n", err);
		status = EXIT_FAILED;
	}
	if (o->csv &&
	    cli_load_report_write_csv(&L->rep, o->csv, err, sizeof err) < 0) {
		fprintf(stderr, "wvoice load: %s\n", err);
		status = EXIT_FAILED;
	}
	if (o->html) {
		const char *chart = cli_load_chart_path(where, sizeof where);

		if (!chart) {
			fprintf(stderr, "wvoice load: --html: the charting "
					"library is not installed (make deps "
					"fetches it)\n");
			status = EXIT_FAILED;
		} else if (cli_load_report_write_html(&L->rep, o->html, chart,
						      err, sizeof err) < 0) {
			fprintf(stderr, "wvoice load: %s\n", err);
			status = EXIT_FAILED;
		}
	}
	return status;
}

static int run_load(struct load_opts *o)
{
	struct load L = { .o = o };
	struct cli_serve_child child = { .out = -1 };
	char err[4096];
	int status = EXIT_FAILED;

	cli_load_report_init(&L.rep);
	L.n = shard_calls(o);
	if (load_script(&L, err, sizeof err) < 0) {
		fprintf(stderr, "%s\n", err);
		status = EXIT_USAGE;
		goto out;
	}
	raise_fd_limit(L.n, o->quiet);
	if (!o->url) {
		if (cli_serve_child_start(&child, (unsigned)L.n + 16, err,
					  sizeof err) < 0) {
			fprintf(stderr, "wvoice load: %s\n", err);
			goto out;
		}
		o->url = child.url;
		o->key = child.key;
		if (!o->agent)
			o->agent = "echo";
	}
	describe(&L);
	L.calls = calloc(L.n ? L.n : 1, sizeof *L.calls);
	L.run.late_now = calloc(1, sizeof *L.run.late_now);
	L.run.turn_now = calloc(1, sizeof *L.run.turn_now);
	L.run.delay_now = calloc(1, sizeof *L.run.delay_now);
	if (!L.calls || !L.run.late_now || !L.run.turn_now ||
	    !L.run.delay_now ||
	    wv_loop_create(&L.loop) < 0) {
		fputs("wvoice load: out of memory\n", stderr);
		goto out;
	}
	cli_histo_init(L.run.late_now);
	cli_histo_init(L.run.turn_now);
	cli_histo_init(L.run.delay_now);
	L.run.script = L.script;
	L.run.duration_us = o->duration_ms * 1000;
	L.run.rep = &L.rep;
	L.on_tty = !o->quiet && isatty(STDERR_FILENO);
	L.heap_base = heap_in_use();
	L.t0_us = wv_now_us();
	L.t0_unix_ms = unix_ms();
	L.rep.started_unix_ms = L.t0_unix_ms;
	run_calls(&L);
	L.rep.wall_s = (double)(wv_now_us() - L.t0_us) / 1e6;
	/* Calls are listed as they ended; the report lists them by id. */
	qsort(L.rep.per_call, L.rep.n_calls, sizeof *L.rep.per_call, by_id);
	server_report(&L, &child);
	cli_load_report_table(stdout, &L.rep);
	fflush(stdout);
	status = L.rep.counts.calls_failed ||
				 L.rep.counts.calls_completed < L.n
			 ? EXIT_FAILED
			 : 0;
	if (o->fail_if && cli_fail_if_check(o->fail_if, &L.rep, stderr))
		status = EXIT_FAILED;
	if (write_outputs(&L))
		status = EXIT_FAILED;
out:
	if (L.calls)
		for (uint64_t k = 0; k < L.made; k++)
			if (L.calls[k].c)
				wv_client_destroy(L.calls[k].c);
	wv_loop_destroy(L.loop);
	cli_serve_child_stop(&child, NULL, 0);
	free(L.calls);
	free(L.run.late_now);
	free(L.run.turn_now);
	free(L.run.delay_now);
	cli_callscript_destroy(L.script);
	cli_load_report_cleanup(&L.rep);
	return status;
}

int cli_load(int argc, char **argv)
{
	struct load_opts o = { .auth = WV_AUTH_SUBPROTOCOL };
	struct sigaction sa = { .sa_handler = on_signal };
	int status;

	if (argc >= 2 && !strcmp(argv[1], "merge"))
		return cli_load_merge(argc - 1, argv + 1);
	status = parse(argc, argv, &o);
	if (status < 0) {
		sigemptyset(&sa.sa_mask);
		sigaction(SIGINT, &sa, NULL);
		sigaction(SIGTERM, &sa, NULL);
		signal(SIGPIPE, SIG_IGN);
		status = run_load(&o);
	}
	cli_fail_if_destroy(o.fail_if);
	cli_forget(o.key_buf, sizeof o.key_buf);
	return status;
}
