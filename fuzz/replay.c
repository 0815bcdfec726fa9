/*
 * The fuzz targets without libFuzzer: runs LLVMFuzzerTestOneInput() once on
 * every file named, or found in a directory named, on the command line (a
 * target's seeds and regressions), so that every build replays them with
 * its own compiler and sanitizers. A target's own checks abort on a wrong
 * answer; this program fails when there was nothing to replay.
 */
#include <dirent.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The whole file in a buffer of its own size, so that ASan sees a read
   past its end. Exits on an error: a replay that cannot read its input
   must not pass. */
static void replay_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf;
	long size;

	if (!f || fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET) != 0) {
		fprintf(stderr, "replay: cannot read %s\n", path);
		exit(1);
	}
	buf = malloc(size ? (size_t)size : 1);
	if (!buf || fread(buf, 1, (size_t)size, f) != (size_t)size) {
		fprintf(stderr, "replay: cannot read %s\n", path);
		exit(1);
	}
	fclose(f);
	LLVMFuzzerTestOneInput(buf, (size_t)size);
	free(buf);
}

/* Files directly in dir, in name order, so a failure is replayed alike. */
static size_t replay_dir(const char *dir)
{
	struct dirent **names;
	int n = scandir(dir, &names, NULL, alphasort);
	size_t done = 0;

	if (n < 0) {
		fprintf(stderr, "replay: cannot list %s\n", dir);
		exit(1);
	}
	for (int i = 0; i < n; i++) {
		char path[4096];

		if (names[i]->d_name[0] != '.') {
			snprintf(path, sizeof path, "%s/%s", dir,
				 names[i]->d_name);
			replay_file(path);
			done++;
		}
		free(names[i]);
	}
	free(names);
	return done;
}

int main(int argc, char **argv)
{
	size_t done = 0;

	for (int i = 1; i < argc; i++) {
		struct stat st;

		if (stat(argv[i], &st) != 0)
			continue; /* a target with no regressions yet */
		if (S_ISDIR(st.st_mode)) {
			done += replay_dir(argv[i]);
		} else {
			replay_file(argv[i]);
			done++;
		}
	}
	printf("replay: %zu inputs\n", done);
	return done ? 0 : 1;
}
