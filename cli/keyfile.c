/* The API key from a file, and forgetting it: see cli.h. */
#include <errno.h>
#include <stdio.h>
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
