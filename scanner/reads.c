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
 */
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

int raw_push(raw_list *l, raw_symbol *s, const void *data, size_t len)
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

void raw_clear(raw_list *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->v[i].data);
	l->n = 0;
}
