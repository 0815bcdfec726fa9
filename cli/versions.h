/* wvoice --version: what the command is built of. */
#ifndef WV_CLI_VERSIONS_H
#define WV_CLI_VERSIONS_H

#include <stdio.h>

/* Writes "wvoice VERSION" (the first line, which scripts read), then a line
   for libwvoice and one for each library it runs on, each as that library
   reports itself at run time; speexdsp, which cannot, as it was at build
   time, marked "(build)". None of them needs initializing first. */
void cli_print_versions(FILE *out);

#endif
