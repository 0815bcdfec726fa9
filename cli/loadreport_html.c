/*
 * The load report as one self-contained page: the charting library
 * (Chart.js, from npm, installed with wvoice) and the report's figures
 * are inlined, so the page opens offline and can be mailed or kept as a
 * CI artifact. The tables are written here, so the figures read without
 * scripts too; the plots are drawn by the page's script from the data.
 */
#define _XOPEN_SOURCE 700 /* realpath() */
#include "loadreport.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <jansson.h>
#include <wvoice/error.h>

#include "errbuf.h"

/* ---- where the library is ---- */

#ifndef WV_REPORT_INSTALL_REL
#define WV_REPORT_INSTALL_REL "../share/wvoice/report"
#endif
#define CHART_FILE "chart.umd.js"

const char *cli_load_chart_path(char *buf, size_t cap)
{
	const char *env = getenv("WVOICE_CHART_JS"), *rel;
	char exe[PATH_MAX], *slash;
	ssize_t len;
	int n = -1;

	if (!cap)
		return NULL;
	buf[0] = '\0';
	if (env && *env) {
		n = snprintf(buf, cap, "%s", env);
		goto check;
	}
	len = readlink("/proc/self/exe", exe, sizeof exe - 1);
	exe[len > 0 ? len : 0] = '\0';
	if ((slash = strrchr(exe, '/')))
		*slash = '\0';
#ifdef WV_REPORT_BUILD_DIR
	{
		/* A wvoice in its build directory reads the source tree's
		   copy, as cli/serve.c serves the source tree's web/: an old
		   install must not stand in for what `make deps` fetched. */
		char *build = realpath(WV_REPORT_BUILD_DIR, NULL);
		int in_build = build && strcmp(build, exe) == 0;

		free(build);
		if (in_build) {
			n = snprintf(buf, cap, "%s", WV_REPORT_SOURCE_JS);
			goto check;
		}
	}
#endif
	/* bin/../share/... said as PREFIX/share/... in messages. */
	rel = WV_REPORT_INSTALL_REL;
	while (strncmp(rel, "../", 3) == 0 && (slash = strrchr(exe, '/')) &&
	       slash != exe) {
		*slash = '\0';
		rel += 3;
	}
	n = snprintf(buf, cap, "%s/%s/%s", exe, rel, CHART_FILE);
check:
	if (n < 0 || (size_t)n >= cap)
		return NULL;
	return access(buf, R_OK) == 0 ? buf : NULL;
}

/* ---- writing ---- */

/* Text in an element or an attribute. */
static void html_text(FILE *f, const char *s)
{
	for (; s && *s; s++) {
		switch (*s) {
		case '&':
			fputs("&amp;", f);
			break;
		case '<':
			fputs("&lt;", f);
			break;
		case '>':
			fputs("&gt;", f);
			break;
		case '"':
			fputs("&quot;", f);
			break;
		case '\'':
			fputs("&#39;", f);
			break;
		default:
			fputc(*s, f);
		}
	}
}

/* The library's text inside <script>: "</script" would end the element
   and "<!--" change how the rest is parsed, so both are broken with a
   backslash (in the JavaScript strings and comments they can only be in,
   a backslash before / or ! changes nothing). Its source-map comment is
   dropped: the page refers to no other file. */
static void script_text(FILE *f, const char *s, size_t n)
{
	static const char map[] = "//# sourceMappingURL=";
	const char *start = s, *end = s + n;

	while (s < end) {
		if (*s == '<' && end - s >= 8 && strncasecmp(s, "</script", 8) == 0) {
			fputs("<\\/", f);
			s += 2;
		} else if (*s == '<' && end - s >= 4 && memcmp(s, "<!--", 4) == 0) {
			fputs("<\\!--", f);
			s += 4;
		} else if ((s == start || s[-1] == '\n') &&
			   (size_t)(end - s) >= sizeof map - 1 &&
			   memcmp(s, map, sizeof map - 1) == 0) {
			while (s < end && *s != '\n')
				s++;
		} else {
			fputc(*s++, f);
		}
	}
}

/* The whole file at path, NUL-terminated; NULL with err said. */
static char *read_file(const char *path, size_t *len, char *err,
		       size_t errlen, int *rc)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long size;

	*rc = WV_ERR_INVALID;
	if (!f) {
		wvs_errorf(err, errlen, *rc, "%s: %s", path, strerror(errno));
		return NULL;
	}
	if (fseek(f, 0, SEEK_END) || (size = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET)) {
		wvs_errorf(err, errlen, *rc, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (!(buf = malloc((size_t)size + 1))) {
		*rc = wvs_errorf(err, errlen, WV_ERR_NOMEM, "%s: out of memory",
				 path);
		goto out;
	}
	if (fread(buf, 1, (size_t)size, f) != (size_t)size) {
		wvs_errorf(err, errlen, *rc, "%s: read failed", path);
		free(buf);
		buf = NULL;
		goto out;
	}
	buf[size] = '\0';
	*len = (size_t)size;
	*rc = 0;
out:
	fclose(f);
	return buf;
}

static const char *const page_css =
	"body{font:15px/1.45 system-ui,sans-serif;margin:0 auto;max-width:"
	"1100px;padding:1em 1.5em;color:#1b1b1b;background:#fff}"
	"h1{font-size:1.6em;margin:.2em 0}h2{font-size:1.25em;margin:1.6em 0 "
	".5em;border-bottom:1px solid #ddd}h3{font-size:1em;margin:.3em 0}"
	"table{border-collapse:collapse;margin:.5em 0}"
	"th,td{padding:.2em .7em;border-bottom:1px solid #eee;text-align:right}"
	"th:first-child,td:first-child{text-align:left}"
	"thead th{border-bottom:2px solid #bbb}"
	".plot{position:relative;height:300px}"
	".grid{display:grid;grid-template-columns:repeat(auto-fill,minmax("
	"330px,1fr));gap:1em}.grid .plot{height:210px}"
	"figure{margin:0}figcaption{font-size:.9em;color:#444}"
	"caption{text-align:left}"
	".note{color:#444}pre{white-space:pre-wrap;background:#f6f6f6;"
	"padding:.6em}";

/* The page's script, in parts (no C string over what every compiler
   must take): the plots from the inlined data. */
static const char *const page_js[] = {
	"(function(){'use strict';\n"
	"var data=JSON.parse(document.getElementById('report-data')"
	".textContent);\n"
	"var rows=data.series||[];\n"
	/* Okabe and Ito's colours: told apart by colour-blind readers. */
	"var C=['#0072B2','#E69F00','#D55E00','#009E73','#CC79A7',"
	"'#56B4E9','#F0E442','#000000'];\n"
	"Chart.defaults.animation=false;Chart.defaults.responsive=true;\n"
	"Chart.defaults.maintainAspectRatio=false;\n"
	"Chart.defaults.font.size=12;\n"
	"function ds(label,pts,i,axis){return {label:label,data:pts,"
	"borderColor:C[i],backgroundColor:C[i],pointRadius:0,borderWidth:2,"
	"yAxisID:axis||'y',spanGaps:false};}\n"
	"var tmax=rows.length?rows[rows.length-1].t_s:1;\n"
	"function lin(t){return {type:'linear',title:{display:true,text:t}};}\n"
	"function time(){return Object.assign(lin('seconds since the start'),"
	"{min:0,max:tmax});}\n"
	"function pts(f){return rows.map(function(r){return {x:r.t_s,"
	"y:f(r)};});}\n",

	"var el=document.getElementById('plot-calls');\n"
	"if(el)new Chart(el,{type:'line',data:{datasets:["
	"ds('calls up',pts(function(r){return r.calls_up;}),0),"
	"ds('connecting',pts(function(r){return r.connecting;}),1),"
	"ds('failed, so far',pts(function(r){return r.failed;}),2)]},"
	"options:{scales:{x:time(),"
	"y:Object.assign(lin('calls'),{beginAtZero:true})}}});\n"
	"function p99(h){return h&&h.count?h.p99:null;}\n"
	"el=document.getElementById('plot-latency');\n"
	"if(el)new Chart(el,{type:'line',data:{datasets:["
	"ds('turn latency p99 (ms)',pts(function(r){return p99(r.turn);}),0),"
	"ds('lateness p99 (ms)',pts(function(r){return p99(r.lateness);}),"
	"1,'y2'),"
	"ds('playout delay p99 (ms)',pts(function(r){"
	"return p99(r.playout_delay);}),3)]},options:{scales:{x:time(),"
	"y:Object.assign(lin('turn latency and playout delay, ms'),"
	"{beginAtZero:true}),"
	"y2:Object.assign(lin('lateness, ms'),{beginAtZero:true,"
	"position:'right',grid:{drawOnChartArea:false}})}}});\n",

	/* The histograms' own buckets (cli/histo.c), so that empty ones
	   between show as gaps: exact below 32 µs, then 32 a power of 2. */
	"function bucketOf(v){if(v<32)return v;var b=0,x=v;"
	"while(x>=2){x=Math.floor(x/2);b++;}var k=b-5;"
	"return 32+k*32+Math.floor(v/Math.pow(2,k))-32;}\n"
	"function bucketLo(i){if(i<32)return i;var k=Math.floor((i-32)/32);"
	"return (32+(i-32)%32)*Math.pow(2,k);}\n"
	"function fmt(ms){return ms>=100?ms.toFixed(0):ms>=10?ms.toFixed(1)"
	":ms.toFixed(2);}\n"
	"document.querySelectorAll('canvas[data-metric]').forEach("
	"function(cv){var h=data.metrics[cv.dataset.metric];"
	"if(!h||!h.count)return;var hist=h.histogram;"
	"var first=bucketOf(hist[0][0]),last=bucketOf(hist[hist.length-1][0]);"
	"var n=last-first+1,step=Math.max(1,Math.ceil(n/60));"
	"var counts=[],labels=[];"
	"for(var i=first;i<=last;i+=step){labels.push(fmt(bucketLo(i)/1000));"
	"counts.push(0);}"
	"hist.forEach(function(p){counts[Math.floor((bucketOf(p[0])-first)"
	"/step)]+=p[1];});\n",

	"new Chart(cv,{type:'bar',data:{labels:labels,datasets:[{label:"
	"cv.dataset.metric,data:counts,backgroundColor:C[0],"
	"barPercentage:1,categoryPercentage:1}]},options:{plugins:{legend:"
	"{display:false}},scales:{x:{title:{display:true,text:"
	"'ms (each bar from its lower end)'}},y:{beginAtZero:true,title:"
	"{display:true,text:'values'}}}}});});\n"
	"el=document.getElementById('plot-errors');\n"
	"if(el){var keys=Object.keys(data.errors);"
	"new Chart(el,{type:'bar',data:{labels:keys,datasets:[{label:"
	"'failed calls',data:keys.map(function(k){return data.errors[k];}),"
	"backgroundColor:C[2]}]},options:{indexAxis:'y',plugins:{legend:"
	"{display:false}},scales:{x:{beginAtZero:true,title:{display:true,"
	"text:'calls'}}}}});}\n"
	"})();\n",
	NULL,
};

static void page_head(FILE *f, const struct cli_load_report *r)
{
	fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n"
	      "<meta charset=\"utf-8\">\n"
	      "<meta name=\"viewport\" content=\"width=device-width, "
	      "initial-scale=1\">\n<title>wvoice load report: ",
	      f);
	html_text(f, r->url ? r->url : "(no url)");
	fprintf(f, "</title>\n<style>%s</style>\n</head>\n<body>\n", page_css);
	fputs("<header>\n<h1>wvoice load report</h1>\n<p>", f);
	html_text(f, r->url ? r->url : "(no url)");
	fprintf(f, ": %llu calls at %g/s (ramp %g s, duration %g s)",
		(unsigned long long)r->calls, r->rate_cps, r->ramp_s,
		r->duration_s);
	if (r->agent) {
		fputs(", agent ", f);
		html_text(f, r->agent);
	}
	if (r->script) {
		fputs(", script ", f);
		html_text(f, r->script);
	}
	if (r->impair) {
		fputs(", impaired ", f);
		html_text(f, r->impair);
	}
	if (r->playout) {
		fputs(", playout ", f);
		html_text(f, r->playout);
	}
	if (r->prebuffer_ms >= 0)
		fprintf(f, " %ld ms", r->prebuffer_ms);
	if (r->shards_merged > 1)
		fprintf(f, "; %u of %u shards merged", r->shards_merged,
			r->shard_count);
	fprintf(f, "; %.1f s of wall clock; wvoice ", r->wall_s);
	html_text(f, r->version ? r->version : "?");
	fputs(".</p>\n<p class=\"note\">Every figure is the client's view: "
	      "what wvoice load measured on the audio it sent and played "
	      "out. What the server reported of itself is at the end."
	      "</p>\n</header>\n<main>\n",
	      f);
}

/* A plot: its heading, the canvas with what it shows said for screen
   readers, and a caption. */
static void page_plot(FILE *f, const char *id, const char *title,
		      const char *label, const char *caption)
{
	fprintf(f, "<section aria-labelledby=\"%s-h\">\n<h2 id=\"%s-h\">%s"
		   "</h2>\n<figure>\n<div class=\"plot\"><canvas id=\"%s\" "
		   "role=\"img\" aria-label=\"%s\">%s</canvas></div>\n"
		   "<figcaption>%s</figcaption>\n</figure>\n</section>\n",
		id, id, title, id, label, label, caption);
}

static void page_histograms(FILE *f, const struct cli_load_report *r)
{
	fputs("<section aria-labelledby=\"histograms-h\">\n"
	      "<h2 id=\"histograms-h\">Latency histograms</h2>\n"
	      "<p class=\"note\">Each metric's values in its histogram's "
	      "buckets, 32 to each power of two (within 3.2 % of the value)."
	      "</p>\n<div class=\"grid\">\n",
	      f);
	for (enum cli_metric m = 0; m < CLI_M_COUNT; m++) {
		const struct cli_histo *h = &r->metrics[m];
		const char *name = cli_metric_name(m);
		char label[200];

		if (!h->count)
			continue;
		snprintf(label, sizeof label,
			 "Histogram of %s: %llu values, p50 %.1f ms, p99 %.1f "
			 "ms, max %.1f ms",
			 name, (unsigned long long)h->count,
			 cli_histo_figure_ms(h, CLI_F_P50),
			 cli_histo_figure_ms(h, CLI_F_P99),
			 cli_histo_figure_ms(h, CLI_F_MAX));
		fprintf(f, "<figure>\n<h3>%s</h3>\n<div class=\"plot\">"
			   "<canvas data-metric=\"%s\" role=\"img\" "
			   "aria-label=\"%s\">%s</canvas></div>\n</figure>\n",
			name, name, label, label);
	}
	fputs("</div>\n</section>\n", f);
}

static void page_figures(FILE *f, const struct cli_load_report *r)
{
	static const enum cli_figure figs[] = { CLI_F_P50, CLI_F_P90,
						CLI_F_P99, CLI_F_P999,
						CLI_F_MAX, CLI_F_MEAN };

	fputs("<section aria-labelledby=\"figures-h\">\n<h2 id=\"figures-h\">"
	      "Figures</h2>\n<table>\n<caption class=\"note\">The client's "
	      "view, in milliseconds</caption>\n<thead><tr><th scope=\"col\">"
	      "metric</th><th scope=\"col\">count</th>",
	      f);
	for (size_t i = 0; i < sizeof figs / sizeof *figs; i++)
		fprintf(f, "<th scope=\"col\">%s</th>",
			figs[i] == CLI_F_P999 ? "p99.9"
					      : cli_figure_name(figs[i]));
	fputs("</tr></thead>\n<tbody>\n", f);
	for (enum cli_metric m = 0; m < CLI_M_COUNT; m++) {
		const struct cli_histo *h = &r->metrics[m];

		fprintf(f, "<tr><th scope=\"row\">%s</th><td>%llu</td>",
			cli_metric_name(m), (unsigned long long)h->count);
		for (size_t i = 0; i < sizeof figs / sizeof *figs; i++)
			if (h->count)
				fprintf(f, "<td>%.1f</td>",
					cli_histo_figure_ms(h, figs[i]));
			else
				fputs("<td>-</td>", f);
		fputs("</tr>\n", f);
	}
	fputs("</tbody>\n</table>\n<table>\n<caption class=\"note\">Counts, "
	      "the client's view</caption>\n<tbody>\n",
	      f);
	for (size_t i = 0; i < CLI_LOAD_N_COUNTS; i++)
		fprintf(f, "<tr><th scope=\"row\">%s</th><td>%llu</td></tr>\n",
			cli_load_count_name(i),
			(unsigned long long)cli_load_count_get(&r->counts, i));
	fprintf(f, "<tr><th scope=\"row\">bytes per call</th><td>%llu</td>"
		   "</tr>\n",
		(unsigned long long)r->bytes_per_call);
	if (r->peak_rss_kib)
		fprintf(f, "<tr><th scope=\"row\">peak resident KiB</th><td>"
			   "%llu</td></tr>\n",
			(unsigned long long)r->peak_rss_kib);
	fputs("</tbody>\n</table>\n</section>\n", f);
}

static void page_tally(FILE *f, const char *caption, const char *what,
		       const struct cli_load_tally *t, size_t n)
{
	fprintf(f, "<table>\n<caption class=\"note\">%s</caption>\n<thead>"
		   "<tr><th scope=\"col\">%s</th><th scope=\"col\">calls</th>"
		   "</tr></thead>\n<tbody>\n",
		caption, what);
	for (size_t i = 0; i < n; i++) {
		fputs("<tr><th scope=\"row\">", f);
		html_text(f, t[i].key);
		fprintf(f, "</th><td>%llu</td></tr>\n",
			(unsigned long long)t[i].n);
	}
	fputs("</tbody>\n</table>\n", f);
}

static void page_errors(FILE *f, const struct cli_load_report *r)
{
	fputs("<section aria-labelledby=\"errors-h\">\n<h2 id=\"errors-h\">"
	      "Errors by kind</h2>\n",
	      f);
	if (r->n_errors) {
		/* A bar a kind: the plot as tall as they need. */
		fprintf(f, "<figure>\n<div class=\"plot\" style=\"height:"
			   "%zupx\"><canvas id=\"plot-errors\" role=\"img\" "
			   "aria-label=\"Failed calls by kind of error, as in "
			   "the table below\">Failed calls by kind of error, "
			   "as in the table below</canvas></div>\n</figure>\n",
			r->n_errors < 12 ? 70 + 34 * r->n_errors : 480);
		page_tally(f, "Failed calls by kind, the client's view", "error",
			   r->errors, r->n_errors);
	} else {
		fputs("<p>No call failed.</p>\n", f);
	}
	if (r->n_close_codes)
		page_tally(f, "How the calls' sockets closed, the client's view",
			   "close code", r->close_codes, r->n_close_codes);
	fputs("</section>\n", f);
}

static void page_server(FILE *f, const struct cli_load_report *r)
{
	fputs("<section aria-labelledby=\"server-h\">\n<h2 id=\"server-h\">"
	      "What the server reported</h2>\n",
	      f);
	if (r->server_json) {
		fputs("<p class=\"note\">The server's own figures, as it "
		      "reported them at the end (not measured by the client)."
		      "</p>\n<pre>",
		      f);
		html_text(f, r->server_json);
		fputs("</pre>\n", f);
	} else {
		fputs("<p>The server reported nothing of itself.</p>\n", f);
	}
	fputs("</section>\n", f);
}

/* The report's data for the page's script: all of it but the per-call
   list, which no plot shows and which can run to megabytes. Every '/' is
   escaped, so no "</script" can end the element early. */
static int page_data(FILE *f, const struct cli_load_report *r)
{
	json_t *doc = cli_load_report_to_json(r);
	int rc;

	if (!doc)
		return WV_ERR_NOMEM;
	json_object_del(doc, "calls");
	fputs("<script type=\"application/json\" id=\"report-data\">", f);
	rc = json_dumpf(doc, f, JSON_COMPACT | JSON_ESCAPE_SLASH |
					JSON_REAL_PRECISION(10));
	fputs("</script>\n", f);
	json_decref(doc);
	return rc ? WV_ERR_NOMEM : 0;
}

int cli_load_report_write_html(const struct cli_load_report *r,
			       const char *path, const char *chart_js,
			       char *err, size_t errlen)
{
	size_t len = 0;
	char *lib = read_file(chart_js, &len, err, errlen, &(int){ 0 });
	FILE *f;
	int rc;

	if (!lib)
		return WV_ERR_INVALID;
	if (!(f = fopen(path, "w"))) {
		rc = wvs_errorf(err, errlen, WV_ERR_INVALID, "%s: %s", path,
				strerror(errno));
		free(lib);
		return rc;
	}
	page_head(f, r);
	page_plot(f, "plot-calls", "Calls over time",
		  "Calls up, connecting, and failed so far, each second of "
		  "the run",
		  "At the end of each second: the calls up, those "
		  "connecting, and the calls failed since the start.");
	page_plot(f, "plot-latency",
		  "Turn latency, playout delay and lateness over time",
		  "The 99th percentile of turn latency, of the playout's "
		  "delay and of the lateness of the frames sent, each second "
		  "of the run",
		  "p99 of the turns that ended in each second and of the "
		  "playout delays sampled in it (left axis), and of the "
		  "lateness of the frames sent in it (right axis).");
	page_histograms(f, r);
	page_errors(f, r);
	page_figures(f, r);
	page_server(f, r);
	fputs("</main>\n", f);
	rc = page_data(f, r);
	fputs("<script>\n", f);
	script_text(f, lib, len);
	fputs("\n</script>\n<script>\n", f);
	for (size_t i = 0; page_js[i]; i++)
		fputs(page_js[i], f);
	fputs("</script>\n</body>\n</html>\n", f);
	free(lib);
	if (rc)
		rc = wvs_errorf(err, errlen, rc, "%s: out of memory", path);
	else if (ferror(f))
		rc = wvs_errorf(err, errlen, WV_ERR_INVALID, "%s: write failed",
				path);
	if (fclose(f) && !rc)
		rc = wvs_errorf(err, errlen, WV_ERR_INVALID, "%s: %s", path,
				strerror(errno));
	return rc;
}
