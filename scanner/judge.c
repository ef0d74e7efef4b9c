/*
 * judge.c - what the reads of all passes add up to: agreement between
 * passes and engines, the misread filters, whether a trace code has been
 * found, and whether what the image shows has all been read (the evidence
 * explained). docs/scanner.md, section 5.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

typedef struct cand {
	size_t first;      /* index in raw of the best instance */
	int passes;        /* distinct passes that found it */
	int quality;       /* best ZBar quality */
	const char *pass;  /* pass of the best instance */
	int zbar;          /* at least one instance was read by ZBar */
} cand;

static int same_symbol(const raw_symbol *a, const raw_symbol *b)
{
	return a->len == b->len && a->aim[1] == b->aim[1] && !memcmp(a->data, b->data, a->len);
}

static const char *pass_of(const run *r, size_t idx)
{
	int i;

	for (i = 0; i < r->npasses; i++)
		if (idx < r->pass_end[i])
			return r->pass_names[i];
	return "?";
}

/* A 2D read vouches for itself (error correction). A 1D read needs two ZBar
 * scan lines, or three of zxing-cpp's (it counts lines 2 apart, and a
 * two-line zxing-cpp read was seen misreading an EAN-13 as a UPC-E), or two
 * passes that agree. */
static int accepted(const cand *c, const raw_symbol *sym)
{
	return sym->two_d || c->quality >= (c->zbar ? 2 : 3) || c->passes >= 2;
}

/* Group the raw reads; fill cands (one per distinct symbol). */
static size_t group(const run *r, cand *cands, size_t max)
{
	const raw_list *raw = &r->s->raw;
	size_t n = 0, i, k;

	for (i = 0; i < raw->n; i++) {
		const raw_symbol *sym = &raw->v[i];
		for (k = 0; k < n; k++)
			if (same_symbol(&raw->v[cands[k].first], sym))
				break;
		if (k == n) {
			if (n == max)
				continue;
			cands[n].first = i;
			cands[n].passes = 1;
			cands[n].quality = sym->quality;
			cands[n].pass = pass_of(r, i);
			cands[n].zbar = !sym->from_zxing;
			n++;
			continue;
		}
		cands[k].zbar |= !sym->from_zxing;
		if (pass_of(r, i) != pass_of(r, cands[k].first) || sym->two_d)
			cands[k].passes++;
		if (sym->quality > cands[k].quality) {
			cands[k].quality = sym->quality;
			cands[k].first = i;
			cands[k].pass = pass_of(r, i);
		}
	}
	return n;
}

static int is_trace(ds_scanner *s, const raw_symbol *sym)
{
	if (ds_trace_parse(&s->code, sym->data, sym->len, sym->symbology, sym->aim, &s->topts) < 0)
		return 0;
	return s->code.valid && s->code.kind != DS_KIND_PRODUCT_BARCODE;
}

/* ---- the evidence explained ---- */

static int inside(const read_box *b, double x, double y)
{
	return x >= b->x0 && x <= b->x1 && y >= b->y0 && y <= b->y1;
}

static int inside_any(const run *r, double x, double y)
{
	int i;

	for (i = 0; i < r->nboxes; i++)
		if (inside(&r->boxes[i], x, y))
			return 1;
	return 0;
}

/* The interval of a read's corners along the unit vector (ux, uy) */
static void span(const read_box *b, double ux, double uy, double *lo, double *hi)
{
	int k;

	*lo = 1e18;
	*hi = -1e18;
	for (k = 0; k < 4; k++) {
		double p = b->pos[k][0] * ux + b->pos[k][1] * uy;
		*lo = p < *lo ? p : *lo;
		*hi = p > *hi ? p : *hi;
	}
}

/*
 * Does the 1D read of b cover the point (x, y) of a group it touches? Its
 * box spans only the scan lines that read it, so across the bars it is
 * stretched by half its length each way (an EAN-13 is about 0.7 times as
 * tall as it is long), and along the code by two tiles (m each: the quiet
 * zones, an EAN-13's first digit printed before its bars).
 */
static int covers_1d(const read_box *b, double ux, double uy, double m, double x, double y)
{
	double s0, s1, t0, t1, s = x * ux + y * uy, t = -x * uy + y * ux;

	span(b, ux, uy, &s0, &s1);
	span(b, -uy, ux, &t0, &t1);
	return s >= s0 - 2 * m && s <= s1 + 2 * m && t >= t0 - (s1 - s0) / 2 && t <= t1 + (s1 - s0) / 2;
}

/* How many tiles of each group of bars accepted reads cover: a tile inside
 * a read's box, or covered by a 1D read that touches its group. */
static void cover_groups(const run *r, const bars *b, double scale, int *covered)
{
	uint64_t touch[BARS_GROUPS] = {0};
	double t = b->tile * scale, th = b->angle * M_PI / 180.0, ux = cos(th), uy = sin(th);
	int i, k, pass, nb = r->nboxes;

	for (pass = 0; pass < 2; pass++) {
		for (i = 0; i < b->cols * b->rows; i++) {
			int g = b->label[i] - 1, hit = 0;
			double x = (i % b->cols + 0.5) * t, y = (i / b->cols + 0.5) * t;
			if (g < 0)
				continue;
			for (k = 0; k < nb && !hit; k++) {
				const read_box *rb = &r->boxes[k];
				if (pass == 0 && inside(rb, x, y))
					touch[g] |= (uint64_t)1 << k;
				if (pass == 1)
					hit = inside(rb, x, y) || ((touch[g] >> k & 1) && !rb->two_d && covers_1d(rb, ux, uy, t, x, y));
			}
			covered[g] += hit;
		}
	}
}

int judge_bars_read(const run *r, const bars *b, double scale, int min_group)
{
	int covered[BARS_GROUPS] = {0}, g;

	if (b->overflow || r->nboxes == 0)
		return 0;
	cover_groups(r, b, scale, covered);
	for (g = 0; g < b->ngroups; g++) {
		if (b->gsize[g] >= min_group && covered[g] * 4 < b->gsize[g] * 3) {
			if (r->s->opts.trace_passes)
				fprintf(stderr, "drugscan: a group of %d bar tiles, %d of them read\n", b->gsize[g], covered[g]);
			return 0;
		}
	}
	return 1;
}

/*
 * Has everything code-like that the image shows been read? The groups of
 * bars at the top level (of at least top_min_group tiles) must be read
 * (judge_bars_read()), and each 2D candidate region of the first level must
 * have its centre inside the box of an accepted read, unless all of them
 * have been looked at for both 2D symbologies: the DataMatrix pass has run
 * (it reads the best of them, up to its budget; no later pass reads a
 * DataMatrix) and zxing-cpp has read the whole top level for QR codes.
 * Printed text makes such regions too. A group or region of a symbol not
 * read yet (a trace code beside the EAN-13 read, a DataMatrix not read)
 * keeps the search going; a symbol that leaves no such evidence is not
 * looked for beyond this point.
 */
static int explained(const run *r)
{
	int i;

	if (!r->top_bars || !judge_bars_read(r, r->top_bars, r->top_scale, r->top_min_group))
		return 0;
	if (r->dm_done && r->qr_top)
		return 1; /* every 2D region has been looked at */
	if (r->regions_more)
		return 0;
	for (i = 0; i < r->nregions; i++) {
		const dm_region *rg = &r->regions[i];
		double s = r->regions_scale;
		if (!inside_any(r, (rg->x0 + rg->x1) * s / 2, (rg->y0 + rg->y1) * s / 2))
			return 0;
	}
	return 1;
}

/* After each pass: is a valid trace code accepted, how many symbols are,
 * where they are (grown by one bar tile of the level that runs), and is the
 * evidence explained. */
void judge_update(run *r)
{
	cand cands[RUN_SYMBOLS];
	size_t n = group(r, cands, RUN_SYMBOLS), k;
	int i;
	double m = BARS_TILE * r->level_scale;

	r->have_trace = 0;
	r->accepted = 0;
	r->nboxes = 0;
	for (k = 0; k < n; k++) {
		const raw_symbol *sym = &r->s->raw.v[cands[k].first];
		read_box *b = &r->boxes[r->nboxes];
		if (!accepted(&cands[k], sym))
			continue;
		r->accepted++;
		if (is_trace(r->s, sym))
			r->have_trace = 1;
		if (raw_implausible(sym))
			continue;
		memcpy(b->pos, sym->pos, sizeof(b->pos));
		b->two_d = sym->two_d;
		b->x0 = b->x1 = sym->pos[0][0];
		b->y0 = b->y1 = sym->pos[0][1];
		for (i = 1; i < 4; i++) {
			b->x0 = sym->pos[i][0] < b->x0 ? sym->pos[i][0] : b->x0;
			b->x1 = sym->pos[i][0] > b->x1 ? sym->pos[i][0] : b->x1;
			b->y0 = sym->pos[i][1] < b->y0 ? sym->pos[i][1] : b->y0;
			b->y1 = sym->pos[i][1] > b->y1 ? sym->pos[i][1] : b->y1;
		}
		b->x0 -= m;
		b->y0 -= m;
		b->x1 += m;
		b->y1 += m;
		r->nboxes++;
	}
	r->explained = explained(r);
}

/* ---- the result ---- */

/*
 * Two different 1D reads of the same kind in the same place: one of them is
 * a misread. Keep the one more passes and scan lines agree on.
 */
static int loses_conflict(const run *r, const cand *cands, size_t n, size_t k)
{
	const raw_symbol *a = &r->s->raw.v[cands[k].first];
	size_t j;

	for (j = 0; j < n; j++) {
		const raw_symbol *b = &r->s->raw.v[cands[j].first];
		int sa = cands[k].passes * 100 + cands[k].quality, sb = cands[j].passes * 100 + cands[j].quality;
		int engines = cands[k].zbar != cands[j].zbar;
		if (j == k || a->aim[1] != b->aim[1] || !accepted(&cands[j], b))
			continue;
		if (a->two_d || b->two_d) {
			/* a QR code read by both engines in two character sets: ZBar's stays */
			if (engines && !cands[k].zbar && raw_overlap(a->pos, b->pos) > 0.5)
				return 1;
			continue;
		}
		/* the two engines read one 1D symbol differently: the read more
		 * passes agree on stays; on a tie neither does (no wrong read) */
		if (engines && (raw_same_1d_place(a->pos, b->pos) || raw_same_1d_place(b->pos, a->pos))) {
			if (cands[j].passes >= cands[k].passes)
				return 1;
			continue;
		}
		if (!engines && (raw_overlap(a->pos, b->pos) > 0.5 || raw_same_1d_place(a->pos, b->pos) ||
		                 raw_same_1d_place(b->pos, a->pos)) && (sb > sa || (sb == sa && j < k)))
			return 1;
	}
	return 0;
}

/* DRUGSCAN_DEBUG=passes: every distinct read and what became of it */
static void trace_read(const run *r, const cand *c, const raw_symbol *sym, int ok, int lost)
{
	if (!r->s->opts.trace_passes)
		return;
	fprintf(stderr, "drugscan: read %s %s %.*s%s: %d passes, quality %d, %s, %s\n", sym->aim, sym->symbology,
	        sym->len > 60 ? 60 : (int)sym->len, (const char *)sym->data, sym->len > 60 ? "..." : "", c->passes,
	        c->quality, c->zbar ? "zbar" : "zxing-cpp only",
	        !ok ? "not accepted" : raw_implausible(sym) ? "implausible" : lost ? "lost a conflict" : "reported");
}

/* Turn accepted candidates into the result, in reading order of discovery. */
int judge_finish(run *r, ds_scan_result *out)
{
	cand cands[RUN_SYMBOLS];
	size_t n = group(r, cands, RUN_SYMBOLS), k, m = 0;
	raw_list *raw = &r->s->raw;

	out->symbols = calloc(n ? n : 1, sizeof(ds_symbol));
	if (!out->symbols)
		return DS_ENOMEM;
	for (k = 0; k < n; k++) {
		raw_symbol *sym = &raw->v[cands[k].first];
		int ok = accepted(&cands[k], sym), lost = ok && loses_conflict(r, cands, n, k);
		ds_symbol *o;
		trace_read(r, &cands[k], sym, ok, lost);
		if (!ok || raw_implausible(sym) || lost)
			continue;
		o = &out->symbols[m++];
		o->data = sym->data; /* ownership moves to the result */
		sym->data = NULL;
		o->len = sym->len;
		memcpy(o->aim, sym->aim, 4);
		strncpy(o->symbology, sym->symbology, sizeof(o->symbology) - 1);
		memcpy(o->pos, sym->pos, sizeof(o->pos));
		o->pass = cands[k].pass;
		o->quality = cands[k].quality;
	}
	out->count = m;
	out->passes = r->npasses;
	out->has_trace = r->have_trace;
	out->evidence = r->evidence;
	return DS_OK;
}
