/* The status line: see status.h. */
#include "status.h"

#include <stdio.h>
#include <string.h>

#include <wvoice/protocol.h>

enum field {
	STATE, TIME, ID, MUTED, DIGIT, IN, OUT, UNDERRUNS, DELAY, N_FIELDS
};

/* Which fields go first when not all fit. */
static const enum field by_importance[N_FIELDS] = {
	STATE, TIME, MUTED, DIGIT, IN, OUT, UNDERRUNS, ID, DELAY,
};

/* The text of each field, "" when it has none now. */
static void render(char text[N_FIELDS][48], const struct cli_status *st)
{
	snprintf(text[STATE], sizeof text[STATE], "%s", st->state);
	snprintf(text[TIME], sizeof text[TIME], "%s", st->mmss);
	/* The id is the server's: its first 8 bytes, escaped, so that no
	   escape of its own reaches the terminal. */
	char id[40];
	const char *sid = st->id ? st->id : "-";

	wv_escape(id, sizeof id, sid, strnlen(sid, 8));
	snprintf(text[ID], sizeof text[ID], "id %s", id);
	snprintf(text[MUTED], sizeof text[MUTED], "%s",
		 st->muted ? "MUTED" : "");
	if (st->digit)
		snprintf(text[DIGIT], sizeof text[DIGIT], "dtmf %c",
			 st->digit);
	else
		text[DIGIT][0] = '\0';
	snprintf(text[IN], sizeof text[IN], "in %4.0f dB", st->in_db);
	snprintf(text[OUT], sizeof text[OUT], "out %4.0f dB", st->out_db);
	snprintf(text[UNDERRUNS], sizeof text[UNDERRUNS], "underruns %llu",
		 st->underruns);
	if (st->playout)
		snprintf(text[DELAY], sizeof text[DELAY], "delay %u ms",
			 st->delay_ms);
	else
		text[DELAY][0] = '\0';
}

size_t cli_status_format(char *dst, size_t cap, unsigned width,
			 const struct cli_status *st)
{
	char text[N_FIELDS][48];
	bool shown[N_FIELDS] = { false };
	size_t room = width > 1 ? width - 1 : 0, used = 0, len = 0;

	/* A field is shown whole or not at all: a cut one would mislead. */

	if (cap == 0)
		return 0;
	render(text, st);
	for (int i = 0; i < N_FIELDS; i++) {
		enum field f = by_importance[i];
		size_t n = strlen(text[f]);

		if (n == 0)
			continue;
		if (used + (used ? 1 : 0) + n > room)
			break; /* nothing less important instead */
		used += (used ? 1 : 0) + n;
		shown[f] = true;
	}
	dst[0] = '\0';
	for (int f = 0; f < N_FIELDS; f++) {
		if (!shown[f])
			continue;
		int n = snprintf(dst + len, cap - len, "%s%s", len ? " " : "",
				 text[f]);
		if (n < 0 || (size_t)n >= cap - len)
			return strlen(dst);
		len += (size_t)n;
	}
	if (len == 0 && room) /* not even the state fits: what does of it */
		snprintf(dst, cap, "%.*s", (int)room, text[STATE]);
	return strlen(dst);
}
