/*
 * names.c - drug names as people type them and as the list prints them,
 * brought to one form for matching (docs/catalog-format.md, "Name search").
 *
 * Normalisation: full-width ASCII becomes half-width, Roman numeral
 * characters (Ⅱ, Ⅷ, ⅶ) become Latin letters (II, VIII, VII), Latin letters
 * become upper case, and spaces, brackets ()（）[]【】［］〔〕 and middle dots
 * are dropped (their contents stay). Then a dosage-form suffix (片, 分散片,
 * 胶囊, 注射液, 颗粒, ...) or the prefix 注射用 is taken off, and its form
 * class is kept apart, so "头孢克肟分散片" is the name 头孢克肟 in the form
 * 口服常释剂型, as the list prints it.
 */
#include <stdio.h>
#include <string.h>

#include "internal.h"

static int is_bracket(uint32_t cp)
{
	static const uint32_t brackets[] = {'(', ')', '[', ']', '{', '}', 0xFF08, 0xFF09, 0x3010, 0x3011, 0xFF3B,
	                                    0xFF3D, 0x3014, 0x3015, 0xFF5B, 0xFF5D, 0x3008, 0x3009, 0x300A, 0x300B};
	size_t i;

	for (i = 0; i < sizeof(brackets) / sizeof(brackets[0]); i++)
		if (brackets[i] == cp)
			return 1;
	return 0;
}

static int is_open_bracket(uint32_t cp)
{
	return cp == '(' || cp == '[' || cp == '{' || cp == 0xFF08 || cp == 0x3010 || cp == 0xFF3B || cp == 0x3014 ||
	       cp == 0xFF5B || cp == 0x3008 || cp == 0x300A;
}

/* Ⅰ..Ⅻ, Ⅼ Ⅽ Ⅾ Ⅿ (U+2160..216F) and the small forms (U+2170..217F) */
static const char *roman(uint32_t cp)
{
	static const char *const forms[16] = {"I",  "II", "III", "IV", "V", "VI", "VII", "VIII",
	                                      "IX", "X",  "XI",  "XII", "L", "C", "D",   "M"};

	if (cp >= 0x2160 && cp <= 0x216F)
		return forms[cp - 0x2160];
	if (cp >= 0x2170 && cp <= 0x217F)
		return forms[cp - 0x2170];
	return NULL;
}

static int put(char *out, size_t size, size_t *n, const char *s, size_t len)
{
	if (*n + len + 1 > size)
		return -1;
	memcpy(out + *n, s, len);
	*n += len;
	out[*n] = '\0';
	return 0;
}

size_t cat_name_norm(char *out, size_t size, const char *in, size_t len)
{
	const unsigned char *s = (const unsigned char *)in;
	size_t i = 0, n = 0;

	if (size)
		out[0] = '\0';
	while (i < len) {
		uint32_t cp;
		size_t k = ds_utf8_decode(&cp, s + i, len - i);
		char enc[8];
		const char *r;
		if (k == 0) { /* not UTF-8: skip the byte */
			i++;
			continue;
		}
		i += k;
		if (cp >= 0xFF01 && cp <= 0xFF5E)
			cp -= 0xFEE0; /* full-width ASCII */
		if (cp == ' ' || cp == '\t' || cp == 0x3000 || cp == 0xA0 || cp == 0xB7 || cp == 0x30FB || cp == 0x2022 ||
		    cp == 0x2027 || is_bracket(cp))
			continue;
		if ((r = roman(cp))) {
			if (put(out, size, &n, r, strlen(r)) < 0)
				break;
			continue;
		}
		if (cp >= 'a' && cp <= 'z')
			cp -= 'a' - 'A';
		if (put(out, size, &n, enc, ds_utf8_encode(enc, cp)) < 0)
			break;
	}
	return n;
}

/* Dosage-form words on a box or in a name, and the list's form for each. */
static const struct form {
	const char *word;
	const char *form;
} forms[] = {
	{"注射液", "注射剂"}, {"注射剂", "注射剂"}, {"注射乳剂", "注射剂"}, {"粉针剂", "注射剂"},
	{"肠溶缓释片", "肠溶缓释片"}, {"缓控释片", "缓释控释剂型"}, {"缓释片", "缓释控释剂型"},
	{"控释片", "缓释控释剂型"}, {"缓释胶囊", "缓释控释剂型"}, {"控释胶囊", "缓释控释剂型"},
	{"缓释颗粒", "缓释控释剂型"}, {"分散片", "口服常释剂型"}, {"肠溶片", "口服常释剂型"},
	{"肠溶胶囊", "口服常释剂型"}, {"薄膜衣片", "口服常释剂型"}, {"糖衣片", "口服常释剂型"},
	{"软胶囊", "口服常释剂型"}, {"硬胶囊", "口服常释剂型"}, {"胶囊剂", "口服常释剂型"},
	{"胶囊", "口服常释剂型"}, {"片剂", "口服常释剂型"}, {"咀嚼片", "咀嚼片"}, {"口腔崩解片", "口腔崩解片"},
	{"口崩片", "口腔崩解片"}, {"泡腾片", "泡腾片"}, {"阴道片", "阴道片"}, {"舌下片", "舌下片剂"},
	{"片", "口服常释剂型"}, {"颗粒剂", "颗粒剂"}, {"颗粒", "颗粒剂"}, {"口服溶液剂", "口服液体剂"},
	{"口服溶液", "口服液体剂"}, {"口服液", "口服液体剂"}, {"口服混悬液", "口服液体剂"},
	{"混悬液", "口服液体剂"}, {"糖浆剂", "口服液体剂"}, {"糖浆", "口服液体剂"}, {"合剂", "口服液体剂"},
	{"干混悬剂", "口服混悬剂"}, {"散剂", "口服散剂"}, {"散", "口服散剂"}, {"乳膏剂", "乳膏剂"},
	{"乳膏", "乳膏剂"}, {"软膏剂", "软膏剂"}, {"软膏", "软膏剂"}, {"眼膏", "眼膏剂"},
	{"眼用凝胶", "眼用凝胶剂"}, {"凝胶剂", "凝胶剂"}, {"凝胶", "凝胶剂"}, {"滴眼液", "滴眼剂"},
	{"滴眼剂", "滴眼剂"}, {"滴耳液", "滴耳剂"}, {"滴鼻液", "滴鼻剂"}, {"喷雾剂", "喷雾剂"},
	{"栓剂", "栓剂"}, {"栓", "栓剂"}, {"透皮贴剂", "贴剂"}, {"贴剂", "贴剂"}, {"贴片", "贴剂"},
	{"贴膏", "贴膏剂"}, {"吸入粉雾剂", "吸入剂"}, {"粉雾剂", "吸入剂"}, {"吸入气雾剂", "吸入剂"},
	{"气雾剂", "吸入剂"}, {"吸入溶液", "吸入剂"}, {"吸入剂", "吸入剂"}, {"滴丸", "滴丸剂"}, {"丸", "丸剂"},
};

/* Code points in s. */
static size_t chars(const char *s, size_t len)
{
	size_t i, n = 0;

	for (i = 0; i < len; i++)
		n += ((unsigned char)s[i] & 0xC0) != 0x80;
	return n;
}

const char *cat_name_strip_form(char *key)
{
	size_t len = strlen(key), i, best = 0;
	const char *form = NULL;

	for (i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
		size_t w = strlen(forms[i].word);
		if (w > best && w < len && !memcmp(key + len - w, forms[i].word, w) && chars(key, len - w) >= 2) {
			best = w;
			form = forms[i].form;
		}
	}
	if (form) {
		key[len - best] = '\0';
		return form;
	}
	/* 注射用X and 吸入用X name the form first */
	if (!strncmp(key, "注射用", strlen("注射用")) && chars(key, len) >= 5) {
		memmove(key, key + strlen("注射用"), len - strlen("注射用") + 1);
		return "注射剂";
	}
	if (!strncmp(key, "吸入用", strlen("吸入用")) && chars(key, len) >= 5) {
		memmove(key, key + strlen("吸入用"), len - strlen("吸入用") + 1);
		return "吸入剂";
	}
	return NULL;
}

int cat_form_agrees(const char *qform, const char *row_form)
{
	if (!qform || !*qform || !row_form || !*row_form)
		return 0;
	return !strncmp(row_form, qform, strlen(qform));
}

/* Add (key, form) unless it is there. */
static size_t add_norm(cat_name_key *out, size_t n, size_t max, const char *key, const char *form, int quality)
{
	size_t i;

	if (n >= max || !*key || (quality > 0 && chars(key, strlen(key)) < 2))
		return n;
	for (i = 0; i < n; i++)
		if (!strcmp(out[i].key, key) && (out[i].form == form || (out[i].form && form && !strcmp(out[i].form, form))))
			return n;
	snprintf(out[n].key, sizeof(out[n].key), "%s", key);
	out[n].form = form;
	out[n].quality = quality;
	return n + 1;
}

/* Normalise raw, take its form off, and add it: the row's dosage_form wins over the suffix's. */
static size_t add_key(cat_name_key *out, size_t n, size_t max, const char *raw, size_t len, int quality,
                      const char *dosage_form)
{
	char key[CAT_NAME_MAX];
	const char *form;

	if (cat_name_norm(key, sizeof(key), raw, len) == 0)
		return n;
	form = cat_name_strip_form(key);
	return add_norm(out, n, max, key, dosage_form && *dosage_form ? dosage_form : form, quality);
}

/* The form of a word that is only a dosage form ("丸", "胶囊", "口服液"); NULL otherwise. */
static const char *form_word(const char *p, size_t len)
{
	size_t i;

	for (i = 0; i < sizeof(forms) / sizeof(forms[0]); i++)
		if (strlen(forms[i].word) == len && !memcmp(forms[i].word, p, len))
			return forms[i].form;
	return NULL;
}

/* A bracket that lists forms, "(丸、胶囊、颗粒、滴丸)": its forms into out, or 0 when it is not one. */
static size_t form_list(const char *p, size_t len, const char **out, size_t max)
{
	static const char sep[] = "、";
	size_t n = 0, start = 0, i;

	for (i = 0; i <= len; i++) {
		if (i == len || (i + strlen(sep) <= len && !memcmp(p + i, sep, strlen(sep)))) {
			const char *f = form_word(p + start, i - start);
			if (!f || n >= max)
				return 0;
			out[n++] = f;
			start = i + strlen(sep);
			i = start - 1;
		}
	}
	return n;
}

/*
 * One 、-separated part of a name: itself; without its bracketed words; each
 * bracketed word of two or more Chinese characters (an alias). A bracket
 * that lists forms, as 中成药 names do ("六味地黄片(胶囊、颗粒、口服液)"), makes
 * the bare name the row's name in each of those forms.
 */
static size_t part_keys(cat_name_key *out, size_t n, size_t max, const char *p, size_t len, const char *dosage_form)
{
	char bare[CAT_NAME_MAX], key[CAT_NAME_MAX];
	const char *listed[12];
	size_t i = 0, nb = 0, open_at = 0, nforms = 0, k;
	int depth = 0, brackets = 0;

	n = add_key(out, n, max, p, len, 0, dosage_form);
	while (i < len) {
		uint32_t cp;
		size_t w = ds_utf8_decode(&cp, (const unsigned char *)p + i, len - i);
		if (w == 0)
			w = 1, cp = 0xFFFD;
		if (is_open_bracket(cp)) {
			if (depth++ == 0)
				open_at = i + w;
			brackets++;
		} else if (is_bracket(cp) && depth > 0) {
			size_t got;
			if (--depth == 0 && (got = form_list(p + open_at, i - open_at, listed + nforms, 12 - nforms)) > 0)
				nforms += got;
			else if (depth == 0 && chars(p + open_at, i - open_at) >= 2 && (unsigned char)p[open_at] >= 0xE4)
				n = add_key(out, n, max, p + open_at, i - open_at, 1, dosage_form);
		} else if (depth == 0 && nb + w < sizeof(bare)) {
			memcpy(bare + nb, p + i, w);
			nb += w;
		}
		i += w;
	}
	if (!brackets)
		return n;
	n = add_key(out, n, max, bare, nb, nforms && brackets == 1 ? 0 : 1, dosage_form);
	if (nforms && cat_name_norm(key, sizeof(key), bare, nb) > 0) {
		cat_name_strip_form(key);
		for (k = 0; k < nforms; k++)
			n = add_norm(out, n, max, key, listed[k], brackets == 1 ? 0 : 1);
	}
	return n;
}

/* "布地奈德福莫特罗II" is also the family "布地奈德福莫特罗" (quality 2: found by
 * that name only, never inside a longer text, where it would match Ⅷ for Ⅸ). */
static size_t family_keys(cat_name_key *out, size_t n, size_t max)
{
	size_t i, count = n;

	for (i = 0; i < count; i++) {
		char key[CAT_NAME_MAX];
		size_t len = strlen(out[i].key), end = len;
		while (end > 0 && (out[i].key[end - 1] == 'I' || out[i].key[end - 1] == 'V' || out[i].key[end - 1] == 'X'))
			end--;
		if (end == len || end == 0 || (unsigned char)out[i].key[end - 1] < 0x80)
			continue; /* no numeral, or one after a Latin letter or digit */
		snprintf(key, sizeof(key), "%.*s", (int)end, out[i].key);
		n = add_norm(out, n, max, key, out[i].form, 2);
	}
	return n;
}

size_t cat_name_keys(cat_name_key *out, size_t max, const char *name, const char *dosage_form)
{
	size_t len = strlen(name), i = 0, start = 0, n = 0;
	int depth = 0;
	static const char sep[] = "、";

	while (i <= len) {
		uint32_t cp = 0;
		size_t k = i < len ? ds_utf8_decode(&cp, (const unsigned char *)name + i, len - i) : 1;
		if (k == 0)
			k = 1;
		if (i < len && is_open_bracket(cp))
			depth++;
		else if (i < len && is_bracket(cp) && depth > 0)
			depth--;
		if (i == len || (depth == 0 && !strncmp(name + i, sep, strlen(sep)))) {
			if (i > start)
				n = part_keys(out, n, max, name + start, i - start, dosage_form);
			start = i + (i < len ? strlen(sep) : 0);
			i = start;
			if (i >= len)
				break;
			continue;
		}
		i += k;
	}
	n = family_keys(out, n, max);
	/* a stacked name ("二甲双胍、二甲双胍Ⅱ") is also found as printed */
	if (strstr(name, sep))
		n = add_key(out, n, max, name, len, 1, dosage_form);
	return n;
}
