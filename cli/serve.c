/* `wvoice serve`: the local agent server, from the command line. */
#define _XOPEN_SOURCE 700 /* realpath() */
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <wvoice/wvoice.h>

#include "cli.h"
#include "server.h"

static const char usage[] =
	"usage: wvoice serve [options]\n"
	"\n"
	"A local stand-in for the voice agent service: it speaks the server\n"
	"side of the call protocol, with built-in and scripted agents.\n"
	"\n"
	"  --listen HOST:PORT    address to listen on (127.0.0.1:8765)\n"
	"  --port N              port only; 0 picks a free one\n"
	"  --api-key KEY         accept this key (repeatable; default: the\n"
	"                        comma-separated WVOICE_API_KEYS, or a random\n"
	"                        key printed at start)\n"
	"  --tls-cert FILE       serve wss:// with this certificate (PEM)...\n"
	"  --tls-key FILE        ...and this private key (PEM)\n"
	"  --script NAME=FILE    a scripted agent, called as agent_id NAME\n"
	"                        (repeatable; see wvoice(1) for the format)\n"
	"  --record DIR          write DIR/<id>.wav and DIR/<id>.jsonl per call\n"
	"  --max-calls N         refuse calls past N at once with 503 (1000)\n"
	"  --idle-timeout SEC    after start, close a call with 1008 when its\n"
	"                        client sends no audio, or answers no ping,\n"
	"                        for SEC seconds (10; pings every SEC/2)\n"
	"  --allow-origin ORIGIN browser origin allowed to call (repeatable;\n"
	"                        '*' for any; default: this server's own)\n"
	"  --web DIR             serve the browser client from DIR at /\n"
	"                        (repeatable: the first DIR with the file\n"
	"                        wins; default: the installed client,\n"
	"                        PREFIX/share/wvoice/web, or from the build\n"
	"                        tree web/ and build-wasm/web/)\n"
	"  --voice NAME          espeak-ng voice for the agents (en-us)\n"
	"  --verbose             log every event but audio\n"
	"  --quiet               log only refusals and problems\n"
	"  -h, --help            this help\n"
	"\n"
	"agents (agent_id):\n"
	"  demo    greets, says back what you say (barge-in stops it), names\n"
	"          each digit, says goodbye and hangs up on #\n"
	"  echo    plays back each caller utterance, then a mark\n"
	"  silent  confirms the call and says nothing; logs what you do\n"
	"\n"
	"It prints 'listening on ws://HOST:PORT' once ready, then where to\n"
	"open the browser client: 'open http://HOST:PORT/#key=KEY' with a\n"
	"generated key (the key after # never reaches the server), else\n"
	"'open http://HOST:PORT/'. Plain HTTP on the same port serves the\n"
	"web folder's files (GET and HEAD; no listing, no path out of it),\n"
	"and GET /healthz answers with the calls up, the calls since start\n"
	"and the refusals, as JSON (no key needed). SIGINT or SIGTERM end\n"
	"every call with stop, flush the recordings and exit 0.\n";

/* Growable list of strings from repeated options. */
struct strings {
	const char **v;
	size_t n;
};

static int strings_add(struct strings *l, const char *s)
{
	const char **v = realloc(l->v, (l->n + 1) * sizeof *v);

	if (!v)
		return -1;
	v[l->n++] = s;
	l->v = v;
	return 0;
}

static int parse_listen(const char *arg, struct wvs_server_config *cfg,
			char *host, size_t hostcap)
{
	const char *colon = strrchr(arg, ':');
	unsigned long port;
	size_t n;

	if (!colon || cli_parse_uint(colon + 1, 0, 65535, &port))
		return -1;
	n = (size_t)(colon - arg);
	if (n >= 2 && arg[0] == '[' && arg[n - 1] == ']')
		arg++, n -= 2;
	if (n == 0 || n >= hostcap)
		return -1;
	memcpy(host, arg, n);
	host[n] = '\0';
	if (!strcmp(host, "localhost"))
		strcpy(host, "127.0.0.1");
	cfg->host = host;
	cfg->port = (int)port;
	return 0;
}

static int parse_script(const char *arg, struct wvs_script_arg **v, size_t *n)
{
	const char *eq = strchr(arg, '=');
	struct wvs_script_arg *nv;
	char *name;

	if (!eq || eq == arg || !eq[1])
		return -1;
	nv = realloc(*v, (*n + 1) * sizeof *nv);
	if (!nv)
		return -1;
	*v = nv;
	name = strndup(arg, (size_t)(eq - arg));
	if (!name)
		return -1;
	nv[*n].name = name;
	nv[*n].path = eq + 1;
	++*n;
	return 0;
}

/* WVOICE_API_KEYS: comma-separated keys, empty entries skipped. */
static char *env_keys(struct strings *keys)
{
	const char *env = getenv("WVOICE_API_KEYS");
	char *copy, *save = NULL;

	if (!env || !*env || !(copy = strdup(env)))
		return NULL;
	for (char *k = strtok_r(copy, ",", &save); k;
	     k = strtok_r(NULL, ",", &save))
		strings_add(keys, k);
	return copy;
}

#ifndef WV_WEB_INSTALL_REL
#define WV_WEB_INSTALL_REL "../share/wvoice/web"
#endif

/*
 * The browser client's folders when no --web is given, into dirs; the
 * installed one is written into installed. A wvoice in the directory it
 * was built in (CMake's, WV_WEB_BUILD_DIR) serves the source tree's web/
 * and the WebAssembly build's output beside it, so an edit shows on a
 * reload without an install; any other serves the folder installed beside
 * it (bin/../share/wvoice/web, as `make install` lays it out, wherever the
 * prefix has moved since). The build tree is known by where the program
 * is, not by which folders exist: a stale install must not shadow the
 * source tree, nor a source tree the install.
 */
static void default_web_dirs(struct strings *dirs, char *installed,
			     size_t cap)
{
	char exe[PATH_MAX], *slash;
	const char *rel = WV_WEB_INSTALL_REL;
	ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);

	exe[n > 0 ? n : 0] = '\0';
	slash = strrchr(exe, '/');
	if (slash)
		*slash = '\0';
#ifdef WV_WEB_BUILD_DIR
	char *build = realpath(WV_WEB_BUILD_DIR, NULL);
	int in_build = build && strcmp(build, exe) == 0;

	free(build);
	if (in_build) {
		strings_add(dirs, WV_WEB_SOURCE_DIR);
		strings_add(dirs, WV_WEB_WASM_DIR);
		return;
	}
#endif
	/* bin/../share/... said as PREFIX/share/... in the log. */
	while (strncmp(rel, "../", 3) == 0 && (slash = strrchr(exe, '/')) &&
	       slash != exe) {
		*slash = '\0';
		rel += 3;
	}
	n = snprintf(installed, cap, "%s/%s", exe, rel);
	if (n > 0 && (size_t)n < cap)
		strings_add(dirs, installed);
}

static int usage_error(const char *fmt, const char *arg)
{
	fputs("wvoice serve: ", stderr);
	fprintf(stderr, fmt, arg);
	fputs("\nTry 'wvoice serve --help'.\n", stderr);
	return 2;
}

/* Each line of what went wrong (a script's problems are a line each). */
static void say_lines(const char *text)
{
	const char *nl;

	while ((nl = strchr(text, '\n'))) {
		fprintf(stderr, "wvoice serve: %.*s\n", (int)(nl - text), text);
		text = nl + 1;
	}
	fprintf(stderr, "wvoice serve: %s\n", text);
}

static int serve(const struct wvs_server_config *cfg)
{
	/* Room for WVS_SCRIPT_PROBLEMS_MAX problems with long paths. */
	static char err[32768];
	struct wvs_server *running;
	struct wvs_server_stats st;
	const char *key, *page;
	int rc;

	/* lws's errors in the server's own log, with its time stamps. */
	wv_log_lws(WV_LOG_ERR, wvs_log_lws_line, NULL);
	rc = wvs_server_create(&running, cfg, err, sizeof err);
	if (rc < 0) {
		say_lines(err);
		return 1;
	}
	/* libev catches these and stops the loop from its own thread. */
	wvs_server_stop_on_signal(running, SIGINT);
	wvs_server_stop_on_signal(running, SIGTERM);
	signal(SIGPIPE, SIG_IGN);
	key = wvs_server_generated_key(running);
	page = wvs_server_page_url(running);
	if (key)
		printf("api key: %s\n", key);
	printf("listening on %s\n", wvs_server_url(running));
	/* A configured key is its owner's secret, never printed; a generated
	   one goes in the fragment, which the browser keeps to itself. */
	if (page && key)
		printf("open %s#key=%s\n", page, key);
	else if (page)
		printf("open %s\n", page);
	fflush(stdout);

	rc = wvs_server_run(running);
	wvs_server_get_stats(running, &st);
	fprintf(stderr,
		"wvoice serve: %llu calls, %llu refused; agent frames %llu, "
		"late %llu, worst send delay %.1f ms\n",
		(unsigned long long)st.calls, (unsigned long long)st.refused,
		(unsigned long long)st.frames_out,
		(unsigned long long)st.late_frames,
		(double)st.max_send_delay_us / 1000.0);
	wvs_server_destroy(running);
	return rc < 0 ? 1 : 0;
}

int cli_serve(int argc, char **argv)
{
	enum { O_LISTEN = 256, O_PORT, O_KEY, O_CERT, O_TLSKEY, O_SCRIPT,
	       O_RECORD, O_MAX, O_IDLE, O_ORIGIN, O_WEB, O_VOICE, O_VERBOSE,
	       O_QUIET };
	static const struct option opts[] = {
		{ "listen", required_argument, NULL, O_LISTEN },
		{ "port", required_argument, NULL, O_PORT },
		{ "api-key", required_argument, NULL, O_KEY },
		{ "tls-cert", required_argument, NULL, O_CERT },
		{ "tls-key", required_argument, NULL, O_TLSKEY },
		{ "script", required_argument, NULL, O_SCRIPT },
		{ "record", required_argument, NULL, O_RECORD },
		{ "max-calls", required_argument, NULL, O_MAX },
		{ "idle-timeout", required_argument, NULL, O_IDLE },
		{ "allow-origin", required_argument, NULL, O_ORIGIN },
		{ "web", required_argument, NULL, O_WEB },
		{ "voice", required_argument, NULL, O_VOICE },
		{ "verbose", no_argument, NULL, O_VERBOSE },
		{ "quiet", no_argument, NULL, O_QUIET },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct wvs_server_config cfg;
	struct strings keys = { 0 }, origins = { 0 }, webs = { 0 };
	struct wvs_script_arg *scripts = NULL;
	size_t n_scripts = 0;
	char host[256], installed[PATH_MAX], *env_copy = NULL;
	unsigned long v;
	int c, status = 2;

	wvs_server_config_default(&cfg);
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case O_LISTEN:
			if (parse_listen(optarg, &cfg, host, sizeof host)) {
				status = usage_error("--listen: '%s' is not "
						     "HOST:PORT", optarg);
				goto out;
			}
			break;
		case O_PORT:
			if (cli_parse_uint(optarg, 0, 65535, &v)) {
				status = usage_error("--port: '%s' is not a "
						     "port number", optarg);
				goto out;
			}
			cfg.port = (int)v;
			break;
		case O_KEY:
			strings_add(&keys, optarg);
			break;
		case O_CERT:
			cfg.tls_cert = optarg;
			break;
		case O_TLSKEY:
			cfg.tls_key = optarg;
			break;
		case O_SCRIPT:
			if (parse_script(optarg, &scripts, &n_scripts)) {
				status = usage_error("--script: '%s' is not "
						     "NAME=FILE", optarg);
				goto out;
			}
			break;
		case O_RECORD:
			cfg.record_dir = optarg;
			break;
		case O_MAX:
			if (cli_parse_uint(optarg, 1, 1000000, &v)) {
				status = usage_error("--max-calls: '%s' is not "
						     "a number from 1",
						     optarg);
				goto out;
			}
			cfg.max_calls = (unsigned)v;
			break;
		case O_IDLE:
			if (cli_parse_uint(optarg, 1, 86400, &v)) {
				status = usage_error("--idle-timeout: '%s' is "
						     "not a number of seconds "
						     "from 1 to 86400", optarg);
				goto out;
			}
			cfg.idle_timeout_ms = (unsigned)v * 1000;
			break;
		case O_ORIGIN:
			strings_add(&origins, optarg);
			break;
		case O_WEB:
			strings_add(&webs, optarg);
			break;
		case O_VOICE:
			cfg.voice = optarg;
			break;
		case O_VERBOSE:
			cfg.verbose = 1;
			break;
		case O_QUIET:
			cfg.quiet = 1;
			break;
		case 'h':
			fputs(usage, stdout);
			status = 0;
			goto out;
		default:
			status = usage_error("unknown or incomplete option '%s'",
					     argv[optind - 1]);
			goto out;
		}
	}
	if (optind < argc) {
		status = usage_error("unexpected argument '%s'", argv[optind]);
		goto out;
	}
	if (!cfg.tls_cert != !cfg.tls_key) {
		status = usage_error("%s", "--tls-cert and --tls-key go together");
		goto out;
	}
	if (cfg.verbose && cfg.quiet) {
		status = usage_error("%s", "--verbose and --quiet conflict");
		goto out;
	}
	if (keys.n == 0)
		env_copy = env_keys(&keys);
	cfg.api_keys = keys.v;
	cfg.n_api_keys = keys.n;
	cfg.origins = origins.v;
	cfg.n_origins = origins.n;
	cfg.web_optional = webs.n == 0;
	if (webs.n == 0)
		default_web_dirs(&webs, installed, sizeof installed);
	cfg.web_dirs = webs.v;
	cfg.n_web_dirs = webs.n;
	cfg.scripts = scripts;
	cfg.n_scripts = n_scripts;
	status = serve(&cfg);
out:
	for (size_t i = 0; i < n_scripts; i++)
		free((char *)scripts[i].name);
	free(scripts);
	free(keys.v);
	free(origins.v);
	free(webs.v);
	free(env_copy);
	return status;
}
