/*
 * trace.c - ds_trace_parse: normalise, recognise the family, split fields.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

void ds_code_init(ds_code *code)
{
	memset(code, 0, sizeof(*code));
}

void ds_code_free(ds_code *code)
{
	if (!code)
		return;
	free(code->arena_);
	free(code->scratch_);
	memset(code, 0, sizeof(*code));
}

void ds_trace_opts_default(ds_trace_opts *opts)
{
	opts->today_ymd = ds_today_ymd();
	opts->expiring_days = 90;
	opts->exact = 0;
}

const char *ds_kind_name(ds_kind kind)
{
	switch (kind) {
	case DS_KIND_NMPA20: return "nmpa20";
	case DS_KIND_GS1: return "gs1";
	case DS_KIND_MA: return "ma";
	case DS_KIND_URL: return "url";
	case DS_KIND_PRODUCT_BARCODE: return "product-barcode";
	case DS_KIND_UNKNOWN: break;
	}
	return "unknown";
}

const char *ds_severity_name(ds_severity sev)
{
	return sev == DS_SEV_ERROR ? "error" : sev == DS_SEV_WARN ? "warn" : "info";
}

const char *ds_level_name(ds_level level)
{
	return level == DS_LEVEL_ALERT ? "alert" : level == DS_LEVEL_WARN ? "warn" : "info";
}

const char *ds_code_field(const ds_code *code, const char *name)
{
	size_t i;

	for (i = 0; i < code->nfields; i++)
		if (!strcmp(code->fields[i].name, name))
			return code->fields[i].value;
	return NULL;
}

int ds_code_has_issue(const ds_code *code, const char *id)
{
	size_t i;

	for (i = 0; i < code->nissues; i++)
		if (!strcmp(code->issues[i].id, id))
			return 1;
	return 0;
}

/* ---- helpers shared by the parsers (internal.h) ---- */

void tc_issue_raw(ds_code *c, const char *id, ds_severity sev, size_t pos, size_t len,
                  const char *arg)
{
	ds_issue *is;
	size_t i;

	for (i = 0; i < c->nissues; i++)
		if (!strcmp(c->issues[i].id, id) && c->issues[i].pos == pos)
			return;
	if (c->nissues >= DS_TRACE_MAX_ISSUES) {
		/* Keep the last slot for an error so validity is never lost. */
		if (sev != DS_SEV_ERROR)
			return;
		is = &c->issues[DS_TRACE_MAX_ISSUES - 1];
	} else {
		is = &c->issues[c->nissues++];
	}
	is->id = id;
	is->severity = sev;
	is->pos = pos;
	is->len = len;
	snprintf(is->arg, sizeof(is->arg), "%s", arg ? arg : "");
}

void tc_span(const tctx *t, size_t i, size_t n, size_t *pos, size_t *len)
{
	if (t->n == 0) {
		*pos = 0;
		*len = t->in_len;
		return;
	}
	if (i >= t->n)
		i = t->n - 1;
	if (n == 0)
		n = 1;
	if (i + n > t->n)
		n = t->n - i;
	*pos = t->ms[i];
	*len = t->me[i + n - 1] - t->ms[i];
}

void tc_issue(tctx *t, const char *id, ds_severity sev, size_t i, size_t n, const char *arg)
{
	size_t pos, len;

	tc_span(t, i, n, &pos, &len);
	tc_issue_raw(t->c, id, sev, pos, len, arg);
}

const char *tc_strdup(tctx *t, const char *s, size_t n)
{
	ds_code *c = t->c;
	char *p;

	if (c->arena_len_ + n + 1 > c->arena_cap_) {
		t->oom = 1;
		return "";
	}
	p = c->arena_ + c->arena_len_;
	memcpy(p, s, n);
	p[n] = '\0';
	c->arena_len_ += n + 1;
	return p;
}

void tc_field(tctx *t, const char *name, const char *value, size_t n)
{
	ds_code *c = t->c;

	if (c->nfields >= DS_TRACE_MAX_FIELDS)
		return;
	c->fields[c->nfields].name = name;
	c->fields[c->nfields].value = tc_strdup(t, value, n);
	c->nfields++;
}

void tc_field_date(tctx *t, const char *name, int ymd)
{
	char buf[16];

	snprintf(buf, sizeof(buf), "%04d-%02d-%02d", ymd / 10000, ymd / 100 % 100, ymd % 100);
	tc_field(t, name, buf, 10);
}

int tc_is_digits(const char *s, size_t n)
{
	size_t i;

	if (n == 0)
		return 0;
	for (i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return 1;
}

static long days_from_civil(int y, int m, int d)
{
	long era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

int tc_days_between(int a, int b)
{
	return (int)(days_from_civil(b / 10000, b / 100 % 100, b % 100) -
	             days_from_civil(a / 10000, a / 100 % 100, a % 100));
}

/* ---- the 20-digit NMPA code and EAN/UPC ---- */

void tc_parse_nmpa20(tctx *t, size_t off, size_t n, int embedded)
{
	size_t i;
	char arg[24];

	if (!embedded)
		t->c->kind = DS_KIND_NMPA20;
	if (n != 20 || !tc_is_digits(t->s + off, n)) {
		for (i = 0; i < n; i++) {
			if (t->s[off + i] < '0' || t->s[off + i] > '9') {
				snprintf(arg, sizeof(arg), "%c", t->s[off + i]);
				tc_issue(t, "nmpa.non_digit", DS_SEV_ERROR, off + i, 1, arg);
				return;
			}
		}
		snprintf(arg, sizeof(arg), "%zu", n);
		tc_issue(t, "nmpa.length", DS_SEV_ERROR, off, n, arg);
		return;
	}
	if (t->s[off] != '8')
		tc_issue(t, "nmpa.prefix", DS_SEV_WARN, off, 1, "");
	tc_field(t, "product_code", t->s + off, 7);
	tc_field(t, "serial", t->s + off + 7, 9);
	tc_field(t, "check", t->s + off + 16, 4);
}

static int ean_check_ok(const char *s, size_t n)
{
	return gs1_csum_ok(s, n);
}

static void parse_ean(tctx *t, const char *field)
{
	ds_code *c = t->c;

	c->kind = DS_KIND_PRODUCT_BARCODE;
	tc_field(t, field, t->s, t->n);
	if (!ean_check_ok(t->s, t->n))
		tc_issue(t, "ean.check_digit", DS_SEV_ERROR, t->n - 1, 1, "");
	tc_issue(t, "ean.product_barcode", DS_SEV_ERROR, 0, t->n, field);
}

static int sym_is(const ds_code *c, const char *name)
{
	return !strcmp(c->symbology, name);
}

/* Only digits after normalisation: decide by length and hints. */
static void classify_digits(tctx *t)
{
	ds_code *c = t->c;
	size_t n = t->n;
	char arg[24];

	if (sym_is(c, "ean13") || sym_is(c, "ean8") || sym_is(c, "upca") || sym_is(c, "upce") ||
	    (c->aim[0] && c->aim[1] == 'E')) {
		parse_ean(t, n == 8 ? "ean8" : n == 12 ? "upca" : "ean13");
		return;
	}
	if (n == 20) {
		tc_parse_nmpa20(t, 0, n, 0);
		return;
	}
	if (n == 13 && (ean_check_ok(t->s, n) || (t->s[0] == '6' && t->s[1] == '9'))) {
		parse_ean(t, "ean13");
		return;
	}
	if ((n == 8 || n == 12) && ean_check_ok(t->s, n)) {
		parse_ean(t, n == 8 ? "ean8" : "upca");
		return;
	}
	if (n == 14 && t->s[0] == '8' && t->s[1] == '6' && t->s[2] == '9') {
		tc_issue(t, "code.standard_code", DS_SEV_ERROR, 0, n, "");
		return;
	}
	if (n >= 16 && gs1_looks_like(t)) {
		ds_code saved = *c; /* issues/fields/elements only; arena is append-only */
		size_t arena = c->arena_len_, k;
		int errors = 0;

		c->kind = DS_KIND_GS1;
		gs1_parse(t, 0, n, 0);
		for (k = saved.nissues; k < c->nissues; k++)
			errors += c->issues[k].severity == DS_SEV_ERROR;
		if (!errors || t->s[0] != '8')
			return;
		*c = saved;
		c->arena_len_ = arena;
	}
	if (n == 14 && ean_check_ok(t->s, n)) {
		tc_issue(t, "code.gtin_only", DS_SEV_ERROR, 0, n, "");
		return;
	}
	if (n >= 16 && n <= 24 && t->s[0] == '8') {
		tc_parse_nmpa20(t, 0, n, 0);
		return;
	}
	snprintf(arg, sizeof(arg), "%zu", n);
	tc_issue(t, "code.unrecognised", DS_SEV_ERROR, 0, n, arg);
}

/* 20 characters that are mostly digits: a mistyped 20-digit code. */
static int near_nmpa20(const tctx *t)
{
	size_t i, other = 0;

	if (t->n != 20 || t->s[0] < '0' || t->s[0] > '9')
		return 0;
	for (i = 0; i < t->n; i++)
		other += t->s[i] < '0' || t->s[i] > '9';
	return other <= 2;
}

/* A run of exactly 20 digits inside other text: a hint, never a silent extraction. */
static void hint_embedded(tctx *t)
{
	size_t i = 0, j;

	while (i < t->n) {
		if (t->s[i] < '0' || t->s[i] > '9') {
			i++;
			continue;
		}
		for (j = i; j < t->n && t->s[j] >= '0' && t->s[j] <= '9'; j++)
			;
		if (j - i == 20) {
			char arg[24];
			memcpy(arg, t->s + i, 20);
			arg[20] = '\0';
			tc_issue(t, "code.embedded_hint", DS_SEV_INFO, i, 20, arg);
			return;
		}
		i = j;
	}
}

/* The bracketed form "(01)…" is for people; text carries the element string. */
static void canonical_text(tctx *t)
{
	ds_code *c = t->c;
	ds_buf b = DS_BUF_INIT;

	size_t i;

	if (c->nelements == 0)
		return;
	for (i = 0; i < c->nissues; i++)
		if (c->issues[i].severity == DS_SEV_ERROR)
			return;
	if (ds_gs1_format(&b, c, 0) == DS_OK) {
		c->text = tc_strdup(t, b.ptr, b.len);
		c->text_len = b.len;
	} else {
		t->oom = 1;
	}
	ds_buf_free(&b);
}

static void classify(tctx *t)
{
	ds_code *c = t->c;

	if (tn_gs1_context(t)) {
		int bracketed;
		if (!t->opts->exact)
			tn_standins(t);
		else
			tn_leading_fnc1(t);
		bracketed = t->n > 0 && t->s[0] == '(';
		c->kind = DS_KIND_GS1;
		gs1_parse(t, 0, t->n, bracketed);
		if (bracketed)
			canonical_text(t);
		return;
	}
	if (url_looks_like(t)) {
		url_parse(t);
		return;
	}
	if (ma_looks_like(t, 0, t->n)) {
		ma_parse(t, 0, t->n, 0);
		return;
	}
	if (!t->opts->exact)
		tn_drop_separators(t);
	if (tc_is_digits(t->s, t->n)) {
		classify_digits(t);
		return;
	}
	if (t->n >= 4 && gs1_looks_like(t) && (memchr(t->s, DS_GS, t->n) || t->n > 16)) {
		/* An element string typed without brackets, maybe with stand-ins:
		 * gs1_looks_like checked that its first element is well formed. */
		if (!t->opts->exact)
			tn_standins(t);
		c->kind = DS_KIND_GS1;
		gs1_parse(t, 0, t->n, 0);
		return;
	}
	if (near_nmpa20(t)) {
		tc_parse_nmpa20(t, 0, t->n, 0);
		return;
	}
	tc_issue(t, "code.unrecognised", DS_SEV_ERROR, 0, t->n, "");
	hint_embedded(t);
}

static int ensure_storage(ds_code *c, size_t len)
{
	size_t arena = len * 6 + 4096;
	size_t scratch = (len + 1 + DS_SCRATCH_SLACK) * (2 * sizeof(char) + 4 * sizeof(uint32_t)) + 16;

	if (c->arena_cap_ < arena) {
		char *p = realloc(c->arena_, arena);
		if (!p)
			return DS_ENOMEM;
		c->arena_ = p;
		c->arena_cap_ = arena;
	}
	if (c->scratch_cap_ < scratch) {
		void *p = realloc(c->scratch_, scratch);
		if (!p)
			return DS_ENOMEM;
		c->scratch_ = p;
		c->scratch_cap_ = scratch;
	}
	return DS_OK;
}

static const char *symbology_from_aim(const char *aim)
{
	static const struct { const char *aim, *name; } map[] = {
	    {"]C0", "code128"}, {"]C1", "gs1-128"}, {"]d1", "datamatrix"}, {"]d2", "gs1-datamatrix"},
	    {"]Q1", "qr"}, {"]Q3", "gs1-qr"}, {"]E0", "ean13"}, {"]E4", "ean8"}, {"]e0", "databar"},
	    {"]I0", "itf"}, {"]I1", "itf"}, {"]J0", "dotcode"}, {"]J1", "gs1-dotcode"},
	};
	size_t i;

	for (i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (!strcmp(map[i].aim, aim))
			return map[i].name;
	return "";
}

static void set_hint(char *dst, size_t size, const char *src)
{
	size_t i;

	dst[0] = '\0';
	if (!src)
		return;
	for (i = 0; i + 1 < size && src[i]; i++)
		dst[i] = src[i];
	dst[i] = '\0';
}

int ds_trace_parse(ds_code *out, const void *data, size_t len, const char *symbology,
                   const char *aim, const ds_trace_opts *opts)
{
	ds_trace_opts defaults = {0, 90, 0};
	tctx t;
	size_t i, cap;
	uint32_t *maps;
	const unsigned char *in = data;

	if (!opts)
		opts = &defaults;
	out->kind = DS_KIND_UNKNOWN;
	out->valid = 0;
	out->nfields = out->nelements = out->nissues = 0;
	out->expiry_ymd = 0;
	out->arena_len_ = 0;
	out->text = "";
	out->text_len = 0;
	set_hint(out->symbology, sizeof(out->symbology), symbology);
	set_hint(out->aim, sizeof(out->aim), aim);

	if (len > DS_TRACE_MAX_INPUT) {
		char arg[32];
		snprintf(arg, sizeof(arg), "%zu", len);
		tc_issue_raw(out, "input.too_long", DS_SEV_ERROR, 0, len, arg);
		return DS_OK;
	}
	if (ensure_storage(out, len) < 0)
		return DS_ENOMEM;
	cap = len + 1 + DS_SCRATCH_SLACK;
	memset(&t, 0, sizeof(t));
	t.c = out;
	t.opts = opts;
	t.in_len = len;
	t.cap = cap - 1;
	t.s = out->scratch_;
	t.s2 = t.s + cap;
	maps = (uint32_t *)(void *)((char *)out->scratch_ + ((2 * cap + 7) & ~(size_t)7));
	t.ms = maps;
	t.me = maps + cap;
	t.ms2 = maps + 2 * cap;
	t.me2 = maps + 3 * cap;

	if (tn_prepare(&t, in, len) == 0) {
		if (!opts->exact)
			tn_trim(&t);
		if (t.n == 0) {
			tc_issue_raw(out, "input.empty", DS_SEV_ERROR, 0, len, "");
		} else {
			if (!opts->exact)
				tn_strip_aim(&t);
			if (t.n == 0)
				tc_issue_raw(out, "input.empty", DS_SEV_ERROR, 0, len, "");
			else
				classify(&t);
		}
		if (!out->text_len) {
			out->text = tc_strdup(&t, t.s, t.n);
			out->text_len = t.n;
		}
	}
	if (!out->symbology[0] && out->aim[0])
		set_hint(out->symbology, sizeof(out->symbology), symbology_from_aim(out->aim));
	if (t.oom)
		return DS_ENOMEM;
	out->valid = out->kind != DS_KIND_UNKNOWN && out->kind != DS_KIND_PRODUCT_BARCODE;
	for (i = 0; i < out->nissues; i++)
		if (out->issues[i].severity == DS_SEV_ERROR)
			out->valid = 0;
	return DS_OK;
}
