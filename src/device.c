/*
 * Audio devices over PortAudio; the contract is in include/wvoice/device.h.
 *
 * Who owns what:
 *   audio callback  the upsampler and its staging buffer, `played`, `pairs`,
 *                   the producer side of the capture ring, its counters
 *   network thread  the uplink (resampling, AEC, NS, AGC), `scratch`, the
 *                   consumer side of the ring, its counters
 *   control thread  PortAudio itself: open and close
 * The two real threads share only the ring's positions and atomic counters.
 *
 * Why one stream for both directions: PortAudio then hands the callback the
 * input captured and the output to play for the same period, so the far end
 * for the echo canceller is paired with the microphone in the ring itself,
 * and no clock needs to line them up later.
 */
#include <wvoice/device.h>

#include <wvoice/error.h>
#include <wvoice/pcm.h>
#include <wvoice/playout.h>
#include <wvoice/resampler.h>

#include "sized.h"
#include "spsc.h"
#include "uplink.h"
#include "alloc.h"

#include <math.h>
#include <stdarg.h> /* before alsa/error.h, which uses va_list */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <portaudio.h>
#ifdef WV_HAVE_ALSA
#include <alsa/error.h>
#endif

#define WV_PRINTF(f, a) __attribute__((format(printf, f, a)))

#define DEFAULT_BLOCK_MS 10u
#define MAX_BLOCK_MS 100u
#define MAX_LATENCY_MS 2000u
#define DEFAULT_CAPTURE_MAX_MS 100u
#define RING_MS 500u

struct wv_audio {
	/* Set by open, read-only after. */
	PaStream *stream;
	bool pa_started;
	struct wv_playout *playout;
	struct wv_audio_info info;
	size_t block;		  /* frames per period */
	size_t capture_max;	  /* frames */
	unsigned ring_channels;	  /* 2: (mic, far end) pairs */

	/* The audio callback's. */
	struct wv_resampler *up; /* 8 kHz to the device rate */
	int16_t *pcm8;		 /* playout read, at most pcm8_cap */
	float *f8;
	size_t pcm8_cap;
	float *stage; /* upsampled, not yet played */
	size_t stage_len, stage_cap;
	float *played; /* this period's output, mono */
	float *pairs;  /* this period's ring frames */

	/* The network thread's. */
	struct wv__uplink *uplink; /* NULL without input */
	float *scratch;		   /* one period of ring frames */
	uint64_t seen_full;	   /* ring_full as of the last read */

	struct wv__spsc ring;

	/* Counters: each has one writer; stats() reads them from anywhere. */
	_Atomic uint64_t callbacks, output_frames, input_frames;
	_Atomic uint64_t ring_full, ring_lost;		/* callback */
	_Atomic uint64_t underruns, underrun_samples;	/* network */
	_Atomic uint64_t overflows, dropped;		/* network */
	_Atomic uint64_t dev_in_overflows, dev_out_underflows;
	_Atomic uint32_t in_level, out_level; /* float bits */
};

/* ---- errors ---- */

static int WV_PRINTF(4, 5)
	fail(char *err, size_t cap, int code, const char *fmt, ...)
{
	va_list ap;

	if (err && cap > 0) {
		va_start(ap, fmt);
		vsnprintf(err, cap, fmt, ap);
		va_end(ap);
	}
	return code;
}

/* PortAudio's reason, with the host API's own where it has one. */
static const char *pa_reason(PaError e, char *buf, size_t cap)
{
	const PaHostErrorInfo *host;

	if (e != paUnanticipatedHostError)
		return Pa_GetErrorText(e);
	host = Pa_GetLastHostErrorInfo();
	snprintf(buf, cap, "%s: %s", Pa_GetErrorText(e),
		 host && host->errorText ? host->errorText : "unknown");
	return buf;
}

/* ---- PortAudio's lifetime ---- */

#ifdef WV_HAVE_ALSA
/* ALSA reports every PCM it fails to probe (cards that are absent, plugins
 * not configured) on stderr while PortAudio enumerates; none of that is an
 * error of ours. The local handler is per thread and only used while the
 * application keeps ALSA's default handler, so its own stays in force. */
static void alsa_quiet(const char *file, int line, const char *func, int err,
		       const char *fmt, va_list ap)
{
	(void)file;
	(void)line;
	(void)func;
	(void)err;
	(void)fmt;
	(void)ap;
}
#endif

static PaError pa_start_quietly(void)
{
	PaError e;
#ifdef WV_HAVE_ALSA
	snd_local_error_handler_t old = snd_lib_error_set_local(alsa_quiet);
#endif

	e = Pa_Initialize();
#ifdef WV_HAVE_ALSA
	snd_lib_error_set_local(old);
#endif
	return e;
}

static int pa_start(char *err, size_t cap)
{
	char buf[WV_AUDIO_ERR_MAX];
	PaError e = pa_start_quietly();

	if (e != paNoError)
		return fail(err, cap, WV_ERR_DEVICE,
			    "cannot start PortAudio: %s",
			    pa_reason(e, buf, sizeof buf));
	return 0;
}

/* ---- listing ---- */

static void copy_name(char *dst, size_t cap, const char *src)
{
	snprintf(dst, cap, "%s", src ? src : "");
}

static unsigned rate_of(double rate)
{
	return rate > 0.0 && rate < 1e7 ? (unsigned)lround(rate) : 0;
}

static void describe(struct wv_device_info *d, PaDeviceIndex i)
{
	const PaDeviceInfo *pa = Pa_GetDeviceInfo(i);
	const PaHostApiInfo *host = pa ? Pa_GetHostApiInfo(pa->hostApi) : NULL;

	memset(d, 0, sizeof *d);
	d->index = i;
	if (!pa)
		return;
	copy_name(d->name, sizeof d->name, pa->name);
	copy_name(d->host_api, sizeof d->host_api, host ? host->name : NULL);
	d->max_input_channels =
		pa->maxInputChannels > 0 ? (unsigned)pa->maxInputChannels : 0;
	d->max_output_channels =
		pa->maxOutputChannels > 0 ? (unsigned)pa->maxOutputChannels : 0;
	d->default_rate = rate_of(pa->defaultSampleRate);
	d->default_input = i == Pa_GetDefaultInputDevice();
	d->default_output = i == Pa_GetDefaultOutputDevice();
}

int wv_device_list_sized(struct wv_device_info *out, size_t cap,
			 size_t *count, size_t size)
{
	struct wv_device_info d;
	PaDeviceIndex n;
	int rc;

	if (!count || (!out && cap > 0) || (cap > 0 && size == 0))
		return WV_ERR_INVALID;
	*count = 0;
	rc = pa_start(NULL, 0);
	if (rc != 0)
		return rc;
	n = Pa_GetDeviceCount();
	if (n < 0) {
		Pa_Terminate();
		return WV_ERR_DEVICE;
	}
	/* The program's array: its elements are `size` bytes apart. */
	for (PaDeviceIndex i = 0; i < n && (size_t)i < cap; i++) {
		describe(&d, i);
		wv__give_sized((unsigned char *)out + (size_t)i * size, size, &d,
			       sizeof d);
	}
	*count = (size_t)n;
	Pa_Terminate();
	return 0;
}

/* ---- configuration ---- */

/* wv_audio_config as first published with its size: when fields are
   added, offsetof() the first of them. */
#define CONFIG_FIRST_SIZE sizeof(struct wv_audio_config)

static const struct wv_audio_config defaults = {
	.size = sizeof defaults,
	.input_device = WV_DEVICE_DEFAULT,
	.output_device = WV_DEVICE_DEFAULT,
	.block_ms = DEFAULT_BLOCK_MS,
	.noise_suppression = true,
	.gain_control = true,
	.echo_cancellation = true,
	.echo_tail_ms = 200,
	.capture_max_ms = DEFAULT_CAPTURE_MAX_MS,
};

void wv_audio_config_default_sized(struct wv_audio_config *cfg, size_t size)
{
	if (!cfg)
		return;
	wv__give_sized(cfg, size, &defaults, sizeof defaults);
	cfg->size = size;
}

static int check_config(const struct wv_audio_config *cfg, char *err,
			size_t cap)
{
	if (cfg->input_device < WV_DEVICE_NONE ||
	    cfg->output_device < WV_DEVICE_NONE)
		return fail(err, cap, WV_ERR_INVALID,
			    "bad audio device index %d",
			    cfg->input_device < WV_DEVICE_NONE
				    ? cfg->input_device
				    : cfg->output_device);
	if (cfg->input_device == WV_DEVICE_NONE &&
	    cfg->output_device == WV_DEVICE_NONE)
		return fail(err, cap, WV_ERR_INVALID,
			    "no audio device: neither input nor output");
	if (cfg->block_ms > MAX_BLOCK_MS)
		return fail(err, cap, WV_ERR_INVALID,
			    "audio block of %u ms: at most %u", cfg->block_ms,
			    MAX_BLOCK_MS);
	if (cfg->rate != 0 &&
	    (cfg->rate < WV_RATE_MIN || cfg->rate > WV_RATE_MAX))
		return fail(err, cap, WV_ERR_INVALID,
			    "audio rate %u Hz: from %u to %u", cfg->rate,
			    WV_RATE_MIN, WV_RATE_MAX);
	if (cfg->latency_ms > MAX_LATENCY_MS)
		return fail(err, cap, WV_ERR_INVALID,
			    "audio latency of %u ms: at most %u",
			    cfg->latency_ms, MAX_LATENCY_MS);
	if (cfg->capture_max_ms == 0)
		return fail(err, cap, WV_ERR_INVALID,
			    "capture_max_ms must be above 0");
	return 0;
}

/* ---- choosing devices, rate and channels ---- */

struct side {
	PaDeviceIndex dev; /* paNoDevice when unused */
	const PaDeviceInfo *pa;
	unsigned channels;
};

struct plan {
	struct side in, out;
	unsigned rate;
	unsigned block_ms;
	unsigned latency_ms;
};

static int resolve_side(int want, bool input, struct side *s, char *err,
			size_t cap)
{
	const char *dir = input ? "input" : "output";
	PaDeviceIndex n = Pa_GetDeviceCount();
	int channels;

	memset(s, 0, sizeof *s);
	s->dev = paNoDevice;
	if (want == WV_DEVICE_NONE)
		return 0;
	if (want == WV_DEVICE_DEFAULT) {
		s->dev = input ? Pa_GetDefaultInputDevice()
			       : Pa_GetDefaultOutputDevice();
		if (s->dev == paNoDevice)
			return fail(err, cap, WV_ERR_DEVICE,
				    n > 0 ? "no default %s device"
					  : "no default %s device: no audio "
					    "devices found",
				    dir);
	} else if (want >= n) {
		return fail(err, cap, WV_ERR_DEVICE,
			    "no audio device %d (there are %d)", want,
			    n > 0 ? n : 0);
	} else {
		s->dev = want;
	}
	s->pa = Pa_GetDeviceInfo(s->dev);
	channels = s->pa ? (input ? s->pa->maxInputChannels
				  : s->pa->maxOutputChannels)
			 : 0;
	if (channels < 1)
		return fail(err, cap, WV_ERR_DEVICE,
			    "device %d (\"%s\") has no %s channels", s->dev,
			    s->pa ? s->pa->name : "?", dir);
	return 0;
}

/* The latency asked of PortAudio: cfg's, or the device's low default but
 * at least three periods, which keeps a loaded machine from glitching. */
static void fill_params(PaStreamParameters *p, const struct side *s,
			bool input, unsigned channels, const struct plan *plan)
{
	double low = input ? s->pa->defaultLowInputLatency
			   : s->pa->defaultLowOutputLatency;
	double floor_s = 3.0 * plan->block_ms / 1000.0;

	memset(p, 0, sizeof *p);
	p->device = s->dev;
	p->channelCount = (int)channels;
	p->sampleFormat = paFloat32;
	if (plan->latency_ms)
		p->suggestedLatency = plan->latency_ms / 1000.0;
	else
		p->suggestedLatency = low > floor_s ? low : floor_s;
}

/* Mono where the device takes it, else stereo (mixed down, or the same on
 * both); nothing for a side left out. Returns how many options. */
static size_t channel_options(const struct side *s, bool input,
			      unsigned opts[2])
{
	int most;

	if (s->dev == paNoDevice) {
		opts[0] = 0;
		return 1;
	}
	most = input ? s->pa->maxInputChannels : s->pa->maxOutputChannels;
	opts[0] = 1;
	opts[1] = 2;
	return most >= 2 ? 2 : 1;
}

static PaError try_format(struct plan *plan, unsigned rate)
{
	PaStreamParameters ip, op;
	unsigned ins[2], outs[2];
	size_t n_in = channel_options(&plan->in, true, ins);
	size_t n_out = channel_options(&plan->out, false, outs);
	PaError e = paInvalidChannelCount;

	for (size_t i = 0; i < n_in; i++) {
		for (size_t o = 0; o < n_out; o++) {
			if (ins[i])
				fill_params(&ip, &plan->in, true, ins[i], plan);
			if (outs[o])
				fill_params(&op, &plan->out, false, outs[o],
					    plan);
			e = Pa_IsFormatSupported(ins[i] ? &ip : NULL,
						 outs[o] ? &op : NULL, rate);
			if (e == paFormatIsSupported) {
				plan->in.channels = ins[i];
				plan->out.channels = outs[o];
				plan->rate = rate;
				return e;
			}
		}
	}
	return e;
}

static size_t rate_candidates(const struct wv_audio_config *cfg,
			      const struct plan *plan, unsigned *rates)
{
	unsigned all[6];
	size_t n = 0, k = 0;

	if (cfg->rate)
		all[n++] = cfg->rate;
	else {
		if (plan->out.pa)
			all[n++] = rate_of(plan->out.pa->defaultSampleRate);
		if (plan->in.pa)
			all[n++] = rate_of(plan->in.pa->defaultSampleRate);
		all[n++] = 48000;
		all[n++] = 44100;
		all[n++] = 16000;
		all[n++] = WV_RATE;
	}
	for (size_t i = 0; i < n; i++) {
		bool seen = false;

		for (size_t j = 0; j < k; j++)
			seen = seen || rates[j] == all[i];
		if (!seen && all[i] >= WV_RATE_MIN && all[i] <= WV_RATE_MAX)
			rates[k++] = all[i];
	}
	return k;
}

static int choose_format(const struct wv_audio_config *cfg, struct plan *plan,
			 char *err, size_t cap)
{
	unsigned rates[6];
	size_t n = rate_candidates(cfg, plan, rates);
	char buf[WV_AUDIO_ERR_MAX];
	PaError e = paInvalidSampleRate;

	for (size_t i = 0; i < n; i++) {
		e = try_format(plan, rates[i]);
		if (e == paFormatIsSupported)
			return 0;
	}
	if (cfg->rate)
		return fail(err, cap, WV_ERR_DEVICE,
			    "the audio device cannot run at %u Hz: %s",
			    cfg->rate, pa_reason(e, buf, sizeof buf));
	return fail(err, cap, WV_ERR_DEVICE,
		    "no sample rate the audio device takes: %s",
		    pa_reason(e, buf, sizeof buf));
}

/* ---- buffers ---- */

static int make_output_side(struct wv_audio *a)
{
	int rc = wv_resampler_create(&a->up, WV_RATE, a->info.rate,
				     WV_RESAMPLER_QUALITY_DEFAULT);

	if (rc != 0)
		return rc;
	a->pcm8_cap = (a->block * WV_RATE + a->info.rate - 1) / a->info.rate + 1;
	a->stage_cap = a->block + wv_resampler_output_max(a->up, a->pcm8_cap);
	a->pcm8 = wv__calloc(a->pcm8_cap, sizeof *a->pcm8);
	a->f8 = wv__calloc(a->pcm8_cap, sizeof *a->f8);
	a->stage = wv__calloc(a->stage_cap, sizeof *a->stage);
	if (!a->pcm8 || !a->f8 || !a->stage)
		return WV_ERR_NOMEM;
	return 0;
}

static int make_input_side(struct wv_audio *a,
			   const struct wv_audio_config *cfg)
{
	struct wv__uplink_config uc = {
		.device_rate = a->info.rate,
		.echo_cancellation = cfg->echo_cancellation &&
				     a->info.output_channels > 0,
		.noise_suppression = cfg->noise_suppression,
		.gain_control = cfg->gain_control,
		.echo_tail_ms = cfg->echo_tail_ms,
		.max_write = a->block,
	};
	size_t ring = (size_t)a->info.rate * RING_MS / 1000;
	int rc = wv__uplink_create(&a->uplink, &uc);

	if (rc != 0)
		return rc;
	a->ring_channels = wv__uplink_channels(a->uplink);
	a->info.echo_cancellation = wv__uplink_echo_cancellation(a->uplink);
	a->info.noise_suppression = wv__uplink_noise_suppression(a->uplink);
	a->info.gain_control = wv__uplink_gain_control(a->uplink);
	rc = wv__spsc_init(&a->ring, ring > 4 * a->block ? ring : 4 * a->block,
			   a->ring_channels);
	if (rc != 0)
		return rc;
	a->pairs = wv__calloc(a->block * a->ring_channels, sizeof *a->pairs);
	a->scratch = wv__calloc(a->block * a->ring_channels, sizeof *a->scratch);
	a->capture_max = (size_t)a->info.rate * cfg->capture_max_ms / 1000;
	if (!a->pairs || !a->scratch)
		return WV_ERR_NOMEM;
	return 0;
}

static int make_buffers(struct wv_audio *a, const struct wv_audio_config *cfg)
{
	int rc = 0;

	a->played = wv__calloc(a->block, sizeof *a->played);
	if (!a->played)
		return WV_ERR_NOMEM;
	if (a->info.output_channels > 0)
		rc = make_output_side(a);
	if (rc == 0 && a->info.input_channels > 0)
		rc = make_input_side(a, cfg);
	return rc;
}

/* ---- the audio callback (real time: no allocation, lock, log or syscall) */

static void store_level(_Atomic uint32_t *dst, const float *x, size_t n,
			size_t stride)
{
	float sum = 0.0f, rms;
	uint32_t bits;

	for (size_t i = 0; i < n; i++)
		sum += x[i * stride] * x[i * stride];
	rms = n ? sqrtf(sum / (float)n) : 0.0f;
	memcpy(&bits, &rms, sizeof bits);
	atomic_store_explicit(dst, bits, memory_order_relaxed);
}

/* Release here and acquire in get(), so that counts read in the reverse
 * order of their updates are never ahead of each other. */
static void count(_Atomic uint64_t *c, uint64_t n)
{
	atomic_fetch_add_explicit(c, n, memory_order_release);
}

/* Tops the staging buffer up to n frames at the device rate from the
 * playout buffer. The sizes are fixed at open so that one pass through the
 * resampler always fits. */
static void fill_stage(struct wv_audio *a, size_t n)
{
	while (a->stage_len < n) {
		size_t need = n - a->stage_len;
		size_t n8 = (need * WV_RATE + a->info.rate - 1) / a->info.rate;
		size_t in_len, out_len;

		if (n8 > a->pcm8_cap)
			n8 = a->pcm8_cap;
		if (a->playout)
			wv_playout_read(a->playout, a->pcm8, n8);
		else
			memset(a->pcm8, 0, n8 * sizeof *a->pcm8);
		wv_pcm_to_float(a->f8, a->pcm8, n8);
		in_len = n8;
		out_len = a->stage_cap - a->stage_len;
		if (wv_resampler_process(a->up, a->f8, &in_len,
					 a->stage + a->stage_len,
					 &out_len) != 0) {
			memset(a->stage + a->stage_len, 0, need * sizeof(float));
			out_len = need;
		}
		a->stage_len += out_len;
	}
}

static void play(struct wv_audio *a, float *out, size_t n)
{
	unsigned ch = a->info.output_channels;

	fill_stage(a, n);
	for (size_t i = 0; i < n; i++)
		for (unsigned c = 0; c < ch; c++)
			out[i * ch + c] = a->stage[i];
	memcpy(a->played, a->stage, n * sizeof(float));
	a->stage_len -= n;
	memmove(a->stage, a->stage + n, a->stage_len * sizeof(float));
	store_level(&a->out_level, a->played, n, 1);
	count(&a->output_frames, n);
}

/* Into [-1, 1], NaN to 0. A driver can hand over garbage (ALSA's null
 * device gives its buffer's old contents), and one infinity would poison the
 * echo canceller's adaptive filter for the rest of the call. */
static float sane(float x)
{
	if (x >= -1.0f && x <= 1.0f)
		return x;
	if (x > 1.0f)
		return 1.0f;
	return x < -1.0f ? -1.0f : 0.0f;
}

static void capture(struct wv_audio *a, const float *in, size_t n)
{
	unsigned ch = a->info.input_channels, rc = a->ring_channels;
	size_t written;

	for (size_t i = 0; i < n; i++) {
		float sum = 0.0f;

		for (unsigned c = 0; c < ch; c++)
			sum += in[i * ch + c];
		a->pairs[i * rc] = sane(sum / (float)ch);
		if (rc == 2)
			a->pairs[i * rc + 1] = a->played[i];
	}
	store_level(&a->in_level, a->pairs, n, rc);
	written = wv__spsc_write(&a->ring, a->pairs, n);
	if (written < n) {
		count(&a->ring_full, 1);
		count(&a->ring_lost, n - written);
	}
	count(&a->input_frames, n);
}

static int on_audio(const void *input, void *output, unsigned long frames,
		    const PaStreamCallbackTimeInfo *when,
		    PaStreamCallbackFlags flags, void *user)
{
	struct wv_audio *a = user;
	const float *in = input;
	float *out = output;

	(void)when;
	/* Counted first, and read last by stats(), so that a snapshot never
	 * shows more frames than callbacks can account for. */
	count(&a->callbacks, 1);
	if (flags & paInputOverflow)
		count(&a->dev_in_overflows, 1);
	if (flags & paOutputUnderflow)
		count(&a->dev_out_underflows, 1);
	/* The stream has a fixed period, so this is one pass; the loop only
	 * keeps a longer call inside the buffers' sizes. */
	while (frames > 0) {
		size_t n = frames < a->block ? frames : a->block;

		if (out) {
			play(a, out, n);
			out += n * a->info.output_channels;
		}
		if (in) {
			capture(a, in, n);
			in += n * a->info.input_channels;
		}
		frames -= n;
	}
	return paContinue;
}

/* ---- the stream ---- */

static int open_stream(struct wv_audio *a, const struct plan *plan, char *err,
		       size_t cap)
{
	PaStreamParameters ip, op;
	const PaStreamInfo *si;
	char buf[WV_AUDIO_ERR_MAX];
	PaError e;

	if (plan->in.channels)
		fill_params(&ip, &plan->in, true, plan->in.channels, plan);
	if (plan->out.channels)
		fill_params(&op, &plan->out, false, plan->out.channels,
			    plan);
	e = Pa_OpenStream(&a->stream, plan->in.channels ? &ip : NULL,
			  plan->out.channels ? &op : NULL, plan->rate,
			  a->block, paNoFlag, on_audio, a);
	if (e != paNoError) {
		a->stream = NULL;
		return fail(err, cap, WV_ERR_DEVICE,
			    "cannot open the audio device: %s",
			    pa_reason(e, buf, sizeof buf));
	}
	si = Pa_GetStreamInfo(a->stream);
	if (si) {
		a->info.input_latency_us = (unsigned)(si->inputLatency * 1e6);
		a->info.output_latency_us = (unsigned)(si->outputLatency * 1e6);
	}
	e = Pa_StartStream(a->stream);
	if (e != paNoError)
		return fail(err, cap, WV_ERR_DEVICE,
			    "cannot start the audio device: %s",
			    pa_reason(e, buf, sizeof buf));
	return 0;
}

static void set_info(struct wv_audio *a, const struct plan *plan)
{
	a->info.rate = plan->rate;
	a->block = (size_t)plan->rate * plan->block_ms / 1000;
	if (a->block == 0)
		a->block = 1;
	a->info.block_frames = (unsigned)a->block;
	a->info.input_device =
		plan->in.channels ? (int)plan->in.dev : WV_DEVICE_NONE;
	a->info.output_device =
		plan->out.channels ? (int)plan->out.dev : WV_DEVICE_NONE;
	a->info.input_channels = plan->in.channels;
	a->info.output_channels = plan->out.channels;
}

static int plan_stream(const struct wv_audio_config *cfg, struct plan *plan,
		       char *err, size_t cap)
{
	int rc;

	memset(plan, 0, sizeof *plan);
	plan->block_ms = cfg->block_ms ? cfg->block_ms : DEFAULT_BLOCK_MS;
	plan->latency_ms = cfg->latency_ms;
	rc = resolve_side(cfg->input_device, true, &plan->in, err, cap);
	if (rc == 0)
		rc = resolve_side(cfg->output_device, false, &plan->out, err,
				  cap);
	if (rc == 0)
		rc = choose_format(cfg, plan, err, cap);
	return rc;
}

int wv_audio_open(struct wv_audio **out, const struct wv_audio_config *cfg,
		  struct wv_playout *playout, char *err, size_t err_cap)
{
	struct wv_audio_config mine = defaults;
	struct wv_audio *a = NULL;
	struct plan plan;
	int rc;

	if (err && err_cap > 0)
		err[0] = '\0';
	if (!out || !cfg)
		return fail(err, err_cap, WV_ERR_INVALID,
			    "no audio handle or configuration");
	*out = NULL;
	if (wv__take_sized(&mine, sizeof mine, cfg, cfg->size,
			   CONFIG_FIRST_SIZE) < 0)
		return fail(err, err_cap, WV_ERR_INVALID,
			    "an audio configuration not made by "
			    "wv_audio_config_default()");
	cfg = &mine;
	rc = check_config(cfg, err, err_cap);
	if (rc != 0)
		return rc;
	a = wv__calloc(1, sizeof *a);
	if (!a)
		return fail(err, err_cap, WV_ERR_NOMEM, "out of memory");
	a->playout = playout;
	rc = pa_start(err, err_cap);
	a->pa_started = rc == 0;
	if (rc == 0)
		rc = plan_stream(cfg, &plan, err, err_cap);
	if (rc == 0) {
		set_info(a, &plan);
		rc = make_buffers(a, cfg);
		if (rc != 0)
			fail(err, err_cap, rc, "cannot set up audio: %s",
			     wv_strerror(rc));
	}
	if (rc == 0)
		rc = open_stream(a, &plan, err, err_cap);
	if (rc != 0) {
		wv_audio_close(a);
		return rc;
	}
	*out = a;
	return 0;
}

void wv_audio_close(struct wv_audio *a)
{
	if (!a)
		return;
	if (a->stream) {
		/* Abort, not stop: a call that ends has nothing left worth
		 * playing out, and abort returns at once. */
		Pa_AbortStream(a->stream);
		Pa_CloseStream(a->stream);
	}
	if (a->pa_started)
		Pa_Terminate();
	wv__uplink_destroy(a->uplink);
	wv__spsc_cleanup(&a->ring);
	wv_resampler_destroy(a->up);
	wv_free(a->pcm8);
	wv_free(a->f8);
	wv_free(a->stage);
	wv_free(a->played);
	wv_free(a->pairs);
	wv_free(a->scratch);
	wv_free(a);
}

/* ---- the network thread's side ---- */

static size_t device_frames_for(const struct wv_audio *a, size_t n)
{
	if (n > SIZE_MAX / WV_RATE_MAX)
		return SIZE_MAX / 2;
	return (n * a->info.rate + WV_RATE - 1) / WV_RATE;
}

static void drop(struct wv_audio *a, size_t frames)
{
	size_t skipped = wv__spsc_skip(&a->ring, frames);

	count(&a->overflows, 1);
	count(&a->dropped, skipped);
}

/* Keeps the delay bounded: see "Capture policy" in the header. */
static void drop_stale(struct wv_audio *a, size_t n)
{
	uint64_t full = atomic_load_explicit(&a->ring_full, memory_order_relaxed);
	size_t avail = wv__spsc_available(&a->ring);
	size_t want = device_frames_for(a, n);

	if (full != a->seen_full) {
		/* The ring filled while nobody read: all of it is old. */
		a->seen_full = full;
		drop(a, avail);
		return;
	}
	if (avail > a->capture_max + want)
		drop(a, avail - (a->capture_max / 2 + want));
}

/* One period from the ring into the uplink, which is empty when this runs
 * (so it has room). Returns false when the ring is dry. */
static bool pull(struct wv_audio *a)
{
	size_t got = wv__spsc_read(&a->ring, a->scratch, a->block);

	if (got == 0)
		return false;
	wv__uplink_write(a->uplink, a->scratch, got);
	return true;
}

int wv_audio_source_read(void *audio, float *dst, size_t n)
{
	struct wv_audio *a = audio;
	size_t done = 0;

	if (!a || (!dst && n > 0))
		return WV_ERR_INVALID;
	if (!a->uplink) {
		memset(dst, 0, n * sizeof *dst);
		return 0;
	}
	drop_stale(a, n);
	while (done < n) {
		done += wv__uplink_read(a->uplink, dst + done, n - done);
		if (done < n && !pull(a)) {
			memset(dst + done, 0, (n - done) * sizeof *dst);
			count(&a->underruns, 1);
			count(&a->underrun_samples, n - done);
			break;
		}
	}
	return 0;
}

unsigned wv_audio_input_rate(const struct wv_audio *a)
{
	(void)a;
	return WV_RATE;
}

void wv_audio_get_info_sized(const struct wv_audio *a,
			     struct wv_audio_info *info, size_t size)
{
	if (a && info)
		wv__give_sized(info, size, &a->info, sizeof a->info);
}

static uint64_t get(const _Atomic uint64_t *c)
{
	return atomic_load_explicit(c, memory_order_acquire);
}

static float get_level(const _Atomic uint32_t *c)
{
	uint32_t bits = atomic_load_explicit(c, memory_order_relaxed);
	float v;

	memcpy(&v, &bits, sizeof v);
	return v;
}

void wv_audio_stats_sized(const struct wv_audio *a,
			  struct wv_audio_stats *out, size_t size)
{
	struct wv_audio_stats all, *st = &all;

	if (!a || !out)
		return;
	memset(st, 0, sizeof *st);
	st->output_frames = get(&a->output_frames);
	st->input_frames = get(&a->input_frames);
	st->input_underruns = get(&a->underruns);
	st->input_underrun_samples = get(&a->underrun_samples);
	st->input_overflows = get(&a->overflows);
	st->input_dropped_frames = get(&a->dropped) + get(&a->ring_lost);
	st->device_input_overflows = get(&a->dev_in_overflows);
	st->device_output_underflows = get(&a->dev_out_underflows);
	st->input_level = get_level(&a->in_level);
	st->output_level = get_level(&a->out_level);
	st->callbacks = get(&a->callbacks);
	wv__give_sized(out, size, st, sizeof *st);
}
