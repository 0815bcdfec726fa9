/* The service a command calls and its API key (from a file too), and
   forgetting the key: see cli.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

void cli_forget(char *secret, size_t n)
{
	volatile char *p = secret;

	while (n--)
		*p++ = 0;
}

int cli_read_key_file(const char *path, char *buf, size_t cap,
		      const char *who)
{
	bool in = !strcmp(path, "-");
	const char *name = in ? "standard input" : path;
	FILE *f = in ? stdin : fopen(path, "r");
	size_t n;

	if (!f) {
		fprintf(stderr, "%s: cannot read the key from %s: %s\n", who,
			name, strerror(errno));
		return -1;
	}
	n = fread(buf, 1, cap - 1, f);
	if (ferror(f)) {
		fprintf(stderr, "%s: cannot read the key from %s: %s\n", who,
			name, strerror(errno));
		n = 0;
	}
	if (!in)
		fclose(f);
	buf[n] = '\0';
	buf[strcspn(buf, "\r\n")] = '\0';
	n = strlen(buf);
	while (n && (buf[n - 1] == ' ' || buf[n - 1] == '\t'))
		buf[--n] = '\0';
	if (n == 0) {
		fprintf(stderr, "%s: no key on the first line of %s\n", who,
			name);
		return -1;
	}
	return 0;
}

static int refuse(const char *who, const char *why)
{
	fprintf(stderr, "%s: %s\nTry '%s --help'.\n", who, why, who);
	return -1;
}

int cli_resolve_service(const char **url, const char **key,
			const char *key_file, const char *agent, char *key_buf,
			size_t cap, const char *who)
{
	const char *env_url = getenv("WVOICE_URL");

	if (*key && key_file)
		return refuse(who, "--api-key and --api-key-file conflict");
	if (key_file) {
		if (cli_read_key_file(key_file, key_buf, cap, who) < 0)
			return -1;
		*key = key_buf;
	}
	if (!*url && env_url && *env_url)
		*url = env_url;
	if (*url && !agent)
		return refuse(who, "--agent is required with --url (or "
				   "WVOICE_URL)");
	if (!*key)
		*key = getenv("WVOICE_API_KEY");
	if (*url && !*key)
		return refuse(who, "no API key: --api-key, --api-key-file or "
				   "WVOICE_API_KEY");
	return 0;
}
