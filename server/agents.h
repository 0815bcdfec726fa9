/*
 * The built-in agents of `wvoice serve`, chosen by the call URL's agent_id.
 * Server-internal.
 */
#ifndef WVS_AGENTS_H
#define WVS_AGENTS_H

#include "clip.h"
#include "session.h"

struct wvs_tts;

/* What the demo agent says, rendered once before the server serves. */
struct wvs_prompts {
	struct wvs_clip greeting;
	struct wvs_clip goodbye;
	struct wvs_clip digits[12]; /* 0-9, then * and # */
};

int wvs_prompts_render(struct wvs_prompts *p, struct wvs_tts *tts, char *err,
		       size_t errlen);
void wvs_prompts_cleanup(struct wvs_prompts *p);

/* How long the demo waits for its goodbye mark before it hangs up anyway. */
#define WVS_GOODBYE_TIMEOUT_MS 5000
/* How long a script's hangup waits for the mark after its last audio,
   past the audio's end, before it hangs up anyway: longer than a caller's
   usual pre-buffer, short for a client that answers no marks. */
#define WVS_HANGUP_MARK_TIMEOUT_MS 2000

/* arg: const struct wvs_prompts * */
extern const struct wvs_agent wvs_agent_demo;
/* arg: unused */
extern const struct wvs_agent wvs_agent_echo;
extern const struct wvs_agent wvs_agent_silent;
/* arg: const struct wvs_script * */
extern const struct wvs_agent wvs_agent_script;

#endif
