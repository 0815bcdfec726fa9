/* --fail-if: thresholds on the load report's figures, for CI jobs to
   gate on. See loadreport.h. */
#include "loadreport.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <wvoice/error.h>

#include "errbuf.h"

enum op { OP_GT, OP_GE, OP_LT, OP_LE, OP_EQ };

static const char *const op_text[] = { ">", ">=", "<", "<=", "==" };

/* What a condition reads: a counter, or a figure of a metric. */
struct condition {
	char name[48];
	bool is_metric;
	size_t index;		/* the counter's, or the metric's */
	enum cli_figure figure; /* of a metric */
	enum op op;
	double limit;
};

struct cli_fail_if {
	struct condition *conds;
	size_t n;
};

/* A metric's figure names as --fail-if spells them: "p50_turn_ms". */
static const enum cli_figure prefix_figures[] = {
	CLI_F_P50, CLI_F_P90, CLI_F_P99, CLI_F_P999,
	CLI_F_MAX, CLI_F_MEAN, CLI_F_MIN,
};

/* Resolves name into c; false when it names nothing. */
static bool resolve(struct condition *c, const char *name)
{
	if (strcmp(name, "errors") == 0)
		name = "calls_failed";
	for (size_t i = 0; i < CLI_LOAD_N_COUNTS; i++)
		if (strcmp(name, cli_load_count_name(i)) == 0) {
			c->is_metric = false;
			c->index = i;
			return true;
		}
	for (size_t f = 0; f < sizeof prefix_figures / sizeof *prefix_figures;
	     f++) {
		const char *fig = cli_figure_name(prefix_figures[f]);
		size_t len = strlen(fig);

		if (strncmp(name, fig, len) != 0 || name[len] != '_')
			continue;
		for (enum cli_metric m = 0; m < CLI_M_COUNT; m++)
			if (strcmp(name + len + 1, cli_metric_name(m)) == 0) {
				c->is_metric = true;
				c->index = m;
				c->figure = prefix_figures[f];
				return true;
			}
	}
	return false;
}

/* The operator at s: its length, or 0. */
static size_t parse_op(const char *s, enum op *op)
{
	if (s[0] == '>' || s[0] == '<') {
		bool eq = s[1] == '=';

		*op = s[0] == '>' ? (eq ? OP_GE : OP_GT) : (eq ? OP_LE : OP_LT);
		return eq ? 2 : 1;
	}
	if (s[0] == '=' && s[1] == '=') {
		*op = OP_EQ;
		return 2;
	}
	return 0;
}

/* A non-negative decimal, all of [s, end): digits with one optional
   point, nothing else (no sign, exponent, hex, inf or nan). */
static bool parse_number(const char *s, const char *end, double *out)
{
	char buf[40];
	size_t digits = 0, points = 0, len = (size_t)(end - s);

	if (len == 0 || len >= sizeof buf)
		return false;
	for (const char *p = s; p < end; p++) {
		if (isdigit((unsigned char)*p))
			digits++;
		else if (*p == '.')
			points++;
		else
			return false;
	}
	if (!digits || points > 1)
		return false;
	memcpy(buf, s, len);
	buf[len] = '\0';
	*out = strtod(buf, NULL);
	return isfinite(*out);
}

static const char *skip_blanks(const char *s, const char *end)
{
	while (s < end && isblank((unsigned char)*s))
		s++;
	return s;
}

static const char *trim_end(const char *s, const char *end)
{
	while (end > s && isblank((unsigned char)end[-1]))
		end--;
	return end;
}

/* One condition, [s, end). */
static int parse_one(struct condition *c, const char *s, const char *end,
		     char *err, size_t errlen)
{
	const char *name_end, *p;
	size_t oplen = 0;
	int shown;

	s = skip_blanks(s, end);
	end = trim_end(s, end);
	shown = (int)(end - s);
	if (s == end)
		return wvs_errorf(err, errlen, WV_ERR_INVALID,
				  "an empty condition");
	for (p = s; p < end && !(oplen = parse_op(p, &c->op)); p++)
		;
	if (!oplen)
		return wvs_errorf(err, errlen, WV_ERR_INVALID,
				  "%.*s: no operator (> >= < <= ==)", shown, s);
	name_end = trim_end(s, p);
	if (name_end == s)
		return wvs_errorf(err, errlen, WV_ERR_INVALID, "%.*s: no name",
				  shown, s);
	if ((size_t)(name_end - s) >= sizeof c->name)
		return wvs_errorf(err, errlen, WV_ERR_INVALID,
				  "%.*s: unknown name", shown, s);
	memcpy(c->name, s, (size_t)(name_end - s));
	c->name[name_end - s] = '\0';
	if (!resolve(c, c->name))
		return wvs_errorf(err, errlen, WV_ERR_INVALID,
				  "%.*s: unknown name %s", shown, s, c->name);
	p = skip_blanks(p + oplen, end);
	if (!parse_number(p, end, &c->limit))
		return wvs_errorf(err, errlen, WV_ERR_INVALID,
				  "%.*s: not a number >= 0", shown, s);
	return 0;
}

int cli_fail_if_parse(struct cli_fail_if **out, const char *spec, char *err,
		      size_t errlen)
{
	struct cli_fail_if *f = calloc(1, sizeof *f);
	size_t n = 1;
	const char *s = spec;
	int rc = 0;

	*out = NULL;
	for (const char *p = spec; *p; p++)
		n += *p == ',';
	if (!f || !(f->conds = calloc(n, sizeof *f->conds))) {
		rc = wvs_errorf(err, errlen, WV_ERR_NOMEM, "out of memory");
		goto fail;
	}
	for (;;) {
		const char *comma = strchr(s, ',');
		const char *end = comma ? comma : s + strlen(s);

		if ((rc = parse_one(&f->conds[f->n], s, end, err, errlen)))
			goto fail;
		f->n++;
		if (!comma)
			break;
		s = comma + 1;
	}
	*out = f;
	return 0;
fail:
	cli_fail_if_destroy(f);
	return rc;
}

void cli_fail_if_destroy(struct cli_fail_if *f)
{
	if (!f)
		return;
	free(f->conds);
	free(f);
}

static bool crossed(enum op op, double v, double limit)
{
	switch (op) {
	case OP_GT:
		return v > limit;
	case OP_GE:
		return v >= limit;
	case OP_LT:
		return v < limit;
	case OP_LE:
		return v <= limit;
	case OP_EQ:
		return v == limit;
	}
	return false;
}

size_t cli_fail_if_check(const struct cli_fail_if *f,
			 const struct cli_load_report *r, FILE *out)
{
	size_t n = 0;

	for (size_t i = 0; f && i < f->n; i++) {
		const struct condition *c = &f->conds[i];
		double v;

		if (c->is_metric) {
			const struct cli_histo *h = &r->metrics[c->index];

			if (!h->count)
				continue;
			v = cli_histo_figure_ms(h, c->figure);
		} else {
			v = (double)cli_load_count_get(&r->counts, c->index);
		}
		if (!crossed(c->op, v, c->limit))
			continue;
		n++;
		if (out)
			fprintf(out, "%s %g %s %g\n", c->name, v, op_text[c->op],
				c->limit);
	}
	return n;
}
