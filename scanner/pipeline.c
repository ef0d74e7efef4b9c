/*
 * pipeline.c - the decode pipeline.
 *
 * A scale pyramid is walked from the smallest level up. At each level the
 * passes run cheapest first: plain ZBar, DataMatrix over candidate regions,
 * a deskewed pass at the bars' estimated angle, smoothed (noise, JPEG
 * ringing), contrast-stretched and locally binarised (uneven light), and
 * inverted, over the region where bars were found. The last level also tries
 * fixed rotations (30 and 60 degrees; thorough adds 45, 15 and 75) and
 * `thorough` the full resolution. `fast` and `normal` stop as soon as a valid
 * trace code is accepted.
 *
 * A 1D read is accepted only when ZBar saw it on at least two scan lines or
 * two passes agree: one scan line is how misreads get through.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"
#include "zxing.h"

/* DataMatrix work budget: candidate regions read per pass (docs/scanner.md, section 4) */
/* bar tiles in one group for ZBar to read a larger top level (top_by_evidence()) */
#define TOP_CLUSTER 8

#define DM_REGIONS 6
#define DM_THOROUGH_REGIONS 16

int ds_effort_parse(ds_effort *out, const char *name)
{
	if (!name || !strcmp(name, "normal"))
		*out = DS_EFFORT_NORMAL;
	else if (!strcmp(name, "fast"))
		*out = DS_EFFORT_FAST;
	else if (!strcmp(name, "thorough"))
		*out = DS_EFFORT_THOROUGH;
	else
		return DS_EINVAL;
	return DS_OK;
}

void ds_scan_result_free(ds_scan_result *res)
{
	size_t i;

	if (!res)
		return;
	for (i = 0; i < res->count; i++)
		free(res->symbols[i].data);
	free(res->symbols);
	memset(res, 0, sizeof(*res));
}

ds_scanner *ds_scanner_new(const ds_scan_opts *opts)
{
	ds_scanner *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	if (opts)
		s->opts = *opts;
	else
		s->opts.effort = DS_EFFORT_NORMAL;
	s->zb = zb_new();
	if (!s->zb) {
		free(s);
		return NULL;
	}
	ds_code_init(&s->code);
	s->topts.today_ymd = 0;
	s->topts.expiring_days = 0;
	s->topts.exact = 1;
	return s;
}

void ds_scanner_free(ds_scanner *s)
{
	if (!s)
		return;
	zb_free(s->zb);
	raw_clear(&s->raw);
	free(s->raw.v);
	ds_code_free(&s->code);
	free(s);
}

static double clock_ms(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static double now_ms(void)
{
	return clock_ms(CLOCK_MONOTONIC);
}

/* ---- passes ---- */
static int end_pass(run *r, const char *name)
{
	if (r->s->opts.trace_passes) {
		/* the thread's CPU time: what the pass cost, whatever the load */
		double t = clock_ms(CLOCK_THREAD_CPUTIME_ID);
		fprintf(stderr, "drugscan: pass %-20s %7.1f ms CPU, %zu raw reads\n", name, t - r->t_last, r->s->raw.n);
		r->t_last = t;
	}
	if (r->npasses < RUN_PASSES) {
		r->pass_names[r->npasses] = name;
		r->pass_end[r->npasses] = r->s->raw.n;
		r->npasses++;
	}
	judge_update(r);
	if (r->s->opts.trace_passes && r->explained)
		fprintf(stderr, "drugscan: the evidence is explained\n");
	return DS_OK;
}

static int zbar_scan_pass(run *r, const plane *p, const xform *t, int rows_only, const char *name)
{
	/* the full-resolution reload is for codes too fine for the copy read
	 * first: its turned planes are read along every row */
	int rc = zb_scan(r->s->zb, p, t, rows_only, rows_only && r->s->only_full, &r->s->raw);

	if (rc == DS_ENOMEM)
		return rc;
	return end_pass(r, name);
}

static int zbar_pass(run *r, const plane *p, const xform *t, const char *name)
{
	return zbar_scan_pass(r, p, t, 0, name);
}

/* Run a derived plane (made by op) through ZBar, then free it. */
static int derived_pass(run *r, const plane *src, const xform *t, const char *name,
                        int (*op)(plane *, const plane *, int), int arg)
{
	plane d = {NULL, 0, 0, 0};
	int rc;

	if (op(&d, src, arg) < 0)
		return DS_ENOMEM;
	rc = zbar_pass(r, &d, t, name);
	plane_free(&d);
	return rc;
}

static int op_blur(plane *o, const plane *i, int a) { return plane_blur(o, i, a); }
static int op_norm(plane *o, const plane *i, int a) { (void)a; return plane_normalize(o, i); }
static int op_bin(plane *o, const plane *i, int a) { return plane_binarize(o, i, a); }
static int op_inv(plane *o, const plane *i, int a) { (void)a; return plane_invert(o, i); }
static int op_half(plane *o, const plane *i, int a) { (void)a; return plane_half(o, i); }

/* p turned by deg into out, with the transform back; base says where p sits in the level. */
static int turn(plane *out, xform *t, const plane *p, const xform *base, double deg)
{
	double a = deg * M_PI / 180.0;
	/* a small region is turned at twice its resolution so fine bars stay sharp */
	double zoom = (double)p->w * p->h < 900.0 * 900.0 ? 2.0 : 1.0;

	if (plane_rotate(out, p, deg, zoom) < 0)
		return DS_ENOMEM;
	*t = *base;
	t->rotated = 1;
	t->zoom = zoom;
	t->cos_a = cos(a);
	t->sin_a = sin(a);
	t->cx = out->w / 2.0;
	t->cy = out->h / 2.0;
	t->ox = p->w / 2.0;
	t->oy = p->h / 2.0;
	return DS_OK;
}

/* ZBar over p rotated by deg (a fixed angle: both scan directions). */
static int rotated_pass(run *r, const plane *p, const xform *base, double deg, const char *name)
{
	plane rot = {NULL, 0, 0, 0};
	xform t;
	int rc;

	if (turn(&rot, &t, p, base, deg) < 0)
		return DS_ENOMEM;
	rc = zbar_pass(r, &rot, &t, name);
	plane_free(&rot);
	return rc;
}

/* DataMatrix over the candidate regions: the first level's (found once, the
 * evidence of explained()), or this level's (thorough, on every level) */
static int datamatrix_pass(run *r, const plane *p, const xform *t, int whole_done, int first, const char *name)
{
	dm_region local[DM_MAX_REGIONS];
	int more;
	dm_job job;
	int rc;

	job.level = p;
	job.lt = t;
	job.full = r->full;
	job.full_scale = r->full_scale;
	job.whole_done = whole_done;
	job.regions = first ? r->regions : local;
	job.nregions = first ? r->nregions : dm_find_regions(p, local, &more);
	if (r->s->opts.dm_regions > 0)
		job.max_regions = r->s->opts.dm_regions;
	else
		job.max_regions = r->s->opts.effort == DS_EFFORT_THOROUGH ? DM_THOROUGH_REGIONS : DM_REGIONS;
	rc = dm_scan(&job, &r->s->raw);
	if (rc == DS_ENOMEM)
		return rc;
	if (first)
		r->dm_done = 1;
	return end_pass(r, name);
}

/* zxing-cpp over a whole level (inverted when invert), for what ZBar could not read */
#define ZX_LINEAR (ZX_CODE128 | ZX_EAN13 | ZX_DATABAR)
#define ZX_LINEAR_QR (ZX_QR | ZX_LINEAR)
static int zxing_pass(run *r, const plane *p, const xform *t, int invert, int formats, const char *name)
{
	plane inv = {NULL, 0, 0, 0};
	int rc;

	if (invert && plane_invert(&inv, p) < 0)
		return DS_ENOMEM;
	rc = zx_plane(invert ? &inv : p, t, formats, ZX_TRY_HARDER | ZX_TRY_ROTATE, &r->s->raw);
	plane_free(&inv);
	if (rc == DS_ENOMEM)
		return rc;
	if (!invert && (formats & ZX_LINEAR) == ZX_LINEAR && (r->qr_top || (formats & ZX_QR)))
		r->zxing_done = 1; /* the whole top level read for everything but DataMatrix */
	if (r->top_bars && !invert && (formats & ZX_QR))
		r->qr_top = 1; /* only whole levels are read for QR codes */
	return end_pass(r, name);
}

/* a trace code found, or everything code-like at the top level read */
#define STOP(r) (!(r)->hold && ((r)->have_trace || (r)->explained) && (r)->s->opts.effort != DS_EFFORT_THOROUGH)
#define TRY(expr)                  \
	do {                           \
		int rc_ = (expr);          \
		if (rc_ < 0)               \
			return rc_;            \
		if (STOP(r))               \
			return 1;              \
	} while (0)

/*
 * The 1D passes over the region where the bars are (a crop of the level).
 * upright is the region turned so that the bars stand upright (NULL when the
 * estimate is weak or on-axis): ZBar reads it, and later it smoothed, along
 * rows only, for its scan lines must cross the bars and its columns would run
 * along them.
 */
/* Below the top level (not thorough), the bar passes end once all the
 * level's groups of bars are read: the level above looks further. */
#define LEVEL_READ(r, b, scale, top) \
	(!(top) && (r)->s->opts.effort != DS_EFFORT_THOROUGH && judge_bars_read((r), (b), (scale), 3))
#define TRY_BARS(expr)                            \
	do {                                          \
		TRY(expr);                                \
		if (LEVEL_READ(r, b, rt->scale, top))     \
			return 0;                             \
	} while (0)

static int bar_passes_on(run *r, const plane *roi, const xform *rt, const bars *b, int top, const plane *upright,
                         const xform *ut)
{
	ds_effort effort = r->s->opts.effort;

	if (upright)
		TRY_BARS(zbar_scan_pass(r, upright, ut, 1, "zbar/deskew"));
	if (effort == DS_EFFORT_FAST || r->s->only_full)
		return 0; /* the reload: zxing-cpp, ZBar plain and deskewed only (full_by_evidence()) */
	TRY_BARS(derived_pass(r, roi, rt, "zbar/smooth", op_blur, 1));
	TRY_BARS(derived_pass(r, roi, rt, "zbar/normalize", op_norm, 0));
	TRY_BARS(derived_pass(r, roi, rt, "zbar/binarize", op_bin, roi->w > 1200 ? 24 : 12));
	TRY_BARS(derived_pass(r, roi, rt, "zbar/invert", op_inv, 0));
	if (upright) {
		plane d = {NULL, 0, 0, 0};
		int rc;
		if (plane_blur(&d, upright, 1) < 0)
			return DS_ENOMEM;
		rc = zbar_scan_pass(r, &d, ut, 1, "zbar/deskew-smooth");
		plane_free(&d);
		TRY(rc);
	}
	/* fixed turns, for bars at an angle the estimate could not tell: not when
	 * it was strong (upright bars need no turn; tilted ones were deskewed) */
	if (effort == DS_EFFORT_THOROUGH || (top && !upright && b->strength <= 0.25)) {
		static const double angles[] = {30, 60, 45, 15, 75};
		static const char *names[] = {"zbar/rot30", "zbar/rot60", "zbar/rot45", "zbar/rot15", "zbar/rot75"};
		size_t k, nk = effort == DS_EFFORT_THOROUGH ? 5 : 2;
		for (k = 0; k < nk; k++)
			TRY(rotated_pass(r, roi, rt, angles[k], names[k]));
	}
	return 0;
}

/* ZBar tolerates a tilt only while one scan line still crosses every bar:
 * a long code with short bars needs turning straight from about 3 degrees */
static int off_axis(double angle)
{
	double dev = fmod(angle, 90.0);

	return (dev < 45 ? dev : 90 - dev) > 3;
}

static int bar_passes(run *r, const plane *roi, const xform *rt, const bars *b, int top)
{
	plane up = {NULL, 0, 0, 0};
	xform ut;
	int rc;

	/* scan lines must cross the bars: turn the gradient direction horizontal */
	if (b->strength > 0.25 && off_axis(b->angle) && turn(&up, &ut, roi, rt, -b->angle) < 0)
		return DS_ENOMEM;
	rc = bar_passes_on(r, roi, rt, b, top, up.px ? &up : NULL, &ut);
	plane_free(&up);
	return rc;
}

/* Nothing read at all by the top level: a code in noise, low contrast or
 * light on dark. zxing-cpp binarises locally by itself and reads a plane in
 * about a quarter of the time of one ZBar pass: its 1D readers (and QR,
 * unless the level was read for QR codes already; not when there is no
 * group of bars either, then), the plane inverted for QR codes; then, on a
 * single-level image only, ZBar on the level halved (2x2 averaging:
 * smoother, and a quarter of the work of the level blurred). */
static int nothing_yet_passes(run *r, const plane *p, const xform *t, int first, int cluster)
{
	if (r->qr_top && cluster < 3)
		r->zxing_done = 1; /* nothing bar-like, and QR codes were looked for */
	if (!r->zxing_done)
		TRY(zxing_pass(r, p, t, 0, r->qr_top ? ZX_LINEAR : ZX_LINEAR_QR, "zxing"));
	if (r->s->raw.n == 0)
		TRY(zxing_pass(r, p, t, 1, ZX_QR, "zxing/invert"));
	if (r->s->raw.n == 0 && first && (long)p->w * p->h <= 2000000L && p->w >= 64 && p->h >= 64) {
		xform ht = *t;
		ht.scale *= 2;
		TRY(derived_pass(r, p, &ht, "zbar/half", op_half, 0));
	}
	return 0;
}

/* The passes over the region of p where the bars are: zxing-cpp's 1D
 * readers (`zx`), ZBar plainly (`plain`), then bar_passes(). */
static int roi_passes(run *r, const plane *p, const xform *t, const bars *b, int zx, int plain, int top)
{
	plane roi = {NULL, 0, 0, 0};
	xform rt = *t;
	int rc = 0;

	rt.tx = b->x0;
	rt.ty = b->y0;
	if (plane_crop(&roi, p, b->x0, b->y0, b->x1, b->y1) < 0)
		return DS_ENOMEM;
	if (zx)
		rc = zxing_pass(r, &roi, &rt, 0, ZX_LINEAR, "zxing/bars");
	if (rc >= 0 && !STOP(r) && plain)
		rc = zbar_pass(r, &roi, &rt, "zbar");
	if (rc >= 0 && !STOP(r))
		rc = bar_passes(r, &roi, &rt, b, top);
	plane_free(&roi);
	return rc < 0 ? rc : STOP(r) ? 1 : rc;
}

/*
 * A larger copy of a photo already looked at, with `normal`: work by
 * evidence, cheapest and most telling first. zxing-cpp reads the whole
 * level for QR codes (a QR trace code too small for the level below).
 * Then, where the bars form a group big enough to be a 1D code at this size
 * (TOP_CLUSTER tiles: 1D codes in the generated photos give 35-67 at
 * 1600x1200, printed text at most 6), zxing-cpp's 1D readers and ZBar read
 * only that region, ZBar plainly, then turned, smoothed, ...: a whole
 * 3-megapixel level costs ZBar 5 to 10 times more, zxing-cpp's row scans
 * over all of it about as much as its QR search, and a plain read cannot
 * cross the bars of a tilted code. Last, when nothing at all was read,
 * zxing-cpp reads the level inverted for QR codes (light on dark).
 */
static int top_by_evidence(run *r, const plane *p, const xform *t, const bars *b)
{
	bars g = *b;

	r->zxing_done = 1; /* the level is read here, by evidence */
	TRY(zxing_pass(r, p, t, 0, ZX_QR, "zxing/qr"));
	bars_box(&g, TOP_CLUSTER, p->w, p->h); /* the region of the groups worth it, not of text */
	if (b->cluster >= TOP_CLUSTER)
		TRY(roi_passes(r, p, t, &g, 1, 1, 1));
	if (r->s->raw.n == 0)
		TRY(zxing_pass(r, p, t, 1, ZX_QR, "zxing/invert"));
	return 0;
}

/*
 * The full-resolution reload of a JPEG read smaller first (normal): the
 * smaller copy was read whole for QR codes and its DataMatrix regions were
 * read from this level already, so what is left is a 1D code too fine for
 * it (a long GS1-128 with small modules): the region of the groups of bars
 * of at least TOP_CLUSTER tiles, read by zxing-cpp's 1D readers, ZBar
 * plainly and turned upright (along every row), and nothing else: the
 * smoothed, stretched, binarised and inverted copies were read at the
 * smaller size, and at 12 megapixels each costs 20-70 ms.
 */
static int full_by_evidence(run *r, const plane *p, const xform *t, const bars *b)
{
	bars g = *b;

	r->zxing_done = 1;
	if (b->cluster < TOP_CLUSTER)
		return 0;
	bars_box(&g, TOP_CLUSTER, p->w, p->h);
	return roi_passes(r, p, t, &g, 1, 1, 1);
}

/*
 * An image of one level (a crop, a small photo), with `normal`: zxing-cpp
 * reads it whole for QR and DataMatrix: it reads most 2D symbols in a few
 * milliseconds, and a 2D symbol read explains its region. It goes first
 * unless the level shows a group of bars: then ZBar reads first, so that
 * the EAN-13 beside a 2D trace code is read before the trace code stops the
 * search (1D symbols are left to ZBar first, as on every other level:
 * zxing-cpp alone was seen reading one EAN-13 two ways on two rows). Then ZBar on the whole level, the DataMatrix regions, and what
 * level_passes() runs after them. Each pass may stop the search (STOP()).
 */
static int single_by_evidence(run *r, const plane *p, const xform *t, const bars *b)
{
	if (b->cluster >= 3) /* bars: ZBar first, for the EAN-13 beside a 2D trace code */
		TRY(zbar_pass(r, p, t, "zbar"));
	TRY(zxing_pass(r, p, t, 0, ZX_QR | ZX_DATAMATRIX, "zxing/2d"));
	if (b->cluster < 3)
		TRY(zbar_pass(r, p, t, "zbar"));
	TRY(datamatrix_pass(r, p, t, 1, 1, "datamatrix"));
	if (r->s->raw.n == 0)
		TRY(nothing_yet_passes(r, p, t, 1, b->cluster));
	if (b->cluster < 3)
		return 0;
	return roi_passes(r, p, t, b, 0, 0, 1);
}

static int passes_below(run *r, const plane *p, const xform *t, bars *b, int first, int top);

/* The passes of one level, by effort and place (level_passes()). */
static int passes_at(run *r, const plane *p, const xform *t, bars *b, int first, int top)
{
	ds_effort effort = r->s->opts.effort;

	if (r->s->only_full && effort == DS_EFFORT_NORMAL)
		return full_by_evidence(r, p, t, b);
	if (top && effort == DS_EFFORT_NORMAL)
		return first ? single_by_evidence(r, p, t, b) : top_by_evidence(r, p, t, b);
	TRY(zbar_pass(r, p, t, "zbar"));
	if (first && !top && effort == DS_EFFORT_NORMAL && r->nregions > 0 && !r->have_trace) {
		/*
		 * A QR code ZBar missed at the smallest level, read before the DataMatrix pass
		 * looks at its region (it then skips it) and so that the top level need not
		 * look for it; the rest of this level still runs, for the product barcode
		 * beside it (the search stopping at a trace code would leave it unread).
		 */
		int rc = zxing_pass(r, p, t, 0, ZX_QR, "zxing/qr-small");
		if (rc < 0)
			return rc;
		if (!r->have_trace)
			return passes_below(r, p, t, b, first, top);
		r->hold = 1;
		rc = passes_below(r, p, t, b, first, top);
		r->hold = 0;
		return rc < 0 ? rc : STOP(r) ? 1 : rc;
	}
	return passes_below(r, p, t, b, first, top);
}

/* the rest of passes_at(), after ZBar's plain pass */
static int passes_below(run *r, const plane *p, const xform *t, bars *b, int first, int top)
{
	ds_effort effort = r->s->opts.effort;

	/* DataMatrix regions show at the smallest level; they are read from the full one */
	if (first || effort == DS_EFFORT_THOROUGH)
		TRY(datamatrix_pass(r, p, t, 0, first, "datamatrix"));
	if (effort == DS_EFFORT_FAST && !top)
		return 0;
	if (top && r->s->raw.n == 0 && effort != DS_EFFORT_FAST)
		TRY(nothing_yet_passes(r, p, t, first, b->cluster));
	if (b->cluster < 3 && effort != DS_EFFORT_THOROUGH)
		return 0; /* nothing bar-like at this level: scattered tiles are text */
	/* below the top level: no bar passes over groups of bars all read */
	if (LEVEL_READ(r, b, t->scale, top))
		return 0;
	if (b->tiles == 0) {
		b->x1 = p->w;
		b->y1 = p->h;
	}
	return roi_passes(r, p, t, b, 0, 0, top);
}

/*
 * All passes at one pyramid level; `top` is the last level that will run.
 * Returns 1 when it may stop, 0 to go on.
 *
 * The first level's 2D candidate regions and the top level's groups of bars
 * are the evidence that judge_update() weighs: once accepted symbols cover
 * all of it, the search stops (STOP()). With `normal`, a top level is
 * worked by evidence: single_by_evidence() for an image of one level,
 * top_by_evidence() for a larger copy of one already looked at.
 */
static int level_passes(run *r, const plane *p, double scale, int first, int top)
{
	xform t;
	bars b;
	int rc = 0;

	memset(&t, 0, sizeof(t));
	t.scale = scale;
	r->level_scale = scale;
	plane_bars(p, &b);
	if (r->s->opts.trace_passes)
		fprintf(stderr, "drugscan: bars at %dx%d: %d tiles, largest group %d, angle %.0f, strength %.2f\n", p->w,
		        p->h, b.tiles, b.cluster, b.angle, b.strength);
	if (b.cluster > r->evidence)
		r->evidence = b.cluster; /* the largest group of bars on any level */
	if (first) {
		r->nregions = dm_find_regions(p, r->regions, &r->regions_more);
		r->regions_scale = scale;
		if (r->s->opts.trace_passes)
			fprintf(stderr, "drugscan: %d 2D candidate regions%s\n", r->nregions, r->regions_more ? " and more" : "");
	}
	if (top) {
		r->top_bars = &b;
		r->top_scale = scale;
		r->top_min_group = first ? 3 : TOP_CLUSTER;
		judge_update(r); /* what the levels below read may explain it already */
	}
	if (!STOP(r))
		rc = passes_at(r, p, &t, &b, first, top);
	else if (r->s->opts.trace_passes)
		fprintf(stderr, "drugscan: the evidence is explained\n");
	if (top)
		r->top_bars = NULL;
	bars_free(&b);
	return rc < 0 ? rc : STOP(r) ? 1 : rc;
}

int ds_scanner_decode(ds_scanner *s, const ds_image *img, ds_scan_result *out, ds_error *err)
{
	plane levels[6];
	double scales[6];
	int nlevels = 1, i, rc = 0;
	double t0 = now_ms();
	run r;
	int smallest = s->opts.effort == DS_EFFORT_FAST ? 900 : 640;

	memset(out, 0, sizeof(*out));
	memset(&r, 0, sizeof(r));
	r.s = s;
	r.t_last = clock_ms(CLOCK_THREAD_CPUTIME_ID);
	zb_reset(s->zb);
	raw_clear(&s->raw);
	levels[0].px = img->gray;
	levels[0].w = img->width;
	levels[0].h = img->height;
	levels[0].owned = 0;
	scales[0] = img->scale;
	r.full = &levels[0];
	r.full_scale = scales[0];
	/* halve while the longer side stays at least `smallest` */
	while (nlevels < 6) {
		const plane *l = &levels[nlevels - 1];
		int longer = l->w > l->h ? l->w : l->h;
		if (longer / 2 < smallest)
			break;
		if (plane_half(&levels[nlevels], l) < 0) {
			rc = DS_ENOMEM;
			goto done;
		}
		scales[nlevels] = scales[nlevels - 1] * 2;
		nlevels++;
	}
	/* smallest first; the largest level only when thorough, when it is all
	 * there is, or when it is what the caller asked for */
	{
		int last = nlevels > 2 && s->opts.effort != DS_EFFORT_THOROUGH && !s->only_full ? 1 : 0;
		int first = s->only_full ? 0 : nlevels - 1;
		for (i = first; i >= last && rc == 0; i--)
			rc = level_passes(&r, &levels[i], scales[i], i == first, i == last);
		if (rc == 0 && !r.have_trace && !r.explained && !r.zxing_done && s->opts.effort != DS_EFFORT_FAST) {
			xform t;
			memset(&t, 0, sizeof(t));
			t.scale = scales[last];
			rc = zxing_pass(&r, &levels[last], &t, 0, r.qr_top ? ZX_LINEAR : ZX_LINEAR_QR, "zxing");
		}
	}
	if (rc >= 0)
		rc = so_code128(&levels[0], scales[0], &s->raw);
	if (rc >= 0)
		rc = judge_finish(&r, out);
done:
	for (i = 1; i < nlevels; i++)
		plane_free(&levels[i]);
	raw_clear(&s->raw);
	out->elapsed_ms = now_ms() - t0;
	if (rc < 0)
		return ds_error_set(err, DS_ENOMEM, "out of memory while decoding");
	return DS_OK;
}

int ds_scanner_scan_data(ds_scanner *s, const void *data, size_t len, const char *name, ds_scan_extra *extra,
                         ds_scan_result *out, ds_error *err)
{
	ds_image img;
	ds_load_opts lo;
	double t0 = now_ms(), c0 = clock_ms(CLOCK_THREAD_CPUTIME_ID);
	int rc;

	memset(out, 0, sizeof(*out));
	if (extra) {
		memset(&extra->thumb, 0, sizeof(extra->thumb));
		extra->width = extra->height = 0;
	}
	lo.max_pixels = s->opts.max_pixels;
	lo.min_side = s->opts.effort == DS_EFFORT_THOROUGH ? 0 : s->opts.effort == DS_EFFORT_NORMAL ? 1800 : 1200;
	rc = ds_image_load_mem(&img, data, len, name, &lo, err);
	if (rc < 0)
		return rc;
	if (extra) {
		extra->width = img.orig_width;
		extra->height = img.orig_height;
		/* a thumbnail that cannot be made is not worth failing the scan for */
		if (extra->thumb_side > 0 && ds_image_thumbnail(&extra->thumb, &img, extra->thumb_side, err) < 0)
			memset(&extra->thumb, 0, sizeof(extra->thumb));
	}
	rc = ds_scanner_decode(s, &img, out, err);
	if (rc == DS_OK && !out->has_trace && img.scale > 1 && s->opts.effort == DS_EFFORT_NORMAL &&
	    (out->count > 0 || out->evidence >= 8)) {
		/* no trace code at reduced size, but something code-like: one more
		 * look at full resolution (a photo of plain text is not worth it) */
		ds_image full;
		ds_scan_result more;
		ds_image_free(&img);
		lo.min_side = 0;
		rc = ds_image_load_mem(&full, data, len, name, &lo, err);
		if (rc < 0)
			return rc;
		s->only_full = 1;
		rc = ds_scanner_decode(s, &full, &more, err);
		s->only_full = 0;
		ds_image_free(&full);
		/* keep what the reduced pass found unless full size found more */
		if (rc == DS_OK && (more.has_trace || more.count > out->count)) {
			ds_scan_result_free(out);
			*out = more;
		} else {
			ds_scan_result_free(&more);
		}
	} else {
		ds_image_free(&img);
	}
	out->elapsed_ms = now_ms() - t0;
	if (s->opts.trace_passes)
		fprintf(stderr, "drugscan: %s: %.1f ms CPU, loading included\n", name, clock_ms(CLOCK_THREAD_CPUTIME_ID) - c0);
	return rc;
}

int ds_scanner_scan_file(ds_scanner *s, const char *path, ds_scan_result *out, ds_error *err)
{
	uint8_t *data;
	size_t len;
	double t0 = now_ms();
	int rc;

	memset(out, 0, sizeof(*out));
	rc = ds_image_read_file(path, &data, &len, err);
	if (rc < 0)
		return rc;
	rc = ds_scanner_scan_data(s, data, len, path, NULL, out, err);
	free(data);
	out->elapsed_ms = now_ms() - t0;
	return rc;
}
