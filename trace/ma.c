/*
 * ma.c - MA codes (IDcode, ISO/IEC 15459 issuing agency "MA").
 *
 *   MA.156.M0.100204.13351764.S123456.L2101.M210101.E230101
 *   └DI: agency.country.category.organisation.product┘ └PI: .<key><value>…┘
 *
 * PI keys: S serial, L batch, M or P production date, E expiry, V valid-until,
 * D sterilisation batch, C check character. The drug-specific layout is not
 * published, so unknown keys are kept and reported, never rejected.
 */
#include <stdio.h>
#include <string.h>

#include "internal.h"

int ma_looks_like(const tctx *t, size_t off, size_t n)
{
	const char *s = t->s + off;

	if (t->opts->exact)
		return n >= 3 && s[0] == 'M' && s[1] == 'A' && s[2] == '.';
	return n >= 3 && (s[0] == 'M' || s[0] == 'm') && (s[1] == 'A' || s[1] == 'a') && s[2] == '.';
}

static int ma_char_ok(char ch)
{
	return (ch >= '0' && ch <= '9') || (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
	       ch == '-' || ch == '_' || ch == '/';
}

/* 6 (YYMMDD) or 8 (YYYYMMDD) digits; returns YYYYMMDD or 0. */
static int ma_date(const tctx *t, const char *v, size_t n)
{
	if (n == 6 && tc_is_digits(v, 6))
		return gs1_date(v, t->opts->today_ymd, 1, NULL);
	if (n == 8 && tc_is_digits(v, 8)) {
		int y = 0, m, d, i;
		for (i = 0; i < 4; i++)
			y = y * 10 + (v[i] - '0');
		m = (v[4] - '0') * 10 + (v[5] - '0');
		d = (v[6] - '0') * 10 + (v[7] - '0');
		if (y < 1900 || !ds_days_in_month(y, m) || d < 1 || d > ds_days_in_month(y, m))
			return 0;
		return y * 10000 + m * 100 + d;
	}
	return 0;
}

static const char *pi_field(char key)
{
	switch (key) {
	case 'S': return "serial";
	case 'L': return "batch";
	case 'M':
	case 'P': return "prod_date";
	case 'E': return "expiry";
	case 'V': return "valid_until";
	case 'D': return "sterilization_batch";
	case 'C': return "check";
	default: return NULL;
	}
}

static void pi_segment(tctx *t, size_t a, size_t len)
{
	ds_code *c = t->c;
	char key = t->s[a], arg[4];
	const char *field = pi_field(key);
	const char *v = t->s + a + 1;
	size_t vn = len - 1;

	arg[0] = key;
	arg[1] = '\0';
	if (!field) {
		char name[8];
		tc_issue(t, "ma.unknown_field", DS_SEV_INFO, a, len, arg);
		snprintf(name, sizeof(name), "ma_%c", key);
		tc_field(t, tc_strdup(t, name, strlen(name)), v, vn);
		return;
	}
	if (key == 'M' || key == 'P' || key == 'E' || key == 'V') {
		int ymd = ma_date(t, v, vn);
		if (!ymd) {
			tc_issue(t, "ma.bad_date", DS_SEV_ERROR, a, len, arg);
			tc_field(t, field, v, vn);
			return;
		}
		tc_field_date(t, field, ymd);
		if ((key == 'E' || key == 'V') && (!c->expiry_ymd || key == 'E'))
			c->expiry_ymd = ymd;
		return;
	}
	if (vn == 0) {
		tc_issue(t, "ma.empty_segment", DS_SEV_ERROR, a, len, arg);
		return;
	}
	tc_field(t, field, v, vn);
}

void ma_parse(tctx *t, size_t off, size_t n, int embedded)
{
	ds_code *c = t->c;
	size_t seg[5][2], nseg = 0, i, a = off, end = off + n;
	int serial = 0;

	if (!embedded)
		c->kind = DS_KIND_MA;
	if (!embedded && !t->opts->exact && t->s[off] == 'm' && t->s[off + 1] == 'a') {
		/* "ma.156.m0…": the agency is always upper case, so Caps Lock was on. */
		tc_issue(t, "norm.caps_lock", DS_SEV_WARN, off, n, "");
		tn_invert_case(t, off);
	}
	for (i = off; i < end; i++) {
		if (t->s[i] != '.' && !ma_char_ok(t->s[i])) {
			char arg[4] = {t->s[i], 0, 0, 0};
			if ((unsigned char)t->s[i] >= 0x80)
				arg[0] = '?';
			tc_issue(t, "ma.bad_char", DS_SEV_ERROR, i, 1, arg);
			return;
		}
	}
	for (i = off; i <= end; i++) {
		if (i < end && t->s[i] != '.')
			continue;
		if (i == a) {
			tc_issue(t, "ma.empty_segment", DS_SEV_ERROR, i < end ? i : end - 1, 1, "");
			return;
		}
		if (nseg < 5) {
			seg[nseg][0] = a;
			seg[nseg][1] = i - a;
			nseg++;
		} else {
			serial |= t->s[a] == 'S';
			pi_segment(t, a, i - a);
		}
		a = i + 1;
	}
	if (nseg < 5) {
		tc_issue(t, "ma.short", DS_SEV_ERROR, off, n, "");
		return;
	}
	if (seg[1][1] != 3 || !tc_is_digits(t->s + seg[1][0], 3)) {
		tc_issue(t, "ma.bad_country", DS_SEV_ERROR, seg[1][0], seg[1][1], "");
	} else if (memcmp(t->s + seg[1][0], "156", 3)) {
		char arg[4];
		memcpy(arg, t->s + seg[1][0], 3);
		arg[3] = '\0';
		tc_issue(t, "ma.foreign", DS_SEV_WARN, seg[1][0], 3, arg);
	}
	/* DI fields first in the output: insert them before any PI fields. */
	{
		ds_field pi[DS_TRACE_MAX_FIELDS];
		size_t npi = 0, base = 0, k;
		static const char *names[4] = {"country", "category", "org_code", "product_code"};

		for (k = 0; k < c->nfields; k++) {
			if (!strcmp(c->fields[k].name, "url") || !strcmp(c->fields[k].name, "host") ||
			    !strcmp(c->fields[k].name, "embedded_kind"))
				base = k + 1;
		}
		for (k = base; k < c->nfields; k++)
			pi[npi++] = c->fields[k];
		c->nfields = base;
		tc_field(t, "di", t->s + seg[0][0], seg[4][0] + seg[4][1] - seg[0][0]);
		for (k = 0; k < 4; k++)
			tc_field(t, names[k], t->s + seg[k + 1][0], seg[k + 1][1]);
		for (k = 0; k < npi && c->nfields < DS_TRACE_MAX_FIELDS; k++)
			c->fields[c->nfields++] = pi[k];
	}
	if (!serial)
		tc_issue(t, "ma.no_serial", DS_SEV_WARN, off, n, "");
}
