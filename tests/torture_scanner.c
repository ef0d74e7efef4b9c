/*
 * torture_scanner.c - image loaders and the decode pipeline.
 *
 * Images are made here with the real encoders (libpng, libjpeg, libwebp) so
 * each loader path is exercised on known pixels: valid, truncated, corrupt,
 * oversized and EXIF-rotated. The pipeline runs on fixtures/scan, one photo
 * per rotation and degradation class, and must read each exact payload; and
 * on fixtures/decode-samples (real photos and crops from zxing-cpp's test
 * set), where it must read every payload but the few listed as known misses,
 * and never anything else.
 */
#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jpeglib.h>
#include <png.h>
#include <webp/encode.h>

#include "scanner.h"

static const char *fixtures = "fixtures";

/* A test pattern: left half dark, right half light, one bright pixel at (1, 0). */
static uint8_t *pattern(int w, int h)
{
	uint8_t *p = malloc((size_t)w * (size_t)h);
	int x, y;

	for (y = 0; y < h; y++)
		for (x = 0; x < w; x++)
			p[y * w + x] = x < w / 2 ? 20 : 230;
	p[1] = 255;
	return p;
}

static void *png_bytes(const uint8_t *gray, int w, int h, int format, size_t *len)
{
	png_image img;
	uint8_t *px = malloc((size_t)w * (size_t)h * 4);
	void *out;
	int i, ch = PNG_IMAGE_PIXEL_CHANNELS(format);

	memset(&img, 0, sizeof(img));
	img.version = PNG_IMAGE_VERSION;
	img.width = (png_uint_32)w;
	img.height = (png_uint_32)h;
	img.format = (png_uint_32)format;
	for (i = 0; i < w * h; i++) {
		int c;
		for (c = 0; c < ch; c++)
			px[i * ch + c] = gray[i];
		if (format & PNG_FORMAT_FLAG_ALPHA)
			px[i * ch + ch - 1] = 255;
	}
	*len = 0;
	png_image_write_to_memory(&img, NULL, len, 0, px, 0, NULL);
	out = malloc(*len);
	assert_true(png_image_write_to_memory(&img, out, len, 0, px, 0, NULL));
	free(px);
	return out;
}

/* A greyscale JPEG; with orientation != 0 an EXIF APP1 carrying it. */
static int restart_rows; /* jpeg_bytes: a restart marker every N MCU rows, 0 for none */

static unsigned char *jpeg_bytes(const uint8_t *gray, int w, int h, int orientation, unsigned long *len)
{
	struct jpeg_compress_struct c;
	struct jpeg_error_mgr e;
	unsigned char *out = NULL;
	int y;

	c.err = jpeg_std_error(&e);
	jpeg_create_compress(&c);
	jpeg_mem_dest(&c, &out, len);
	c.image_width = (JDIMENSION)w;
	c.image_height = (JDIMENSION)h;
	c.input_components = 1;
	c.in_color_space = JCS_GRAYSCALE;
	jpeg_set_defaults(&c);
	jpeg_set_quality(&c, 95, TRUE);
	c.restart_in_rows = restart_rows;
	jpeg_start_compress(&c, TRUE);
	if (orientation) {
		/* "Exif\0\0" + little-endian TIFF header + IFD0 with one entry: Orientation (0x0112) */
		unsigned char app1[] = {'E', 'x', 'i', 'f', 0, 0, 'I', 'I', 42, 0, 8, 0, 0, 0, 1, 0,
		                        0x12, 0x01, 3, 0, 1, 0, 0, 0, (unsigned char)orientation, 0, 0, 0, 0, 0, 0, 0};
		jpeg_write_marker(&c, JPEG_APP0 + 1, app1, sizeof(app1));
	}
	for (y = 0; y < h; y++) {
		JSAMPROW row = (JSAMPROW)(gray + (size_t)y * (size_t)w);
		jpeg_write_scanlines(&c, &row, 1);
	}
	jpeg_finish_compress(&c);
	jpeg_destroy_compress(&c);
	return out;
}

static void test_png_every_format(void **state)
{
	static const int formats[] = {PNG_FORMAT_GRAY, PNG_FORMAT_GA, PNG_FORMAT_RGB, PNG_FORMAT_RGBA,
	                              PNG_FORMAT_LINEAR_Y};
	uint8_t *g = pattern(64, 48);
	size_t i, len;
	ds_image img;
	ds_error err;

	(void)state;
	for (i = 0; i < sizeof(formats) / sizeof(formats[0]); i++) {
		void *png = png_bytes(g, 64, 48, formats[i], &len);
		assert_int_equal(ds_image_load_mem(&img, png, len, "t.png", NULL, &err), 0);
		assert_int_equal(img.width, 64);
		assert_int_equal(img.height, 48);
		assert_int_equal(img.scale, 1);
		if (formats[i] != PNG_FORMAT_LINEAR_Y) {
			assert_int_equal(img.gray[1], 255);
			assert_int_equal(img.gray[10 * 64 + 5], 20);
			assert_int_equal(img.gray[10 * 64 + 50], 230);
		}
		ds_image_free(&img);
		free(png);
	}
	free(g);
}

static void test_png_truncated_and_corrupt(void **state)
{
	uint8_t *g = pattern(64, 48);
	size_t len, cut;
	unsigned char *png = png_bytes(g, 64, 48, PNG_FORMAT_GRAY, &len);
	ds_image img;
	ds_error err;

	(void)state;
	for (cut = 8; cut < len - 12; cut += len / 7) { /* a missing IEND alone is harmless */
		int rc = ds_image_load_mem(&img, png, cut, "cut.png", NULL, &err);
		assert_int_equal(rc, DS_EINVAL);
		assert_non_null(strstr(err.message, "'cut.png': corrupt PNG"));
		assert_null(img.gray);
	}
	png[len / 2] ^= 0xFF; /* a bad CRC in the data */
	assert_int_equal(ds_image_load_mem(&img, png, len, "bad.png", NULL, &err), DS_EINVAL);
	free(png);
	free(g);
}

static void test_jpeg_dct_scaling(void **state)
{
	uint8_t *g = pattern(1600, 1200);
	unsigned long len = 0;
	unsigned char *jpg = jpeg_bytes(g, 1600, 1200, 0, &len);
	ds_load_opts lo = {0, 400};
	ds_image img;
	ds_error err;

	(void)state;
	assert_int_equal(ds_image_load_mem(&img, jpg, len, "big.jpg", &lo, &err), 0);
	assert_int_equal(img.scale, 4);
	assert_int_equal(img.width, 400);
	assert_int_equal(img.height, 300);
	assert_int_equal(img.orig_width, 1600);
	assert_true(abs(img.gray[150 * 400 + 50] - 20) < 6);
	ds_image_free(&img);
	lo.min_side = 0;
	assert_int_equal(ds_image_load_mem(&img, jpg, len, "big.jpg", &lo, &err), 0);
	assert_int_equal(img.scale, 1);
	assert_int_equal(img.width, 1600);
	ds_image_free(&img);
	free(jpg);
	free(g);
}

static void test_jpeg_exif_orientation(void **state)
{
	/* 40x20: a dark left half. Orientation 6 = rotate 90 clockwise to view. */
	uint8_t *g = pattern(40, 20);
	unsigned long len = 0;
	unsigned char *jpg;
	ds_image img;
	ds_error err;
	int o;

	(void)state;
	for (o = 1; o <= 8; o++) {
		jpg = jpeg_bytes(g, 40, 20, o, &len);
		assert_int_equal(ds_image_load_mem(&img, jpg, len, "exif.jpg", NULL, &err), 0);
		if (o >= 5) {
			assert_int_equal(img.width, 20);
			assert_int_equal(img.height, 40);
			assert_int_equal(img.orig_width, 20);
		} else {
			assert_int_equal(img.width, 40);
			assert_int_equal(img.height, 20);
		}
		if (o == 6) { /* the dark half is now on top */
			assert_true(img.gray[5 * 20 + 10] < 60);
			assert_true(img.gray[35 * 20 + 10] > 180);
		}
		if (o == 8) { /* ... and with 8 at the bottom */
			assert_true(img.gray[5 * 20 + 10] > 180);
			assert_true(img.gray[35 * 20 + 10] < 60);
		}
		if (o == 3) /* 180: dark half on the right */
			assert_true(img.gray[10 * 40 + 35] < 60);
		ds_image_free(&img);
		free(jpg);
	}
	free(g);
}

static void test_jpeg_truncated_and_corrupt(void **state)
{
	uint8_t *g = pattern(200, 100);
	unsigned long len = 0;
	unsigned char *jpg = jpeg_bytes(g, 200, 100, 0, &len);
	ds_image img;
	ds_error err;
	unsigned long cut;

	(void)state;
	for (cut = 3; cut < len; cut += len / 9) {
		int rc = ds_image_load_mem(&img, jpg, cut, "cut.jpg", NULL, &err);
		assert_int_equal(rc, DS_EINVAL);
		assert_true(strstr(err.message, "truncated JPEG") || strstr(err.message, "corrupt JPEG"));
		assert_null(img.gray);
	}
	memset(jpg + 20, 0x00, 40); /* wreck the tables */
	assert_true(ds_image_load_mem(&img, jpg, len, "bad.jpg", NULL, &err) < 0 || img.gray);
	ds_image_free(&img);
	free(jpg);
	free(g);
}

/* The same pixels as the intact JPEG, or an error naming the damage. */
static void load_like(const unsigned char *data, size_t len, const ds_image *want, int ok)
{
	ds_image img;
	ds_error err;
	int rc = ds_image_load_mem(&img, data, len, "x.jpg", NULL, &err);

	if (!ok) {
		assert_int_equal(rc, DS_EINVAL);
		assert_null(img.gray);
		assert_non_null(strstr(err.message, "'x.jpg': corrupt or truncated image: JPEG data damaged ("));
		assert_null(strchr(err.message, '\n'));
		return;
	}
	assert_int_equal(rc, DS_OK);
	assert_int_equal(img.width, want->width);
	assert_int_equal(img.height, want->height);
	assert_memory_equal(img.gray, want->gray, (size_t)want->width * (size_t)want->height);
	ds_image_free(&img);
}

/* A photo cut short and given its end marker back decodes to a grey lower
 * part with only a warning from libjpeg: that is damage, not a picture with
 * no code. Warnings that lose no pixels (extraneous bytes before a marker)
 * are let through, and so are restart markers in order. */
static void test_jpeg_cut_then_end_marker_is_damage(void **state)
{
	uint8_t *g = pattern(320, 240);
	unsigned long len = 0, rlen = 0, cut;
	unsigned char *jpg = jpeg_bytes(g, 320, 240, 0, &len), *buf = malloc(len + 8), *rst, *p;
	ds_image want;
	ds_error err;

	(void)state;
	assert_non_null(buf);
	assert_int_equal(ds_image_load_mem(&want, jpg, len, "x.jpg", NULL, &err), DS_OK);
	for (cut = len * 3 / 10; cut < len - 16; cut += len / 5) {
		memcpy(buf, jpg, cut);
		buf[cut] = 0xFF;
		buf[cut + 1] = 0xD9; /* EOI */
		load_like(buf, cut + 2, &want, 0);
	}
	/* 3 stray bytes before EOI: every pixel is there */
	memcpy(buf, jpg, len - 2);
	memcpy(buf + len - 2, "\0\0\0\xff\xd9", 5);
	load_like(buf, len + 3, &want, 1);

	restart_rows = 1;
	rst = jpeg_bytes(g, 320, 240, 0, &rlen);
	restart_rows = 0;
	load_like(rst, rlen, &want, 1);
	for (p = rst + rlen / 2; p < rst + rlen - 1 && !(p[0] == 0xFF && p[1] >= 0xD0 && p[1] <= 0xD7); p++)
		;
	assert_true(p < rst + rlen - 1);
	p[1] = (unsigned char)(0xD0 + (p[1] - 0xD0 + 3) % 8); /* a restart marker out of sequence */
	load_like(rst, rlen, &want, 0);

	ds_image_free(&want);
	free(rst);
	free(buf);
	free(jpg);
	free(g);
}

static void test_webp(void **state)
{
	uint8_t *g = pattern(64, 48), *rgb = malloc(64 * 48 * 3), *out = NULL;
	size_t len, i;
	ds_image img;
	ds_error err;

	(void)state;
	for (i = 0; i < 64 * 48; i++)
		rgb[3 * i] = rgb[3 * i + 1] = rgb[3 * i + 2] = g[i];
	len = WebPEncodeLosslessRGB(rgb, 64, 48, 64 * 3, &out);
	assert_true(len > 0);
	assert_int_equal(ds_image_load_mem(&img, out, len, "t.webp", NULL, &err), 0);
	assert_int_equal(img.width, 64);
	assert_true(abs(img.gray[10 * 64 + 5] - 20) < 8);
	assert_true(abs(img.gray[10 * 64 + 50] - 230) < 8);
	ds_image_free(&img);
	assert_int_equal(ds_image_load_mem(&img, out, len / 2, "cut.webp", NULL, &err), DS_EINVAL);
	WebPFree(out);
	free(rgb);
	free(g);
}

static void test_pnm_variants(void **state)
{
	static const char p2[] = "P2\n# comment\n3 2\n255\n0 128 255\n255 128 0\n";
	static const char p1[] = "P1 3 1 0 1 0";
	static const char p6[] = "P6 2 1 255\n\xff\x00\x00\x00\x00\xff";
	static const char p5w[] = "P5 2 1 65535\n\xff\xff\x00\x00";
	static const char p4[] = "P4 8 1\n\xaa";
	ds_image img;
	ds_error err;

	(void)state;
	assert_int_equal(ds_image_load_mem(&img, p2, sizeof(p2) - 1, "t.pgm", NULL, &err), 0);
	assert_int_equal(img.width, 3);
	assert_int_equal(img.gray[0], 0);
	assert_int_equal(img.gray[2], 255);
	assert_int_equal(img.gray[5], 0);
	ds_image_free(&img);
	assert_int_equal(ds_image_load_mem(&img, p1, sizeof(p1) - 1, "t.pbm", NULL, &err), 0);
	assert_int_equal(img.gray[0], 255);
	assert_int_equal(img.gray[1], 0);
	ds_image_free(&img);
	assert_int_equal(ds_image_load_mem(&img, p6, sizeof(p6) - 1, "t.ppm", NULL, &err), 0);
	assert_int_equal(img.gray[0], 76); /* pure red */
	assert_int_equal(img.gray[1], 28); /* pure blue */
	ds_image_free(&img);
	assert_int_equal(ds_image_load_mem(&img, p5w, sizeof(p5w) - 1, "t.pgm", NULL, &err), 0);
	assert_int_equal(img.gray[0], 255);
	ds_image_free(&img);
	assert_int_equal(ds_image_load_mem(&img, p4, sizeof(p4) - 1, "t.pbm", NULL, &err), 0);
	assert_int_equal(img.width, 8);
	assert_int_equal(img.gray[0], 0);
	assert_int_equal(img.gray[1], 255);
	ds_image_free(&img);
	assert_int_equal(ds_image_load_mem(&img, "P5 3 2 255\n\x01\x02", 13, "short.pgm", NULL, &err), DS_EINVAL);
	assert_non_null(strstr(err.message, "truncated PNM"));
	assert_int_equal(ds_image_load_mem(&img, "P5 x", 4, "hdr.pgm", NULL, &err), DS_EINVAL);
}

static void test_pixel_limit(void **state)
{
	static const char bomb[] = "P5 20000 20000 255\n";
	uint8_t *g = pattern(64, 48);
	size_t len;
	void *png = png_bytes(g, 64, 48, PNG_FORMAT_GRAY, &len);
	ds_load_opts lo = {1000, 0};
	ds_image img;
	ds_error err;

	(void)state;
	assert_int_equal(ds_image_load_mem(&img, bomb, sizeof(bomb) - 1, "bomb.pgm", NULL, &err), DS_ELIMIT);
	assert_string_equal(err.message, "'bomb.pgm': image is 20000x20000 (400 MP), over the 100 MP limit");
	assert_int_equal(ds_image_load_mem(&img, png, len, "small.png", &lo, &err), DS_ELIMIT);
	lo.max_pixels = 64 * 48;
	assert_int_equal(ds_image_load_mem(&img, png, len, "small.png", &lo, &err), 0);
	ds_image_free(&img);
	free(png);
	free(g);
}

static void test_unknown_format_and_missing_file(void **state)
{
	ds_image img;
	ds_error err;

	(void)state;
	assert_int_equal(ds_image_load_mem(&img, "GIF89a....", 10, "x.gif", NULL, &err), DS_EINVAL);
	assert_string_equal(err.message, "'x.gif': not a PNG, JPEG, WebP or PNM image");
	assert_int_equal(ds_image_load(&img, "/no-such-folder/box.jpg", NULL, &err), DS_EIO);
	assert_string_equal(err.message, "cannot open '/no-such-folder/box.jpg': No such file or directory");
	assert_int_equal(ds_image_load(&img, "/", NULL, &err), DS_EIO);
	ds_image_free(NULL);
}

/* ---- the pipeline on the committed photos ---- */

static int read_expect(const char *jpg, char lines[4][128])
{
	char path[1024], buf[512];
	size_t n, i, k = 0, start = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%.*s.expect", (int)(strlen(jpg) - 4), jpg);
	f = fopen(path, "rb");
	assert_non_null(f);
	n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	for (i = 0; i < n && k < 4; i++) {
		if (buf[i] == '\n') {
			snprintf(lines[k++], 128, "%.*s", (int)(i - start), buf + start);
			start = i + 1;
		}
	}
	return (int)k;
}

static void test_pipeline_fixtures(void **state)
{
	char dir[1024];
	DIR *d;
	struct dirent *e;
	ds_scan_opts so = {DS_EFFORT_NORMAL, 0, 0, 0};
	ds_scanner *s = ds_scanner_new(&so);
	int images = 0;

	(void)state;
	snprintf(dir, sizeof(dir), "%s/scan", fixtures);
	d = opendir(dir);
	assert_non_null(d);
	assert_non_null(s);
	while ((e = readdir(d))) {
		char path[2048], expect[4][128];
		ds_scan_result res;
		ds_error err;
		size_t n = strlen(e->d_name), i;
		int nexp, found = 0;
		if (n < 5 || strcmp(e->d_name + n - 4, ".jpg"))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		nexp = read_expect(path, expect);
		assert_int_equal(ds_scanner_scan_file(s, path, &res, &err), 0);
		if (nexp == 0) {
			if (res.count)
				print_message("false positive in %s: %s\n", e->d_name, res.symbols[0].data);
			assert_int_equal(res.count, 0);
		}
		for (i = 0; i < res.count; i++) {
			int k, known = 0;
			for (k = 0; k < nexp; k++)
				known |= res.symbols[i].len == strlen(expect[k]) && !memcmp(res.symbols[i].data, expect[k], res.symbols[i].len);
			if (!known)
				print_message("wrong read in %s: %s\n", e->d_name, res.symbols[i].data);
			assert_true(known);
			found |= !strcmp((const char *)res.symbols[i].data, expect[0]);
			assert_non_null(res.symbols[i].pass);
			assert_true(res.symbols[i].aim[0] == ']');
		}
		if (nexp && !found)
			print_message("missed %s\n", e->d_name);
		assert_true(nexp == 0 || found);
		assert_true(nexp == 0 || res.has_trace);
		ds_scan_result_free(&res);
		images++;
	}
	closedir(d);
	assert_true(images >= 14);
	ds_scanner_free(s);
}

/* ---- real photos and crops: fixtures/decode-samples ---- */

/* What the decoder does not read yet, and why; a miss not listed here fails,
 * and so does a listed one that starts to read (update the list). */
static const char *const known_misses[] = {
	"ean13-1/#526.png",           /* neither ZBar nor zxing-cpp 1.4 reads it */
	"ean13-2/28.png",
	"qrcode-2/33.png",
	"qrcode-2/qr-model-1.png",    /* QR model 1: ZBar reads model 2 only */
};

static int known_miss(const char *rel)
{
	size_t i;

	for (i = 0; i < sizeof(known_misses) / sizeof(known_misses[0]); i++)
		if (!strcmp(rel, known_misses[i]))
			return 1;
	return 0;
}

/* The expected payload of an image: NAME.txt (text) or NAME.bin (bytes); 0 when none. */
static size_t sample_payload(const char *img, char *buf, size_t cap)
{
	static const char *const exts[] = {".txt", ".bin"};
	char path[2048];
	size_t i, n = 0, base = strlen(img) - 4;

	for (i = 0; i < 2 && n == 0; i++) {
		FILE *f;
		snprintf(path, sizeof(path), "%.*s%s", (int)base, img, exts[i]);
		if ((f = fopen(path, "rb"))) {
			n = fread(buf, 1, cap, f);
			fclose(f);
		}
	}
	return n;
}

/* Decode one sample; 1 (after saying why) when it is not what the lists say. */
static int check_sample(ds_scanner *s, const char *dir, const char *folder, const char *name, int *read)
{
	char path[2048], rel[512], want[4096];
	size_t wlen, i;
	ds_scan_result res;
	ds_error err;
	int found = 0, bad = 0;

	snprintf(path, sizeof(path), "%s/%s/%s", dir, folder, name);
	snprintf(rel, sizeof(rel), "%s/%s", folder, name);
	wlen = strncmp(folder, "falsepositives", 14) ? sample_payload(path, want, sizeof(want)) : 0;
	assert_int_equal(ds_scanner_scan_file(s, path, &res, &err), 0);
	for (i = 0; i < res.count; i++) {
		int same = res.symbols[i].len == wlen && !memcmp(res.symbols[i].data, want, wlen);
		if (!same || res.symbols[i].len == 0) {
			print_message("wrong read in %s: '%s'\n", rel, res.symbols[i].data);
			bad = 1;
		}
		found |= same;
	}
	if (wlen && found == known_miss(rel)) {
		print_message("%s %s, but the known-miss list says otherwise\n", rel, found ? "read" : "missed");
		bad = 1;
	}
	*read += found;
	ds_scan_result_free(&res);
	return bad;
}

static void test_decode_samples(void **state)
{
	char dir[1024];
	DIR *d;
	struct dirent *e;
	ds_scan_opts so = {DS_EFFORT_NORMAL, 0, 0, 0};
	ds_scanner *s = ds_scanner_new(&so);
	int images = 0, read = 0, bad = 0;

	(void)state;
	assert_non_null(s);
	snprintf(dir, sizeof(dir), "%s/decode-samples", fixtures);
	d = opendir(dir);
	assert_non_null(d);
	while ((e = readdir(d))) {
		char sub[2048];
		DIR *fd;
		struct dirent *f;
		if (e->d_name[0] == '.')
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", dir, e->d_name);
		if (!(fd = opendir(sub)))
			continue;
		while ((f = readdir(fd))) {
			size_t n = strlen(f->d_name);
			if (n < 5 || (strcmp(f->d_name + n - 4, ".png") && strcmp(f->d_name + n - 4, ".jpg")))
				continue;
			bad += check_sample(s, dir, e->d_name, f->d_name, &read);
			images++;
		}
		closedir(fd);
	}
	closedir(d);
	print_message("decode-samples: %d of %d images read\n", read, images);
	assert_int_equal(bad, 0);
	assert_true(images >= 70);
	ds_scanner_free(s);
}

/* ISO/IEC 15434 envelopes (Macro 05/06): the data inside, never an empty payload. */
static void test_iso15434_envelope(void **state)
{
	static const struct {
		const char *name, *symbology, *aim;
	} cases[] = {
		{"macro05.png", "gs1-datamatrix", "]d2"},
		{"macro05-photo.jpg", "gs1-datamatrix", "]d2"},
		{"macro06.png", "datamatrix", "]d1"},
		{"macro05-empty.png", NULL, NULL},
	};
	ds_scan_opts so = {DS_EFFORT_NORMAL, 0, 0, 0};
	ds_scanner *s = ds_scanner_new(&so);
	size_t i;

	(void)state;
	assert_non_null(s);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char path[1024], expect[4][128];
		ds_scan_result res;
		ds_error err;
		snprintf(path, sizeof(path), "%s/envelope/%s", fixtures, cases[i].name);
		assert_int_equal(ds_scanner_scan_file(s, path, &res, &err), 0);
		if (!cases[i].symbology) {
			assert_int_equal(read_expect(path, expect), 0);
			assert_int_equal(res.count, 0);
			assert_false(res.has_trace);
		} else {
			assert_int_equal(read_expect(path, expect), 1);
			assert_int_equal(res.count, 1);
			assert_string_equal((const char *)res.symbols[0].data, expect[0]);
			assert_string_equal(res.symbols[0].symbology, cases[i].symbology);
			assert_string_equal(res.symbols[0].aim, cases[i].aim);
		}
		ds_scan_result_free(&res);
	}
	ds_scanner_free(s);
}

/* QR text that names no character set: one rule for ZBar and zxing-cpp
 * (scanner/charset.c, fixtures/charset/README.md) */
static void test_qr_charsets(void **state)
{
	static const char *const names[] = {"gbk.png", "sjis-kana.png", "sjis-kanji.png", "utf8.png", "latin1.png",
	                                    "eci-sjis.png"};
	ds_scan_opts so = {DS_EFFORT_NORMAL, 0, 0, 0};
	ds_scanner *s = ds_scanner_new(&so);
	size_t i;

	(void)state;
	assert_non_null(s);
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		char path[1024], expect[4][128];
		ds_scan_result res;
		ds_error err;
		snprintf(path, sizeof(path), "%s/charset/%s", fixtures, names[i]);
		assert_int_equal(ds_scanner_scan_file(s, path, &res, &err), 0);
		assert_int_equal(read_expect(path, expect), 1);
		assert_int_equal(res.count, 1);
		assert_string_equal((const char *)res.symbols[0].data, expect[0]);
		assert_string_equal(res.symbols[0].symbology, "qr");
		ds_scan_result_free(&res);
	}
	ds_scanner_free(s);
}

/* ZBar's assertion messages never reach stderr; everything else does. */
static void test_zbar_assertions_silenced(void **state)
{
	char path[] = "/tmp/torture-scanner-stderr-XXXXXX", buf[512];
	ds_scanner *s = ds_scanner_new(NULL);
	int fd = mkstemp(path), saved = dup(STDERR_FILENO);
	ssize_t n;

	(void)state;
	assert_non_null(s);
	assert_true(fd >= 0 && saved >= 0);
	fflush(stderr);
	assert_true(dup2(fd, STDERR_FILENO) >= 0);
	/* the message exactly as libzbar's zassert() prints it */
	fprintf(stderr, "WARNING: %s:%d: %s: Assertion \"%s\" failed.\n\t" "n=%d sum=%d/%d sig=%04x/%04x g=%d\n",
	        "databar.c", 591, "decode_char", "i < sizeof(groups) / sizeof(*groups)", 8, 17, 17, 0x1234, 0x5678, 5);
	fprintf(stderr, "WARNING: %s\n", "a warning that is not an assertion");
	fputs("drugscan: an ordinary diagnostic\n", stderr);
	fflush(stderr);
	assert_true(dup2(saved, STDERR_FILENO) >= 0);
	close(saved);
	n = pread(fd, buf, sizeof(buf) - 1, 0);
	close(fd);
	unlink(path);
	assert_true(n >= 0);
	buf[n] = '\0';
	assert_string_equal(buf, "WARNING: a warning that is not an assertion\ndrugscan: an ordinary diagnostic\n");
	ds_scanner_free(s);
}

static void test_decode_positions_and_effort(void **state)
{
	char path[1024];
	ds_scan_opts so = {DS_EFFORT_FAST, 0, 0, 0};
	ds_scanner *s;
	ds_scan_result res;
	ds_error err;
	size_t i;
	ds_effort e;

	(void)state;
	assert_int_equal(ds_effort_parse(&e, "thorough"), 0);
	assert_int_equal(e, DS_EFFORT_THOROUGH);
	assert_int_equal(ds_effort_parse(&e, "max"), DS_EINVAL);
	snprintf(path, sizeof(path), "%s/frames/box-code128.pgm", fixtures);
	s = ds_scanner_new(&so);
	assert_int_equal(ds_scanner_scan_file(s, path, &res, &err), 0);
	assert_int_equal(res.count, 1);
	assert_string_equal((const char *)res.symbols[0].data, "81000464033958964338");
	assert_string_equal(res.symbols[0].symbology, "code128");
	assert_string_equal(res.symbols[0].aim, "]C0");
	assert_true(res.symbols[0].quality >= 2); /* agreement of several scan lines */
	for (i = 0; i < 4; i++) { /* inside the 360x180 frame */
		assert_true(res.symbols[0].pos[i][0] >= 0 && res.symbols[0].pos[i][0] <= 360);
		assert_true(res.symbols[0].pos[i][1] >= 0 && res.symbols[0].pos[i][1] <= 180);
	}
	ds_scan_result_free(&res);
	ds_scan_result_free(&res); /* NULL-safe, idempotent */
	ds_scanner_free(s);
	ds_scanner_free(NULL);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_png_every_format),
		cmocka_unit_test(test_png_truncated_and_corrupt),
		cmocka_unit_test(test_jpeg_dct_scaling),
		cmocka_unit_test(test_jpeg_exif_orientation),
		cmocka_unit_test(test_jpeg_truncated_and_corrupt),
		cmocka_unit_test(test_jpeg_cut_then_end_marker_is_damage),
		cmocka_unit_test(test_webp),
		cmocka_unit_test(test_pnm_variants),
		cmocka_unit_test(test_pixel_limit),
		cmocka_unit_test(test_unknown_format_and_missing_file),
		cmocka_unit_test(test_pipeline_fixtures),
		cmocka_unit_test(test_decode_samples),
		cmocka_unit_test(test_iso15434_envelope),
		cmocka_unit_test(test_qr_charsets),
		cmocka_unit_test(test_zbar_assertions_silenced),
		cmocka_unit_test(test_decode_positions_and_effort),
	};
	if (argc > 1)
		fixtures = argv[1];
	return cmocka_run_group_tests(tests, NULL, NULL);
}
