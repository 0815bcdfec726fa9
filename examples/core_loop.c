/*
 * core_loop: one call driven through the sans-I/O core, with a scripted
 * agent standing where the WebSocket would be. The agent confirms the call,
 * says half a second of tone followed by a mark, and hangs up once the mark
 * comes back. Virtual time advances 20 ms a turn; nothing sleeps.
 */
#include <stdio.h>
#include <string.h>

#include <wvoice/call.h>
#include <wvoice/capture.h>

static void on_status(void *user, enum wv_status from, enum wv_status to)
{
	(void)user;
	printf("status   %s -> %s\n", wv_status_name(from), wv_status_name(to));
}

static void on_event(void *user, enum wv_direction dir,
		     const struct wv_event *ev)
{
	(void)user;
	if (ev->type != WV_EVENT_AUDIO)
		printf("%s %s\n", dir == WV_DIR_OUT ? "sent    " : "received",
		       ev->name);
}

/* The agent's side of the wire: answers what the call sent. */
static void agent(struct wv_call *call, const char *frame, int64_t now)
{
	static const char *start =
		"{\"event\":\"start\",\"communication_id\":\"demo-1\"}";
	static const char *mark = "{\"event\":\"mark\",\"mark\":\"greeting\"}";
	static const char *stop = "{\"event\":\"stop\"}";
	uint8_t tone[WV_FRAME_SAMPLES];
	char audio[WV_AUDIO_EVENT_LEN(WV_FRAME_SAMPLES) + 1];

	if (strstr(frame, "\"start\"")) {
		wv_call_receive(call, start, strlen(start), now);
		for (size_t i = 0; i < sizeof tone; i++)
			tone[i] = (i / 4) % 2 ? 0x20 : 0xA0;
		wv_encode_audio(audio, sizeof audio, tone, sizeof tone);
		for (int i = 0; i < 25; i++) /* 0.5 s */
			wv_call_receive(call, audio, strlen(audio), now);
		wv_call_receive(call, mark, strlen(mark), now);
	} else if (strstr(frame, "\"mark\"")) {
		wv_call_receive(call, stop, strlen(stop), now);
	}
}

int main(void)
{
	struct wv_call_config cfg;
	struct wv_call *call;
	float mic[WV_FRAME_SAMPLES] = { 0 };
	int16_t speaker[WV_FRAME_SAMPLES];
	int64_t now = 0;
	int code;

	wv_call_config_default(&cfg);
	cfg.cb.status = on_status;
	cfg.cb.event = on_event;
	if (wv_call_create(&call, &cfg) != 0)
		return 1;
	wv_call_connect(call, now);
	wv_call_opened(call, now); /* the transport's socket is open */
	while (!wv_call_should_close(call, &code) && now < 10000000) {
		const char *frame;
		size_t len;

		wv_call_write_audio(call, mic, WV_FRAME_SAMPLES);
		wv_playout_read(wv_call_playout(call), speaker,
				WV_FRAME_SAMPLES);
		wv_call_tick(call, now);
		while ((frame = wv_call_peek_frame(call, &len))) {
			agent(call, frame, now); /* the "socket" */
			wv_call_frame_sent(call);
		}
		now += 20000;
	}
	printf("ended    %s after %lld ms, close code %d\n",
	       wv_end_reason_name(wv_call_end_reason(call)),
	       (long long)wv_call_elapsed_ms(call, now), code);
	wv_call_destroy(call);
	return 0;
}
