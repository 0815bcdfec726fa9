/* The `wvoice` command's subcommands. */
#ifndef WV_CLI_H
#define WV_CLI_H

#include <stdbool.h>

/* Each takes the arguments after its name (argv[0] is the subcommand) and
   returns the process exit status. */
int cli_serve(int argc, char **argv);
int cli_call(int argc, char **argv);
int cli_devices(int argc, char **argv);
int cli_demo(int argc, char **argv);

/* Debian's PortAudio probes JACK each time it starts, and libjack prints
   half a dozen lines when no JACK server runs. Device calls run between
   these, with stderr pointed at /dev/null: off() returns what on() takes
   back. What went wrong comes back in the calls' own err. */
int cli_stderr_off(void);
void cli_stderr_on(int saved);

/* Whether this machine has any audio device at all. */
bool cli_audio_devices_exist(void);

/* Parses a whole decimal number in [min, max]; 0 on success. */
int cli_parse_uint(const char *s, unsigned long min, unsigned long max,
		   unsigned long *out);

#endif
