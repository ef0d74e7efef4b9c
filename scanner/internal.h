/* internal.h - shared between the scanner/ source files; not a public API. */
#ifndef DS_SCANNER_INTERNAL_H
#define DS_SCANNER_INTERNAL_H

#include "scanner.h"

/* image.c / jpeg.c */
int img_alloc(ds_image *out, int w, int h, ds_error *err);
int img_check_limit(const char *name, uint64_t w, uint64_t h, const ds_load_opts *opts, ds_error *err);
int img_load_jpeg(ds_image *out, const uint8_t *data, size_t len, const char *name,
                  const ds_load_opts *opts, ds_error *err);

/* A greyscale working plane: borrowed or owned pixels. */
typedef struct plane {
	uint8_t *px;
	int w, h;
	int owned;
} plane;

void plane_free(plane *p);
int plane_half(plane *out, const plane *in);                 /* 2x2 box downscale */
int plane_blur(plane *out, const plane *in, int radius);     /* box blur, separable */
int plane_normalize(plane *out, const plane *in);            /* global 1%-99% contrast stretch */
int plane_binarize(plane *out, const plane *in, int block);  /* local mean threshold */
int plane_invert(plane *out, const plane *in);
int plane_white(plane *out, int w, int h);                   /* a new plane, all white */
/* Rotate by deg around the centre into a canvas that holds the whole image,
 * resampled by zoom (2 doubles the resolution: fine bars survive the turn). */
int plane_rotate(plane *out, const plane *in, double deg, double zoom);
/* Where the bars are: the dominant gradient angle of strongly one-directional
 * tiles (degrees, 0..180), how dominant it is (0..1), how many tiles agree,
 * their largest connected group, and the bounding box, with a margin, of the
 * groups big enough to be a barcode. */
#define BARS_GROUPS 32
#define BARS_TILE 24 /* pixels */
typedef struct bars {
	double angle, strength;
	int tiles;    /* tiles within 12 degrees of the angle */
	int cluster;  /* the largest 8-connected group of them */
	int x0, y0, x1, y1;
	/* the groups of at least 3 such tiles: label[ty * cols + tx] is the
	 * group (1..ngroups) of a tile of `tile` pixels, 0 for none; gsize[g - 1]
	 * its size. overflow: more groups than BARS_GROUPS (or no memory for
	 * the labels): some are not labelled. */
	int cols, rows, tile;
	int ngroups, overflow;
	int gsize[BARS_GROUPS];
	uint8_t *label;
} bars;

/* fills *out (bars_free() it after) */
void plane_bars(const plane *in, bars *out);
void bars_free(bars *b);
/* Narrow b's box to its groups of at least min_group tiles (a w x h level),
 * grown by 2 tiles; unchanged when there is none. */
void bars_box(bars *b, int min_group, int w, int h);
/* Copy the rectangle [x0,x1) x [y0,y1) of in. */
int plane_crop(plane *out, const plane *in, int x0, int y0, int x1, int y1);

/* Maps a pass's pixel coordinates back to the original image. */
typedef struct xform {
	double scale;      /* level pixel -> original pixel */
	int rotated;
	double cos_a, sin_a;
	double cx, cy;     /* rotation centre in the pass image */
	double ox, oy;     /* centre of the unrotated image, in its pixels */
	double zoom;       /* pass pixels per unrotated pixel */
	double tx, ty;     /* where the unrotated image sits in the level (a crop's origin) */
} xform;

void xform_apply(const xform *t, double x, double y, double *ox, double *oy);

/* Raw symbols found by one pass, before agreement and de-duplication. */
typedef struct raw_symbol {
	uint8_t *data;
	size_t len;
	const char *symbology;
	char aim[4];
	double pos[4][2];
	int quality;
	int two_d;
	int from_zxing;  /* read by zxing-cpp, not ZBar */
	int qr_bytes;    /* a QR code's bytes without an ECI: raw_push() picks the character set (charset.c) */
} raw_symbol;

typedef struct raw_list {
	raw_symbol *v;
	size_t n, cap;
} raw_list;

/* charset.c: the UTF-8 text of a QR code's bytes that name no character
 * set. Returns 0 when they are UTF-8 already (*out NULL), 1 with *out
 * (malloc()ed) and *len, or DS_ENOMEM. */
int cs_qr_text(const uint8_t *b, size_t n, uint8_t **out, size_t *len);

/* reads.c: copies data into s->data (a 2D payload in an ISO/IEC 15434
 * envelope is unwrapped on the way) and appends *s */
int raw_push(raw_list *l, raw_symbol *s, const void *data, size_t len);
void raw_clear(raw_list *l);
/* A payload no real symbol carries: empty, or control bytes but TAB, CR, LF, GS, RS, EOT */
int raw_implausible(const raw_symbol *sym);
/* The overlap of two reads' bounding boxes, as a share of the smaller one */
double raw_overlap(const double a[4][2], const double b[4][2]);
/* Two 1D reads in the same place: the same span along the bars, near across them */
int raw_same_1d_place(const double a[4][2], const double b[4][2]);

/* zbar.c */
typedef struct zbar_ctx zbar_ctx;
zbar_ctx *zb_new(void);
void zb_free(zbar_ctx *z);
/* rows_only: horizontal scan lines only (a plane turned so that its bars
 * stand upright); every_line: every row (and column) even of a large plane */
int zb_scan(zbar_ctx *z, const plane *p, const xform *t, int rows_only, int every_line, raw_list *out);
/* ZBar's scanner keeps state from image to image (its edge thresholds): start
 * the next image with a fresh one, so a result never depends on the last. */
void zb_reset(zbar_ctx *z);

/* datamatrix.c: the DataMatrix pass */
typedef struct dm_region {
	int x0, y0, x1, y1; /* in the level's pixels, inclusive-exclusive */
	double score;
} dm_region;

#define DM_CROP_MARGIN 8     /* level pixels added around a region before zxing-cpp reads it */
#define DM_ENLARGE_BELOW 200 /* a crop whose longer side is below this is read at twice its size */

#define DM_MAX_REGIONS 32 /* candidate regions kept per plane */

typedef struct dm_job {
	const plane *level;  /* where regions are looked for (the smallest level run) */
	const xform *lt;     /* its transform */
	const plane *full;   /* the loaded image, level 0: regions are cropped from it for zxing-cpp */
	double full_scale;   /* its scale to the original */
	int max_regions;     /* the work budget: regions read, best first */
	int whole_done;      /* zxing-cpp read the whole level for DataMatrix already */
	const dm_region *regions; /* the level's candidate regions (dm_find_regions()), best first */
	int nregions;
} dm_job;

/* Candidate regions of p, best first, at most DM_MAX_REGIONS; *more is set
 * when p had more candidates than that (or could not be searched). */
int dm_find_regions(const plane *p, dm_region *out, int *more);
int dm_scan(const dm_job *job, raw_list *out); /* returns the reads added, or a negative DS_E* */
/* regrid.c: an upright or quarter-turned DataMatrix in p redrawn on a regular
 * grid from its timing patterns; 1 with out (owned), 0 when p holds no such
 * symbol, or DS_ENOMEM */
#define DM_REGRID_MAX 3
/* up to 3 drawings of p's symbol on a regular grid (as it is, straightened, and with a local threshold): how many, or DS_ENOMEM */
int dm_regrid(const plane *p, plane out[DM_REGRID_MAX]);
/* zxing-cpp over a plane (formats, flags: zxing.h); reads pass through t */
int zx_plane(const plane *p, const xform *t, int formats, int flags, raw_list *out);

/* The scanner and one decode's state (pipeline.c, judge.c). */
struct ds_scanner {
	ds_scan_opts opts;
	int only_full;   /* decode only the full-resolution level (the reload of scan_file) */
	zbar_ctx *zb;
	raw_list raw;
	ds_code code;
	ds_trace_opts topts;
};

#define RUN_PASSES 64  /* pass names kept per decode */
#define RUN_SYMBOLS 64 /* distinct symbols judged per decode */

/* an accepted read: its corners, and its bounding box grown by one tile */
typedef struct read_box {
	double pos[4][2];
	double x0, y0, x1, y1;
	int two_d;
} read_box;

typedef struct run {
	ds_scanner *s;
	double t_last;
	int evidence;      /* the largest group of bar-like tiles at the smallest level */
	const char *pass_names[RUN_PASSES]; /* pass name of each raw entry range */
	size_t pass_end[RUN_PASSES];
	int npasses;
	int have_trace;
	int accepted;      /* symbols accepted so far (section 5), trace codes or not */
	int zxing_done;    /* the top level was read by zxing-cpp already */
	int hold;          /* the search goes on to the end of this level, whatever was read */
	const plane *full; /* the loaded image (level 0) and its scale, for DataMatrix crops */
	double full_scale;
	double level_scale; /* the scale of the level that runs */
	/* what the image shows (judge.c, explained()): the top level's groups of
	 * bars and its scale (NULL before the top level), and the 2D candidate
	 * regions of the first level, in its pixels, and its scale */
	const bars *top_bars;
	double top_scale;
	int top_min_group; /* groups of fewer tiles are not looked for at the top level */
	dm_region regions[DM_MAX_REGIONS];
	int nregions, regions_more;
	double regions_scale;
	int dm_done;       /* the DataMatrix pass has read (the best of) them */
	int qr_top;        /* zxing-cpp read the whole top level for QR codes */
	int explained;     /* all of that is covered by accepted symbols */
	read_box boxes[RUN_SYMBOLS]; /* the accepted reads (judge_update()) */
	int nboxes;
} run;

/* judge.c: agreement, misread filters, the evidence explained */
void judge_update(run *r);   /* have_trace, accepted, explained after a pass */
/* Are the groups of bars of b (a level of that scale) of at least min_group
 * tiles read: 3 in 4 of their tiles covered by accepted reads? */
int judge_bars_read(const run *r, const bars *b, double scale, int min_group);
int judge_finish(run *r, ds_scan_result *out);

/* second.c: zxing-cpp re-reads ZBar's Code 128 reads on the full plane and
 * mends ZBar's FNC4 misreads in raw (at most MAX_FIX distinct reads) */
int so_code128(const plane *full, double full_scale, raw_list *raw);

#endif
