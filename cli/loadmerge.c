/* `wvoice load merge`: shard reports combined into the one report the
   whole run would have written. See loadreport.h. */
#include "loadreport.h"

#include <stdlib.h>
#include <string.h>

#include <wvoice/error.h>

static const char merge_usage[] =
	"usage: wvoice load merge FILE.json... [--report FILE.json] "
	"[--html FILE.html]\n"
	"                         [--csv FILE.csv] [--fail-if SPEC]\n"
	"\n"
	"Combines the JSON reports of `wvoice load --shard I/N` runs into one,\n"
	"exactly: counts and histograms add, percentiles are read from the\n"
	"merged histograms, rows line up on the wall clock. The reports must\n"
	"be of the same run (url, agent, script, impairment, calls, rate,\n"
	"ramp, duration, shard count, wvoice version).\n"
	"\n"
	"  --report FILE.json  write the merged report (doc/load-report.schema.json)\n"
	"  --html FILE.html    write it as one self-contained page with plots\n"
	"  --csv FILE.csv      write its rows, periodic and cumulative\n"
	"  --fail-if SPEC      exit 1 when a condition holds, e.g.\n"
	"                      p99_turn_ms>1500,errors>0\n"
	"\n"
	"Prints the merged table. Exit status: 0; 1 when calls failed or a\n"
	"--fail-if condition holds; 2 for a usage error, a report that cannot\n"
	"be read or merged, or a file that cannot be written.\n";

struct merge_args {
	const char *report, *html, *csv, *fail_if;
	char **files;
	int n_files;
};

static int usage_error(const char *fmt, const char *arg)
{
	fputs("wvoice load merge: ", stderr);
	fprintf(stderr, fmt, arg);
	fputs("\nTry 'wvoice load merge --help'.\n", stderr);
	return 2;
}

/* --opt VALUE or --opt=VALUE at argv[*i]; NULL when it is not opt. */
static const char *option_value(const char *opt, int argc, char **argv,
				int *i, int *missing)
{
	size_t len = strlen(opt);

	*missing = 0;
	if (strncmp(argv[*i], opt, len) != 0)
		return NULL;
	if (argv[*i][len] == '=')
		return argv[*i] + len + 1;
	if (argv[*i][len] != '\0')
		return NULL;
	if (*i + 1 >= argc) {
		*missing = 1;
		return NULL;
	}
	return argv[++*i];
}

/* Returns -1 to go on, else the exit status (help, usage error). */
static int parse_args(int argc, char **argv, struct merge_args *a)
{
	static const char *const opts[] = { "--report", "--html", "--csv",
					    "--fail-if" };
	const char **slots[] = { &a->report, &a->html, &a->csv, &a->fail_if };
	bool only_files = false;

	memset(a, 0, sizeof *a);
	if (!(a->files = calloc((size_t)argc + 1, sizeof *a->files)))
		return usage_error("%s", "out of memory");
	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i];
		bool matched = false;
		int missing;

		if (only_files || arg[0] != '-' || !strcmp(arg, "-")) {
			a->files[a->n_files++] = argv[i];
			continue;
		}
		if (!strcmp(arg, "--")) {
			only_files = true;
			continue;
		}
		if (!strcmp(arg, "--help") || !strcmp(arg, "-h")) {
			fputs(merge_usage, stdout);
			return 0;
		}
		for (size_t o = 0; o < sizeof opts / sizeof *opts; o++) {
			const char *v =
				option_value(opts[o], argc, argv, &i, &missing);

			if (missing)
				return usage_error("%s needs a value", opts[o]);
			if (v) {
				*slots[o] = v;
				matched = true;
				break;
			}
		}
		if (!matched)
			return usage_error("unknown option %s", arg);
	}
	if (!a->n_files)
		return usage_error("%s", "no report to merge");
	return -1;
}

/* The files, in order, into r; the exit status on failure, else -1. */
static int read_all(const struct merge_args *a, struct cli_load_report *r)
{
	char err[512];

	if (cli_load_report_read_json(r, a->files[0], err, sizeof err)) {
		fprintf(stderr, "wvoice load merge: %s\n", err);
		return 2;
	}
	for (int i = 1; i < a->n_files; i++) {
		struct cli_load_report next;
		int rc;

		if (cli_load_report_read_json(&next, a->files[i], err,
					      sizeof err)) {
			fprintf(stderr, "wvoice load merge: %s\n", err);
			return 2;
		}
		rc = cli_load_report_merge(r, &next, err, sizeof err);
		cli_load_report_cleanup(&next);
		if (rc) {
			fprintf(stderr, "wvoice load merge: %s: %s\n",
				a->files[i], err);
			return 2;
		}
	}
	return -1;
}

/* Writes what was asked; false when anything could not be. */
static bool write_outputs(const struct merge_args *a,
			  const struct cli_load_report *r)
{
	char err[512], chart[4096];
	bool ok = true;

	if (a->report && cli_load_report_write_json(r, a->report, err,
						    sizeof err)) {
		fprintf(stderr, "wvoice load merge: --report: %s\n", err);
		ok = false;
	}
	if (a->csv && cli_load_report_write_csv(r, a->csv, err, sizeof err)) {
		fprintf(stderr, "wvoice load merge: --csv: %s\n", err);
		ok = false;
	}
	if (!a->html)
		return ok;
	if (!cli_load_chart_path(chart, sizeof chart)) {
		fprintf(stderr,
			"wvoice load merge: --html: the charting library "
			"(Chart.js) is not at %s; `make deps` fetches it into "
			"the source tree's report/node_modules, `make install` "
			"installs it beside wvoice (share/wvoice/report/), and "
			"WVOICE_CHART_JS names any other copy\n",
			chart[0] ? chart : "(no path)");
		return false;
	}
	if (cli_load_report_write_html(r, a->html, chart, err, sizeof err)) {
		fprintf(stderr, "wvoice load merge: --html: %s\n", err);
		ok = false;
	}
	return ok;
}

int cli_load_merge(int argc, char **argv)
{
	struct cli_load_report r;
	struct cli_fail_if *fail_if = NULL;
	struct merge_args a;
	char err[256];
	size_t n;
	int status;

	cli_load_report_init(&r);
	if ((status = parse_args(argc, argv, &a)) >= 0)
		goto out;
	if (a.fail_if &&
	    cli_fail_if_parse(&fail_if, a.fail_if, err, sizeof err)) {
		status = usage_error("--fail-if: %s", err);
		goto out;
	}
	if ((status = read_all(&a, &r)) >= 0)
		goto out;
	cli_load_report_table(stdout, &r);
	fflush(stdout);
	status = 0;
	if (r.counts.calls_failed) {
		fprintf(stderr, "wvoice load merge: %llu calls failed\n",
			(unsigned long long)r.counts.calls_failed);
		status = 1;
	}
	if (fail_if && (n = cli_fail_if_check(fail_if, &r, NULL))) {
		fprintf(stderr, "wvoice load merge: --fail-if: %zu condition%s "
				"crossed:\n",
			n, n == 1 ? "" : "s");
		cli_fail_if_check(fail_if, &r, stderr);
		status = 1;
	}
	if (!write_outputs(&a, &r))
		status = 2;
out:
	cli_fail_if_destroy(fail_if);
	cli_load_report_cleanup(&r);
	free(a.files);
	return status;
}
