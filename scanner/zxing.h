/*
 * zxing.h - the C face of zxing.cpp, the one C++ file of the scanner: a
 * zxing-cpp (libzxing, Apache-2.0) read of one greyscale plane. Private to
 * scanner/, like internal.h; plain C types only, so both languages include it.
 */
#ifndef DS_SCANNER_ZXING_H
#define DS_SCANNER_ZXING_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The symbologies asked for (a bit set). */
enum {
	ZX_DATAMATRIX = 1,
	ZX_QR = 2,
	ZX_CODE128 = 4,
	ZX_EAN13 = 8,   /* EAN-13 (and UPC-A, read as EAN-13 with a leading 0) */
	ZX_DATABAR = 16 /* DataBar and DataBar Expanded */
};

/* How hard to look. */
enum {
	ZX_TRY_HARDER = 1,  /* zxing-cpp's tryHarder: more scan lines and detector passes */
	ZX_TRY_ROTATE = 2,  /* also the image turned by 90 degrees (linear codes) */
	ZX_DOWNSCALE = 4,   /* also downscaled copies of a large plane */
	ZX_PURE = 8         /* the plane is nothing but one upright symbol and its quiet zone */
};

/* One symbol as zxing-cpp returned it; every pointer is valid during the callback only. */
typedef struct zx_read {
	const uint8_t *data;  /* the payload: see zxing.cpp for the character set rules */
	size_t len;
	const uint8_t *raw;   /* the bytes as the symbol carries them (zxing-cpp's bytes()) */
	size_t raw_len;
	int format;           /* one ZX_ symbology flag */
	const char *symbology; /* static: drugscan's name, "datamatrix", "gs1-datamatrix", "ean13", "upca", ... */
	char aim[4];          /* zxing-cpp's symbology identifier, "]d1", "]d2", "]Q1", "]C0", ... */
	int lines;            /* linear codes: the scan lines that agreed; 1 for 2D */
	int eci;              /* the symbol names its character set (an ECI): data is converted by it */
	double pos[4][2];     /* corners in plane pixels: top left, top right, bottom right, bottom left */
} zx_read;

/* Called once per symbol; a negative return stops the read and is returned. */
typedef int (*zx_sink)(void *ctx, const zx_read *r);

/* Read the w x h plane px (stride bytes a row). Returns the number of symbols
 * handed to sink, or a negative DS_E* value (-2 out of memory, -1 another
 * failure inside zxing-cpp). Nothing but sink is called back; no global state. */
int zx_scan(const uint8_t *px, int w, int h, int stride, int formats, int flags, zx_sink sink, void *ctx);

#ifdef __cplusplus
}
#endif

#endif
