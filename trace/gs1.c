/*
 * gs1.c - GS1 element strings: FNC1-separated, bracketed "(01)…", and the
 * element lists that Digital Link URLs are turned into.
 *
 * Each problem is reported with the position and length of the offending
 * part in the input, like the GS1 Barcode Syntax Engine's error markup.
 */
#include <stdio.h>
#include <string.h>

#include "internal.h"

#define GS ((char)DS_GS)

static int has_element(const ds_code *c, const char *ai)
{
	size_t i;

	for (i = 0; i < c->nelements; i++)
		if (!strcmp(c->elements[i].ai, ai))
			return (int)i + 1;
	return 0;
}

/*
 * Is every requirement group satisfied? Groups are separated by ';', and a
 * group is met when one of its comma-separated AIs is present: "01,8006;21".
 * Returns 0 when all are met, else the 1-based index of the first failing group.
 */
static int unmet_group(const ds_code *c, const char *list)
{
	char ai[5];
	size_t k = 0;
	int group = 1, met = 0;

	for (;; list++) {
		if (*list == ',' || *list == ';' || *list == '\0') {
			ai[k] = '\0';
			if (k && has_element(c, ai))
				met = 1;
			k = 0;
			if (*list != ',') {
				if (!met)
					return group;
				if (*list == '\0')
					return 0;
				group++;
				met = 0;
			}
		} else if (k < 4) {
			ai[k++] = *list;
		}
	}
}

static void issue_at(tctx *t, const char *id, size_t i, size_t n, const char *arg)
{
	size_t pos, len;

	tc_span(t, i, n, &pos, &len);
	tc_issue_raw(t->c, id, DS_SEV_ERROR, pos, len, arg);
}

static int check_hhmm(const char *s)
{
	int hh = (s[0] - '0') * 10 + (s[1] - '0');
	int mm = (s[2] - '0') * 10 + (s[3] - '0');
	return hh < 24 && mm < 60;
}

/* Validate the components of one value at s[v..v+vlen). Returns 0 when clean. */
static int check_components(tctx *t, const ai_def *d, const char *ai, size_t v, size_t vlen)
{
	size_t k, off = 0, i, need_min = 0;
	int bad = 0;

	for (k = 0; k < 3 && d->comp[k].max; k++)
		if (!d->comp[k].optional)
			need_min += d->comp[k].min;
	if (vlen < need_min) {
		issue_at(t, "gs1.too_short", v, vlen ? vlen : 1, ai);
		return 1;
	}
	for (k = 0; k < 3 && d->comp[k].max && off < vlen; k++) {
		const ai_comp *cp = &d->comp[k];
		size_t take = vlen - off;
		int last = k == 2 || !d->comp[k + 1].max;
		if (take > cp->max || !last)
			take = take < cp->max ? take : cp->max;
		for (i = 0; i < take; i++) {
			unsigned char ch = (unsigned char)t->s[v + off + i];
			if (cp->type == AIC_N ? !(ch >= '0' && ch <= '9') : !gs1_cset82(ch)) {
				issue_at(t, cp->type == AIC_N ? "gs1.non_digit" : "gs1.bad_char", v + off + i, 1, ai);
				return 1;
			}
		}
		if (cp->lint == LINT_CSUM && !gs1_csum_ok(t->s + v + off, take)) {
			issue_at(t, "gs1.check_digit", v + off, take, ai);
			bad = 1;
		} else if ((cp->lint == LINT_YYMMD0 || cp->lint == LINT_YYMMDD) &&
		           !gs1_date(t->s + v + off, t->opts->today_ymd, cp->lint == LINT_YYMMD0, NULL)) {
			issue_at(t, "gs1.bad_date", v + off, take, ai);
			bad = 1;
		} else if (cp->lint == LINT_HHMM && !check_hhmm(t->s + v + off)) {
			issue_at(t, "gs1.bad_date", v + off, take, ai);
			bad = 1;
		}
		off += take;
	}
	if (off < vlen) {
		issue_at(t, "gs1.too_long", v + off, vlen - off, ai);
		bad = 1;
	}
	return bad;
}

/*
 * Record one element: AI at s[a..a+alen), value at s[v..v+vlen). Validates the
 * value and detects repeated AIs.
 */
void gs1_add_element(tctx *t, const ai_def *d, size_t a, size_t alen, size_t v, size_t vlen)
{
	ds_code *c = t->c;
	char ai[5];
	const char *value;
	ds_gs1_element *e;
	int dup;
	size_t end;

	size_t from = a > 0 && t->s[a - 1] == '(' ? a - 1 : a; /* include the bracket */
	size_t span_len = v + vlen - from;

	memcpy(ai, t->s + a, alen);
	ai[alen] = '\0';
	check_components(t, d, ai, v, vlen);
	value = tc_strdup(t, t->s + v, vlen);
	dup = has_element(c, ai);
	if (dup) {
		if (strcmp(c->elements[dup - 1].value, value))
			issue_at(t, "gs1.conflicting_ai", from, span_len, ai);
		else if (!ds_code_has_issue(c, "gs1.repeated_ai"))
			tc_issue(t, "gs1.repeated_ai", DS_SEV_WARN, from, span_len, ai);
		return;
	}
	if (c->nelements >= DS_TRACE_MAX_ELEMENTS) {
		if (!ds_code_has_issue(c, "gs1.too_many"))
			issue_at(t, "gs1.too_many", from, span_len, ai);
		return;
	}
	e = &c->elements[c->nelements++];
	memcpy(e->ai, ai, alen + 1);
	e->value = value;
	end = vlen ? v + vlen - 1 : a + alen - 1;
	e->pos = t->ms[from];
	e->len = t->me[end] - t->ms[from];
}

static void unknown_ai(tctx *t, size_t i, size_t end)
{
	char arg[8];
	size_t k = 0;

	while (k < 4 && i + k < end && t->s[i + k] >= '0' && t->s[i + k] <= '9') {
		arg[k] = t->s[i + k];
		k++;
	}
	arg[k] = '\0';
	if (k < 2)
		issue_at(t, "gs1.bad_ai", i, 1, "");
	else
		issue_at(t, "gs1.unknown_ai", i, k, arg);
}

static void parse_plain(tctx *t, size_t off, size_t n)
{
	size_t i = off, end = off + n, alen = 0, v, vlen, k;
	const ai_def *d;

	while (i < end) {
		if (t->s[i] == GS) {
			i++;
			continue;
		}
		d = gs1_ai_lookup(t->s + i, end - i, &alen);
		if (!d) {
			unknown_ai(t, i, end);
			return;
		}
		v = i + alen;
		if (d->fixed) {
			vlen = gs1_ai_total_max(d);
			for (k = v; k < end && k < v + vlen && t->s[k] != GS; k++)
				;
			if (k - v < vlen) {
				gs1_add_element(t, d, i, alen, v, k - v);
				i = k;
				continue;
			}
		} else {
			for (k = v; k < end && t->s[k] != GS; k++)
				;
			vlen = k - v;
			if (vlen > gs1_ai_total_max(d)) {
				/* Probably a lost FNC1: report it where the value overflows. */
				char arg[5];
				memcpy(arg, t->s + i, alen);
				arg[alen] = '\0';
				issue_at(t, "gs1.missing_fnc1", v + gs1_ai_total_max(d), vlen - gs1_ai_total_max(d), arg);
				vlen = gs1_ai_total_max(d);
				gs1_add_element(t, d, i, alen, v, vlen);
				return;
			}
		}
		gs1_add_element(t, d, i, alen, v, vlen);
		i = v + vlen;
	}
}

/* At s[i] == '(': "(" 2-4 digits ")"? Returns the digit count, or 0. */
static size_t bracket_ai(const tctx *t, size_t i, size_t end)
{
	size_t k = i + 1;

	while (k < end && t->s[k] >= '0' && t->s[k] <= '9' && k - i <= 4)
		k++;
	if (k >= end || t->s[k] != ')' || k - i - 1 < 2 || k - i - 1 > 4)
		return 0;
	return k - i - 1;
}

/*
 * In the bracketed form a '(' inside a value is written "\(" (as the GS1
 * Barcode Syntax Engine does). Drop the backslashes and remember which
 * parentheses were escaped so they never start an element.
 */
static size_t unescape_brackets(tctx *t, unsigned char *esc)
{
	size_t i, k = 0;

	for (i = 0; i < t->n; i++, k++) {
		esc[k] = 0;
		if (t->s[i] == '\\' && i + 1 < t->n && t->s[i + 1] == '(') {
			esc[k] = 1;
			t->s2[k] = '(';
			t->ms2[k] = t->ms[i];
			t->me2[k] = t->me[i + 1];
			i++;
			continue;
		}
		t->s2[k] = t->s[i];
		t->ms2[k] = t->ms[i];
		t->me2[k] = t->me[i];
	}
	tn_swap(t, k);
	return k;
}

static void parse_bracketed(tctx *t)
{
	unsigned char esc[DS_TRACE_MAX_INPUT + 1];
	size_t i = 0, end = unescape_brackets(t, esc), alen, got, v, k;
	const ai_def *d;

	while (i < end) {
		if (t->s[i] == GS) {
			i++;
			continue;
		}
		alen = t->s[i] == '(' ? bracket_ai(t, i, end) : 0;
		if (!alen) {
			issue_at(t, "gs1.bracket", i, 1, "");
			return;
		}
		d = gs1_ai_lookup(t->s + i + 1, alen, &got);
		if (!d || got != alen) {
			unknown_ai(t, i + 1, i + 1 + alen);
			return;
		}
		v = i + alen + 2;
		/* the value runs to the next "(AI)" or GS; a pre-defined length ends it early */
		for (k = v; k < end; k++)
			if (t->s[k] == GS || (t->s[k] == '(' && !esc[k] && bracket_ai(t, k, end)))
				break;
		gs1_add_element(t, d, i + 1, alen, v, k - v);
		i = k;
	}
}

/* The most data a real symbol carries: GS1 DataMatrix 144x144 holds 3,116
 * digits, a version 40 GS1 QR 7,089 (ISO/IEC 16022, 18004). GS1-128 symbols
 * are shorter still, but scanners may join two of them. */
static size_t gs1_max_len(const char *symbology)
{
	if (symbology && strstr(symbology, "datamatrix"))
		return 3116;
	return 7089;
}

void gs1_check_elements(tctx *t)
{
	ds_code *c = t->c;
	size_t i;
	char arg[48];

	if (c->nelements == 0)
		return;
	for (i = 0; i < c->nelements; i++) {
		const ds_gs1_element *e = &c->elements[i];
		const ai_def *d = gs1_ai_find(e->ai);
		if (d && d->req && unmet_group(c, d->req)) {
			snprintf(arg, sizeof(arg), "%s:%s", e->ai, d->req);
			tc_issue_raw(c, "gs1.missing_required", DS_SEV_ERROR, e->pos, e->len, arg);
		}
	}
	{
		static const char *pairs[][2] = {{"01", "02"}, {"01", "37"}, {"21", "235"}, {"01", "255"}, {"02", "8006"}};
		size_t k;
		for (k = 0; k < sizeof(pairs) / sizeof(pairs[0]); k++) {
			int a = has_element(c, pairs[k][0]), b = has_element(c, pairs[k][1]);
			if (a && b) {
				const ds_gs1_element *e = &c->elements[b - 1];
				snprintf(arg, sizeof(arg), "%s+%s", pairs[k][0], pairs[k][1]);
				tc_issue_raw(c, "gs1.exclusive", DS_SEV_ERROR, e->pos, e->len, arg);
			}
		}
	}
	if (has_element(c, "11") && has_element(c, "17")) {
		const ds_gs1_element *p = &c->elements[has_element(c, "11") - 1];
		const ds_gs1_element *x = &c->elements[has_element(c, "17") - 1];
		int pd = strlen(p->value) == 6 ? gs1_date(p->value, t->opts->today_ymd, 1, NULL) : 0;
		int xd = strlen(x->value) == 6 ? gs1_date(x->value, t->opts->today_ymd, 1, NULL) : 0;
		if (pd && xd && xd < pd)
			tc_issue_raw(c, "gs1.expiry_before_production", DS_SEV_WARN, x->pos, x->len, "");
	}
	if (t->in_len > gs1_max_len(c->symbology)) {
		/* more than any real symbol can carry: fabricated or garbage, not a scan */
		snprintf(arg, sizeof(arg), "%zu", gs1_max_len(c->symbology));
		tc_issue_raw(c, "gs1.oversized", DS_SEV_ERROR, 0, t->in_len, arg);
	}
	if (!has_element(c, "01") && !has_element(c, "8006")) {
		tc_issue_raw(c, "gs1.no_gtin", DS_SEV_WARN, 0, t->in_len, "");
		if (ds_code_has_issue(c, "gs1.repeated_ai")) /* e.g. a run of zeros read as many SSCCs */
			tc_issue_raw(c, "gs1.repeated_no_gtin", DS_SEV_ERROR, 0, t->in_len, "");
	} else if (!has_element(c, "21")) {
		tc_issue_raw(c, "gs1.no_serial", DS_SEV_WARN, 0, t->in_len, "");
	}
}

void gs1_fields(tctx *t)
{
	ds_code *c = t->c;
	size_t i;
	char name[16];

	for (i = 0; i < c->nelements; i++) {
		const ds_gs1_element *e = &c->elements[i];
		const ai_def *d = gs1_ai_find(e->ai);
		const char *fname = d ? d->field : NULL;
		int ymd = 0, day00 = 0;

		if (!fname) {
			snprintf(name, sizeof(name), "ai_%s", e->ai);
			fname = tc_strdup(t, name, strlen(name));
		}
		if (d && (d->comp[0].lint == LINT_YYMMD0 || d->comp[0].lint == LINT_YYMMDD) && strlen(e->value) == 6 &&
		    tc_is_digits(e->value, 6))
			ymd = gs1_date(e->value, t->opts->today_ymd, 1, &day00);
		if (ymd && day00 && strcmp(e->ai, "15") && strcmp(e->ai, "16") && strcmp(e->ai, "17")) {
			/* DD=00 is "end of month" only for best-before, sell-by and expiry;
			 * a production or packing month has no day */
			char ym[16];
			snprintf(ym, sizeof(ym), "%04d-%02d", ymd / 10000 % 10000, ymd / 100 % 100);
			tc_field(t, fname, ym, 7);
		} else if (ymd) {
			tc_field_date(t, fname, ymd);
			if (!strcmp(e->ai, "17"))
				c->expiry_ymd = ymd;
		} else {
			tc_field(t, fname, e->value, strlen(e->value));
		}
	}
}

int gs1_parse(tctx *t, size_t off, size_t n, int bracketed)
{
	if (bracketed)
		parse_bracketed(t);
	else
		parse_plain(t, off, n);
	if (t->c->nelements == 0) {
		size_t k;
		int errors = 0;
		for (k = 0; k < t->c->nissues; k++)
			errors += t->c->issues[k].severity == DS_SEV_ERROR;
		if (!errors)
			tc_issue_raw(t->c, "gs1.empty", DS_SEV_ERROR, 0, t->in_len, "");
	}
	gs1_check_elements(t);
	gs1_fields(t);
	return 1;
}

/*
 * Could s be an element string typed without brackets? Its first element
 * must be a trade-item opener (00, 01, 02, 8006) whose digits are all there;
 * then every later error is reported in GS1 terms.
 */
int gs1_looks_like(const tctx *t)
{
	size_t alen, need;
	const ai_def *d;

	if (t->n < 4)
		return 0;
	d = gs1_ai_lookup(t->s, t->n, &alen);
	if (!d || !(!strcmp(d->ai, "01") || !strcmp(d->ai, "02") || !strcmp(d->ai, "00") ||
	            !strcmp(d->ai, "8006")))
		return 0;
	need = gs1_ai_total_max(d);
	return t->n >= alen + need && tc_is_digits(t->s + alen, need);
}

int ds_gs1_format(ds_buf *out, const ds_code *code, int bracketed)
{
	size_t i;

	if (!code || code->nelements == 0)
		return DS_EINVAL;
	for (i = 0; i < code->nelements; i++) {
		const ds_gs1_element *e = &code->elements[i];
		const ai_def *d = gs1_ai_find(e->ai);
		int rc;
		const char *p;
		rc = ds_buf_printf(out, bracketed ? "(%s)" : "%s", e->ai);
		for (p = e->value; rc == DS_OK && *p; p++) {
			if (bracketed && *p == '(')
				rc = ds_buf_putc(out, '\\');
			if (rc == DS_OK)
				rc = ds_buf_putc(out, *p);
		}
		if (rc < 0)
			return rc;
		/* FNC1 after every element that is not pre-defined length, unless last */
		if (!bracketed && i + 1 < code->nelements && !(d && d->fixed) && ds_buf_putc(out, GS) < 0)
			return DS_ENOMEM;
	}
	return DS_OK;
}
