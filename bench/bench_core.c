/*
 * bench_core: what one 20 ms frame costs on each path, and how well the
 * resampler filters, printed as figures (never asserted: machines are shared).
 *
 *   outbound  48 kHz float capture -> resample -> int16 -> mu-law -> base64
 *             -> the JSON text of an `audio` event
 *   inbound   the JSON text of an `audio` event -> base64 -> mu-law -> 8 kHz
 *             int16 samples
 *
 * The browser guide's JavaScript pipeline costs about 6.6 us (outbound) and
 * 6.8 us (inbound) per message in Node on these machines; the goals are
 * inbound at least 10 times cheaper, outbound within 1.5 times while
 * filtering properly.
 *
 * Usage: bench_core [--quick | --count N]
 *
 * --count N runs N frames of each path and nothing else, for
 * `valgrind --tool=callgrind` to count instructions: the difference between
 * two counts divided by the difference in N is the instructions per frame,
 * the same on a loaded machine as on an idle one (make cross-test prints it).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <wvoice/capture.h>
#include <wvoice/codec.h>
#include <wvoice/error.h>
#include <wvoice/protocol.h>
#include <wvoice/resampler.h>

#define GUIDE_OUTBOUND_US 6.6
#define GUIDE_INBOUND_US 6.8
#define DEVICE_RATE 48000
#define DEVICE_FRAME (DEVICE_RATE / 50)
#define PI 3.14159265358979323846

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* The outbound path ends in a JSON text; the sink keeps it observable. */
struct outbound {
	char json[WV_AUDIO_EVENT_LEN(WV_FRAME_SAMPLES) + 1];
	size_t bytes;
	unsigned frames;
};

static void encode_frame(void *user, const int16_t *frame)
{
	struct outbound *o = user;
	uint8_t ulaw[WV_FRAME_SAMPLES];
	int len;

	wv_ulaw_encode(ulaw, frame, WV_FRAME_SAMPLES);
	len = wv_encode_audio(o->json, sizeof o->json, ulaw, sizeof ulaw);
	if (len > 0)
		o->bytes += (size_t)len;
	o->frames++;
}

static double bench_outbound(unsigned frames)
{
	struct wv_capture *cap;
	struct outbound o = { .frames = 0 };
	float *in = malloc(DEVICE_FRAME * sizeof *in);
	double t0, t1;

	if (!in || wv_capture_create(&cap, DEVICE_RATE, -1, encode_frame, &o)) {
		fprintf(stderr, "bench_core: cannot set up capture\n");
		exit(1);
	}
	for (size_t i = 0; i < DEVICE_FRAME; i++)
		in[i] = 0.5f * (float)sin(2 * PI * 440.0 * (double)i / DEVICE_RATE);
	for (unsigned i = 0; i < 50; i++) /* warm up */
		wv_capture_write(cap, in, DEVICE_FRAME);
	o.frames = 0;
	t0 = now_s();
	for (unsigned i = 0; i < frames; i++)
		wv_capture_write(cap, in, DEVICE_FRAME);
	t1 = now_s();
	if (o.frames < frames - 1 || o.bytes == 0) {
		fprintf(stderr, "bench_core: outbound produced %u frames\n",
			o.frames);
		exit(1);
	}
	wv_capture_destroy(cap);
	free(in);
	return (t1 - t0) / frames * 1e6;
}

static double bench_inbound(unsigned frames)
{
	struct wv_decoder *dec;
	struct wv_event ev;
	uint8_t ulaw[WV_FRAME_SAMPLES];
	int16_t pcm[WV_FRAME_SAMPLES];
	char json[WV_AUDIO_EVENT_LEN(WV_FRAME_SAMPLES) + 1];
	long checksum = 0;
	double t0, t1;
	int len;

	for (size_t i = 0; i < sizeof ulaw; i++)
		ulaw[i] = (uint8_t)(i * 37u);
	len = wv_encode_audio(json, sizeof json, ulaw, sizeof ulaw);
	if (len < 0 || wv_decoder_create(&dec, 0)) {
		fprintf(stderr, "bench_core: cannot set up decoder\n");
		exit(1);
	}
	t0 = now_s();
	for (unsigned i = 0; i < frames; i++) {
		if (wv_decoder_decode(dec, json, (size_t)len, &ev) != 0 ||
		    ev.audio_len != WV_FRAME_SAMPLES) {
			fprintf(stderr, "bench_core: decode failed: %s\n",
				wv_decoder_error(dec));
			exit(1);
		}
		wv_ulaw_decode(pcm, ev.audio, ev.audio_len);
		checksum += pcm[i % WV_FRAME_SAMPLES];
	}
	t1 = now_s();
	wv_decoder_destroy(dec);
	if (checksum == 0x7fffffff)
		puts(""); /* keeps the loop's work observable */
	return (t1 - t0) / frames * 1e6;
}

/* Amplitude of frequency f in x[0..n) at rate, by correlation (Goertzel's
 * result, computed directly: n is small enough). */
static double tone_amplitude(const float *x, size_t n, double f, double rate)
{
	double re = 0, im = 0;

	for (size_t i = 0; i < n; i++) {
		double w = 2 * PI * f * (double)i / rate;

		re += x[i] * cos(w);
		im += x[i] * sin(w);
	}
	return 2 * sqrt(re * re + im * im) / (double)n;
}

/* Resamples a tone at f through a fresh resampler from rate to 8 kHz and
 * returns the output's amplitude at the frequency the tone lands on. */
static double downsampled_amplitude(unsigned rate, double f)
{
	struct wv_resampler *r;
	size_t n_in = rate / 2, n_out = 4000, skip = 400;
	float *in = malloc(n_in * sizeof *in), *out = malloc(n_out * sizeof *out);
	size_t in_len = n_in, out_len = n_out;
	double landed = fmod(f, 8000.0);
	double amp;

	if (landed > 4000)
		landed = 8000 - landed;
	if (!in || !out || wv_resampler_create(&r, rate, WV_RATE, -1)) {
		fprintf(stderr, "bench_core: cannot set up resampler\n");
		exit(1);
	}
	for (size_t i = 0; i < n_in; i++)
		in[i] = 0.5f * (float)sin(2 * PI * f * (double)i / rate);
	wv_resampler_process(r, in, &in_len, out, &out_len);
	amp = tone_amplitude(out + skip, out_len - skip, landed, WV_RATE);
	wv_resampler_destroy(r);
	free(in);
	free(out);
	return amp;
}

/* The worst alias, in dB below a 1 kHz reference, over 4.4 kHz to Nyquist. */
static double alias_rejection_db(unsigned rate, double *worst_f)
{
	double ref = downsampled_amplitude(rate, 1000), worst = 0;

	for (double f = 4400; f < rate / 2.0 - 50; f += 100) {
		double a = downsampled_amplitude(rate, f);

		if (a > worst) {
			worst = a;
			*worst_f = f;
		}
	}
	return 20 * log10(ref / worst);
}

/* The resampler's rate error in parts per million, from the output counted
 * between one tenth of `seconds` and all of it, fed in 20 ms blocks: a slope,
 * so the constant filter delay drops out. *offset is the total output minus
 * the exact count at the end, in samples. */
static double rate_error_ppm(unsigned rate, unsigned seconds, long *offset)
{
	struct wv_resampler *r;
	size_t block = rate / 50, out_cap;
	float *in = calloc(block, sizeof *in), *out;
	unsigned blocks = seconds * 50u, mark = blocks / 10;
	long total = 0, at_mark = 0;

	if (!in || wv_resampler_create(&r, rate, WV_RATE, -1)) {
		fprintf(stderr, "bench_core: cannot set up resampler\n");
		exit(1);
	}
	out_cap = wv_resampler_output_max(r, block);
	out = malloc(out_cap * sizeof *out);
	for (unsigned i = 0; i < blocks; i++) {
		size_t in_len = block, out_len = out_cap;

		if (i == mark)
			at_mark = total;
		wv_resampler_process(r, in, &in_len, out, &out_len);
		total += (long)out_len;
	}
	*offset = total - (long)seconds * WV_RATE;
	wv_resampler_destroy(r);
	free(in);
	free(out);
	return ((double)(total - at_mark) /
			((double)(blocks - mark) / 50 * WV_RATE) - 1) * 1e6;
}

int main(int argc, char **argv)
{
	int quick = argc > 1 && strcmp(argv[1], "--quick") == 0;

	if (argc == 3 && strcmp(argv[1], "--count") == 0) {
		unsigned n = (unsigned)strtoul(argv[2], NULL, 10);

		if (n == 0) {
			fprintf(stderr, "bench_core: --count takes a number "
					"of frames\n");
			return 2;
		}
		printf("%u frames: outbound %.2f us, inbound %.3f us\n", n,
		       bench_outbound(n), bench_inbound(n));
		return 0;
	}
	unsigned frames = quick ? 20000 : 200000;
	double out_us = bench_outbound(frames);
	double in_us = bench_inbound(frames * 5);
	static const unsigned rates[] = { 44100, 48000 };

	printf("wvoice core benchmark (%u frames of 20 ms)\n", frames);
	printf("outbound  48 kHz float -> audio JSON   %6.2f us/frame  "
	       "(guide %.1f us: %.2fx, goal <= 1.5x)\n",
	       out_us, GUIDE_OUTBOUND_US, out_us / GUIDE_OUTBOUND_US);
	printf("inbound   audio JSON -> 8 kHz int16    %6.3f us/frame  "
	       "(guide %.1f us: %.1fx cheaper, goal >= 10x)\n",
	       in_us, GUIDE_INBOUND_US, GUIDE_INBOUND_US / in_us);
	for (size_t i = 0; i < sizeof rates / sizeof rates[0]; i++) {
		struct wv_resampler *r;
		double worst_f = 0, rej = alias_rejection_db(rates[i], &worst_f);
		long offset;
		double ppm = rate_error_ppm(rates[i], quick ? 60 : 600, &offset);

		if (wv_resampler_create(&r, rates[i], WV_RATE, -1))
			return 1;
		printf("resampler %6u -> 8000: alias rejection %5.1f dB "
		       "(worst at %.0f Hz), rate error %+.3f ppm "
		       "(end offset %ld samples), latency %.2f ms\n",
		       rates[i], rej, worst_f, ppm, offset,
		       wv_resampler_latency_us(r) / 1000.0);
		wv_resampler_destroy(r);
	}
	return 0;
}
