/*
 * reads.c - the read list: every symbol every pass read, before agreement.
 *
 * A 2D payload in an ISO/IEC 15434 envelope is unwrapped as it is pushed:
 *   "[)>" RS, a two-digit format, GS, the data, RS, EOT.
 * A DataMatrix writes the envelope as one codeword (Macro 05 / Macro 06) and
 * zxing-cpp spells it out, as the standard says; a QR code carries it as
 * text. Format 05 means GS1 Application Identifiers: the data inside is a
 * GS1 element string, so the read becomes that string as GS1 DataMatrix
 * (]d2) or GS1 QR (]Q3), and the trace parser sees the GS1 code it is.
 * Format 06 (ASC MH10 data identifiers) and the other formats keep their
 * symbology; the read becomes the data inside, its GS separators kept. An
 * envelope with more than one format in it is left as it is. An envelope
 * with nothing inside leaves an empty payload, which is never reported.
 * A QR code's bytes that name no character set become UTF-8 text here too,
 * by one rule for both engines (charset.c).
 *
 * Also here: what the judging of reads (judge.c) asks of one read or two:
 * is the payload plausible, do two boxes overlap, are two 1D reads in the
 * same place.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* The data inside a one-format envelope: offset and length; 0 when d is not one. */
static int envelope(const uint8_t *d, size_t len, size_t *off, size_t *n, int *format)
{
	size_t i;

	if (len < 9 || memcmp(d, "[)>\x1E", 4) || d[4] < '0' || d[4] > '9' || d[5] < '0' || d[5] > '9' ||
	    d[6] != 0x1D || d[len - 2] != 0x1E || d[len - 1] != 0x04)
		return 0;
	for (i = 7; i < len - 2; i++)
		if (d[i] == 0x1E || d[i] == 0x04)
			return 0; /* a second format, or a stray separator */
	*off = 7;
	*n = len - 9;
	*format = (d[4] - '0') * 10 + (d[5] - '0');
	return 1;
}

static int append(raw_list *l, raw_symbol *s, const void *data, size_t len)
{
	size_t off = 0, n = len;
	int format;

	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		raw_symbol *v = realloc(l->v, cap * sizeof(*v));
		if (!v)
			return DS_ENOMEM;
		l->v = v;
		l->cap = cap;
	}
	if (s->two_d && envelope(data, len, &off, &n, &format) && format == 5) {
		int qr = s->aim[1] == 'Q';
		s->symbology = qr ? "gs1-qr" : "gs1-datamatrix";
		memcpy(s->aim, qr ? "]Q3" : "]d2", 4);
	}
	if (!(s->data = malloc(n + 1)))
		return DS_ENOMEM;
	memcpy(s->data, (const uint8_t *)data + off, n);
	s->data[n] = '\0';
	s->len = n;
	l->v[l->n++] = *s;
	return DS_OK;
}

int raw_push(raw_list *l, raw_symbol *s, const void *data, size_t len)
{
	uint8_t *text = NULL;
	size_t n;
	int rc;

	if (s->qr_bytes) {
		/* a QR code's bytes without a named character set: charset.c */
		s->qr_bytes = 0;
		if ((rc = cs_qr_text(data, len, &text, &n)) < 0)
			return rc;
		if (rc == 1) {
			rc = append(l, s, text, n);
			free(text);
			return rc;
		}
	}
	return append(l, s, data, len);
}

void raw_clear(raw_list *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->v[i].data);
	l->n = 0;
}

/* A payload no real symbol carries: empty, or control bytes other than the
 * separators GS1 and ISO/IEC 15434 use (a DataMatrix found in noise). */
int raw_implausible(const raw_symbol *sym)
{
	size_t i;

	if (sym->len == 0)
		return 1;
	for (i = 0; i < sym->len; i++) {
		uint8_t c = sym->data[i];
		if ((c < 0x20 && c != '\t' && c != '\r' && c != '\n' && c != 0x1D && c != 0x1E && c != 0x04) || c == 0x7F)
			return 1;
	}
	return 0;
}

double raw_overlap(const double a[4][2], const double b[4][2])
{
	double ax0 = 1e18, ay0 = 1e18, ax1 = -1e18, ay1 = -1e18, bx0 = 1e18, by0 = 1e18, bx1 = -1e18, by1 = -1e18;
	double iw, ih, inter, ua, ub;
	int k;

	for (k = 0; k < 4; k++) {
		ax0 = fmin(ax0, a[k][0]); ay0 = fmin(ay0, a[k][1]); ax1 = fmax(ax1, a[k][0]); ay1 = fmax(ay1, a[k][1]);
		bx0 = fmin(bx0, b[k][0]); by0 = fmin(by0, b[k][1]); bx1 = fmax(bx1, b[k][0]); by1 = fmax(by1, b[k][1]);
	}
	iw = fmin(ax1, bx1) - fmax(ax0, bx0);
	ih = fmin(ay1, by1) - fmax(ay0, by0);
	if (iw <= 0 || ih <= 0)
		return 0;
	inter = iw * ih;
	ua = (ax1 - ax0) * (ay1 - ay0);
	ub = (bx1 - bx0) * (by1 - by0);
	return inter / fmin(ua > 0 ? ua : 1, ub > 0 ? ub : 1);
}

/* The interval of p's corners projected on the unit vector (ux, uy). */
static void project(const double p[4][2], double ux, double uy, double *lo, double *hi)
{
	int k;

	*lo = 1e18;
	*hi = -1e18;
	for (k = 0; k < 4; k++) {
		double t = p[k][0] * ux + p[k][1] * uy;
		*lo = fmin(*lo, t);
		*hi = fmax(*hi, t);
	}
}

/*
 * Two 1D reads of one symbol, by the two engines: their boxes can be far
 * apart across the bars (each is the span of the scan lines that read it;
 * zxing-cpp's is one line), but they run the same way and cover the same
 * stretch along it. Along the longer side of a: the two spans overlap by 80 %
 * of the longer one; across it, the centres are within 0.6 of a's length.
 */
int raw_same_1d_place(const double a[4][2], const double b[4][2])
{
	double dx = a[1][0] - a[0][0], dy = a[1][1] - a[0][1], ex = a[3][0] - a[0][0], ey = a[3][1] - a[0][1];
	double len, ux, uy, alo, ahi, blo, bhi, clo, chi, dlo, dhi;

	if (ex * ex + ey * ey > dx * dx + dy * dy) {
		dx = ex;
		dy = ey;
	}
	len = sqrt(dx * dx + dy * dy);
	if (len < 1)
		return 0;
	ux = dx / len;
	uy = dy / len;
	project(a, ux, uy, &alo, &ahi);
	project(b, ux, uy, &blo, &bhi);
	if (fmin(ahi, bhi) - fmax(alo, blo) < 0.8 * fmax(ahi - alo, bhi - blo))
		return 0;
	project(a, -uy, ux, &clo, &chi);
	project(b, -uy, ux, &dlo, &dhi);
	return fabs((clo + chi) / 2 - (dlo + dhi) / 2) <= 0.6 * (ahi - alo);
}
