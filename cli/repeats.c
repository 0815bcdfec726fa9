/* Repeated problems, summarised: see repeats.h. */
#include "repeats.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

/* The kind of msg into kind: see repeats.h. */
static void kind_of(const char *msg, char *kind)
{
	size_t o = 0;
	int colons = 0;
	char quote = 0;

	for (const char *p = msg; *p && o + 1 < CLI_REPEAT_KIND_MAX; p++) {
		if (quote) {
			if (*p == quote)
				quote = 0;
			else
				continue;
		} else if (*p == '"' || *p == '\'') {
			quote = *p;
		} else if (p[0] == ':' && p[1] == ' ' && ++colons == 2) {
			break;
		} else if (isdigit((unsigned char)*p)) {
			continue;
		}
		kind[o++] = *p;
	}
	kind[o] = '\0';
}

/* The kind's slot: its own, a free one, or the one for the others. */
static struct cli_repeat *slot_for(struct cli_repeats *r, const char *kind,
				    int64_t now_us)
{
	for (size_t i = 0; i < CLI_REPEAT_KINDS; i++)
		if (r->slot[i].used && !strcmp(r->slot[i].kind, kind))
			return &r->slot[i];
	/* A slot whose second is over with nothing left to say can change
	   kinds. */
	for (size_t i = 0; i < CLI_REPEAT_KINDS; i++) {
		struct cli_repeat *s = &r->slot[i];

		if (!s->used ||
		    (!s->more && now_us - s->since_us >= CLI_REPEAT_WINDOW_US)) {
			snprintf(s->kind, sizeof s->kind, "%s", kind);
			s->used = false; /* a new kind: its second begins */
			return s;
		}
	}
	snprintf(r->slot[CLI_REPEAT_KINDS].kind, CLI_REPEAT_KIND_MAX,
		 "other problems");
	return &r->slot[CLI_REPEAT_KINDS];
}

bool cli_repeats_take(struct cli_repeats *r, const char *msg, int64_t now_us)
{
	char kind[CLI_REPEAT_KIND_MAX];
	struct cli_repeat *s;

	kind_of(msg, kind);
	s = slot_for(r, kind, now_us);
	if (s->used && now_us - s->since_us < CLI_REPEAT_WINDOW_US) {
		s->more++;
		return false;
	}
	/* Its last second's count is said before a new second begins. */
	if (s->more)
		return s->more++, false;
	s->used = true;
	s->since_us = now_us;
	return true;
}

bool cli_repeats_summary(struct cli_repeats *r, int64_t now_us, bool all,
			 char *line, size_t cap)
{
	for (size_t i = 0; i <= CLI_REPEAT_KINDS; i++) {
		struct cli_repeat *s = &r->slot[i];

		if (!s->more ||
		    (!all && now_us - s->since_us < CLI_REPEAT_WINDOW_US))
			continue;
		snprintf(line, cap, "... and %llu more like it in the last "
			 "second (%s)", (unsigned long long)s->more, s->kind);
		s->more = 0;
		return true;
	}
	return false;
}
