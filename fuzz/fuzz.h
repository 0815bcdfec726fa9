/*
 * What the fuzz targets share: the entry point libFuzzer (or replay.c)
 * calls, a check that aborts with a message when an invariant fails (a
 * crash libFuzzer keeps as an artifact), and a reader that takes a
 * target's choices and pieces from the front of its input.
 */
#ifndef WV_FUZZ_H
#define WV_FUZZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond)                                                       \
	do {                                                                   \
		if (!(cond)) {                                                 \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, \
				__LINE__, #cond);                              \
			abort();                                               \
		}                                                              \
	} while (0)

/* The input, read from the front; past its end every read gives zeros. */
struct fuzz_in {
	const uint8_t *p;
	size_t left;
};

static inline uint8_t fuzz_u8(struct fuzz_in *in)
{
	if (!in->left)
		return 0;
	in->left--;
	return *in->p++;
}

static inline uint16_t fuzz_u16(struct fuzz_in *in)
{
	uint16_t hi = fuzz_u8(in);

	return (uint16_t)(hi << 8 | fuzz_u8(in));
}

/* The next piece: up to the next newline (dropped) or the end, so that a
   seed reads as one piece a line. Sets *len; the piece is not terminated. */
static inline const char *fuzz_line(struct fuzz_in *in, size_t *len)
{
	const char *s = (const char *)in->p;
	const uint8_t *nl = memchr(in->p, '\n', in->left);
	size_t n = nl ? (size_t)(nl - in->p) : in->left;

	in->p += n + (nl != NULL);
	in->left -= n + (nl != NULL);
	*len = n;
	return s;
}

/* A copy of n bytes of s with a NUL after them (the caller frees it), or
   NULL when memory ran out. */
static inline char *fuzz_strndup(const char *s, size_t n)
{
	char *c = malloc(n + 1);

	if (c) {
		memcpy(c, s, n);
		c[n] = '\0';
	}
	return c;
}

/* A script loader's err (errlen bytes): one line per problem, each
   starting with who, at most max of them and one more that counts the
   rest; the last may be cut short where err is full. */
static inline void fuzz_check_problems(const char *err, size_t errlen,
				       const char *who, size_t max)
{
	bool full = strlen(err) == errlen - 1;
	size_t lines = 0;

	FUZZ_CHECK(err[0] != '\0');
	for (const char *l = err; l; l = strchr(l, '\n')) {
		if (*l == '\n')
			l++;
		FUZZ_CHECK(strncmp(l, who, strlen(who)) == 0 ||
			   (full && !strchr(l, '\n')));
		lines++;
	}
	FUZZ_CHECK(lines <= max + 1);
}

#endif
