/*
 * judge.c - what the reads of all passes add up to: agreement between
 * passes and engines, the misread filters, whether a trace code has been
 * found, and whether what the image shows has all been read (the evidence
 * explained). docs/scanner.md, section 5.
 */
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

typedef struct box {
	double x0, y0, x1, y1;
} box;

static int inside(const box *b, int n, double x, double y)
{
	int i;

	for (i = 0; i < n; i++)
		if (x >= b[i].x0 && x <= b[i].x1 && y >= b[i].y0 && y <= b[i].y1)
			return 1;
	return 0;
}

/*
 * Has everything code-like that the image shows been read? Each group of
 * bars at the top level (of at least top_min_group tiles) must have 3 in 4
 * of its tiles inside the box of an accepted symbol, grown by one tile, and
 * each 2D candidate region of the first level its centre inside one, unless
 * all of them have been looked at for both 2D symbologies: the DataMatrix
 * pass has run (it reads the best of them, up to its budget; no later pass
 * reads a DataMatrix) and zxing-cpp has read the whole top level for QR
 * codes. Printed text makes such regions too. A group or region of a symbol not
 * read yet (a trace code beside the EAN-13 read, a DataMatrix not read)
 * keeps the search going; a symbol that leaves no such evidence is not
 * looked for beyond this point.
 */
static int explained(const run *r, const box *boxes, int nb)
{
	const bars *b = r->top_bars;
	int covered[BARS_GROUPS] = {0}, i, g;
	double t;

	if (!b || b->overflow || nb == 0)
		return 0;
	t = b->tile * r->top_scale;
	for (i = 0; i < b->cols * b->rows; i++) {
		if (b->label[i] && inside(boxes, nb, (i % b->cols + 0.5) * t, (i / b->cols + 0.5) * t))
			covered[b->label[i] - 1]++;
	}
	for (g = 0; g < b->ngroups; g++)
		if (b->gsize[g] >= r->top_min_group && covered[g] * 4 < b->gsize[g] * 3)
			return 0;
	if (r->dm_done && r->qr_top)
		return 1; /* every 2D region has been looked at */
	if (r->regions_more)
		return 0;
	for (i = 0; i < r->nregions; i++) {
		const dm_region *rg = &r->regions[i];
		double s = r->regions_scale;
		if (!inside(boxes, nb, (rg->x0 + rg->x1) * s / 2, (rg->y0 + rg->y1) * s / 2))
			return 0;
	}
	return 1;
}

/* After each pass: is a valid trace code accepted, how many symbols are,
 * and is the evidence explained. */
void judge_update(run *r)
{
	cand cands[RUN_SYMBOLS];
	box boxes[RUN_SYMBOLS];
	size_t n = group(r, cands, RUN_SYMBOLS), k;
	int nb = 0, i;
	double m = r->top_bars ? r->top_bars->tile * r->top_scale : 0;

	r->have_trace = 0;
	r->accepted = 0;
	for (k = 0; k < n; k++) {
		const raw_symbol *sym = &r->s->raw.v[cands[k].first];
		if (!accepted(&cands[k], sym))
			continue;
		r->accepted++;
		if (is_trace(r->s, sym))
			r->have_trace = 1;
		if (raw_implausible(sym))
			continue;
		boxes[nb].x0 = boxes[nb].x1 = sym->pos[0][0];
		boxes[nb].y0 = boxes[nb].y1 = sym->pos[0][1];
		for (i = 1; i < 4; i++) {
			boxes[nb].x0 = sym->pos[i][0] < boxes[nb].x0 ? sym->pos[i][0] : boxes[nb].x0;
			boxes[nb].x1 = sym->pos[i][0] > boxes[nb].x1 ? sym->pos[i][0] : boxes[nb].x1;
			boxes[nb].y0 = sym->pos[i][1] < boxes[nb].y0 ? sym->pos[i][1] : boxes[nb].y0;
			boxes[nb].y1 = sym->pos[i][1] > boxes[nb].y1 ? sym->pos[i][1] : boxes[nb].y1;
		}
		boxes[nb].x0 -= m;
		boxes[nb].y0 -= m;
		boxes[nb].x1 += m;
		boxes[nb].y1 += m;
		nb++;
	}
	r->explained = explained(r, boxes, nb);
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
