/* wvoice: the command-line tool. Dispatches to a subcommand. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <wvoice/wvoice.h>

#include "cli.h"
#include "schedule.h"
#include "versions.h"

static const char usage[] =
	"usage: wvoice <command> [options]\n"
	"\n"
	"commands:\n"
	"  call      place a call (wvoice call --help)\n"
	"  demo      a whole call to the built-in agent, recorded\n"
	"  devices   list the audio devices\n"
	"  load      many synthetic calls at once, measured (wvoice load --help)\n"
	"  serve     run the local agent server (wvoice serve --help)\n"
	"\n"
	"  wvoice --help | --version | help COMMAND\n"
	"See wvoice(1).\n";

int cli_parse_uint(const char *s, unsigned long min, unsigned long max,
		   unsigned long *out)
{
	char *end;
	unsigned long v;

	if (!s || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

int cli_parse_connect_timeout(const char *s, int64_t *ms)
{
	if (cli_parse_seconds(s, strlen(s), ms, NULL) < 0)
		return -1;
	return *ms >= 1 && *ms <= 60000 ? 0 : -1;
}

/* libwebsockets' own errors, for a person at a terminal. */
static void lws_line(void *user, int level, const char *line)
{
	(void)user;
	(void)level;
	fprintf(stderr, "wvoice: libwebsockets: %s\n", line);
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*run)(int, char **);
	} commands[] = {
		{ "call", cli_call },
		{ "demo", cli_demo },
		{ "devices", cli_devices },
		{ "load", cli_load },
		{ "serve", cli_serve },
	};

	if (argc < 2) {
		fputs(usage, stderr);
		return 2;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
	    (!strcmp(argv[1], "help") && argc == 2)) {
		fputs(usage, stdout);
		return 0;
	}
	/* wvoice help COMMAND: that command's --help. */
	if (!strcmp(argv[1], "help")) {
		static char help_flag[] = "--help";
		char *sub[] = { argv[2], help_flag, NULL };

		for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
			if (!strcmp(argv[2], commands[i].name))
				return commands[i].run(2, sub);
		fprintf(stderr, "wvoice: no command '%s'\n%s", argv[2], usage);
		return 2;
	}
	/* --version, alone or after a command. */
	if (!strcmp(argv[1], "--version") ||
	    (argc == 3 && !strcmp(argv[2], "--version"))) {
		cli_print_versions(stdout);
		return fflush(stdout) || ferror(stdout) ? 1 : 0;
	}
	/* Errors only: lws's notices can print a refused key (serve), and
	   its warnings are noise beside wvoice's own messages. */
	wv_log_lws(WV_LOG_ERR, lws_line, NULL);
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
		if (!strcmp(argv[1], commands[i].name))
			return commands[i].run(argc - 1, argv + 1);
	fprintf(stderr, "wvoice: unknown command '%s'\n%s", argv[1], usage);
	return 2;
}
