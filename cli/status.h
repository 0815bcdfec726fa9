/*
 * The status line of `wvoice call` on a terminal, fitted to its width:
 *
 *   connected 01:07 id 3f2a9c1e MUTED dtmf 5 in  -31 dB out  -18 dB underruns 0 delay 60 ms
 *
 * A narrow terminal gets the fields that fit, most important first (the
 * state, the time, MUTED, the digit just sent, the levels, underruns, the
 * id, the playout's delay), in the order above: the line never wraps, so redrawing it in place
 * never scrolls the screen.
 */
#ifndef CLI_STATUS_H
#define CLI_STATUS_H

#include <stdbool.h>
#include <stddef.h>

struct cli_status {
	const char *state;	/* "connected" */
	const char *mmss;	/* "01:07" */
	const char *id;		/* the communication id, or NULL */
	bool muted;
	char digit;		/* a digit just sent, shown a moment; 0: none */
	double in_db, out_db;	/* levels, dBFS */
	unsigned long long underruns;
	bool playout;		/* show delay_ms (since 0.5) */
	unsigned delay_ms;	/* the playout's delay now */
};

/*
 * Writes the line into dst (cap bytes, NUL-terminated), at most width - 1
 * columns so that the cursor never reaches the last one, where a terminal
 * may wrap. Returns its length.
 */
size_t cli_status_format(char *dst, size_t cap, unsigned width,
			 const struct cli_status *st);

#endif
