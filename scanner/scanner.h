/*
 * scanner.h - decode barcode symbols from images, camera frames and batches.
 *
 * Images (PNG, JPEG, WebP, PNM) are loaded as 8-bit greyscale. JPEGs are
 * decoded at a reduced size first through libjpeg-turbo's DCT scaling and
 * turned upright from their EXIF orientation. A pixel limit guards against
 * decompression bombs.
 *
 * The decode pipeline runs ZBar (Code128, QR, EAN/UPC, DataBar, ITF) and
 * zxing-cpp (DataMatrix) over a scale pyramid with rotated, smoothed,
 * contrast-normalised, binarised and inverted passes, stopping early (fast
 * and normal effort) once a trace code is found. One ds_scanner per thread.
 */
#ifndef DS_SCANNER_H
#define DS_SCANNER_H

#include <stddef.h>
#include <stdint.h>

#include "ds_common.h"
#include "trace.h"

#ifdef __cplusplus
extern "C" {
#endif

#define DS_DEFAULT_MAX_PIXELS 100000000ULL

/* An 8-bit greyscale image. */
typedef struct ds_image {
	int width, height;   /* of gray */
	uint8_t *gray;       /* owned, width * height bytes, from malloc() */
	int orig_width;      /* the full-resolution image, upright */
	int orig_height;
	int scale;           /* gray is the original reduced by this factor (1, 2, 4 or 8) */
} ds_image;

typedef struct ds_load_opts {
	uint64_t max_pixels; /* refuse images with more pixels; 0 = DS_DEFAULT_MAX_PIXELS */
	int min_side;        /* JPEG: decode at the smallest DCT scale whose longer side is >= this; 0 = full size */
} ds_load_opts;

/* Load an image file. Errors: DS_EIO (cannot read), DS_EINVAL (corrupt or
 * unsupported), DS_ELIMIT (over the pixel limit), DS_ENOMEM. */
int ds_image_load(ds_image *out, const char *path, const ds_load_opts *opts, ds_error *err);
/* The same from memory; name is used in messages only. */
int ds_image_load_mem(ds_image *out, const void *data, size_t len, const char *name,
                      const ds_load_opts *opts, ds_error *err);
/* Read a whole image file into a malloc()ed buffer (regular files up to 512 MB). */
int ds_image_read_file(const char *path, uint8_t **data, size_t *len, ds_error *err);
/* Shrink img by area averaging so its longer side is at most max_side (a copy
 * when it is already that small); orig_width/orig_height are kept. */
int ds_image_thumbnail(ds_image *out, const ds_image *img, int max_side, ds_error *err);
/* Encode a greyscale image as a baseline JPEG in a malloc()ed buffer. */
int ds_image_encode_jpeg(const ds_image *img, int quality, uint8_t **out, size_t *len, ds_error *err);
/* Wrap a copy of a greyscale buffer. */
int ds_image_from_gray(ds_image *out, const uint8_t *gray, int width, int height, ds_error *err);
void ds_image_free(ds_image *img); /* NULL-safe */

typedef enum ds_effort { DS_EFFORT_FAST = 0, DS_EFFORT_NORMAL, DS_EFFORT_THOROUGH } ds_effort;

int ds_effort_parse(ds_effort *out, const char *name);

/* One decoded symbol. */
typedef struct ds_symbol {
	uint8_t *data;          /* owned payload bytes, NUL-terminated; GS1 FNC1 = 0x1D, no leading FNC1 */
	size_t len;
	char symbology[24];     /* "code128", "gs1-128", "qr", "datamatrix", "gs1-datamatrix", "ean13", ... */
	char aim[4];            /* "]C0", "]C1", "]Q1", "]d2", "]E0", ... */
	double pos[4][2];       /* polygon in original-image coordinates */
	const char *pass;       /* static name of the pass that found it, e.g. "zbar/deskew" */
	int quality;            /* ZBar scan lines that agreed, or 1 for a 2D symbol */
} ds_symbol;

typedef struct ds_scan_result {
	ds_symbol *symbols;     /* owned array */
	size_t count;
	double elapsed_ms;
	int passes;             /* how many passes ran */
	int has_trace;          /* 1 when one of the symbols is a valid trace code */
	int evidence;           /* how bar-like the image looked (tiles of parallel bars) */
} ds_scan_result;

void ds_scan_result_free(ds_scan_result *res); /* NULL-safe; leaves it empty */

typedef struct ds_scan_opts {
	ds_effort effort;
	int dm_regions;         /* DataMatrix work budget: candidate regions read per pass; 0 = by effort (6, 16) */
	uint64_t max_pixels;    /* 0 = DS_DEFAULT_MAX_PIXELS */
	int trace_passes;       /* 1: print each pass and its time to stderr (DRUGSCAN_DEBUG=passes) */
} ds_scan_opts;

typedef struct ds_scanner ds_scanner;

/* A scanner context; not thread-safe: use one per thread. */
ds_scanner *ds_scanner_new(const ds_scan_opts *opts);
void ds_scanner_free(ds_scanner *s);

/* Decode an image already in memory. */
int ds_scanner_decode(ds_scanner *s, const ds_image *img, ds_scan_result *out, ds_error *err);

/* What a batch audit wants from the one look at an image besides its symbols. */
typedef struct ds_scan_extra {
	int thumb_side;         /* in: > 0 asks for a greyscale thumbnail with this longer side at most */
	ds_image thumb;         /* out: the thumbnail (free with ds_image_free); empty when not asked or unreadable */
	int width, height;      /* out: the upright full-resolution size; 0 when the image could not be read */
} ds_scan_extra;

/* Decode an encoded image file already read into memory, exactly as
 * ds_scanner_scan_file does; name is for messages. extra may be NULL. */
int ds_scanner_scan_data(ds_scanner *s, const void *data, size_t len, const char *name, ds_scan_extra *extra,
                         ds_scan_result *out, ds_error *err);

/* Load and decode a file, reloading a JPEG at full resolution when the
 * reduced one had no code and the effort allows it. */
int ds_scanner_scan_file(ds_scanner *s, const char *path, ds_scan_result *out, ds_error *err);

#ifdef __cplusplus
}
#endif

#endif
