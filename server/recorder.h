/*
 * Call recordings for `wvoice serve --record DIR`: per call, DIR/<id>.wav
 * (stereo 8 kHz 16-bit, caller left, agent right, time-aligned) and
 * DIR/<id>.jsonl (one line per event in and out).
 *
 * One writer thread per recorder does all the file I/O; the network loop
 * only copies into memory and hands blocks over under a short lock, so it
 * never waits on the disk. Files are flushed as the call goes (the WAV
 * header is rewritten at each flush), so a killed server leaves valid
 * files with everything up to about a second before. If the writer falls
 * more than the configured backlog behind, new blocks are dropped and
 * counted rather than queued without bound. Server-internal.
 */
#ifndef WVS_RECORDER_H
#define WVS_RECORDER_H

#include <stddef.h>
#include <stdint.h>

enum wvs_channel { WVS_CALLER = 0, WVS_AGENT = 1 };

struct wvs_recorder;
struct wvs_record;

/*
 * Starts the writer thread for directory dir (created if missing).
 * backlog_bytes bounds the memory waiting for the disk (0: 16 MiB).
 * Returns 0, or a negative WV_ERR_* with the reason in err.
 */
int wvs_recorder_create(struct wvs_recorder **out, const char *dir,
			size_t backlog_bytes, char *err, size_t errlen);
/* Closes every record still open, writes everything queued, joins. */
void wvs_recorder_destroy(struct wvs_recorder *rec);
/* Blocks dropped because the writer was behind (and lines that could not
   be made: wvs_record_lost()), and write errors seen. */
uint64_t wvs_recorder_dropped(const struct wvs_recorder *rec);
uint64_t wvs_recorder_errors(const struct wvs_recorder *rec);

/*
 * Opens the record of one call. id names the files, and must be a plain
 * file name (the server uses the communication id): not empty, "." or
 * "..", no '/', at most 200 bytes. Thread: the one
 * thread that drives this recorder's records (the network loop). Files are
 * created by the writer thread; a failure there is logged by it to stderr
 * once and counted. Returns 0, WV_ERR_INVALID or WV_ERR_NOMEM.
 */
int wvs_record_open(struct wvs_recorder *rec, const char *id,
		    struct wvs_record **out);

/* Appends one JSON line (without its newline) to the call's .jsonl.
   Lines go to the writer with the audio, or alone past 4 KiB pending.
   Here and below, a NULL record is a no-op (recording is off). */
void wvs_record_line(struct wvs_record *r, const char *line, size_t len);

/* Counts a line the caller could not put together (no memory) with the
   dropped blocks, so that what is missing from a record is told. */
void wvs_record_lost(struct wvs_record *r);

/*
 * Places n samples of one side at sample position pos (8 kHz samples since
 * the call started). Later writes over the same span replace earlier ones;
 * spans never written are silence. Positions may go back by at most one
 * second from the furthest written (a clear re-times the agent's audio);
 * anything older is final and is dropped.
 */
void wvs_record_audio(struct wvs_record *r, enum wvs_channel ch, uint64_t pos,
		      const int16_t *pcm, size_t n);

/*
 * Ends the record: the WAV runs to the furthest position written, both
 * files are completed and closed by the writer. r is freed.
 */
void wvs_record_close(struct wvs_record *r);

#endif
