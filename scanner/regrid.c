/*
 * regrid.c - a DataMatrix whose modules are not on a regular grid, redrawn
 * on one from its own timing patterns.
 *
 * zxing-cpp 1.4 samples a DataMatrix on a regular grid between its corners.
 * A symbol printed or photographed unevenly (decode-samples
 * datamatrix-1/distorted.png: columns of 3 and 4 pixels, rows likewise)
 * defeats that, though every module is plain to see. A DataMatrix says
 * where its columns and rows are: along its top edge the modules alternate
 * dark and light, one run per column, and along its right edge one run per
 * row (the left and bottom edges are solid: the L of its finder). So, for
 * an upright or quarter-turned symbol in a crop:
 *
 *  1. threshold the crop (Otsu) and take the bounding box of its largest
 *     dark component (the L and the modules that touch it);
 *  2. find the two solid edges; turn the crop a quarter at a time until they
 *     are the left and the bottom one;
 *  3. read the runs along the top and right edges, half a module inside:
 *     their midpoints are the centres of the columns and rows; both counts
 *     must be even and between 8 and 144, as in every DataMatrix size;
 *  4. draw each module, sampled at its centre, as a square of REGRID_MODULE
 *     pixels, with a quiet zone of two modules.
 *
 * A symbol that is tilted or seen at an angle (its edges not along the
 * crop's) is first straightened: each side of the largest dark component
 * is a line through the outermost dark pixels (the line most of them lie
 * on: the solid sides lie on it all along, the timing sides at every dark
 * module), the four lines meet at the symbol's corners, and the crop
 * between them is resampled upright (a perspective map), where steps 1-4
 * run again. Tilts up to about 25 degrees either way, and quarter turns.
 *
 * zxing-cpp then reads the drawing; its Reed-Solomon check vouches for the
 * read as for any other. A crop that is not such a symbol fails a test on
 * the way and costs little.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define REGRID_MODULE 4
#define MAX_MODULES 144

/* Otsu's threshold of p: pixels <= the result are dark */
static int otsu(const plane *p)
{
	size_t hist[256] = {0}, n = (size_t)p->w * (size_t)p->h, i, below = 0;
	double sum = 0, sum_below = 0, best = -1;
	int t, pick = 127;

	for (i = 0; i < n; i++)
		hist[p->px[i]]++;
	for (t = 0; t < 256; t++)
		sum += (double)t * hist[t];
	for (t = 0; t < 255; t++) {
		double wb, wf, mb, mf, between;
		below += hist[t];
		sum_below += (double)t * hist[t];
		if (below == 0 || below == n)
			continue;
		wb = (double)below / n;
		wf = 1 - wb;
		mb = sum_below / below;
		mf = (sum - sum_below) / (n - below);
		between = wb * wf * (mb - mf) * (mb - mf);
		if (between > best) {
			best = between;
			pick = t;
		}
	}
	return pick;
}

/* ---- the largest 8-connected component, by runs: union-find over the runs of dark pixels of each row ---- */

typedef struct run_ {
	int y, x0, x1; /* x1 inclusive */
	int parent;
} run_;

static int root(run_ *r, int i)
{
	while (r[i].parent != i) {
		r[i].parent = r[r[i].parent].parent;
		i = r[i].parent;
	}
	return i;
}

/* The bounding box of the largest 8-connected component of dark pixels (1 in m): its size, or DS_ENOMEM */
static int largest_component(const uint8_t *m, int w, int h, int box[4])
{
	size_t cap = 1024, n = 0, i, prev = 0, prev_end = 0;
	run_ *r = malloc(sizeof(*r) * cap);
	long *size;
	int (*bb)[4], y, best = 0;

	if (!r)
		return DS_ENOMEM;
	for (y = 0; y < h; y++) {
		const uint8_t *row = m + (size_t)y * (size_t)w;
		size_t row_start = n, j;
		int x = 0;
		while (x < w) {
			while (x < w && !row[x])
				x++;
			if (x == w)
				break;
			if (n == cap) {
				run_ *g = realloc(r, sizeof(*r) * (cap *= 2));
				if (!g) {
					free(r);
					return DS_ENOMEM;
				}
				r = g;
			}
			r[n].y = y;
			r[n].x0 = x;
			while (x < w && row[x])
				x++;
			r[n].x1 = x - 1;
			r[n].parent = (int)n;
			/* the runs of the row above that touch it (diagonals too) */
			for (j = prev; j < prev_end; j++) {
				if (r[j].x1 < r[n].x0 - 1)
					continue;
				if (r[j].x0 > r[n].x1 + 1)
					break;
				{
					int a = root(r, (int)j), c = root(r, (int)n);
					if (a != c)
						r[a > c ? a : c].parent = a < c ? a : c;
				}
			}
			n++;
		}
		prev = row_start;
		prev_end = n;
	}
	size = calloc(n ? n : 1, sizeof(*size));
	bb = malloc(sizeof(*bb) * (n ? n : 1));
	if (!size || !bb) {
		free(r);
		free(size);
		free(bb);
		return DS_ENOMEM;
	}
	for (i = 0; i < n; i++) {
		int k = root(r, (int)i);
		if (size[k] == 0) {
			bb[k][0] = r[i].x0;
			bb[k][1] = r[i].y;
			bb[k][2] = r[i].x1;
			bb[k][3] = r[i].y;
		}
		size[k] += r[i].x1 - r[i].x0 + 1;
		bb[k][0] = r[i].x0 < bb[k][0] ? r[i].x0 : bb[k][0];
		bb[k][2] = r[i].x1 > bb[k][2] ? r[i].x1 : bb[k][2];
		bb[k][3] = r[i].y;
		best = size[k] > best ? (int)size[k] : best;
	}
	/* the first in raster order of the largest */
	for (i = 0; i < n; i++) {
		int k = root(r, (int)i);
		if (size[k] == best) {
			memcpy(box, bb[k], sizeof(bb[k]));
			break;
		}
	}
	free(r);
	free(size);
	free(bb);
	return best;
}

/* Is the line of pixels from (x, y) by steps (dx, dy), n long, at least 90 % dark? */
static int solid(const uint8_t *m, int w, int x, int y, int dx, int dy, int n)
{
	int i, dark = 0;

	for (i = 0; i < n; i++)
		dark += m[(y + i * dy) * w + x + i * dx];
	return dark * 10 >= n * 9;
}

/*
 * The runs along a line of n pixels from (x, y) by (dx, dy): their midpoints
 * (in steps from the start) go to mid; returns how many, or 0 when the line
 * does not look like a timing pattern (a run under a third or over three
 * times the median, or more than MAX_MODULES runs).
 */
static int runs(const uint8_t *m, int w, int x, int y, int dx, int dy, int n, double *mid)
{
	int len[MAX_MODULES], start = 0, k = 0, i, sorted[MAX_MODULES], med;

	for (i = 1; i <= n; i++) {
		if (i < n && m[(y + i * dy) * w + x + i * dx] == m[(y + start * dy) * w + x + start * dx])
			continue;
		if (k == MAX_MODULES)
			return 0;
		len[k] = i - start;
		mid[k++] = (start + i - 1) / 2.0;
		start = i;
	}
	memcpy(sorted, len, sizeof(int) * (size_t)k);
	for (i = 1; i < k; i++) { /* insertion sort: k is small */
		int v = sorted[i], j = i - 1;
		while (j >= 0 && sorted[j] > v) {
			sorted[j + 1] = sorted[j];
			j--;
		}
		sorted[j + 1] = v;
	}
	med = sorted[k / 2];
	for (i = 0; i < k; i++)
		if (4 * len[i] < med || len[i] > 4 * med)
			return 0;
	return k;
}

/* Steps 3 and 4 on a mask whose symbol (box) has its L at the left and bottom. */
static int draw(const uint8_t *m, int w, const int b[4], plane *out)
{
	double cx[MAX_MODULES], cy[MAX_MODULES];
	int bw = b[2] - b[0] + 1, bh = b[3] - b[1] + 1, cols, rows, i, j, half, W, H;

	/* a first look at the top row gives the module size, then half a module in */
	cols = runs(m, w, b[0], b[1] + 1, 1, 0, bw, cx);
	if (cols < 8)
		return 0;
	half = bw / cols / 2;
	half = half < 1 ? 1 : half;
	if (2 * half >= bh || 2 * half >= bw)
		return 0; /* modules taller than the symbol: not one */
	cols = runs(m, w, b[0], b[1] + half, 1, 0, bw, cx);
	rows = runs(m, w, b[2] - half, b[1], 0, 1, bh, cy);
	if (cols >= 8 && rows >= 8) {
		/* then along the middle of the first row and of the last column: on a curved
		 * symbol the modules at its sides are narrower than the average half module */
		int top = b[1] + (int)(cy[0] + 0.5), right = b[0] + (int)(cx[cols - 1] + 0.5);
		if (top < b[3] && right > b[0]) {
			cols = runs(m, w, b[0], top, 1, 0, bw, cx);
			rows = cols >= 8 ? runs(m, w, b[0] + (int)(cx[cols - 1] + 0.5), b[1], 0, 1, bh, cy) : 0;
		}
	}
	if (cols < 8 || rows < 8 || cols % 2 || rows % 2)
		return 0;
	W = (cols + 4) * REGRID_MODULE;
	H = (rows + 4) * REGRID_MODULE;
	if (plane_white(out, W, H) < 0)
		return DS_ENOMEM;
	for (j = 0; j < rows; j++)
		for (i = 0; i < cols; i++) {
			int x = b[0] + (int)(cx[i] + 0.5), y = b[1] + (int)(cy[j] + 0.5), k;
			if (!m[y * w + x])
				continue;
			for (k = 0; k < REGRID_MODULE; k++)
				memset(out->px + (size_t)((j + 2) * REGRID_MODULE + k) * (size_t)W + (size_t)((i + 2) * REGRID_MODULE),
				       0, REGRID_MODULE);
		}
	return 1;
}

/* m turned a quarter clockwise (w x h becomes h x w) */
static void quarter(const uint8_t *m, int w, int h, uint8_t *out)
{
	int x, y;

	for (y = 0; y < h; y++)
		for (x = 0; x < w; x++)
			out[x * h + (h - 1 - y)] = m[y * w + x];
}

/*
 * The dark pixels of p by Otsu's threshold (*mask, the caller frees it) and
 * the box of their largest component: 1 when that fills most of p, as a
 * symbol in its crop does (a letter of text does not), 0 when not, or
 * DS_ENOMEM.
 */
static int symbol_mask(const plane *p, uint8_t **mask, int b[4])
{
	int n = p->w * p->h, t, i, size, bw, bh;
	uint8_t *m = malloc((size_t)n);

	*mask = NULL;
	if (!m)
		return DS_ENOMEM;
	t = otsu(p);
	for (i = 0; i < n; i++)
		m[i] = p->px[i] <= t;
	b[0] = b[1] = 0;
	b[2] = b[3] = -1;
	size = largest_component(m, p->w, p->h, b);
	bw = b[2] - b[0] + 1;
	bh = b[3] - b[1] + 1;
	if (size <= 0 || bw < 8 || bh < 8 || 4 * bw * bh < n) {
		free(m);
		return size < 0 ? size : 0;
	}
	*mask = m;
	return 1;
}

/* Steps 2-4 on the box b of the mask m (w wide): 1 when out holds a drawing */
static int upright_mask(const uint8_t *m, int w, const int b[4], plane *out)
{
	int bw = b[2] - b[0] + 1, bh = b[3] - b[1] + 1, t, turn, rc = 0, i;
	uint8_t *sub = malloc((size_t)bw * (size_t)bh), *tmp = malloc((size_t)bw * (size_t)bh);

	memset(out, 0, sizeof(*out));
	if (!sub || !tmp) {
		free(sub);
		free(tmp);
		return DS_ENOMEM;
	}
	for (i = 0; i < bh; i++)
		memcpy(sub + (size_t)i * (size_t)bw, m + (size_t)(b[1] + i) * (size_t)w + b[0], (size_t)bw);
	for (turn = 0; turn < 4 && rc == 0; turn++) {
		int box[4] = {0, 0, bw - 1, bh - 1};
		if ((solid(sub, bw, 0, 0, 0, 1, bh) || solid(sub, bw, 1, 0, 0, 1, bh)) &&
		    (solid(sub, bw, 0, bh - 1, 1, 0, bw) || solid(sub, bw, 0, bh - 2, 1, 0, bw)) &&
		    !solid(sub, bw, 0, 1, 1, 0, bw) && !solid(sub, bw, bw - 2, 0, 0, 1, bh))
			rc = draw(sub, bw, box, out);
		quarter(sub, bw, bh, tmp);
		memcpy(sub, tmp, (size_t)bw * (size_t)bh);
		t = bw;
		bw = bh;
		bh = t;
	}
	free(sub);
	free(tmp);
	return rc;
}

/* Steps 1-4 on p */
static int upright(const plane *p, plane *out)
{
	uint8_t *m;
	int b[4], rc = symbol_mask(p, &m, b);

	memset(out, 0, sizeof(*out));
	if (rc <= 0)
		return rc;
	rc = upright_mask(m, p->w, b, out);
	free(m);
	return rc;
}

/* ---- a tilted symbol straightened ---- */

#define FIT_SAMPLES 24
#define MAX_SLOPE 0.47 /* about 25 degrees */

typedef struct line {
	double a, b; /* v = a + b * t: x = a + b*y for the left and right sides, y = a + b*x for top and bottom */
} line;

/*
 * The outermost dark pixel of each row (side 0 left, 1 right) or column
 * (2 top, 3 bottom) of the box b in m: t is the row or column, v the x or y
 * found. Returns how many rows or columns have one.
 */
static int outline(const uint8_t *m, int w, const int b[4], int side, double *t, double *v)
{
	int n = 0, i, j, from = side < 2 ? b[1] : b[0], to = side < 2 ? b[3] : b[2];

	for (i = from; i <= to; i++) {
		int lo = side < 2 ? b[0] : b[1], hi = side < 2 ? b[2] : b[3], step = side % 2 ? -1 : 1;
		for (j = step > 0 ? lo : hi; j >= lo && j <= hi; j += step)
			if (side < 2 ? m[i * w + j] : m[j * w + i]) {
				t[n] = i;
				v[n++] = j;
				break;
			}
	}
	return n;
}

/*
 * The line most of the points (t, v) lie on, within 1.5 pixels: every pair
 * of FIT_SAMPLES evenly spaced points, apart by a quarter of the side at
 * least, is tried (deterministic), then the best is refitted to its inliers
 * by least squares. 0 when fewer than a quarter of the points fit one line.
 */
static int fit(const double *t, const double *v, int n, line *out)
{
	int step = n / FIT_SAMPLES > 0 ? n / FIT_SAMPLES : 1, i, j, k, best = 0;
	line l = {0, 0};

	for (i = 0; i < n; i += step)
		for (j = i + step; j < n; j += step) {
			double b, a;
			int in = 0;
			if (t[j] - t[i] < (t[n - 1] - t[0]) / 4)
				continue;
			b = (v[j] - v[i]) / (t[j] - t[i]);
			if (fabs(b) > MAX_SLOPE)
				continue;
			a = v[i] - b * t[i];
			for (k = 0; k < n; k++)
				in += fabs(v[k] - a - b * t[k]) <= 1.5;
			if (in > best) {
				best = in;
				l.a = a;
				l.b = b;
			}
		}
	if (best * 4 < n || best < 8)
		return 0;
	{
		double st = 0, sv = 0, stt = 0, stv = 0, c = 0, d;
		for (k = 0; k < n; k++)
			if (fabs(v[k] - l.a - l.b * t[k]) <= 1.5) {
				st += t[k];
				sv += v[k];
				stt += t[k] * t[k];
				stv += t[k] * v[k];
				c++;
			}
		d = c * stt - st * st;
		if (d > 0) {
			out->b = (c * stv - st * sv) / d;
			out->a = (sv - out->b * st) / c;
		} else {
			*out = l;
		}
	}
	return 1;
}

/* Where a left or right side (x = a + b*y) meets a top or bottom one (y = a + b*x) */
static void meet(const line *side, const line *tb, double *x, double *y)
{
	double d = 1 - side->b * tb->b;

	*x = (side->a + side->b * tb->a) / d;
	*y = tb->a + tb->b * *x;
}

/* p at (x, y), bilinear; white outside */
static double sample(const plane *p, double x, double y)
{
	int x0 = (int)floor(x), y0 = (int)floor(y);
	double fx = x - x0, fy = y - y0;
	const uint8_t *r0, *r1;

	if (x0 < 0 || y0 < 0 || x0 + 1 >= p->w || y0 + 1 >= p->h)
		return 255;
	r0 = p->px + (size_t)y0 * (size_t)p->w + x0;
	r1 = r0 + p->w;
	return (r0[0] * (1 - fx) + r0[1] * fx) * (1 - fy) + (r1[0] * (1 - fx) + r1[1] * fx) * fy;
}

/*
 * The quadrilateral c (top left, top right, bottom right, bottom left)
 * of p resampled as an upright W x H rectangle with a white margin M round
 * it: the square-to-quadrilateral perspective map (Heckbert's closed form).
 */
static int unwarp(const plane *p, const double c[4][2], int W, int H, int M, plane *out)
{
	double x0 = c[0][0], y0 = c[0][1], x1 = c[1][0], y1 = c[1][1], x2 = c[2][0], y2 = c[2][1], x3 = c[3][0],
	       y3 = c[3][1];
	double dx1 = x1 - x2, dx2 = x3 - x2, dx3 = x0 - x1 + x2 - x3, dy1 = y1 - y2, dy2 = y3 - y2, dy3 = y0 - y1 + y2 - y3;
	double den = dx1 * dy2 - dx2 * dy1, g, h, a, b, d, e;
	int ow = W + 2 * M, oh = H + 2 * M, i, j;

	if (fabs(den) < 1e-9)
		return 0;
	g = (dx3 * dy2 - dx2 * dy3) / den;
	h = (dx1 * dy3 - dx3 * dy1) / den;
	a = x1 - x0 + g * x1;
	b = x3 - x0 + h * x3;
	d = y1 - y0 + g * y1;
	e = y3 - y0 + h * y3;
	if (plane_white(out, ow, oh) < 0)
		return DS_ENOMEM;
	for (j = 0; j < H; j++)
		for (i = 0; i < W; i++) {
			double u = (i + 0.5) / W, v = (j + 0.5) / H, z = g * u + h * v + 1;
			out->px[(size_t)(j + M) * (size_t)ow + (size_t)(i + M)] =
			        (uint8_t)(sample(p, (a * u + b * v + x0) / z, (d * u + e * v + y0) / z) + 0.5);
		}
	return 1;
}

static double dist(const double a[2], const double b[2])
{
	return hypot(a[0] - b[0], a[1] - b[1]);
}

/* p's symbol (its mask m and box b) straightened into out: 1, 0 when its sides are not four lines, or DS_ENOMEM */
static int straighten(const plane *p, const uint8_t *m, const int b[4], plane *out)
{
	int w = p->w, h = p->h, side, rc = 0, W, H, longer = w > h ? w : h;
	double *t = malloc(sizeof(double) * (size_t)longer), *v = malloc(sizeof(double) * (size_t)longer);
	double c[4][2];
	line l[4];

	memset(out, 0, sizeof(*out));
	if (!t || !v) {
		rc = DS_ENOMEM;
		goto out;
	}
	if (b[2] - b[0] < 16 || b[3] - b[1] < 16)
		goto out;
	for (side = 0; side < 4; side++) {
		int k = outline(m, w, b, side, t, v);
		if (k < 16 || !fit(t, v, k, &l[side]))
			goto out;
	}
	meet(&l[0], &l[2], &c[0][0], &c[0][1]); /* top left */
	meet(&l[1], &l[2], &c[1][0], &c[1][1]); /* top right */
	meet(&l[1], &l[3], &c[2][0], &c[2][1]); /* bottom right */
	meet(&l[0], &l[3], &c[3][0], &c[3][1]); /* bottom left */
	W = (int)(fmax(dist(c[0], c[1]), dist(c[3], c[2])) + 0.5);
	H = (int)(fmax(dist(c[0], c[3]), dist(c[1], c[2])) + 0.5);
	if (W < 16 || H < 16 || W > 2 * w || H > 2 * h)
		goto out;
	rc = unwarp(p, (const double(*)[2])c, W, H, 2 + (W > H ? W : H) / 16, out);
out:
	free(t);
	free(v);
	return rc;
}

/* one more drawing when rc says there is one; rc < 0 passes */
static int keep(int rc, int *n)
{
	if (rc > 0)
		(*n)++;
	return rc < 0 ? rc : 0;
}

int dm_regrid(const plane *p, plane out[DM_REGRID_MAX])
{
	plane straight = {NULL, 0, 0, 0}, local = {NULL, 0, 0, 0};
	uint8_t *m;
	int b[4], n = 0, i, side, rc = symbol_mask(p, &m, b);

	memset(out, 0, sizeof(plane) * DM_REGRID_MAX);
	if (rc <= 0)
		return rc;
	rc = keep(upright_mask(m, p->w, b, &out[n]), &n);
	if (rc == 0 && (rc = straighten(p, m, b, &straight)) > 0) {
		rc = keep(upright(&straight, &out[n]), &n);
		/* a highlight across it: one threshold cannot tell its modules apart, a local one can */
		side = straight.w < straight.h ? straight.w : straight.h;
		if (rc == 0 && (rc = plane_binarize(&local, &straight, side / 12 > 4 ? side / 12 : 4)) == DS_OK)
			rc = keep(upright(&local, &out[n]), &n);
	}
	free(m);
	plane_free(&straight);
	plane_free(&local);
	if (rc < 0) {
		for (i = 0; i < n; i++)
			plane_free(&out[i]);
		return rc;
	}
	return n;
}
