/*
 * The caller's script loader (cli/callscript.c over common/scriptcheck.c):
 * the input is a script's text, checked as `wvoice call --script` and
 * `wvoice load` check a file, with speech left unrendered
 * (cli_callscript_check()). File names resolve from fuzz/files/, which
 * holds a short WAV. A script that loads is then run against silence for
 * ten simulated seconds, as a call would run it.
 *
 * Invariants: a script that loads names each of its steps, and its run
 * speaks samples within -1..1 and never asks for a DTMF digit outside
 * 0-9 * #; a script that does not load gives no script, and its
 * error has one line per problem, each naming the script, at most
 * CLI_CALLSCRIPT_PROBLEMS_MAX of them and one more that counts the rest.
 */
#include <wvoice/error.h>
#include <wvoice/protocol.h>

#include "callscript.h"
#include "fuzz.h"

/* Ten seconds of a call in 20 ms steps: the caller speaks, hears silence
   and does what the script asks; marks play back as soon as they can. */
static void run(const struct cli_callscript *s)
{
	struct cli_callscript_run r;
	int16_t heard[160] = { 0 };
	float said[160];
	int64_t t = 1000000;

	cli_callscript_run_init(&r, s, NULL, t);
	for (int i = 0; i < 500 && !cli_callscript_done(&r); i++, t += 20000) {
		enum cli_action a;
		char digit;

		cli_callscript_speak(&r, said, 160, t);
		for (size_t k = 0; k < 160; k++)
			FUZZ_CHECK(said[k] >= -1.0f && said[k] <= 1.0f);
		cli_callscript_heard(&r, heard, 160, t);
		if (i % 7 == 0)
			cli_callscript_mark_played(&r, "m", t);
		while ((a = cli_callscript_next(&r, t, &digit)) !=
		       CLI_ACTION_NONE) {
			if (a == CLI_ACTION_DTMF)
				FUZZ_CHECK(wv_dtmf_valid(digit));
			if (a == CLI_ACTION_HANGUP)
				return;
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cli_callscript *s = (struct cli_callscript *)&s;
	char err[4096];
	int rc = cli_callscript_check(&s, "fuzz", (const char *)data, size,
				      WV_FUZZ_FILES, err, sizeof err);

	if (rc == 0) {
		size_t n = cli_callscript_steps(s);

		FUZZ_CHECK(s);
		for (size_t i = 0; i < n; i++)
			FUZZ_CHECK(cli_callscript_step_name(s, i));
		FUZZ_CHECK(!cli_callscript_step_name(s, n));
		run(s);
	} else {
		FUZZ_CHECK(rc < 0 && wv_error_name(rc));
		FUZZ_CHECK(!s);
		fuzz_check_problems(err, sizeof err, "fuzz",
				    CLI_CALLSCRIPT_PROBLEMS_MAX);
	}
	cli_callscript_destroy(s);
	return 0;
}
