/* The terminal of `wvoice call`: see terminal.h. */
#include "terminal.h"

#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <unistd.h>

#define STATUS_EVERY_US 200000

static atomic_bool resized; /* SIGWINCH came */

static void on_sigwinch(int sig)
{
	(void)sig;
	atomic_store(&resized, true);
}

static unsigned term_width(void)
{
	struct winsize ws;

	if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
		return ws.ws_col;
	return 80;
}

bool cli_term_start(struct cli_term *t, bool quiet)
{
	struct sigaction sa = { .sa_handler = on_sigwinch,
				.sa_flags = SA_RESTART };
	struct termios raw;

	*t = (struct cli_term){ 0 };
	t->on = !quiet && isatty(STDIN_FILENO) && isatty(STDERR_FILENO) &&
		tcgetattr(STDIN_FILENO, &t->saved) == 0;
	if (!t->on)
		return false;
	raw = t->saved;
	raw.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
	raw.c_cc[VMIN] = 0;
	raw.c_cc[VTIME] = 0;
	tcsetattr(STDIN_FILENO, TCSANOW, &raw);
	sigemptyset(&sa.sa_mask);
	sigaction(SIGWINCH, &sa, NULL);
	t->width = term_width();
	fputs("keys: m mute, 0-9 * # digits, q hang up\n", stderr);
	return true;
}

void cli_term_stop(struct cli_term *t)
{
	if (!t->on)
		return;
	tcsetattr(STDIN_FILENO, TCSANOW, &t->saved);
	signal(SIGWINCH, SIG_DFL);
	cli_term_clear(t);
	t->on = false;
}

int cli_term_key(struct cli_term *t)
{
	unsigned char k;

	if (!t->on || read(STDIN_FILENO, &k, 1) != 1)
		return -1;
	return k;
}

void cli_term_draw(struct cli_term *t, const struct cli_status *st,
		   int64_t now_us)
{
	bool resize = atomic_exchange(&resized, false);
	char line[256];

	if (!t->on)
		return;
	if (resize)
		t->width = term_width();
	if (t->shown && !resize && st->digit == t->digit &&
	    st->muted == t->muted && now_us - t->drawn_us < STATUS_EVERY_US)
		return;
	t->drawn_us = now_us;
	t->digit = st->digit;
	t->muted = st->muted;
	cli_status_format(line, sizeof line, t->width, st);
	fprintf(stderr, "\r\033[K%s", line);
	t->shown = true;
}

void cli_term_clear(struct cli_term *t)
{
	if (!t->shown)
		return;
	fputs("\r\033[K", stderr);
	t->shown = false;
}
