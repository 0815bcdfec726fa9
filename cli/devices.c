/* `wvoice devices`: the audio devices PortAudio sees. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include <wvoice/device.h>
#include <wvoice/error.h>

#include "cli.h"

#define EXIT_FAILED 1
#define EXIT_USAGE 2

static const char usage[] =
	"usage: wvoice devices [--json]\n"
	"\n"
	"Lists the audio devices: index, inputs, outputs, default rate, name\n"
	"and host API, and which are the defaults. Use the index with\n"
	"wvoice call --input-device N / --output-device N.\n"
	"\n"
	"  --json       one JSON array of objects, for scripts\n"
	"  -h, --help   this help\n"
	"\n"
	"Exit status: 0 listed (none is a list too), 1 PortAudio failed,\n"
	"2 usage error.\n";

int cli_stderr_off(void)
{
	int saved, null;

	fflush(stderr);
	saved = dup(STDERR_FILENO);
	null = open("/dev/null", O_WRONLY);
	if (saved >= 0 && null >= 0)
		dup2(null, STDERR_FILENO);
	if (null >= 0)
		close(null);
	return saved;
}

void cli_stderr_on(int saved)
{
	if (saved < 0)
		return;
	dup2(saved, STDERR_FILENO);
	close(saved);
}

/* The list, or NULL with *n 0 and rc set when PortAudio fails. */
static struct wv_device_info *list_devices(size_t *n, int *rc)
{
	struct wv_device_info *list = NULL;
	int saved = cli_stderr_off();

	*n = 0;
	*rc = wv_device_list(NULL, 0, n);
	if (*rc == 0) {
		list = calloc(*n ? *n : 1, sizeof *list);
		*rc = list ? wv_device_list(list, *n, n) : WV_ERR_NOMEM;
	}
	cli_stderr_on(saved);
	if (*rc < 0) {
		free(list);
		list = NULL;
		*n = 0;
	}
	return list;
}

bool cli_audio_devices_exist(void)
{
	size_t n;
	int rc;
	struct wv_device_info *list = list_devices(&n, &rc);

	free(list);
	return n > 0;
}

static void print_text(const struct wv_device_info *list, size_t n)
{
	if (n == 0)
		puts("no audio devices");
	for (size_t i = 0; i < n; i++)
		printf("%3d  in %2u  out %2u  %6u Hz  %s%s%s  (%s)\n",
		       list[i].index, list[i].max_input_channels,
		       list[i].max_output_channels, list[i].default_rate,
		       list[i].name,
		       list[i].default_input ? " [default input]" : "",
		       list[i].default_output ? " [default output]" : "",
		       list[i].host_api);
}

/* [{"index":0,"name":"default","host_api":"ALSA","inputs":32,...}] */
static int print_json(const struct wv_device_info *list, size_t n)
{
	json_t *all = json_array();
	char *text;

	for (size_t i = 0; all && i < n; i++) {
		const struct wv_device_info *d = &list[i];
		json_t *one = json_pack(
			"{s:i,s:s,s:s,s:I,s:I,s:I,s:b,s:b}", "index", d->index,
			"name", d->name, "host_api", d->host_api, "inputs",
			(json_int_t)d->max_input_channels, "outputs",
			(json_int_t)d->max_output_channels, "default_rate",
			(json_int_t)d->default_rate, "default_input",
			d->default_input, "default_output", d->default_output);

		if (!one || json_array_append_new(all, one) < 0) {
			json_decref(all);
			all = NULL;
		}
	}
	text = all ? json_dumps(all, JSON_COMPACT | JSON_PRESERVE_ORDER)
		   : NULL;
	json_decref(all);
	if (!text)
		return WV_ERR_NOMEM;
	puts(text);
	free(text);
	return 0;
}

int cli_devices(int argc, char **argv)
{
	struct wv_device_info *list;
	bool json = false;
	size_t n;
	int rc;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			fputs(usage, stdout);
			return 0;
		}
		if (!strcmp(argv[i], "--json")) {
			json = true;
			continue;
		}
		fprintf(stderr, "wvoice devices: unexpected argument '%s'\n"
				"Try 'wvoice devices --help'.\n", argv[i]);
		return EXIT_USAGE;
	}
	list = list_devices(&n, &rc);
	if (rc < 0) {
		fprintf(stderr, "wvoice devices: cannot list audio devices: %s\n",
			wv_strerror(rc));
		return EXIT_FAILED;
	}
	if (json)
		rc = print_json(list, n);
	else
		print_text(list, n);
	free(list);
	if (rc < 0) {
		fprintf(stderr, "wvoice devices: %s\n", wv_strerror(rc));
		return EXIT_FAILED;
	}
	return 0;
}
