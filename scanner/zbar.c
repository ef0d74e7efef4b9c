/*
 * zbar.c - one ZBar pass over a plane: Code128/GS1-128, EAN/UPC, DataBar,
 * ITF and QR. The AIM identifier is built from ZBar's symbol type and its
 * GS1 modifier. The scanner is recreated every RECYCLE_AFTER scans because
 * long QR runs make ZBar's internal buffers grow.
 */
#define _GNU_SOURCE /* fopencookie(): see quiet_assertions() */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zbar.h>

#include "internal.h"

#define RECYCLE_AFTER 256
/* Planes of more pixels are read along every other row and column: the
 * scan lines of ZBar are most of its cost, and a code in such a plane is
 * crossed by many of them (in the benchmark sets not one read was lost) */
#define DENSE_MAX 150000L

struct zbar_ctx {
	zbar_image_scanner_t *scanner;
	zbar_image_t *image;
	unsigned scans;
	int reset; /* a fresh scanner before the next scan */
};

/*
 * ZBar prints 'WARNING: <file>:<line>: <function>: Assertion "<condition>"
 * failed.' and a detail line on stderr whenever one of its internal checks
 * fails, which noisy photos trigger (a DataBar Expanded photo printed 37 such
 * lines), and nothing turns it off: zbar_set_verbosity() and ZBAR_DEBUG
 * govern only its debug messages; in Debian's libzbar0 0.23.92 the assertion
 * message is an unconditional fprintf(stderr, ...) (checked in its machine
 * code). ZBar reads the `stderr` variable at each message, and glibc lets a
 * program set that variable. So, once per process, the first ZBar context
 * makes `stderr` an unbuffered stream that writes everything on to file
 * descriptor 2 except ZBar's assertion messages. glibc hands a whole
 * fprintf() of an unbuffered stream to the stream in one write, so one
 * message is one chunk. Code that kept the old `stderr` (FILE *) keeps
 * writing to fd 2 directly. This and the once-flag are the scanner's only
 * process-wide state.
 */
static int zbar_assertion(const char *buf, size_t n)
{
	static const char head[] = "WARNING: ", mark[] = ": Assertion \"";
	size_t i;

	if (n < sizeof(head) - 1 || memcmp(buf, head, sizeof(head) - 1))
		return 0;
	for (i = sizeof(head) - 1; i + sizeof(mark) - 1 <= n && buf[i] != '\n'; i++)
		if (!memcmp(buf + i, mark, sizeof(mark) - 1))
			return 1;
	return 0;
}

static ssize_t quiet_write(void *cookie, const char *buf, size_t n)
{
	size_t done = 0;

	(void)cookie;
	if (zbar_assertion(buf, n))
		return (ssize_t)n;
	while (done < n) {
		ssize_t w = write(STDERR_FILENO, buf + done, n - done);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return done ? (ssize_t)done : -1;
		done += (size_t)w;
	}
	return (ssize_t)n;
}

static void quiet_assertions(void)
{
	cookie_io_functions_t io = {NULL, quiet_write, NULL, NULL};
	FILE *f = fopencookie(NULL, "w", io);

	if (!f)
		return; /* noisy is better than nothing */
	setvbuf(f, NULL, _IONBF, 0);
	fflush(stderr);
	stderr = f;
}

static pthread_once_t quiet_once = PTHREAD_ONCE_INIT;

static zbar_image_scanner_t *make_scanner(void)
{
	static const zbar_symbol_type_t on[] = {ZBAR_CODE128, ZBAR_EAN13, ZBAR_EAN8, ZBAR_UPCA, ZBAR_UPCE,
	                                        ZBAR_DATABAR, ZBAR_DATABAR_EXP, ZBAR_I25, ZBAR_QRCODE};
	zbar_image_scanner_t *s = zbar_image_scanner_create();
	size_t i;

	if (!s)
		return NULL;
	zbar_image_scanner_set_config(s, ZBAR_NONE, ZBAR_CFG_ENABLE, 0);
	for (i = 0; i < sizeof(on) / sizeof(on[0]); i++)
		zbar_image_scanner_set_config(s, on[i], ZBAR_CFG_ENABLE, 1);
	/* ITF misreads easily: only the 14-digit ITF-14 */
	zbar_image_scanner_set_config(s, ZBAR_I25, ZBAR_CFG_MIN_LEN, 14);
	zbar_image_scanner_set_config(s, ZBAR_I25, ZBAR_CFG_MAX_LEN, 14);
	zbar_image_scanner_set_config(s, ZBAR_NONE, ZBAR_CFG_POSITION, 1);
	/* QR text: converted only where the symbol names its character set (an
	 * ECI), otherwise the bytes, for charset.c (ZBar's own guess took
	 * half-width katakana for Big5 and UTF-8 for Shift_JIS) */
	zbar_image_scanner_set_config(s, ZBAR_QRCODE, ZBAR_CFG_BINARY, 1);
	return s;
}

zbar_ctx *zb_new(void)
{
	zbar_ctx *z = calloc(1, sizeof(*z));

	if (!z)
		return NULL;
	pthread_once(&quiet_once, quiet_assertions);
	z->scanner = make_scanner();
	z->image = zbar_image_create();
	if (!z->scanner || !z->image) {
		zb_free(z);
		return NULL;
	}
	zbar_image_set_format(z->image, zbar_fourcc('Y', '8', '0', '0'));
	return z;
}

void zb_free(zbar_ctx *z)
{
	if (!z)
		return;
	if (z->image)
		zbar_image_destroy(z->image);
	if (z->scanner)
		zbar_image_scanner_destroy(z->scanner);
	free(z);
}

/* Symbology name and AIM identifier (ISO/IEC 15424) for a ZBar symbol. */
static const char *describe(const zbar_symbol_t *sym, char aim[4])
{
	int gs1 = (zbar_symbol_get_modifiers(sym) >> ZBAR_MOD_GS1) & 1;

	switch (zbar_symbol_get_type(sym)) {
	case ZBAR_CODE128:
		memcpy(aim, gs1 ? "]C1" : "]C0", 4);
		return gs1 ? "gs1-128" : "code128";
	case ZBAR_EAN13: memcpy(aim, "]E0", 4); return "ean13";
	case ZBAR_EAN8: memcpy(aim, "]E4", 4); return "ean8";
	case ZBAR_UPCA: memcpy(aim, "]E0", 4); return "upca";
	case ZBAR_UPCE: memcpy(aim, "]E0", 4); return "upce";
	case ZBAR_DATABAR: memcpy(aim, "]e0", 4); return "databar";
	case ZBAR_DATABAR_EXP: memcpy(aim, "]e0", 4); return "databar-exp";
	case ZBAR_I25: memcpy(aim, "]I0", 4); return "itf";
	case ZBAR_QRCODE:
		memcpy(aim, gs1 ? "]Q3" : "]Q1", 4);
		return gs1 ? "gs1-qr" : "qr";
	default: memcpy(aim, "]X0", 4); return "other";
	}
}

static void bbox(const zbar_symbol_t *sym, const xform *t, double pos[4][2])
{
	unsigned n = zbar_symbol_get_loc_size(sym), i;
	double x0 = 1e18, y0 = 1e18, x1 = -1e18, y1 = -1e18;
	double corners[4][2];

	for (i = 0; i < n; i++) {
		double x = zbar_symbol_get_loc_x(sym, i), y = zbar_symbol_get_loc_y(sym, i);
		x0 = x < x0 ? x : x0;
		y0 = y < y0 ? y : y0;
		x1 = x > x1 ? x : x1;
		y1 = y > y1 ? y : y1;
	}
	if (n == 0)
		x0 = y0 = x1 = y1 = 0;
	corners[0][0] = x0; corners[0][1] = y0;
	corners[1][0] = x1; corners[1][1] = y0;
	corners[2][0] = x1; corners[2][1] = y1;
	corners[3][0] = x0; corners[3][1] = y1;
	for (i = 0; i < 4; i++)
		xform_apply(t, corners[i][0], corners[i][1], &pos[i][0], &pos[i][1]);
}

void zb_reset(zbar_ctx *z)
{
	if (z && z->scans)
		z->reset = 1;
}

int zb_scan(zbar_ctx *z, const plane *p, const xform *t, int rows_only, int every_line, raw_list *out)
{
	const zbar_symbol_t *sym;
	int n, density;

	if (++z->scans % RECYCLE_AFTER == 0 || z->reset) {
		zbar_image_scanner_t *fresh = make_scanner();
		z->reset = 0;
		if (fresh) {
			zbar_image_scanner_destroy(z->scanner);
			z->scanner = fresh;
		}
	}
	/* ZBAR_CFG_X_DENSITY is the spacing of the vertical scan lines (0: none),
	 * Y_DENSITY of the horizontal ones: every other line on a large plane */
	density = (long)p->w * p->h > DENSE_MAX && !every_line ? 2 : 1;
	zbar_image_scanner_set_config(z->scanner, ZBAR_NONE, ZBAR_CFG_X_DENSITY, rows_only ? 0 : density);
	zbar_image_scanner_set_config(z->scanner, ZBAR_NONE, ZBAR_CFG_Y_DENSITY, density);
	zbar_image_set_size(z->image, (unsigned)p->w, (unsigned)p->h);
	zbar_image_set_data(z->image, p->px, (unsigned long)p->w * (unsigned long)p->h, NULL);
	n = zbar_scan_image(z->scanner, z->image);
	if (n < 0)
		return DS_ERR;
	for (sym = zbar_image_first_symbol(z->image); sym; sym = zbar_symbol_next(sym)) {
		raw_symbol r;
		const char *data = zbar_symbol_get_data(sym);
		unsigned len = zbar_symbol_get_data_length(sym);

		memset(&r, 0, sizeof(r));
		r.symbology = describe(sym, r.aim);
		r.quality = zbar_symbol_get_quality(sym);
		r.two_d = zbar_symbol_get_type(sym) == ZBAR_QRCODE;
		r.qr_bytes = r.two_d;
		if (r.two_d && r.quality < 1)
			r.quality = 1;
		bbox(sym, t, r.pos);
		if (raw_push(out, &r, data, len) < 0)
			return DS_ENOMEM;
	}
	/* detach the borrowed pixels before the next scan */
	zbar_image_set_data(z->image, NULL, 0, NULL);
	return DS_OK;
}
