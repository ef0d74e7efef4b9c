/*
 * charset.c - the character set of a QR code's text when the symbol does
 * not name one (no ECI), one rule for both engines.
 *
 * A QR code's byte mode carries bytes, not characters. With an ECI the
 * symbol names its character set and the engines convert (ZBar with
 * ZBAR_CFG_BINARY converts only then; zxing-cpp's text()). Without one, the
 * 2005 standard says ISO-8859-1, the 2000 standard said JIS8/Shift_JIS
 * (Kanji mode is Shift_JIS by definition), and in practice encoders write
 * UTF-8, GB 18030 (GBK, GB 2312) in China and Shift_JIS in Japan. The rule,
 * in this order:
 *
 *  1. valid UTF-8 (ASCII included: every trace code): the bytes as they are;
 *  2. valid in exactly one of GB 18030 and Shift_JIS: that one;
 *  3. valid in both: Shift_JIS when the text reads as Japanese, that is
 *     (a) read as GB 18030 it holds a character outside GB 2312 (Chinese
 *     text is nearly all GB 2312; Shift_JIS kana, kanji and symbols fall
 *     into GBK's extension), or (b) every byte above 0x7F is a half-width
 *     katakana and one of them is a voiced sound mark (0xDE, 0xDF) after a
 *     kana that takes one; otherwise GB 18030;
 *  4. valid in neither: ISO-8859-1.
 *
 * Shift_JIS is converted as Windows-31J (CP932), which keeps 0x5C a
 * backslash, as Japanese QR texts (MECARD, MEBKM) mean it.
 */
#include <iconv.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

enum { CS_UTF8, CS_GB18030, CS_SJIS, CS_LATIN1 };

static int utf8_valid(const uint8_t *b, size_t n)
{
	size_t i = 0, k, more;

	while (i < n) {
		uint8_t c = b[i];
		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xC2 && c <= 0xDF)
			more = 1;
		else if (c >= 0xE0 && c <= 0xEF)
			more = 2;
		else if (c >= 0xF0 && c <= 0xF4)
			more = 3;
		else
			return 0;
		if (i + more >= n)
			return 0;
		for (k = 1; k <= more; k++)
			if ((b[i + k] & 0xC0) != 0x80)
				return 0;
		/* no overlong three- and four-byte forms, no surrogates, nothing past U+10FFFF */
		if ((c == 0xE0 && b[i + 1] < 0xA0) || (c == 0xED && b[i + 1] > 0x9F) || (c == 0xF0 && b[i + 1] < 0x90) ||
		    (c == 0xF4 && b[i + 1] > 0x8F))
			return 0;
		i += more + 1;
	}
	return 1;
}

/* JIS X 0201 and 0208 in Shift_JIS: single bytes 00-7F and A1-DF, lead
 * bytes 81-9F and E0-EF with a trail byte 40-7E or 80-FC */
static int sjis_valid(const uint8_t *b, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		uint8_t c = b[i];
		if (c < 0x80 || (c >= 0xA1 && c <= 0xDF))
			continue;
		if (!((c >= 0x81 && c <= 0x9F) || (c >= 0xE0 && c <= 0xEF)) || i + 1 >= n)
			return 0;
		c = b[++i];
		if (c < 0x40 || c == 0x7F || c > 0xFC)
			return 0;
	}
	return 1;
}

/* GB 18030: single bytes 00-7F, two bytes 81-FE + 40-7E/80-FE, four bytes
 * 81-FE 30-39 81-FE 30-39. *outside: a two- or four-byte character that is
 * not in GB 2312 (lead A1-A9 or B0-F7, trail A1-FE) */
static int gb_valid(const uint8_t *b, size_t n, int *outside)
{
	size_t i;

	*outside = 0;
	for (i = 0; i < n; i++) {
		uint8_t c = b[i], d;
		if (c < 0x80)
			continue;
		if (c == 0x80 || c == 0xFF || i + 1 >= n)
			return 0;
		d = b[i + 1];
		if (d >= 0x30 && d <= 0x39) {
			if (i + 3 >= n || b[i + 2] < 0x81 || b[i + 2] > 0xFE || b[i + 3] < 0x30 || b[i + 3] > 0x39)
				return 0;
			*outside = 1;
			i += 3;
			continue;
		}
		if (d < 0x40 || d == 0x7F || d == 0xFF)
			return 0;
		if (!(((c >= 0xA1 && c <= 0xA9) || (c >= 0xB0 && c <= 0xF7)) && d >= 0xA1))
			*outside = 1;
		i++;
	}
	return 1;
}

/* Only half-width katakana above 0x7F, with a voiced sound mark where one belongs */
static int halfwidth_kana(const uint8_t *b, size_t n)
{
	size_t i;
	int marks = 0;

	for (i = 0; i < n; i++) {
		if (b[i] < 0x80)
			continue;
		if (b[i] < 0xA1 || b[i] > 0xDF)
			return 0;
		if ((b[i] == 0xDE || b[i] == 0xDF) && i > 0 &&
		    (b[i - 1] == 0xB3 || (b[i - 1] >= 0xB6 && b[i - 1] <= 0xC4) || (b[i - 1] >= 0xCA && b[i - 1] <= 0xCE)))
			marks++;
	}
	return marks > 0;
}

static int guess(const uint8_t *b, size_t n)
{
	int outside, gb, sjis;

	if (utf8_valid(b, n))
		return CS_UTF8;
	gb = gb_valid(b, n, &outside);
	sjis = sjis_valid(b, n);
	if (gb && sjis)
		return outside || halfwidth_kana(b, n) ? CS_SJIS : CS_GB18030;
	return gb ? CS_GB18030 : sjis ? CS_SJIS : CS_LATIN1;
}

static size_t latin1(const uint8_t *b, size_t n, uint8_t *out)
{
	size_t i, m = 0;

	for (i = 0; i < n; i++) {
		if (b[i] < 0x80) {
			out[m++] = b[i];
		} else {
			out[m++] = (uint8_t)(0xC0 | (b[i] >> 6));
			out[m++] = (uint8_t)(0x80 | (b[i] & 0x3F));
		}
	}
	return m;
}

/* iconv from `from` to UTF-8; 0 when it cannot (no such converter here, or a
 * character it does not map) */
static size_t convert(const char *from, const uint8_t *b, size_t n, uint8_t *out, size_t cap)
{
	iconv_t cd = iconv_open("UTF-8", from);
	char *in = (char *)(uintptr_t)b, *o = (char *)out;
	size_t inleft = n, outleft = cap, rc;

	if (cd == (iconv_t)-1)
		return 0;
	rc = iconv(cd, &in, &inleft, &o, &outleft);
	iconv_close(cd);
	return rc == (size_t)-1 || inleft ? 0 : cap - outleft;
}

int cs_qr_text(const uint8_t *b, size_t n, uint8_t **out, size_t *len)
{
	int cs = guess(b, n);
	size_t cap = 4 * n + 1, m = 0;

	*out = NULL;
	*len = 0;
	if (cs == CS_UTF8)
		return 0;
	if (!(*out = malloc(cap)))
		return DS_ENOMEM;
	if (cs != CS_LATIN1)
		m = convert(cs == CS_SJIS ? "CP932" : "GB18030", b, n, *out, cap);
	if (m == 0)
		m = latin1(b, n, *out);
	*len = m;
	return 1;
}
