/*
 * second.c - zxing-cpp as a second opinion on ZBar's Code 128 reads.
 *
 * ZBar does not implement Code 128's FNC4 (extended ASCII): a character
 * above 127 comes back without its high bit, as another ASCII character, and
 * every pass reads the same wrong bytes, so agreement cannot catch it. Each
 * distinct Code 128 read of ZBar is therefore read again by zxing-cpp, which
 * does implement FNC4, on a crop of the full-resolution image around it,
 * turned so that its bars stand upright. When zxing-cpp reads the same
 * symbol with the high bit set exactly where the two differ, ZBar's bytes are
 * replaced by zxing-cpp's everywhere in the read list. Nothing else is
 * changed: a zxing-cpp read that is not that pattern is ignored.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "zxing.h"

#define MAX_FIX 4 /* distinct Code 128 reads verified per image */
#define BAND 32   /* half the rows zxing-cpp reads of a crop it is sure of */

typedef struct verdict {
	const raw_symbol *z; /* ZBar's read */
	uint8_t fixed[512];  /* zxing-cpp's payload when it is the FNC4 form of z */
	size_t fixed_len;
} verdict;

/* zxing-cpp's bytes are z's with the high bit set on at least one byte. */
static int fnc4_form(const raw_symbol *z, const uint8_t *raw, size_t n)
{
	size_t i;
	int high = 0;

	if (n != z->len)
		return 0;
	for (i = 0; i < n; i++) {
		if ((raw[i] & 0x7F) != z->data[i])
			return 0;
		high |= raw[i] & 0x80;
	}
	return high != 0;
}

static int collect(void *ctx, const zx_read *r)
{
	verdict *v = ctx;

	if (r->format == ZX_CODE128 && fnc4_form(v->z, r->raw, r->raw_len) && r->len <= sizeof(v->fixed)) {
		memcpy(v->fixed, r->data, r->len);
		v->fixed_len = r->len;
	}
	return 0;
}

/*
 * Read the crop around z, its bars turned upright, with zxing-cpp. z's box
 * runs along the code on its longer side (a ZBar box spans the code and the
 * scan lines that read it); when that side is at least twice the other the
 * crop is turned so that the code runs along its rows, and zxing-cpp reads
 * a band of 2 * BAND rows through its middle as it is (no tryHarder, no
 * tryRotate: about a tenth of the work of every row both ways); otherwise
 * it reads every row both ways.
 */
static int reread(const plane *full, double fs, verdict *v)
{
	const raw_symbol *z = v->z;
	double ax = z->pos[1][0] - z->pos[0][0], ay = z->pos[1][1] - z->pos[0][1];
	double bx = z->pos[3][0] - z->pos[0][0], by = z->pos[3][1] - z->pos[0][1];
	double la = sqrt(ax * ax + ay * ay), lb = sqrt(bx * bx + by * by);
	double len = (la > lb ? la : lb) / fs, pad = len * 0.15 + 16;
	double x0 = 1e18, y0 = 1e18, x1 = -1e18, y1 = -1e18;
	double deg = la >= lb ? atan2(ay, ax) * 180.0 / M_PI : atan2(by, bx) * 180.0 / M_PI;
	int sure = la >= 2 * lb || lb >= 2 * la;
	plane crop = {NULL, 0, 0, 0}, turned = {NULL, 0, 0, 0};
	const plane *in = &crop;
	int k, rc;

	for (k = 0; k < 4; k++) {
		x0 = fmin(x0, z->pos[k][0] / fs);
		y0 = fmin(y0, z->pos[k][1] / fs);
		x1 = fmax(x1, z->pos[k][0] / fs);
		y1 = fmax(y1, z->pos[k][1] / fs);
	}
	if (plane_crop(&crop, full, (int)(x0 - pad), (int)(y0 - pad), (int)(x1 + pad) + 1, (int)(y1 + pad) + 1) < 0)
		return DS_ENOMEM;
	if (fabs(remainder(deg, 180.0)) > 3) {
		if (plane_rotate(&turned, &crop, -deg, 1.0) < 0) {
			plane_free(&crop);
			return DS_ENOMEM;
		}
		in = &turned;
	}
	if (sure && in->h > 2 * BAND) {
		/* the band of rows through the middle of the code: enough rows for
		 * 15 scan lines, not hundreds for zxing-cpp to decode */
		const uint8_t *mid = in->px + (size_t)(in->h / 2 - BAND) * (size_t)in->w;
		rc = zx_scan(mid, in->w, 2 * BAND, in->w, ZX_CODE128, 0, collect, v);
	} else {
		rc = zx_scan(in->px, in->w, in->h, in->w, ZX_CODE128, sure ? 0 : ZX_TRY_HARDER | ZX_TRY_ROTATE, collect, v);
	}
	plane_free(&turned);
	plane_free(&crop);
	return rc < 0 ? rc : 0;
}

/* Put fixed in place of every read with z's bytes. */
static int replace_all(raw_list *raw, const raw_symbol *z, const verdict *v)
{
	uint8_t old[512];
	size_t n = z->len, i;

	if (n > sizeof(old))
		return 0;
	memcpy(old, z->data, n);
	for (i = 0; i < raw->n; i++) {
		raw_symbol *s = &raw->v[i];
		uint8_t *d;
		if (s->aim[1] != 'C' || s->len != n || memcmp(s->data, old, n))
			continue;
		if (!(d = malloc(v->fixed_len + 1)))
			return DS_ENOMEM;
		memcpy(d, v->fixed, v->fixed_len);
		d[v->fixed_len] = '\0';
		free(s->data);
		s->data = d;
		s->len = v->fixed_len;
	}
	return 0;
}

int so_code128(const plane *full, double full_scale, raw_list *raw)
{
	size_t i, j;
	int done = 0, rc;

	for (i = 0; i < raw->n && done < MAX_FIX; i++) {
		verdict v;
		const raw_symbol *z = &raw->v[i];
		int reads = 0, quality = 0;
		if (z->aim[1] != 'C' || z->from_zxing || z->len == 0)
			continue;
		for (j = 0; j < raw->n; j++) { /* once per distinct payload, and only one that can be accepted */
			const raw_symbol *o = &raw->v[j];
			if (o->aim[1] != 'C' || o->len != z->len || memcmp(o->data, z->data, z->len))
				continue;
			if (j < i)
				break;
			reads++;
			quality = o->quality > quality ? o->quality : quality;
		}
		if (j < i || (reads < 2 && quality < 2))
			continue;
		done++;
		memset(&v, 0, sizeof(v));
		v.z = z;
		if ((rc = reread(full, full_scale, &v)) < 0)
			return rc;
		if (v.fixed_len && (rc = replace_all(raw, z, &v)) < 0)
			return rc;
	}
	return 0;
}
