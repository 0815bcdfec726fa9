/* The `wvoice` command's subcommands. */
#ifndef WV_CLI_H
#define WV_CLI_H

/* Each takes the arguments after its name (argv[0] is the subcommand) and
   returns the process exit status. */
int cli_serve(int argc, char **argv);
int cli_call(int argc, char **argv);
int cli_devices(int argc, char **argv);
int cli_demo(int argc, char **argv);

/* Parses a whole decimal number in [min, max]; 0 on success. */
int cli_parse_uint(const char *s, unsigned long min, unsigned long max,
		   unsigned long *out);

#endif
