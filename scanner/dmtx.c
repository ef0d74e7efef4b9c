/*
 * dmtx.c - DataMatrix through libdmtx, which ZBar cannot read.
 *
 * libdmtx is slow when it searches a whole photo, so the plane is first cut
 * into tiles; tiles with strong edges in *both* directions (a DataMatrix, not
 * the parallel bars of a 1D code) are grouped into candidate regions, and
 * libdmtx searches only those, within a budget of pixel probes. FNC1 is reported as
 * 0x1D; a leading FNC1 marks GS1 DataMatrix (]d2) and is dropped.
 */
#include <dmtx.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define CELL 16
#define MAX_CELLS 16384

typedef struct region {
	int x0, y0, x1, y1; /* in pixels, inclusive-exclusive */
	double score;
} region;

/* Mark cells that look like a 2D symbol: busy in x and y, not one-directional. */
static int find_regions(const plane *p, region *out, int max)
{
	int cw = p->w / CELL, ch = p->h / CELL, n = 0, cx, cy, i;
	uint8_t *mark;
	double *score;
	int *stack;

	if (cw < 1 || ch < 1 || cw * ch > MAX_CELLS)
		return 0;
	mark = calloc((size_t)(cw * ch), 1);
	score = calloc((size_t)(cw * ch), sizeof(double));
	stack = malloc(sizeof(int) * (size_t)(cw * ch));
	if (!mark || !score || !stack) {
		free(mark);
		free(score);
		free(stack);
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
	for (i = 0; i < cw * ch && n < max; i++) {
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
		region r = out[i];
		int j = i - 1;
		while (j >= 0 && out[j].score < r.score) {
			out[j + 1] = out[j];
			j--;
		}
		out[j + 1] = r;
	}
	return n;
}

static int push_message(const DmtxMessage *msg, DmtxRegion *reg, int rx, int ry, int rh,
                        const xform *t, raw_list *out)
{
	raw_symbol r;
	const unsigned char *d = msg->output;
	size_t len = msg->outputIdx, k;
	static const double unit[4][2] = {{0, 1}, {1, 1}, {1, 0}, {0, 0}};

	memset(&r, 0, sizeof(r));
	if (len > 0 && d[0] == 0x1D) {
		d++;
		len--;
		r.symbology = "gs1-datamatrix";
		memcpy(r.aim, "]d2", 4);
	} else {
		r.symbology = "datamatrix";
		memcpy(r.aim, "]d1", 4);
	}
	r.quality = 1;
	r.two_d = 1;
	for (k = 0; k < 4; k++) {
		DmtxVector2 v = {unit[k][0], unit[k][1]};
		dmtxMatrix3VMultiplyBy(&v, reg->fit2raw);
		/* libdmtx counts rows from the bottom of the crop */
		xform_apply(t, rx + v.X, ry + (rh - 1 - v.Y), &r.pos[k][0], &r.pos[k][1]);
	}
	return raw_push(out, &r, d, len);
}

/*
 * The probe order of one region: scan lines across the crop, coarse to fine.
 * Lines lie at odd multiples of a half-spacing that halves from the largest
 * power of two that fits down to 1, horizontal lines first at each spacing,
 * then vertical ones; every pixel on a line is one probe. This is the order of
 * libdmtx's own search grid, made explicit so that a budget can count probes
 * instead of milliseconds: the same crop always gets the same probes.
 */
typedef struct probe_walk {
	int w, h;
	int half;      /* current half-spacing */
	int vertical;  /* 0: horizontal lines, 1: vertical lines */
	int line;      /* odd multiplier of half */
	int at;        /* position along the line */
} probe_walk;

static void walk_init(probe_walk *pw, int w, int h)
{
	int longer = w > h ? w : h;

	pw->w = w;
	pw->h = h;
	pw->half = 1;
	while (pw->half * 2 < longer / 2)
		pw->half *= 2;
	pw->vertical = 0;
	pw->line = 1;
	pw->at = 0;
}

/* The next probe (x, y); 0 when the walk is over. */
static int walk_next(probe_walk *pw, int *x, int *y)
{
	while (pw->half >= 1) {
		int across = pw->vertical ? pw->w : pw->h, along = pw->vertical ? pw->h : pw->w;
		int pos = pw->line * pw->half;
		if (pos < across) {
			if (pw->at < along) {
				*x = pw->vertical ? pos : pw->at;
				*y = pw->vertical ? pw->at : pos;
				pw->at++;
				return 1;
			}
			pw->at = 0;
			pw->line += 2;
			continue;
		}
		pw->line = 1;
		if (!pw->vertical) {
			pw->vertical = 1;
			continue;
		}
		pw->vertical = 0;
		pw->half /= 2;
	}
	return 0;
}

/* Decode the region's crop with at most *probes libdmtx probes (taken off *probes). */
static int scan_region(const plane *p, const region *rg, const xform *t, long *probes, raw_list *out)
{
	int w = rg->x1 - rg->x0, h = rg->y1 - rg->y0, y, found = 0, x;
	uint8_t *crop;
	DmtxImage *img;
	DmtxDecode *dec;
	probe_walk pw;

	if (w < 16 || h < 16)
		return 0;
	crop = malloc((size_t)w * (size_t)h);
	if (!crop)
		return DS_ENOMEM;
	for (y = 0; y < h; y++)
		memcpy(crop + (size_t)y * (size_t)w, p->px + (size_t)(rg->y0 + y) * (size_t)p->w + (size_t)rg->x0,
		       (size_t)w);
	img = dmtxImageCreate(crop, w, h, DmtxPack8bppK);
	dec = img ? dmtxDecodeCreate(img, 1) : NULL;
	if (!dec) {
		if (img)
			dmtxImageDestroy(&img);
		free(crop);
		return DS_ENOMEM;
	}
	dmtxDecodeSetProp(dec, DmtxPropFnc1, 0x1D);
	walk_init(&pw, w, h);
	while (*probes > 0 && found < 4 && walk_next(&pw, &x, &y)) {
		DmtxRegion *reg;
		DmtxMessage *msg;
		int rc;
		(*probes)--;
		/* libdmtx's y axis points up */
		if (!(reg = dmtxRegionScanPixel(dec, x, h - 1 - y)))
			continue;
		msg = dmtxDecodeMatrixRegion(dec, reg, DmtxUndefined);
		rc = msg ? push_message(msg, reg, rg->x0, rg->y0, h, t, out) : 0;
		if (msg) {
			dmtxMessageDestroy(&msg);
			found++;
		}
		dmtxRegionDestroy(&reg);
		if (rc < 0) {
			found = rc;
			break;
		}
	}
	dmtxDecodeDestroy(&dec);
	dmtxImageDestroy(&img);
	free(crop);
	return found;
}

/*
 * probes bounds the whole call (libdmtx pixel probes, a unit of work, not of
 * time, so the answer never depends on the machine's load); each region gets
 * at most region_probes of it, so a photo full of printed text (which also
 * has edges both ways) cannot spend everything on the first false candidate.
 */
int dm_scan(const plane *p, const xform *t, long probes, long region_probes, int max_regions, raw_list *out)
{
	region regions[32];
	int n, i, found = 0;

	if (max_regions > 32)
		max_regions = 32;
	/* libdmtx asserts (aborts) on a scan grid of one pixel: nothing that small is a symbol */
	if (p->w < 16 || p->h < 16)
		return 0;
	n = find_regions(p, regions, max_regions);
	if (n == 0 && (long)p->w * p->h <= 640L * 640L) {
		/* a small crop with no clear candidate: search all of it */
		regions[0].x0 = regions[0].y0 = 0;
		regions[0].x1 = p->w;
		regions[0].y1 = p->h;
		n = 1;
	}
	for (i = 0; i < n && probes > 0; i++) {
		long slice = region_probes < probes ? region_probes : probes, left = slice;
		int rc = scan_region(p, &regions[i], t, &left, out);
		if (rc < 0)
			return rc;
		probes -= slice - left;
		found += rc;
	}
	return found;
}
