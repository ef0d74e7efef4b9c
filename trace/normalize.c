/*
 * normalize.c - turn what people and scanners send into the text we parse.
 *
 * Every step keeps a map from each output byte back to the input bytes it
 * came from, and every change is reported as an issue: normalisation never
 * silently changes a code's meaning.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static int is_ws(unsigned char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n' || ch == '\v' || ch == '\f';
}

/* Map a code point to ASCII when it is a full-width or look-alike form. */
static int fold_cp(uint32_t cp)
{
	if (cp >= 0xFF01 && cp <= 0xFF5E)
		return (int)(cp - 0xFEE0);
	if (cp == 0x3000)
		return ' ';
	if (cp == 0x3002 || cp == 0xFF61) /* ideographic full stop, as typed for '.' */
		return '.';
	if ((cp >= 0x2010 && cp <= 0x2015) || cp == 0x2212 || cp == 0xFE63)
		return '-';
	if (cp == 0x00A0 || cp == 0x2007 || cp == 0x202F) /* no-break spaces from web pages and Excel */
		return ' ';
	return -1;
}

/* Zero-width characters copied along with text: dropped (and reported). */
static int invisible_cp(uint32_t cp)
{
	return (cp >= 0x200B && cp <= 0x200D) || cp == 0x2060 || cp == 0xFEFF;
}

/* GBK/GB18030 two-byte forms of the full-width ASCII block and U+3000. */
static uint32_t gbk_fullwidth(const unsigned char *p, size_t left)
{
	if (left < 2)
		return 0;
	if (p[0] == 0xA3 && p[1] >= 0xA1 && p[1] <= 0xFE)
		return 0xFF01 + (uint32_t)(p[1] - 0xA1);
	if (p[0] == 0xA1 && p[1] == 0xA1)
		return 0x3000;
	return 0;
}

static int is_bad_control(unsigned char ch)
{
	return (ch < 0x20 && ch != DS_GS && !is_ws(ch)) || ch == 0x7F;
}

void tn_swap(tctx *t, size_t n2)
{
	char *s = t->s;
	uint32_t *ms = t->ms, *me = t->me;

	t->s = t->s2;
	t->ms = t->ms2;
	t->me = t->me2;
	t->s2 = s;
	t->ms2 = ms;
	t->me2 = me;
	t->n = n2;
	t->s[n2] = '\0';
}

/* UTF-8 (0), or GB18030 whose every non-ASCII char is full-width (1); else -1 with the issue. */
static int check_encoding(tctx *t, const unsigned char *in, size_t len)
{
	size_t bad = ds_utf8_check(in, len), k;

	if (bad == len)
		return 0;
	if (t->opts->exact) {
		/* decoders may return any bytes (QR in GBK, binary): keep them, flag them */
		tc_issue_raw(t->c, "input.invalid_utf8", DS_SEV_ERROR, bad, 1, "");
		return -1;
	}
	/* Not UTF-8: accept GB18030 only when every non-ASCII char is full-width. */
	for (k = 0; k < len;) {
		if (in[k] < 0x80) {
			k++;
		} else if (gbk_fullwidth(in + k, len - k)) {
			k += 2;
		} else {
			tc_issue_raw(t->c, "input.invalid_utf8", DS_SEV_ERROR, bad, 1, "");
			return -1;
		}
	}
	return 1;
}

int tn_prepare(tctx *t, const unsigned char *in, size_t len)
{
	size_t i = 0, n = 0, first_fold = (size_t)-1, last_fold = 0;
	size_t standin_pos = 0, standin_len = 0, invisible = (size_t)-1;
	int gbk = check_encoding(t, in, len), standin = 0;
	uint32_t cp;
	size_t k;

	if (gbk < 0)
		return -1;
	while (i < len) {
		size_t start = i, w;
		int ch;

		if (in[i] < 0x80) {
			if (is_bad_control(in[i])) {
				char arg[8];
				static const char hex[] = "0123456789abcdef";
				arg[0] = '0';
				arg[1] = 'x';
				arg[2] = hex[in[i] >> 4];
				arg[3] = hex[in[i] & 15];
				arg[4] = '\0';
				tc_issue_raw(t->c, "input.control_char", DS_SEV_ERROR, i, 1, arg);
				return -1;
			}
			t->s[n] = (char)in[i];
			t->ms[n] = (uint32_t)i;
			t->me[n] = (uint32_t)(i + 1);
			n++;
			i++;
			continue;
		}
		if (gbk) {
			cp = gbk_fullwidth(in + i, len - i);
			w = 2;
		} else {
			w = ds_utf8_decode(&cp, in + i, len - i);
		}
		i += w;
		ch = t->opts->exact ? -1 : fold_cp(cp);
		if (!t->opts->exact && invisible_cp(cp)) {
			if (invisible == (size_t)-1)
				invisible = start;
			continue;
		}
		if (cp == 0x241D && !t->opts->exact) { /* SYMBOL FOR GROUP SEPARATOR, shown by some scanner tools */
			ch = DS_GS;
			if (!standin) {
				standin_pos = start;
				standin_len = i - start;
			}
			standin = 1;
		} else if (ch >= 0) {
			if (first_fold == (size_t)-1)
				first_fold = start;
			last_fold = i;
		}
		if (ch >= 0) {
			t->s[n] = (char)ch;
			t->ms[n] = (uint32_t)start;
			t->me[n] = (uint32_t)i;
			n++;
		} else {
			for (k = start; k < i; k++) {
				t->s[n] = (char)in[k];
				t->ms[n] = (uint32_t)start;
				t->me[n] = (uint32_t)i;
				n++;
			}
		}
	}
	t->n = n;
	t->s[n] = '\0';
	if (gbk)
		tc_issue_raw(t->c, "norm.gb18030", DS_SEV_INFO, 0, len, "");
	if (first_fold != (size_t)-1)
		tc_issue_raw(t->c, "norm.fullwidth", DS_SEV_INFO, first_fold, last_fold - first_fold, "");
	if (standin)
		tc_issue_raw(t->c, "norm.gs_standin", DS_SEV_INFO, standin_pos, standin_len, "\xe2\x90\x9d");
	if (invisible != (size_t)-1)
		tc_issue_raw(t->c, invisible == 0 && len >= 3 && in[0] == 0xEF ? "norm.bom" : "norm.invisible",
		             DS_SEV_INFO, invisible, 3, "");
	return 0;
}

void tn_trim(tctx *t)
{
	size_t a = 0, b = t->n, k;

	while (a < b && is_ws((unsigned char)t->s[a]))
		a++;
	while (b > a && is_ws((unsigned char)t->s[b - 1]))
		b--;
	if (a == 0 && b == t->n)
		return;
	if (a > 0)
		tc_issue(t, "norm.whitespace", DS_SEV_INFO, 0, a, "leading");
	if (b < t->n)
		tc_issue(t, "norm.whitespace", DS_SEV_INFO, b, t->n - b, "trailing");
	for (k = a; k < b; k++) {
		t->s2[k - a] = t->s[k];
		t->ms2[k - a] = t->ms[k];
		t->me2[k - a] = t->me[k];
	}
	tn_swap(t, b - a);
}

static void drop_prefix(tctx *t, size_t k)
{
	size_t i;

	for (i = k; i < t->n; i++) {
		t->s2[i - k] = t->s[i];
		t->ms2[i - k] = t->ms[i];
		t->me2[i - k] = t->me[i];
	}
	tn_swap(t, t->n - k);
}

void tn_invert_case(tctx *t, size_t from)
{
	size_t i;

	for (i = from; i < t->n; i++) {
		char ch = t->s[i];
		if (ch >= 'a' && ch <= 'z')
			t->s[i] = (char)(ch - 'a' + 'A');
		else if (ch >= 'A' && ch <= 'Z')
			t->s[i] = (char)(ch - 'A' + 'a');
	}
}

static int is_alnum(char ch)
{
	return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z');
}

/*
 * "]C1", "]d2", "]Q3", "]e0"... at the start. A symbology letter that only
 * makes sense case-inverted ("]c1", "]q3", "]D2", "]j1") shows Caps Lock was
 * on, so every letter of the payload is inverted back.
 */
void tn_strip_aim(tctx *t)
{
	char aim[4];
	int inverted = 0;

	if (t->n < 3 || t->s[0] != ']' || !is_alnum(t->s[1]) || !is_alnum(t->s[2]))
		return;
	if (t->s[1] >= '0' && t->s[1] <= '9')
		return;
	aim[0] = ']';
	aim[1] = t->s[1];
	aim[2] = t->s[2];
	aim[3] = '\0';
	if (aim[1] == 'c' || aim[1] == 'q' || aim[1] == 'D' || aim[1] == 'j') {
		inverted = 1;
		aim[1] = (char)(aim[1] ^ 0x20);
	}
	memcpy(t->c->aim, aim, 4);
	tc_issue(t, "norm.aim_prefix", DS_SEV_INFO, 0, 3, aim);
	if (inverted) {
		tc_issue(t, "norm.caps_lock", DS_SEV_WARN, 0, t->n, "");
		tn_invert_case(t, 3);
	}
	drop_prefix(t, 3);
}

static int aim_is_gs1(const char *aim)
{
	return !strcmp(aim, "]C1") || !strcmp(aim, "]d2") || !strcmp(aim, "]Q3") ||
	       !strcmp(aim, "]e0") || !strcmp(aim, "]J1") || !strcmp(aim, "]Q5");
}

/* Length of the FNC1 stand-in at s[i], or 0. The set is documented in drugscan(1). */
static size_t standin_len(const char *s, size_t n, size_t i)
{
	size_t left = n - i;
	const char *p = s + i;

	if ((unsigned char)p[0] == DS_GS || p[0] == '^' || p[0] == '|')
		return 1;
	if (left >= 2 && p[0] == '~' && p[1] == '1')
		return 2;
	if (left >= 4 && (p[0] == '<' || p[0] == '{' || p[0] == '[') && (p[1] == 'G' || p[1] == 'g') &&
	    (p[2] == 'S' || p[2] == 's') &&
	    ((p[0] == '<' && p[3] == '>') || (p[0] == '{' && p[3] == '}') || (p[0] == '[' && p[3] == ']')))
		return 4;
	if (left >= 4 && p[0] == '\\' && p[1] == 'x' && p[2] == '1' && (p[3] == 'd' || p[3] == 'D'))
		return 4;
	if (left >= 6 && p[0] == '\\' && p[1] == 'u' && !memcmp(p + 2, "001", 3) &&
	    (p[5] == 'd' || p[5] == 'D'))
		return 6;
	return 0;
}

int tn_gs1_context(tctx *t)
{
	const char *sym = t->c->symbology;

	if (aim_is_gs1(t->c->aim))
		return 1;
	if (!strncmp(sym, "gs1", 3) || !strcmp(sym, "databar") || !strcmp(sym, "databar-exp"))
		return 1;
	if (t->n == 0)
		return 0;
	if (standin_len(t->s, t->n, 0) && t->s[0] != '|')
		return 1;
	if (t->n >= 4 && t->s[0] == '(' && t->s[1] >= '0' && t->s[1] <= '9' && t->s[2] >= '0' &&
	    t->s[2] <= '9')
		return 1;
	return 0;
}

/*
 * Replace FNC1 stand-ins with 0x1D, drop leading FNC1s (the symbology's own),
 * collapse doubled separators and drop trailing ones.
 */
void tn_standins(tctx *t)
{
	size_t i = 0, n2 = 0, w;
	size_t first = (size_t)-1, extra = (size_t)-1, spaces = (size_t)-1;
	char arg[8] = "";
	int leading = 1;

	while (i < t->n) {
		if (t->s[i] == ' ') { /* never part of a GS1 value: typed between elements */
			if (spaces == (size_t)-1)
				spaces = i;
			i++;
			continue;
		}
		w = standin_len(t->s, t->n, i);
		if (w) {
			if ((unsigned char)t->s[i] != DS_GS && first == (size_t)-1) {
				first = i;
				memcpy(arg, t->s + i, w);
				arg[w] = '\0';
			}
			if (leading) {
				i += w;
				continue;
			}
			if (n2 > 0 && (unsigned char)t->s2[n2 - 1] == DS_GS) {
				if (extra == (size_t)-1)
					extra = i;
				i += w;
				continue;
			}
			t->s2[n2] = (char)DS_GS;
			t->ms2[n2] = t->ms[i];
			t->me2[n2] = t->me[i + w - 1];
			n2++;
			i += w;
			continue;
		}
		leading = 0;
		t->s2[n2] = t->s[i];
		t->ms2[n2] = t->ms[i];
		t->me2[n2] = t->me[i];
		n2++;
		i++;
	}
	if (n2 > 0 && (unsigned char)t->s2[n2 - 1] == DS_GS) {
		if (extra == (size_t)-1)
			extra = t->ms2[n2 - 1];
		else
			extra = t->ms[extra];
		n2--;
	} else if (extra != (size_t)-1) {
		extra = t->ms[extra];
	}
	if (first != (size_t)-1)
		tc_issue_raw(t->c, "norm.gs_standin", DS_SEV_INFO, t->ms[first], t->me[first + strlen(arg) - 1] - t->ms[first], arg);
	if (extra != (size_t)-1)
		tc_issue_raw(t->c, "norm.extra_fnc1", DS_SEV_INFO, extra, 1, "");
	if (spaces != (size_t)-1)
		tc_issue_raw(t->c, "norm.spaces", DS_SEV_INFO, t->ms[spaces], 1, "");
	tn_swap(t, n2);
}

/* Exact decoder payloads: only the symbology's own leading FNC1 is dropped. */
void tn_leading_fnc1(tctx *t)
{
	size_t k = 0, i;

	while (k < t->n && (unsigned char)t->s[k] == DS_GS)
		k++;
	if (!k)
		return;
	for (i = k; i < t->n; i++) {
		t->s2[i - k] = t->s[i];
		t->ms2[i - k] = t->ms[i];
		t->me2[i - k] = t->me[i];
	}
	tn_swap(t, t->n - k);
}

/* "8123 4567-8901…": drop spaces and hyphens between digit groups. */
void tn_drop_separators(tctx *t)
{
	size_t i, n2 = 0, digits = 0, seps = 0, first = 0, last = 0;

	for (i = 0; i < t->n; i++) {
		char ch = t->s[i];
		if (ch >= '0' && ch <= '9') {
			digits++;
		} else if (ch == ' ' || ch == '-' || ch == '\t') {
			if (i == 0 || i + 1 == t->n)
				return;
			if (!seps)
				first = i;
			last = i;
			seps++;
		} else {
			return;
		}
	}
	if (!seps || digits < 8)
		return;
	for (i = 0; i < t->n; i++) {
		if (t->s[i] >= '0' && t->s[i] <= '9') {
			t->s2[n2] = t->s[i];
			t->ms2[n2] = t->ms[i];
			t->me2[n2] = t->me[i];
			n2++;
		}
	}
	tc_issue_raw(t->c, "norm.separators", DS_SEV_INFO, t->ms[first], t->me[last] - t->ms[first], "");
	tn_swap(t, n2);
}
