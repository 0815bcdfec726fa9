/*
 * `wvoice call` on a terminal: keys read one at a time, without echo, and
 * the status line (status.h) redrawn in place on standard error, at most
 * every STATUS_EVERY_US unless something on it changed or the terminal
 * was resized (SIGWINCH). Anything else written to standard error while
 * the status line shows calls cli_term_clear() first; the line comes back
 * at the next draw.
 *
 * One terminal per process: the SIGWINCH handler is the process's.
 */
#ifndef CLI_TERMINAL_H
#define CLI_TERMINAL_H

#include <stdbool.h>
#include <stdint.h>
#include <termios.h>

#include "status.h"

struct cli_term {
	bool on;	   /* stdin and stderr are a terminal, in raw mode */
	bool shown;	   /* the status line is on the screen */
	struct termios saved;
	unsigned width;	   /* columns */
	int64_t drawn_us;  /* when the line was last drawn */
	char digit;	   /* the digit it showed */
	bool muted;	   /* ... and whether it said MUTED */
};

/* Takes the terminal if there is one (not when quiet): raw keys, and the
   line that says which keys do what. Returns t->on. */
bool cli_term_start(struct cli_term *t, bool quiet);
/* Gives the terminal back as it was, the status line cleared. */
void cli_term_stop(struct cli_term *t);
/* The next key pressed, or -1. */
int cli_term_key(struct cli_term *t);
/* Draws st now if it is due, at now_us on cli_mono_us()'s clock. */
void cli_term_draw(struct cli_term *t, const struct cli_status *st,
		   int64_t now_us);
/* Clears the status line, for another line of standard error. */
void cli_term_clear(struct cli_term *t);

#endif
