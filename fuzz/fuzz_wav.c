/*
 * Reading sound files (cli/wavfile.c's source for `wvoice call --input`,
 * common/clip.c's clips for `play` steps and prompts), through libsndfile:
 * the input is the file, handed over as a memfd's /proc path so that the
 * real opening code runs.
 *
 * Invariants: a file that opens has a rate from WV_RATE_MIN to WV_RATE_MAX
 * and at least one channel; reading it gives samples within -1..1 and
 * says when it has ended; a clip that loads is at most as long as it
 * may be, and a file that does not load says why, naming the file.
 */
#define _GNU_SOURCE
#include <sys/mman.h>
#include <unistd.h>

#include <wvoice/error.h>
#include <wvoice/resampler.h>

#include "clip.h"
#include "fuzz.h"
#include "wavfile.h"

#define CLIP_MAX_S 2.0

static void read_source(const char *path)
{
	struct cli_wav_source *src;
	char err[512];
	float buf[480];
	int ended = 0;

	if (cli_wav_source_open(&src, path, err, sizeof err) < 0) {
		FUZZ_CHECK(strstr(err, path));
		return;
	}
	FUZZ_CHECK(cli_wav_source_rate(src) >= WV_RATE_MIN &&
		   cli_wav_source_rate(src) <= WV_RATE_MAX);
	FUZZ_CHECK(cli_wav_source_channels(src) >= 1);
	/* A few seconds at most: a compressed file (FLAC) can say hours in a
	   few bytes. */
	for (int i = 0; i < 256 && !ended; i++) {
		ended = cli_wav_source_read(src, buf, 480);
		for (size_t k = 0; k < 480; k++)
			FUZZ_CHECK(buf[k] >= -1.0f && buf[k] <= 1.0f);
		FUZZ_CHECK(ended == cli_wav_source_ended(src));
	}
	cli_wav_source_close(src);
}

static void load_clip(const char *path)
{
	struct wvs_clip clip = { 0 };
	char err[512];

	if (wvs_clip_load(&clip, path, CLIP_MAX_S, err, sizeof err) < 0) {
		FUZZ_CHECK(strstr(err, path));
		FUZZ_CHECK(!clip.pcm && !clip.len);
		return;
	}
	FUZZ_CHECK(clip.len <= (size_t)(CLIP_MAX_S * WVS_RATE) + 1);
	FUZZ_CHECK(clip.len == 0 || clip.pcm);
	wvs_clip_cleanup(&clip);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int fd = memfd_create("fuzz.wav", 0);
	char path[64];

	FUZZ_CHECK(fd >= 0);
	FUZZ_CHECK(write(fd, data, size) == (ssize_t)size);
	snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
	read_source(path);
	load_clip(path);
	close(fd);
	return 0;
}
