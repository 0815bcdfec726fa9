/*
 * Audio devices: the microphone and the speaker of a device call, through
 * PortAudio.
 *
 * wv_device_list() says what there is. wv_audio_open() opens an input and an
 * output device (either may be left out) as one stream and starts it:
 *
 *   speaker <- the audio callback reads the playout buffer (8 kHz), upsampled
 *              to the device rate, the same on every output channel;
 *   mic     -> the audio callback mixes the input down to mono and queues it,
 *              with a copy of what it just played beside it (the far end, for
 *              the echo canceller), in a lock-free ring;
 *           -> the network thread pulls it with wv_audio_source_read(): the
 *              ring is resampled to 8 kHz and goes through speexdsp's echo
 *              canceller, noise suppressor and gain control, 10 ms at a time.
 *
 * Threads:
 *   - the audio callback (PortAudio's thread) runs inside this module; it
 *     never allocates, locks, logs or makes a system call, and is the only
 *     reader of the playout buffer while the stream is open;
 *   - the network thread (one at a time) calls wv_audio_source_read();
 *   - the control thread calls wv_device_list(), wv_audio_open() and
 *     wv_audio_close(). These three touch PortAudio's process-wide state
 *     (Pa_Initialize()/Pa_Terminate(), which PortAudio counts): do not run
 *     them concurrently with each other or with other PortAudio users;
 *   - wv_audio_stats() and wv_audio_get_info() are safe from any thread.
 *
 * Capture policy. The ring holds about half a second. A read that finds too
 * little captured audio (the device is late, or slower than the reader's
 * clock) hands out what there is followed by silence, and counts an input
 * underrun; the audio it lacked is not lost, it comes in the next reads. A
 * read that finds more than capture_max_ms of audio waiting (the reader was
 * late, or the device is faster than the reader's clock) drops the oldest
 * down to half that, so the delay stays bounded, and counts an overflow; so
 * does a ring that filled up while nobody read (everything in it is then
 * stale and dropped). Drift between the device clock and the playout side is
 * the playout buffer's business: it handles its own underruns.
 */
#ifndef WVOICE_DEVICE_H
#define WVOICE_DEVICE_H

#include <wvoice/export.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct wv_playout;

#define WV_DEVICE_DEFAULT (-1) /* the system's default device */
#define WV_DEVICE_NONE (-2)    /* no device in this direction */

#define WV_DEVICE_NAME_MAX 128 /* with the NUL; longer names are cut */
#define WV_DEVICE_HOST_API_MAX 32
#define WV_AUDIO_ERR_MAX 256 /* a detail buffer this big is never cut */

struct wv_device_info {
	int index;			   /* what wv_audio_config takes */
	char name[WV_DEVICE_NAME_MAX];	   /* "default", "HDA Intel: ..." */
	char host_api[WV_DEVICE_HOST_API_MAX]; /* "ALSA", "JACK Audio ..." */
	unsigned max_input_channels;	   /* 0: output only */
	unsigned max_output_channels;	   /* 0: input only */
	unsigned default_rate;		   /* Hz */
	bool default_input;		   /* the default input device */
	bool default_output;		   /* the default output device */
};

/*
 * Lists the audio devices: fills out[0 .. min(cap, *count)) and sets *count
 * to the number of devices there are (so cap 0 and out NULL just counts).
 * Indexes run from 0 to *count - 1 and stay valid while the set of devices
 * does not change. ALSA's complaints while probing are kept off stderr.
 * Errors: WV_ERR_INVALID (count NULL, or out NULL with cap > 0),
 * WV_ERR_DEVICE (PortAudio failed to start). Thread: control.
 */
WV_EXPORT int wv_device_list_sized(struct wv_device_info *out, size_t cap,
				   size_t *count, size_t size);
#define wv_device_list(out, cap, count)                                        \
	wv_device_list_sized((out), (cap), (count), sizeof(struct wv_device_info))

/* Sized by the program's header: see "Structs and the ABI" in version.h. */
struct wv_audio_config {
	size_t size;		 /* set by wv_audio_config_default() */
	int input_device;	 /* index, WV_DEVICE_DEFAULT or _NONE; default */
	int output_device;	 /* the same; default */
	unsigned rate;		 /* device rate; 0: the devices' default */
	unsigned block_ms;	 /* audio callback period, 1..100; 10 */
	unsigned latency_ms;	 /* asked of the device, up to 2000; 0: its
				    low default, at least 3 periods */
	bool noise_suppression;	 /* speexdsp denoiser on the mic; on */
	bool gain_control;	 /* speexdsp automatic gain control; on */
	bool echo_cancellation;	 /* speexdsp AEC, when both devices are
				    open; on */
	unsigned echo_tail_ms;	 /* longest echo path cancelled; 200 */
	unsigned capture_max_ms; /* captured audio kept unread at most; 100 */
};

/* The defaults above. */
WV_EXPORT void wv_audio_config_default_sized(struct wv_audio_config *cfg,
					     size_t size);
#define wv_audio_config_default(cfg)                                           \
	wv_audio_config_default_sized((cfg), sizeof(struct wv_audio_config))

struct wv_audio;

/*
 * Opens the devices of cfg as one stream and starts it. The audio callback
 * plays playout (not owned; it must outlive the wv_audio; NULL plays
 * silence), so nothing else may call wv_playout_read() on it until
 * wv_audio_close(). This is for a playout buffer of your own (the core
 * without the client); a wv_client or wv_phone opens its devices with
 * wv_client_open_audio() or wv_phone_open_audio(), which also make the
 * loop stop reading the call's playout. With rate 0 the output device's default rate is tried
 * first, then the input's, then 48000, 44100, 16000 and 8000 Hz; a device
 * that takes one channel is opened mono, else stereo (mixed down, or fed
 * the same on both). Echo cancellation is used only with both devices
 * open; gain control only where speexdsp supports it (not in fixed-point
 * builds); wv_audio_get_info() says what is in effect.
 * On failure *out is NULL and, if err is not NULL, err (err_cap bytes)
 * holds one line that names what was wrong: "no audio device 7 (there are
 * 2)", "device 1 (\"HDMI\") has no input channels", PortAudio's reason.
 * Errors: WV_ERR_INVALID (out or cfg NULL; both devices WV_DEVICE_NONE; an
 * index below -2; block_ms over 100; latency_ms over 2000; rate outside
 * 8000..192000; capture_max_ms 0), WV_ERR_DEVICE (no such device, no default device, the device lacks
 * channels in that direction, no usable rate, PortAudio failed to open or
 * start the stream), WV_ERR_NOMEM. Thread: control.
 */
WV_EXPORT int wv_audio_open(struct wv_audio **out, const struct wv_audio_config *cfg,
			    struct wv_playout *playout, char *err, size_t err_cap);

/* Stops the stream (the callback has returned for good when this returns)
 * and frees everything. NULL is a no-op. Thread: control. */
WV_EXPORT void wv_audio_close(struct wv_audio *a);

/*
 * The microphone, processed, as a pull source: fills dst with exactly n mono
 * samples at wv_audio_input_rate() (-1.0 to 1.0) and returns 0; see "Capture
 * policy" above for what it does when the device is early or late. Without
 * an input device it hands out silence. Its shape is that of the client's
 * audio source (read(user, dst, n) with user the wv_audio). Returns
 * WV_ERR_INVALID for audio NULL or dst NULL with n > 0. Never blocks.
 * Thread: network (one thread at a time).
 */
WV_EXPORT int wv_audio_source_read(void *audio, float *dst, size_t n);

/* The rate of wv_audio_source_read(): 8000 Hz, the protocol's rate, since
 * the processing runs there. Thread: any. */
WV_EXPORT unsigned wv_audio_input_rate(const struct wv_audio *a);

struct wv_audio_info {
	unsigned rate;		      /* the device rate, Hz */
	unsigned block_frames;	      /* frames per audio callback */
	int input_device;	      /* index opened, or WV_DEVICE_NONE */
	int output_device;	      /* index opened, or WV_DEVICE_NONE */
	unsigned input_channels;      /* opened; 0 without input */
	unsigned output_channels;     /* opened; 0 without output */
	unsigned input_latency_us;    /* as PortAudio reports it */
	unsigned output_latency_us;   /* as PortAudio reports it */
	bool echo_cancellation;	      /* in effect */
	bool noise_suppression;	      /* in effect */
	bool gain_control;	      /* in effect */
};

/* What was opened. Thread: any. */
WV_EXPORT void wv_audio_get_info_sized(const struct wv_audio *a,
				       struct wv_audio_info *info, size_t size);
#define wv_audio_get_info(a, info)                                             \
	wv_audio_get_info_sized((a), (info), sizeof(struct wv_audio_info))

struct wv_audio_stats {
	uint64_t callbacks;	       /* audio callbacks run */
	uint64_t output_frames;	       /* device frames played */
	uint64_t input_frames;	       /* device frames captured */
	uint64_t input_underruns;      /* source reads short of captured audio */
	uint64_t input_underrun_samples; /* 8 kHz silence those handed out */
	uint64_t input_overflows;      /* times captured audio was dropped */
	uint64_t input_dropped_frames; /* device frames dropped so */
	uint64_t device_input_overflows;   /* the driver lost input */
	uint64_t device_output_underflows; /* the driver ran out of output */
	float input_level;  /* RMS of the last captured block, raw, 0..1 */
	float output_level; /* RMS of the last played block, 0..1 */
};

/* A consistent-enough snapshot of the counters. Thread: any. */
WV_EXPORT void wv_audio_stats_sized(const struct wv_audio *a,
				    struct wv_audio_stats *st, size_t size);
#define wv_audio_stats(a, st)                                                  \
	wv_audio_stats_sized((a), (st), sizeof(struct wv_audio_stats))

#ifdef __cplusplus
}
#endif
#endif
