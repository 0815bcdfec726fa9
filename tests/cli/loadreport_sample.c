/*
 * Writes the test fixture's load run as reports, for the tests that look
 * at them from outside (test_load_schema.py checks them against
 * doc/load-report.schema.json) and for a person to open:
 *
 *   loadreport_sample DIR
 *
 * writes DIR/whole.json, .csv and .html (the HTML when the charting
 * library is found), DIR/shard0.json and DIR/shard1.json (the run in two
 * shards), and DIR/merged.json as `wvoice load merge` makes it of them,
 * printing its table. Exit status: 0, or 1 with the reason on stderr.
 */
#include <stdio.h>
#include <string.h>

#include "loadreport.h"
#include "loadreport_fixture.h"

static int write_report(const struct cli_load_report *r, const char *dir,
			const char *name, const char *ext)
{
	char path[1024], err[512];
	int rc;

	snprintf(path, sizeof path, "%s/%s.%s", dir, name, ext);
	if (!strcmp(ext, "json"))
		rc = cli_load_report_write_json(r, path, err, sizeof err);
	else
		rc = cli_load_report_write_csv(r, path, err, sizeof err);
	if (rc)
		fprintf(stderr, "loadreport_sample: %s\n", err);
	return rc;
}

int main(int argc, char **argv)
{
	struct cli_load_report r;
	char path[1024], a[1024], b[1024], out[1024], chart[4096], err[512];
	int rc = 0;

	if (argc != 2) {
		fputs("usage: loadreport_sample DIR\n", stderr);
		return 2;
	}
	fixture_report(&r, 1, 0);
	rc |= write_report(&r, argv[1], "whole", "json");
	rc |= write_report(&r, argv[1], "whole", "csv");
	if (cli_load_chart_path(chart, sizeof chart)) {
		snprintf(path, sizeof path, "%s/whole.html", argv[1]);
		if (cli_load_report_write_html(&r, path, chart, err,
					       sizeof err)) {
			fprintf(stderr, "loadreport_sample: %s\n", err);
			rc = 1;
		}
	}
	cli_load_report_cleanup(&r);
	for (unsigned k = 0; k < 2; k++) {
		char name[16];

		snprintf(name, sizeof name, "shard%u", k);
		fixture_report(&r, 2, k);
		rc |= write_report(&r, argv[1], name, "json");
		cli_load_report_cleanup(&r);
	}
	if (rc)
		return 1;
	snprintf(a, sizeof a, "%s/shard0.json", argv[1]);
	snprintf(b, sizeof b, "%s/shard1.json", argv[1]);
	snprintf(out, sizeof out, "%s/merged.json", argv[1]);
	{
		char *margv[] = { "merge", a, b, "--report", out, NULL };

		/* 1: the run has failed calls, as the fixture means to. */
		return cli_load_merge(5, margv) == 1 ? 0 : 1;
	}
}
