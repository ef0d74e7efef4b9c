/*
 * datamatrix.c - the DataMatrix pass: where a DataMatrix could be, and the
 * engines that read it.
 *
 * The plane is cut into cells; cells with strong edges in *both* directions
 * (a DataMatrix, not the parallel bars of a 1D code) are grouped into
 * candidate regions, best first. zxing-cpp (zxing.cpp) reads the whole plane
 * once, then each region cropped from the full-resolution image (enlarged
 * when small), then the same crop contrast-stretched, binarised and
 * inverted. The budget is a
 * number of regions, never time: one photo always gets the same work.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "zxing.h"

#define CELL 16
#define REGRID_MAX 400 /* crops up to this size get a last try on a regular grid */
#define MAX_CELLS 16384

/* Mark cells that look like a 2D symbol: busy in x and y, not one-directional. */
int dm_find_regions(const plane *p, dm_region *out, int *more)
{
	int cw = p->w / CELL, ch = p->h / CELL, n = 0, cx, cy, i;
	uint8_t *mark;
	double *score;
	int *stack;

	*more = 0;
	if (cw < 1 || ch < 1)
		return 0;
	if (cw * ch > MAX_CELLS) {
		*more = 1; /* not searched: unknown */
		return 0;
	}
	mark = calloc((size_t)(cw * ch), 1);
	score = calloc((size_t)(cw * ch), sizeof(double));
	stack = malloc(sizeof(int) * (size_t)(cw * ch));
	if (!mark || !score || !stack) {
		free(mark);
		free(score);
		free(stack);
		*more = 1;
		return 0;
	}
	for (cy = 0; cy < ch; cy++) {
		for (cx = 0; cx < cw; cx++) {
			double ex = 0, ey = 0;
			int x, y, lo = 255, hi = 0;
			for (y = cy * CELL + 1; y < (cy + 1) * CELL - 1 && y < p->h - 1; y += 2) {
				const uint8_t *r = p->px + (size_t)y * (size_t)p->w;
				for (x = cx * CELL + 1; x < (cx + 1) * CELL - 1 && x < p->w - 1; x += 2) {
					ex += abs(r[x + 1] - r[x - 1]);
					ey += abs(r[x + p->w] - r[x - p->w]);
					lo = r[x] < lo ? r[x] : lo;
					hi = r[x] > hi ? r[x] : hi;
				}
			}
			if (hi - lo > 60 && ex > 600 && ey > 600 && ex < 3.5 * ey && ey < 3.5 * ex) {
				mark[cy * cw + cx] = 1;
				score[cy * cw + cx] = ex + ey;
			}
		}
	}
	for (i = 0; i < cw * ch; i++) {
		int top = 0, x0 = cw, y0 = ch, x1 = 0, y1 = 0, cells = 0;
		double s = 0;
		if (mark[i] != 1)
			continue;
		stack[top++] = i;
		mark[i] = 2;
		while (top) {
			int c = stack[--top], x = c % cw, y = c / cw, k;
			static const int dx[8] = {1, -1, 0, 0, 1, 1, -1, -1}, dy[8] = {0, 0, 1, -1, 1, -1, 1, -1};
			cells++;
			s += score[c];
			x0 = x < x0 ? x : x0;
			y0 = y < y0 ? y : y0;
			x1 = x > x1 ? x : x1;
			y1 = y > y1 ? y : y1;
			for (k = 0; k < 8; k++) {
				int nx = x + dx[k], ny = y + dy[k];
				if (nx >= 0 && ny >= 0 && nx < cw && ny < ch && mark[ny * cw + nx] == 1) {
					mark[ny * cw + nx] = 2;
					stack[top++] = ny * cw + nx;
				}
			}
		}
		if (cells < 2)
			continue;
		/* a DataMatrix is square or 2:1 at most; text lines are long and thin */
		if (x1 - x0 + 1 > 3 * (y1 - y0 + 1) || y1 - y0 + 1 > 3 * (x1 - x0 + 1))
			continue;
		if (n == DM_MAX_REGIONS) {
			*more = 1;
			continue;
		}
		/* a margin of one cell around the group for the quiet zone */
		out[n].x0 = (x0 - 1 < 0 ? 0 : x0 - 1) * CELL;
		out[n].y0 = (y0 - 1 < 0 ? 0 : y0 - 1) * CELL;
		out[n].x1 = ((x1 + 2) * CELL > p->w ? p->w : (x1 + 2) * CELL);
		out[n].y1 = ((y1 + 2) * CELL > p->h ? p->h : (y1 + 2) * CELL);
		out[n].score = s / cells * sqrt(cells);
		n++;
	}
	free(mark);
	free(score);
	free(stack);
	/* best candidates first */
	for (i = 1; i < n; i++) {
		dm_region r = out[i];
		int j = i - 1;
		while (j >= 0 && out[j].score < r.score) {
			out[j + 1] = out[j];
			j--;
		}
		out[j + 1] = r;
	}
	return n;
}


/* ---- zxing-cpp reads become raw symbols ---- */

typedef struct zx_sink_ctx {
	const xform *t;
	raw_list *out;
} zx_sink_ctx;

static int zx_to_raw(void *ctx, const zx_read *r)
{
	zx_sink_ctx *c = ctx;
	raw_symbol s;
	int k;

	memset(&s, 0, sizeof(s));
	s.symbology = r->symbology;
	memcpy(s.aim, r->aim, 4);
	s.quality = r->lines;
	s.two_d = r->format == ZX_DATAMATRIX || r->format == ZX_QR;
	s.from_zxing = 1;
	for (k = 0; k < 4; k++)
		xform_apply(c->t, r->pos[k][0], r->pos[k][1], &s.pos[k][0], &s.pos[k][1]);
	if (r->format == ZX_QR && !r->eci) {
		/* the character set by the rule ZBar's reads get (charset.c) */
		s.qr_bytes = 1;
		return raw_push(c->out, &s, r->raw, r->raw_len);
	}
	return raw_push(c->out, &s, r->data, r->len);
}

int zx_plane(const plane *p, const xform *t, int formats, int flags, raw_list *out)
{
	zx_sink_ctx c;

	c.t = t;
	c.out = out;
	return zx_scan(p->px, p->w, p->h, p->w, formats, flags, zx_to_raw, &c);
}

/* ---- the pass ---- */

/* Is a 2D symbol read (by any pass, DataMatrix or QR, not a payload
 * found in noise) centred inside this rectangle (original pixels)? */
static int already_read(const raw_list *out, double x0, double y0, double x1, double y1)
{
	size_t i;

	for (i = 0; i < out->n; i++) {
		const raw_symbol *s = &out->v[i];
		double cx = (s->pos[0][0] + s->pos[1][0] + s->pos[2][0] + s->pos[3][0]) / 4;
		double cy = (s->pos[0][1] + s->pos[1][1] + s->pos[2][1] + s->pos[3][1]) / 4;
		if (s->two_d && !raw_implausible(s) && cx >= x0 && cx < x1 && cy >= y0 && cy < y1)
			return 1;
	}
	return 0;
}

/* zxing-cpp on one plane and, until it reads something, on its contrast
 * stretched, binarised and inverted forms. */
static int zx_variants(const plane *crop, const xform *t, raw_list *out)
{
	int shorter = crop->w < crop->h ? crop->w : crop->h, k, rc = zx_plane(crop, t, ZX_DATAMATRIX, ZX_TRY_HARDER, out);

	for (k = 0; k < 3 && rc == 0; k++) {
		plane v = {NULL, 0, 0, 0};
		int made = k == 0 ? plane_normalize(&v, crop)
		           : k == 1 ? plane_binarize(&v, crop, shorter / 10 > 8 ? shorter / 10 : 8)
		                    : plane_invert(&v, crop);
		if (made < 0)
			return DS_ENOMEM;
		rc = zx_plane(&v, t, ZX_DATAMATRIX, ZX_TRY_HARDER, out);
		plane_free(&v);
	}
	return rc;
}

/* A crop no variant read, redrawn on a regular grid by its timing patterns
 * (regrid.c); a read there gets the crop's corners as its position. */
static int zx_regrid(const plane *crop, const xform *t, raw_list *out)
{
	plane grid[DM_REGRID_MAX];
	xform none;
	size_t from = out->n, i;
	int rc = 0, k, n = dm_regrid(crop, grid);

	if (n <= 0)
		return n;
	memset(&none, 0, sizeof(none));
	none.scale = 1;
	for (k = 0; k < n && rc == 0; k++)
		rc = zx_plane(&grid[k], &none, ZX_DATAMATRIX, ZX_TRY_HARDER, out);
	for (k = 0; k < n; k++)
		plane_free(&grid[k]);
	if (rc <= 0)
		return rc;
	for (i = from; i < out->n; i++)
		for (k = 0; k < 4; k++)
			xform_apply(t, k == 1 || k == 2 ? crop->w : 0, k >= 2 ? crop->h : 0, &out->v[i].pos[k][0],
			            &out->v[i].pos[k][1]);
	return rc;
}

/* zxing-cpp on one region, cropped from the full-resolution plane. */
static int zx_region(const dm_job *job, const dm_region *rg, raw_list *out)
{
	double k = job->lt->scale / job->full_scale; /* level pixel -> full pixel */
	int m = (int)(DM_CROP_MARGIN * k);
	int x0 = (int)(rg->x0 * k) - m, y0 = (int)(rg->y0 * k) - m;
	int x1 = (int)(rg->x1 * k) + m, y1 = (int)(rg->y1 * k) + m;
	plane crop = {NULL, 0, 0, 0}, big = {NULL, 0, 0, 0};
	xform t, tb;
	int rc, longer;

	x0 = x0 < 0 ? 0 : x0;
	y0 = y0 < 0 ? 0 : y0;
	if (plane_crop(&crop, job->full, x0, y0, x1, y1) < 0)
		return DS_ENOMEM;
	memset(&t, 0, sizeof(t));
	t.scale = job->full_scale;
	t.tx = x0;
	t.ty = y0;
	longer = crop.w > crop.h ? crop.w : crop.h;
	if (longer < DM_ENLARGE_BELOW) {
		/* a small symbol: twice the pixels per module for zxing-cpp's sampling grid */
		if (plane_rotate(&big, &crop, 0, 2.0) < 0) {
			plane_free(&crop);
			return DS_ENOMEM;
		}
		tb = t;
		tb.rotated = 1;
		tb.zoom = 2.0;
		tb.cos_a = 1;
		rc = zx_variants(&big, &tb, out);
		plane_free(&big);
	} else {
		rc = zx_variants(&crop, &t, out);
	}
	if (rc == 0 && longer <= REGRID_MAX)
		rc = zx_regrid(&crop, &t, out);
	plane_free(&crop);
	return rc;
}

int dm_scan(const dm_job *job, raw_list *out)
{
	dm_region whole;
	const dm_region *rg = job->regions;
	size_t from = out->n;
	int n = job->nregions < job->max_regions ? job->nregions : job->max_regions, i, rc;
	const plane *p = job->level;

	if (!job->whole_done && (rc = zx_plane(p, job->lt, ZX_DATAMATRIX, ZX_TRY_HARDER, out)) < 0)
		return rc;
	if (job->nregions == 0 && (long)p->w * p->h <= 640L * 640L) {
		/* a small crop with no clear candidate: all of it */
		whole.x0 = whole.y0 = 0;
		whole.x1 = p->w;
		whole.y1 = p->h;
		rg = &whole;
		n = 1;
	}
	for (i = 0; i < n; i++) {
		double s = job->lt->scale;
		if (already_read(out, rg[i].x0 * s, rg[i].y0 * s, rg[i].x1 * s, rg[i].y1 * s))
			continue;
		if ((rc = zx_region(job, &rg[i], out)) < 0)
			return rc;
	}
	if (out->n == 0 && rg != &whole && (long)p->w * p->h <= 640L * 640L &&
	    !already_read(out, 0, 0, p->w * job->lt->scale, p->h * job->lt->scale) &&
	    (rc = zx_regrid(p, job->lt, out)) < 0) /* a close-up: the regions may be pieces of one symbol */
		return rc;
	return (int)(out->n - from);
}
