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
 * zxing-cpp then reads the drawing; its Reed-Solomon check vouches for the
 * read as for any other. A crop that is not such a symbol fails a test on
 * the way and costs little.
 */
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

/* The bounding box of the largest 8-connected component of dark pixels (1 in m) */
static int largest_component(const uint8_t *m, int w, int h, int box[4])
{
	int n = w * h, i, best = 0;
	int *stack = malloc(sizeof(int) * (size_t)n);
	uint8_t *seen = calloc((size_t)n, 1);

	if (!stack || !seen) {
		free(stack);
		free(seen);
		return DS_ENOMEM;
	}
	for (i = 0; i < n; i++) {
		int top = 0, size = 0, b[4] = {w, h, -1, -1};
		if (!m[i] || seen[i])
			continue;
		stack[top++] = i;
		seen[i] = 1;
		while (top) {
			int c = stack[--top], x = c % w, y = c / w, dx, dy;
			size++;
			b[0] = x < b[0] ? x : b[0];
			b[1] = y < b[1] ? y : b[1];
			b[2] = x > b[2] ? x : b[2];
			b[3] = y > b[3] ? y : b[3];
			for (dy = -1; dy <= 1; dy++)
				for (dx = -1; dx <= 1; dx++) {
					int nx = x + dx, ny = y + dy;
					if (nx >= 0 && ny >= 0 && nx < w && ny < h && m[ny * w + nx] && !seen[ny * w + nx]) {
						seen[ny * w + nx] = 1;
						stack[top++] = ny * w + nx;
					}
				}
		}
		if (size > best) {
			best = size;
			memcpy(box, b, sizeof(b));
		}
	}
	free(stack);
	free(seen);
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
		if (3 * len[i] < med || len[i] > 3 * med)
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
	if (cols < 8 || rows < 8 || cols % 2 || rows % 2)
		return 0;
	W = (cols + 4) * REGRID_MODULE;
	H = (rows + 4) * REGRID_MODULE;
	out->px = malloc((size_t)W * (size_t)H);
	if (!out->px)
		return DS_ENOMEM;
	out->w = W;
	out->h = H;
	out->owned = 1;
	memset(out->px, 255, (size_t)W * (size_t)H);
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

int dm_regrid(const plane *p, plane *out)
{
	int w = p->w, h = p->h, n = w * h, t, turn, rc = 0, i, b[4] = {0, 0, -1, -1}, size, bw, bh;
	uint8_t *m = malloc((size_t)n), *sub = NULL, *tmp = NULL;

	memset(out, 0, sizeof(*out));
	if (!m)
		return DS_ENOMEM;
	t = otsu(p);
	for (i = 0; i < n; i++)
		m[i] = p->px[i] <= t;
	size = largest_component(m, w, h, b);
	bw = b[2] - b[0] + 1;
	bh = b[3] - b[1] + 1;
	/* the symbol fills most of a region's crop: a letter of text does not */
	if (size <= 0 || bw < 8 || bh < 8 || 4 * bw * bh < n) {
		free(m);
		return size < 0 ? size : 0;
	}
	sub = malloc((size_t)bw * (size_t)bh);
	tmp = malloc((size_t)bw * (size_t)bh);
	if (!sub || !tmp) {
		free(m);
		free(sub);
		free(tmp);
		return DS_ENOMEM;
	}
	for (i = 0; i < bh; i++)
		memcpy(sub + (size_t)i * (size_t)bw, m + (size_t)(b[1] + i) * (size_t)w + b[0], (size_t)bw);
	free(m);
	for (turn = 0; turn < 4 && rc == 0; turn++) {
		int box[4] = {0, 0, bw - 1, bh - 1};
		if (solid(sub, bw, 0, 0, 0, 1, bh) && solid(sub, bw, 0, bh - 1, 1, 0, bw) && !solid(sub, bw, 0, 0, 1, 0, bw) &&
		    !solid(sub, bw, bw - 1, 0, 0, 1, bh))
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
