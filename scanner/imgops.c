/*
 * imgops.c - the image operations of the decode pipeline: halving, box
 * blur, contrast stretch, local binarisation, inversion, rotation, and a
 * tile-based estimate of the bars' orientation.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static int plane_new(plane *out, int w, int h)
{
	out->px = malloc((size_t)(w > 0 ? w : 1) * (size_t)(h > 0 ? h : 1));
	out->w = w;
	out->h = h;
	out->owned = 1;
	return out->px ? DS_OK : DS_ENOMEM;
}

int plane_white(plane *out, int w, int h)
{
	if (plane_new(out, w, h) < 0)
		return DS_ENOMEM;
	memset(out->px, 255, (size_t)(w > 0 ? w : 1) * (size_t)(h > 0 ? h : 1));
	return DS_OK;
}

void plane_free(plane *p)
{
	if (p && p->owned)
		free(p->px);
	if (p) {
		p->px = NULL;
		p->owned = 0;
	}
}

int plane_half(plane *out, const plane *in)
{
	int w = in->w / 2, h = in->h / 2, x, y;

	if (w < 1 || h < 1 || plane_new(out, w, h) < 0)
		return DS_ENOMEM;
	for (y = 0; y < h; y++) {
		const uint8_t *a = in->px + (size_t)(2 * y) * (size_t)in->w;
		const uint8_t *b = a + in->w;
		uint8_t *d = out->px + (size_t)y * (size_t)w;
		for (x = 0; x < w; x++)
			d[x] = (uint8_t)((a[2 * x] + a[2 * x + 1] + b[2 * x] + b[2 * x + 1] + 2) >> 2);
	}
	return DS_OK;
}

int plane_blur(plane *out, const plane *in, int r)
{
	int w = in->w, h = in->h, x, y, n = 2 * r + 1;
	uint8_t *tmp;

	if (plane_new(out, w, h) < 0)
		return DS_ENOMEM;
	tmp = malloc((size_t)w * (size_t)h);
	if (!tmp) {
		plane_free(out);
		return DS_ENOMEM;
	}
	for (y = 0; y < h; y++) { /* horizontal pass, edges clamped */
		const uint8_t *s = in->px + (size_t)y * (size_t)w;
		uint8_t *d = tmp + (size_t)y * (size_t)w;
		int sum = 0, k;
		for (k = -r; k <= r; k++)
			sum += s[k < 0 ? 0 : k >= w ? w - 1 : k];
		for (x = 0; x < w; x++) {
			int add = x + r + 1, sub = x - r;
			d[x] = (uint8_t)(sum / n);
			sum += s[add >= w ? w - 1 : add] - s[sub < 0 ? 0 : sub];
		}
	}
	for (x = 0; x < w; x++) { /* vertical pass */
		int sum = 0, k;
		for (k = -r; k <= r; k++)
			sum += tmp[(size_t)(k < 0 ? 0 : k >= h ? h - 1 : k) * (size_t)w + (size_t)x];
		for (y = 0; y < h; y++) {
			int add = y + r + 1, sub = y - r;
			out->px[(size_t)y * (size_t)w + (size_t)x] = (uint8_t)(sum / n);
			sum += tmp[(size_t)(add >= h ? h - 1 : add) * (size_t)w + (size_t)x] -
			       tmp[(size_t)(sub < 0 ? 0 : sub) * (size_t)w + (size_t)x];
		}
	}
	free(tmp);
	return DS_OK;
}

int plane_normalize(plane *out, const plane *in)
{
	size_t hist[256] = {0}, n = (size_t)in->w * (size_t)in->h, i, acc = 0;
	int lo = 0, hi = 255, v;
	uint8_t lut[256];

	if (plane_new(out, in->w, in->h) < 0)
		return DS_ENOMEM;
	for (i = 0; i < n; i++)
		hist[in->px[i]]++;
	for (lo = 0; lo < 255 && (acc += hist[lo]) < n / 100; lo++)
		;
	for (acc = 0, hi = 255; hi > 0 && (acc += hist[hi]) < n / 100; hi--)
		;
	if (hi <= lo)
		hi = lo + 1;
	for (v = 0; v < 256; v++) {
		int m = (v - lo) * 255 / (hi - lo);
		lut[v] = (uint8_t)(m < 0 ? 0 : m > 255 ? 255 : m);
	}
	for (i = 0; i < n; i++)
		out->px[i] = lut[in->px[i]];
	return DS_OK;
}

int plane_binarize(plane *out, const plane *in, int block)
{
	int w = in->w, h = in->h, x, y;
	uint32_t *integral;

	if (plane_new(out, w, h) < 0)
		return DS_ENOMEM;
	integral = malloc(sizeof(uint32_t) * (size_t)(w + 1) * (size_t)(h + 1));
	if (!integral) {
		plane_free(out);
		return DS_ENOMEM;
	}
	memset(integral, 0, sizeof(uint32_t) * (size_t)(w + 1));
	for (y = 0; y < h; y++) {
		uint32_t row = 0;
		integral[(size_t)(y + 1) * (size_t)(w + 1)] = 0;
		for (x = 0; x < w; x++) {
			row += in->px[(size_t)y * (size_t)w + (size_t)x];
			integral[(size_t)(y + 1) * (size_t)(w + 1) + (size_t)(x + 1)] =
			    integral[(size_t)y * (size_t)(w + 1) + (size_t)(x + 1)] + row;
		}
	}
	for (y = 0; y < h; y++) {
		int y0 = y - block < 0 ? 0 : y - block, y1 = y + block + 1 > h ? h : y + block + 1;
		for (x = 0; x < w; x++) {
			int x0 = x - block < 0 ? 0 : x - block, x1 = x + block + 1 > w ? w : x + block + 1;
			uint32_t sum = integral[(size_t)y1 * (size_t)(w + 1) + (size_t)x1] -
			               integral[(size_t)y0 * (size_t)(w + 1) + (size_t)x1] -
			               integral[(size_t)y1 * (size_t)(w + 1) + (size_t)x0] +
			               integral[(size_t)y0 * (size_t)(w + 1) + (size_t)x0];
			uint32_t area = (uint32_t)((x1 - x0) * (y1 - y0));
			int mean = (int)(sum / area);
			out->px[(size_t)y * (size_t)w + (size_t)x] =
			    in->px[(size_t)y * (size_t)w + (size_t)x] + 6 < mean ? 0 : 255;
		}
	}
	free(integral);
	return DS_OK;
}

int plane_invert(plane *out, const plane *in)
{
	size_t n = (size_t)in->w * (size_t)in->h, i;

	if (plane_new(out, in->w, in->h) < 0)
		return DS_ENOMEM;
	for (i = 0; i < n; i++)
		out->px[i] = (uint8_t)(255 - in->px[i]);
	return DS_OK;
}

int plane_rotate(plane *out, const plane *in, double deg, double zoom)
{
	double a = deg * M_PI / 180.0, c = cos(a), s = sin(a);
	int w = (int)ceil((fabs(in->w * c) + fabs(in->h * s)) * zoom);
	int h = (int)ceil((fabs(in->w * s) + fabs(in->h * c)) * zoom);
	double cx = w / 2.0, cy = h / 2.0, ix = in->w / 2.0, iy = in->h / 2.0;
	double zc = c / zoom, zs = s / zoom;
	int x, y;

	if (plane_new(out, w, h) < 0)
		return DS_ENOMEM;
	for (y = 0; y < h; y++) {
		double dy = y + 0.5 - cy;
		/* source = R(-deg) * (p - c_out) / zoom + c_in, walked incrementally along the row */
		double sx = zc * (0.5 - cx) + zs * dy + ix - 0.5;
		double sy = -zs * (0.5 - cx) + zc * dy + iy - 0.5;
		uint8_t *d = out->px + (size_t)y * (size_t)w;
		for (x = 0; x < w; x++, sx += zc, sy -= zs) {
			int x0 = (int)floor(sx), y0 = (int)floor(sy);
			if (x0 < 0 || y0 < 0 || x0 + 1 >= in->w || y0 + 1 >= in->h) {
				d[x] = 255;
			} else {
				double fx = sx - x0, fy = sy - y0;
				const uint8_t *p = in->px + (size_t)y0 * (size_t)in->w + (size_t)x0;
				double top = p[0] + (p[1] - p[0]) * fx;
				double bot = p[in->w] + (p[in->w + 1] - p[in->w]) * fx;
				d[x] = (uint8_t)(top + (bot - top) * fy + 0.5);
			}
		}
	}
	return DS_OK;
}

void xform_apply(const xform *t, double x, double y, double *ox, double *oy)
{
	if (t->rotated) {
		double dx = (x - t->cx) / t->zoom, dy = (y - t->cy) / t->zoom;
		x = t->cos_a * dx + t->sin_a * dy + t->ox;
		y = -t->sin_a * dx + t->cos_a * dy + t->oy;
	}
	*ox = (x + t->tx) * t->scale;
	*oy = (y + t->ty) * t->scale;
}

int plane_crop(plane *out, const plane *in, int x0, int y0, int x1, int y1)
{
	int y;

	x0 = x0 < 0 ? 0 : x0;
	y0 = y0 < 0 ? 0 : y0;
	x1 = x1 > in->w ? in->w : x1;
	y1 = y1 > in->h ? in->h : y1;
	if (x1 <= x0 || y1 <= y0 || plane_new(out, x1 - x0, y1 - y0) < 0)
		return DS_ENOMEM;
	for (y = y0; y < y1; y++)
		memcpy(out->px + (size_t)(y - y0) * (size_t)out->w, in->px + (size_t)y * (size_t)in->w + (size_t)x0,
		       (size_t)out->w);
	return DS_OK;
}

/*
 * The tiles within 12 degrees of the peak angle, grouped by 8-connectivity. A
 * barcode is one compact group of many tiles; text gives scattered tiles and
 * small groups. out gets the number of such tiles, the largest group, and
 * the bounding box (in tiles) of the groups of at least BAR_CLUSTER tiles, or
 * of the largest group when there is none.
 */
#define BAR_CLUSTER 3
static void bar_clusters(const float *angles, int cols, int rows, bars *out)
{
	int n = cols * rows, i, pass;
	uint8_t *mark = calloc((size_t)(n > 0 ? n : 1), 1);
	int *stack = malloc(sizeof(int) * (size_t)(n > 0 ? n : 1));

	out->x0 = cols;
	out->y0 = rows;
	out->label = calloc((size_t)(n > 0 ? n : 1), 1);
	if (!mark || !stack || !out->label) {
		free(mark);
		free(stack);
		out->overflow = 1; /* no groups known: nothing counts as explained */
		return;
	}
	for (i = 0; i < n; i++) {
		double d = fabs((double)angles[i] - out->angle);
		if (angles[i] < 0)
			continue;
		if (d > 90)
			d = 180 - d;
		mark[i] = d <= 12;
		out->tiles += mark[i];
	}
	/* pass 0 finds the largest group; pass 1 takes the box of the groups
	 * that count and labels them */
	for (pass = 0; pass < 2; pass++) {
		for (i = 0; i < n; i++)
			mark[i] = mark[i] ? 1 : 0;
		for (i = 0; i < n; i++) {
			int top = 0, size = 0, x0 = cols, y0 = rows, x1 = 0, y1 = 0, label = 0, k;
			if (mark[i] != 1)
				continue;
			stack[top++] = i;
			mark[i] = 2;
			while (top) {
				int c = stack[--top], x = c % cols, y = c / cols, dx, dy;
				stack[n - 1 - size] = c; /* the group's tiles, from the far end (the stack never meets them) */
				size++;
				x0 = x < x0 ? x : x0;
				y0 = y < y0 ? y : y0;
				x1 = x + 1 > x1 ? x + 1 : x1;
				y1 = y + 1 > y1 ? y + 1 : y1;
				for (dy = -1; dy <= 1; dy++)
					for (dx = -1; dx <= 1; dx++) {
						int nx = x + dx, ny = y + dy;
						if (nx >= 0 && ny >= 0 && nx < cols && ny < rows && mark[ny * cols + nx] == 1) {
							mark[ny * cols + nx] = 2;
							stack[top++] = ny * cols + nx;
						}
					}
			}
			if (pass == 0) {
				out->cluster = size > out->cluster ? size : out->cluster;
				continue;
			}
			if (size >= BAR_CLUSTER || (out->cluster < BAR_CLUSTER && size == out->cluster)) {
				out->x0 = x0 < out->x0 ? x0 : out->x0;
				out->y0 = y0 < out->y0 ? y0 : out->y0;
				out->x1 = x1 > out->x1 ? x1 : out->x1;
				out->y1 = y1 > out->y1 ? y1 : out->y1;
			}
			if (size < BAR_CLUSTER)
				continue;
			if (out->ngroups == BARS_GROUPS) {
				out->overflow = 1;
				continue;
			}
			label = ++out->ngroups;
			out->gsize[label - 1] = size;
			for (k = 0; k < size; k++)
				out->label[stack[n - 1 - k]] = (uint8_t)label;
		}
	}
	free(mark);
	free(stack);
}

void bars_box(bars *b, int min_group, int w, int h)
{
	int i, x0 = b->cols, y0 = b->rows, x1 = -1, y1 = -1, t = b->tile;

	if (!b->label || b->overflow)
		return;
	for (i = 0; i < b->cols * b->rows; i++) {
		int x = i % b->cols, y = i / b->cols;
		if (!b->label[i] || b->gsize[b->label[i] - 1] < min_group)
			continue;
		x0 = x < x0 ? x : x0;
		y0 = y < y0 ? y : y0;
		x1 = x > x1 ? x : x1;
		y1 = y > y1 ? y : y1;
	}
	if (x1 < 0)
		return;
	b->x0 = (x0 - 2) * t < 0 ? 0 : (x0 - 2) * t;
	b->y0 = (y0 - 2) * t < 0 ? 0 : (y0 - 2) * t;
	b->x1 = (x1 + 3) * t > w ? w : (x1 + 3) * t;
	b->y1 = (y1 + 3) * t > h ? h : (y1 + 3) * t;
}

void bars_free(bars *b)
{
	free(b->label);
	b->label = NULL;
}

/*
 * Bars make tiles whose gradients all point one way. Each tile with strong,
 * coherent gradients votes for its gradient angle; the peak is where the
 * scan lines should run, and the tiles near the peak angle say where.
 */
void plane_bars(const plane *in, bars *out)
{
	enum { TILE = BARS_TILE, BINS = 36 };
	double hist[BINS] = {0}, total = 0, best = 0;
	int cols = in->w / TILE, rows = in->h / TILE, tx, ty, b, peak = 0;
	float *angles = malloc(sizeof(float) * (size_t)(cols > 0 ? cols : 1) * (size_t)(rows > 0 ? rows : 1));

	memset(out, 0, sizeof(*out));
	if (!angles) {
		out->overflow = 1;
		return;
	}
	for (ty = 0; ty < rows; ty++) {
		for (tx = 0; tx < cols; tx++) {
			double jxx = 0, jyy = 0, jxy = 0, energy, coh, ang, sgx = 0, sgy = 0, sabs = 0;
			int x, y, x0 = tx * TILE, y0 = ty * TILE;
			angles[ty * cols + tx] = -1;
			for (y = y0 + 1; y < y0 + TILE && y < in->h - 1; y += 2) {
				const uint8_t *p = in->px + (size_t)y * (size_t)in->w;
				for (x = x0 + 1; x < x0 + TILE && x < in->w - 1; x += 2) {
					double gx = p[x + 1] - p[x - 1];
					double gy = p[x + in->w] - p[x - in->w];
					jxx += gx * gx;
					jyy += gy * gy;
					jxy += gx * gy;
					sgx += gx;
					sgy += gy;
					sabs += fabs(gx) + fabs(gy);
				}
			}
			energy = jxx + jyy;
			if (energy < 200.0 * TILE * TILE / 4)
				continue;
			/* bars alternate dark-light: their gradients cancel out. A single
			 * edge (a box side, a colour band) points one way all along. */
			if (sqrt(sgx * sgx + sgy * sgy) > 0.4 * sabs)
				continue;
			coh = sqrt((jxx - jyy) * (jxx - jyy) + 4 * jxy * jxy) / energy;
			if (coh < 0.75)
				continue;
			ang = 0.5 * atan2(2 * jxy, jxx - jyy) * 180.0 / M_PI; /* -90..90 */
			if (ang < 0)
				ang += 180;
			angles[ty * cols + tx] = (float)ang;
			b = (int)(ang / (180.0 / BINS)) % BINS;
			hist[b] += coh * sqrt(energy);
			total += coh * sqrt(energy);
		}
	}
	for (b = 0; b < BINS; b++) {
		double v = hist[b] + 0.5 * (hist[(b + 1) % BINS] + hist[(b + BINS - 1) % BINS]);
		if (v > best) {
			best = v;
			peak = b;
		}
	}
	out->angle = (peak + 0.5) * (180.0 / BINS);
	out->strength = total > 0 ? best / total : 0;
	out->cols = cols;
	out->rows = rows;
	out->tile = TILE;
	bar_clusters(angles, cols, rows, out);
	free(angles);
	if (!out->tiles) {
		out->x0 = out->y0 = out->x1 = out->y1 = 0;
		return;
	}
	out->x0 *= TILE;
	out->y0 *= TILE;
	out->x1 *= TILE;
	out->y1 *= TILE;
	/* a margin for the quiet zone and the bars' ends */
	out->x0 = out->x0 - 2 * TILE < 0 ? 0 : out->x0 - 2 * TILE;
	out->y0 = out->y0 - 2 * TILE < 0 ? 0 : out->y0 - 2 * TILE;
	out->x1 = out->x1 + 2 * TILE > in->w ? in->w : out->x1 + 2 * TILE;
	out->y1 = out->y1 + 2 * TILE > in->h ? in->h : out->y1 + 2 * TILE;
}
