/* The `wvoice` command's subcommands. */
#ifndef WV_CLI_H
#define WV_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Each takes the arguments after its name (argv[0] is the subcommand) and
   returns the process exit status. */
int cli_serve(int argc, char **argv);
int cli_call(int argc, char **argv);
int cli_devices(int argc, char **argv);
int cli_demo(int argc, char **argv);
int cli_load(int argc, char **argv);

/*
 * The service and key of a command that calls one, once its options are
 * read: --api-key-file (key_file) read into key_buf (cap bytes), $WVOICE_URL
 * for a missing *url, $WVOICE_API_KEY for a missing *key; --agent and a key
 * required with a URL, --api-key and --api-key-file not both. Returns 0,
 * or -1 having said why as a usage error of who ("wvoice call").
 */
int cli_resolve_service(const char **url, const char **key,
			const char *key_file, const char *agent, char *key_buf,
			size_t cap, const char *who);
/* Reads the key from the first line of path (- for standard input) into
   buf (cap bytes), trailing blanks cut: kept out of the process list and
   the shell's history. Returns 0, or -1 having said why on stderr, each
   line starting with who ("wvoice call"). */
int cli_read_key_file(const char *path, char *buf, size_t cap,
		      const char *who);
/* Wipes a secret: a plain memset of memory about to die may be dropped. */
void cli_forget(char *secret, size_t n);

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

/* --connect-timeout SEC, as wvoice call and load take it: 0.001 to 60
   seconds, in milliseconds; 0 on success, else the usage error is
   CLI_CONNECT_TIMEOUT_BAD with s. */
int cli_parse_connect_timeout(const char *s, int64_t *ms);
#define CLI_CONNECT_TIMEOUT_BAD                                                \
	"--connect-timeout: '%s' is not 0.001 to 60 seconds"

#endif
