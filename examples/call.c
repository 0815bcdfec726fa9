/* call: one call through the public API: 1 s of 440 Hz, then silence; hangs
 * up after 5 s. Usage: example_call [URL KEY AGENT], or WVOICE_URL,
 * WVOICE_API_KEY, WVOICE_AGENT (default "echo"), as `wvoice call` reads them.
 * Without a URL it starts nothing and exits 0, so it passes as a test
 * offline; against `wvoice serve`, give its URL and key. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <wvoice/wvoice.h>

static int tone(void *user, float *dst, size_t n)
{
	unsigned *t = user;

	for (size_t i = 0; i < n; i++, (*t)++)
		dst[i] = *t < 8000 ? (float)(0.3 * sin(2 * 3.14159265 * 440 * *t / 8000)) : 0;
	return *t >= 8000;
}

static void on_status(void *user, enum wv_status from, enum wv_status to)
{
	(void)user;
	printf("%s -> %s\n", wv_status_name(from), wv_status_name(to));
}

int main(int argc, char **argv)
{
	const char *url = argc > 1 ? argv[1] : getenv("WVOICE_URL");
	const char *key = argc > 2 ? argv[2] : getenv("WVOICE_API_KEY");
	const char *agent = argc > 3 ? argv[3] : getenv("WVOICE_AGENT");
	struct wv_client_config cfg;
	struct wv_client *call;
	struct wv_loop *loop;
	unsigned t = 0;
	int rc, end;

	if (!url) {
		printf("WVOICE_URL is not set: no server to call, skipping\n");
		return 0;
	}
	wv_client_config_default(&cfg);
	cfg.url = url;
	cfg.api_key = key ? key : "";
	cfg.agent_id = agent ? agent : "echo";
	cfg.source = (struct wv_source){ 8000, tone, &t };
	cfg.cb.status = on_status;
	if ((rc = wv_loop_create(&loop)) || (rc = wv_client_create(&call, loop, &cfg)) ||
	    (rc = wv_client_connect(call))) {
		fprintf(stderr, "cannot call: %s\n", wv_strerror(rc));
		return 1;
	}
	if (wv_loop_run(loop, 5000) > 0) /* calls still going */
		wv_client_hangup(call);
	wv_loop_run(loop, -1);
	end = wv_client_end_reason(call);
	printf("ended: %s %s\n", wv_end_reason_name(end), wv_client_last_error(call));
	wv_client_destroy(call);
	wv_loop_destroy(loop);
	return end == WV_END_HANGUP || end == WV_END_REMOTE_STOP ? 0 : 1;
}
