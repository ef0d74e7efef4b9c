/*
 * url.c - codes carried in web addresses (QR codes on boxes).
 *
 * - GS1 Digital Link: https://host/…/01/<gtin>[/22/…][/10/<lot>][/21/<serial>][?17=YYMMDD&…]
 * - a URL whose path or query carries a 20-digit trace code or an MA code.
 *
 * Nothing is ever fetched: the URL is only read.
 */
#include <stdio.h>
#include <string.h>

#include "internal.h"

int url_looks_like(const tctx *t)
{
	static const char *schemes[] = {"https://", "http://"};
	size_t i, k, len;

	for (k = 0; k < 2; k++) {
		len = strlen(schemes[k]);
		if (t->n <= len)
			continue;
		for (i = 0; i < len; i++) {
			char ch = t->s[i];
			if (ch >= 'A' && ch <= 'Z')
				ch = (char)(ch - 'A' + 'a');
			if (ch != schemes[k][i])
				break;
		}
		if (i == len)
			return 1;
	}
	return 0;
}

static int hexval(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/* Map Digital Link path/query names to AIs. */
static const char *dl_ai(const char *name, size_t n)
{
	static const struct { const char *name, *ai; } names[] = {
	    {"gtin", "01"}, {"cpv", "22"}, {"lot", "10"}, {"ser", "21"}, {"exp", "17"}, {"itip", "8006"},
	};
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strlen(names[i].name) == n && !memcmp(names[i].name, name, n))
			return names[i].ai;
	return NULL;
}

typedef struct dl_pair {
	char ai[5];
	size_t vs, vn; /* value span in t->s (still percent-encoded) */
	size_t as, an; /* AI/name span in t->s */
} dl_pair;

/* Append s[from..from+n) percent-decoded to s2 at *k, keeping the input map. */
static void put_decoded(tctx *t, size_t from, size_t n, size_t *k)
{
	size_t i = from, end = from + n;

	while (i < end && *k < t->cap) {
		int hi, lo;
		if (t->s[i] == '%' && !(i + 2 < end && hexval(t->s[i + 1]) >= 0 && hexval(t->s[i + 2]) >= 0))
			tc_issue(t, "url.bad_percent", DS_SEV_ERROR, i, end - i < 3 ? end - i : 3, "");
		if (t->s[i] == '%' && i + 2 < end && (hi = hexval(t->s[i + 1])) >= 0 &&
		    (lo = hexval(t->s[i + 2])) >= 0) {
			t->s2[*k] = (char)(hi * 16 + lo);
			t->ms2[*k] = t->ms[i];
			t->me2[*k] = t->me[i + 2];
			(*k)++;
			i += 3;
			continue;
		}
		t->s2[*k] = t->s[i];
		t->ms2[*k] = t->ms[i];
		t->me2[*k] = t->me[i];
		(*k)++;
		i++;
	}
}

static size_t find_char(const tctx *t, size_t from, size_t end, const char *stops)
{
	while (from < end && !strchr(stops, t->s[from]))
		from++;
	return from;
}

/* Collect Digital Link pairs from the path (after the primary key) and the query. */
static size_t dl_collect(const tctx *t, size_t path, size_t path_end, size_t q, size_t q_end,
                         dl_pair *out, size_t max)
{
	size_t segs[40][2], nseg = 0, i, a, np = 0, key = (size_t)-1;

	for (a = path; a < path_end && nseg < 40;) {
		size_t b = find_char(t, a, path_end, "/");
		if (b > a) {
			segs[nseg][0] = a;
			segs[nseg][1] = b - a;
			nseg++;
		}
		a = b + 1;
	}
	for (i = 0; i + 1 < nseg; i++) {
		const char *s = t->s + segs[i][0];
		size_t n = segs[i][1];
		if ((n == 2 && !memcmp(s, "01", 2)) || (n == 4 && !memcmp(s, "gtin", 4)) ||
		    (n == 4 && !memcmp(s, "8006", 4)) || (n == 4 && !memcmp(s, "itip", 4))) {
			key = i;
			break;
		}
	}
	if (key == (size_t)-1)
		return 0;
	for (i = key; i + 1 < nseg && np < max; i += 2) {
		const char *s = t->s + segs[i][0];
		size_t n = segs[i][1];
		const char *ai = tc_is_digits(s, n) && n <= 4 ? NULL : dl_ai(s, n);
		dl_pair *p = &out[np];
		if (ai)
			snprintf(p->ai, sizeof(p->ai), "%s", ai);
		else if (tc_is_digits(s, n) && n >= 2 && n <= 4)
			snprintf(p->ai, sizeof(p->ai), "%.*s", (int)n, s);
		else
			break;
		p->as = segs[i][0];
		p->an = n;
		p->vs = segs[i + 1][0];
		p->vn = segs[i + 1][1];
		np++;
	}
	for (a = q; a < q_end && np < max;) {
		size_t b = find_char(t, a, q_end, "&;");
		size_t eq = find_char(t, a, b, "=");
		const char *ai = eq > a ? dl_ai(t->s + a, eq - a) : NULL;
		if (eq < b && ((tc_is_digits(t->s + a, eq - a) && eq - a >= 2 && eq - a <= 4) || ai)) {
			dl_pair *p = &out[np++];
			if (ai)
				snprintf(p->ai, sizeof(p->ai), "%s", ai);
			else
				snprintf(p->ai, sizeof(p->ai), "%.*s", (int)(eq - a), t->s + a);
			p->as = a;
			p->an = eq - a;
			p->vs = eq + 1;
			p->vn = b - eq - 1;
		}
		a = b + 1;
	}
	return np;
}

/* Rebuild the working text as AI+value runs and validate them as GS1. */
static void dl_validate(tctx *t, const dl_pair *p, size_t np)
{
	size_t k = 0, i, used = 0, starts[DS_TRACE_MAX_ELEMENTS][3];
	const ai_def *defs[DS_TRACE_MAX_ELEMENTS];

	for (i = 0; i < np && i < DS_TRACE_MAX_ELEMENTS; i++) {
		size_t j, alen = strlen(p[i].ai), vstart;
		if (k + alen + p[i].vn + 14 > t->cap)
			break; /* cannot happen within DS_SCRATCH_SLACK; never write past it */
		used = i + 1;
		defs[i] = gs1_ai_find(p[i].ai);
		starts[i][0] = k;
		for (j = 0; j < alen; j++) {
			t->s2[k] = p[i].ai[j];
			t->ms2[k] = t->ms[p[i].as];
			t->me2[k] = t->me[p[i].as + p[i].an - 1];
			k++;
		}
		vstart = k;
		if (!strcmp(p[i].ai, "01") && p[i].vn >= 8 && p[i].vn < 14 && tc_is_digits(t->s + p[i].vs, p[i].vn)) {
			size_t pad = 14 - p[i].vn;
			for (j = 0; j < pad; j++) {
				t->s2[k] = '0';
				t->ms2[k] = t->ms[p[i].vs];
				t->me2[k] = t->me[p[i].vs];
				k++;
			}
			tc_issue(t, "url.gtin_padded", DS_SEV_INFO, p[i].vs, p[i].vn, "");
		}
		put_decoded(t, p[i].vs, p[i].vn, &k);
		starts[i][1] = vstart;
		starts[i][2] = k - vstart;
	}
	tn_swap(t, k);
	for (i = 0; i < used; i++) {
		if (!defs[i]) {
			tc_issue(t, "gs1.unknown_ai", DS_SEV_ERROR, starts[i][0], strlen(p[i].ai), p[i].ai);
			continue;
		}
		gs1_add_element(t, defs[i], starts[i][0], strlen(p[i].ai), starts[i][1], starts[i][2]);
	}
	gs1_check_elements(t);
	gs1_fields(t);
}

void url_parse(tctx *t)
{
	ds_code *c = t->c;
	size_t host, host_end, path_end, q, q_end, i;
	dl_pair pairs[DS_TRACE_MAX_ELEMENTS];
	size_t np;

	c->kind = DS_KIND_URL;
	c->text = tc_strdup(t, t->s, t->n);
	c->text_len = t->n;
	tc_field(t, "url", t->s, t->n);
	host = find_char(t, 0, t->n, ":") + 3;
	host_end = find_char(t, host, t->n, "/?#");
	path_end = find_char(t, host_end, t->n, "?#");
	q = path_end < t->n && t->s[path_end] == '?' ? path_end + 1 : path_end;
	q_end = find_char(t, q, t->n, "#");
	tc_field(t, "host", t->s + host, host_end - host);
	for (i = host; i < t->n; i++) {
		if (t->s[i] == ' ' || (unsigned char)t->s[i] >= 0x80) {
			tc_issue(t, "url.bad_char", DS_SEV_ERROR, i, 1, "");
			return;
		}
	}

	np = dl_collect(t, host_end, path_end, q, q_end, pairs, DS_TRACE_MAX_ELEMENTS);
	if (np > 0 && (!strcmp(pairs[0].ai, "01") || !strcmp(pairs[0].ai, "8006"))) {
		tc_field(t, "embedded_kind", "gs1", 3);
		dl_validate(t, pairs, np);
		return;
	}
	/* a 20-digit run in the path or query */
	for (i = host_end; i < t->n;) {
		size_t j;
		if (t->s[i] < '0' || t->s[i] > '9') {
			i++;
			continue;
		}
		for (j = i; j < t->n && t->s[j] >= '0' && t->s[j] <= '9'; j++)
			;
		if (j - i == 20) {
			tc_field(t, "embedded_kind", "nmpa20", 6);
			tc_parse_nmpa20(t, i, 20, 1);
			return;
		}
		i = j;
	}
	for (i = host_end; i + 3 < t->n; i++) {
		char prev = t->s[i - 1];
		int word = (prev >= 'A' && prev <= 'Z') || (prev >= 'a' && prev <= 'z');
		if (t->s[i] == 'M' && ma_looks_like(t, i, t->n - i) && !word) {
			size_t e = find_char(t, i, t->n, "&#/?=");
			tc_field(t, "embedded_kind", "ma", 2);
			ma_parse(t, i, e - i, 1);
			return;
		}
	}
	tc_issue(t, "url.no_code", DS_SEV_ERROR, 0, t->n, "");
}
