/*
 * A scratch directory for a cli test: made under /tmp, and removed with
 * the files the test put in it (it makes no subdirectories).
 */
#ifndef WV_TEST_CLI_SCRATCH_H
#define WV_TEST_CLI_SCRATCH_H

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Makes /tmp/wv-NAME-XXXXXX into dir (cap bytes); 0 or -1. */
static inline int scratch_make(char *dir, size_t cap, const char *name)
{
	int n = snprintf(dir, cap, "/tmp/wv-%s-XXXXXX", name);

	return n > 0 && (size_t)n < cap && mkdtemp(dir) ? 0 : -1;
}

/* Removes dir and every file in it; 0 or -1. */
static inline int scratch_remove(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char path[512];
	int rc = 0;

	if (!d)
		return -1;
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
		rc |= unlink(path);
	}
	closedir(d);
	return rmdir(dir) | rc;
}

#endif
