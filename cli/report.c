/* The end-of-call summary: see report.h. */
#include "report.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include <wvoice/error.h>

#include "level.h"
#include "playoutopt.h"
#include "utf8text.h"

/* After the lines that were there before 0.5, which scripts read. */
static void playout_text(FILE *f, enum wv_playout_policy policy,
			 const struct wv_playout_stats *pst)
{
	fprintf(f, "playout: %s\n", cli_playout_name(policy));
	fprintf(f, "playout target: %u ms\n", pst->target_ms);
	fprintf(f, "playout delay: %u ms\n", pst->delay_ms);
	fprintf(f, "jitter: %u ms\n", pst->jitter_ms);
	fprintf(f, "concealed: %llu ms\n",
		(unsigned long long)cli_samples_ms(pst->concealed_samples));
	fprintf(f, "silence inserted: %llu ms\n",
		(unsigned long long)cli_samples_ms(pst->inserted_samples));
	fprintf(f, "silence dropped: %llu ms\n",
		(unsigned long long)cli_samples_ms(pst->dropped_samples));
	fprintf(f, "late arrivals: %llu\n",
		(unsigned long long)pst->late_arrivals);
}

void cli_report_text(FILE *f, const struct wv_client *c,
		     enum wv_playout_policy policy)
{
	struct wv_playout_stats pst;
	struct wv_call_stats st;
	const char *id = wv_client_communication_id(c);
	const char *reason = NULL;
	int code = wv_client_close_code(c, &reason);
	char mmss[16], shown_id[4 * WV_ID_MAX + 4], shown_reason[4 * 124];

	/* The id and the reason are the server's: escaped for the terminal. */
	wv_escape(shown_id, sizeof shown_id, id ? id : "-",
		  id ? strlen(id) : 1);
	wv_escape(shown_reason, sizeof shown_reason, reason ? reason : "",
		  reason ? strlen(reason) : 0);
	wv_client_stats(c, &st);
	wv_client_playout_stats(c, &pst);
	cli_format_mmss(mmss, sizeof mmss, wv_client_elapsed_ms(c));
	fprintf(f, "communication id: %s\n", shown_id);
	fprintf(f, "duration: %s\n", mmss);
	fprintf(f, "frames sent: %llu\n",
		(unsigned long long)st.audio_frames_sent);
	fprintf(f, "frames received: %llu\n",
		(unsigned long long)st.audio_events_received);
	fprintf(f, "marks: %llu\n", (unsigned long long)st.marks_answered);
	fprintf(f, "underruns: %llu\n", (unsigned long long)pst.underruns);
	fprintf(f, "end reason: %s\n",
		wv_end_reason_name(wv_client_end_reason(c)));
	if (code)
		fprintf(f, "close: %d%s%s\n", code, *shown_reason ? " " : "",
			shown_reason);
	playout_text(f, policy, &pst);
}

static json_t *string_or_null(const char *s)
{
	char text[4 * 256];
	json_t *v = s ? json_string(s) : json_null();

	/* Not UTF-8 (a close reason is any bytes): kept, escaped. */
	return v ? v : json_string(wvs_utf8_copy(text, sizeof text, s,
						 strlen(s)));
}

int cli_report_json(FILE *f, const struct wv_client *c, int exit_status,
		    enum wv_playout_policy policy)
{
	struct wv_playout_stats pst;
	struct wv_call_stats st;
	const char *reason = NULL;
	int code = wv_client_close_code(c, &reason);
	const char *error = wv_client_error(c) ? wv_client_last_error(c) : NULL;
	json_t *obj;
	char *text;

	wv_client_stats(c, &st);
	wv_client_playout_stats(c, &pst);
	obj = json_pack(
		"{s:o,s:I,s:I,s:I,s:I,s:I,s:s,s:o,s:o,s:s,s:o,s:i}",
		"communication_id",
		string_or_null(wv_client_communication_id(c)), "duration_ms",
		(json_int_t)wv_client_elapsed_ms(c), "frames_sent",
		(json_int_t)st.audio_frames_sent, "frames_received",
		(json_int_t)st.audio_events_received, "marks",
		(json_int_t)st.marks_answered, "underruns",
		(json_int_t)pst.underruns, "end_reason",
		wv_end_reason_name(wv_client_end_reason(c)), "close_code",
		code ? json_integer(code) : json_null(), "close_reason",
		string_or_null(code ? (reason ? reason : "") : NULL),
		"closed_by", wv_closed_by_name(wv_client_closed_by(c)), "error",
		string_or_null(error), "exit_status", exit_status);
	/* The playout's figures after the members there before 0.5. */
	if (obj && json_object_update_new(obj, cli_playout_json(policy, &pst))) {
		json_decref(obj);
		obj = NULL;
	}
	text = obj ? json_dumps(obj, JSON_COMPACT | JSON_PRESERVE_ORDER)
		   : NULL;
	json_decref(obj);
	if (!text)
		return WV_ERR_NOMEM;
	fprintf(f, "%s\n", text);
	free(text);
	return 0;
}
