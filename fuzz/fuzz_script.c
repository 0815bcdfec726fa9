/*
 * The server's script loader (server/script.c over common/scriptcheck.c):
 * the input is a script's text, checked as `wvoice serve --script` checks
 * a file, without a voice (`say` is checked, not rendered). `play` names
 * resolve from fuzz/files/, which holds a short WAV.
 *
 * Invariants: a script that loads has steps of known kinds, each with
 * what its kind needs (text for say, mark and wait_mark, a clip for
 * play, a timeout on waits); a script that does not load is left zeroed,
 * its error one line per problem, each naming the script, at most
 * WVS_SCRIPT_PROBLEMS_MAX of them and one more that counts the rest.
 */
#include <wvoice/error.h>

#include "fuzz.h"
#include "script.h"

static void check_steps(const struct wvs_script *s)
{
	for (size_t i = 0; i < s->n_steps; i++) {
		const struct wvs_step *st = &s->steps[i];

		FUZZ_CHECK(st->type <= WVS_STEP_HANGUP);
		if (st->type == WVS_STEP_SAY || st->type == WVS_STEP_MARK ||
		    st->type == WVS_STEP_WAIT_MARK ||
		    st->type == WVS_STEP_WAIT_DTMF)
			FUZZ_CHECK(st->text);
		if (st->type == WVS_STEP_PLAY)
			FUZZ_CHECK(st->clip.len == 0 || st->clip.pcm);
		if (st->type == WVS_STEP_WAIT_MARK ||
		    st->type == WVS_STEP_WAIT_SPEECH ||
		    st->type == WVS_STEP_WAIT_DTMF)
			FUZZ_CHECK(st->ms >= 1 && st->ms <= 3600000);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct wvs_script s;
	char err[4096];
	int rc;

	memset(&s, 0xA5, sizeof s); /* the loader must set it either way */
	rc = wvs_script_parse(&s, "fuzz", (const char *)data, size,
			      WV_FUZZ_FILES, NULL, err, sizeof err);
	if (rc == 0) {
		FUZZ_CHECK(err[0] == '\0');
		FUZZ_CHECK(s.n_steps == 0 || s.steps);
		check_steps(&s);
	} else {
		FUZZ_CHECK(rc < 0 && wv_error_name(rc));
		FUZZ_CHECK(!s.steps && !s.n_steps && !s.name);
		fuzz_check_problems(err, sizeof err, "fuzz",
				    WVS_SCRIPT_PROBLEMS_MAX);
	}
	wvs_script_cleanup(&s);
	return 0;
}
