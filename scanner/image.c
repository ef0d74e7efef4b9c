/*
 * image.c - load PNG (libpng), WebP (libwebp) and PNM as 8-bit greyscale;
 * JPEG is in jpeg.c. Files are read whole, then dispatched on their magic
 * bytes, never on their names.
 */
#include <errno.h>
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <webp/decode.h>
#include <zlib.h>

#include "internal.h"

#define MAX_FILE_BYTES (512u * 1024 * 1024)

void ds_image_free(ds_image *img)
{
	if (!img)
		return;
	free(img->gray);
	memset(img, 0, sizeof(*img));
}

int img_alloc(ds_image *out, int w, int h, ds_error *err)
{
	memset(out, 0, sizeof(*out));
	out->gray = malloc((size_t)w * (size_t)h);
	if (!out->gray)
		return ds_error_set(err, DS_ENOMEM, "out of memory for a %dx%d image", w, h);
	out->width = out->orig_width = w;
	out->height = out->orig_height = h;
	out->scale = 1;
	return DS_OK;
}

int img_check_limit(const char *name, uint64_t w, uint64_t h, const ds_load_opts *opts, ds_error *err)
{
	uint64_t limit = opts && opts->max_pixels ? opts->max_pixels : DS_DEFAULT_MAX_PIXELS;

	if (w == 0 || h == 0)
		return ds_error_set(err, DS_EINVAL, "'%s': image has no pixels", name);
	if (w > 100000 || h > 100000 || w * h > limit) {
		if (limit < 1000000)
			return ds_error_set(err, DS_ELIMIT, "'%s': image is %llux%llu (%llu pixels), over the %llu-pixel limit",
			                    name, (unsigned long long)w, (unsigned long long)h, (unsigned long long)(w * h),
			                    (unsigned long long)limit);
		return ds_error_set(err, DS_ELIMIT, "'%s': image is %llux%llu (%.0f MP), over the %.0f MP limit", name,
		                    (unsigned long long)w, (unsigned long long)h, (double)(w * h) / 1e6,
		                    (double)limit / 1e6);
	}
	return DS_OK;
}

int ds_image_from_gray(ds_image *out, const uint8_t *gray, int width, int height, ds_error *err)
{
	if (width <= 0 || height <= 0)
		return ds_error_set(err, DS_EINVAL, "bad image size %dx%d", width, height);
	if (img_alloc(out, width, height, err) < 0)
		return DS_ENOMEM;
	memcpy(out->gray, gray, (size_t)width * (size_t)height);
	return DS_OK;
}

/* ---- PNG through libpng's simplified API (handles every bit depth and colour type) ---- */

/* libpng's simplified API tolerates bad CRCs; a corrupt file must be an error. */
static int png_chunks_ok(const uint8_t *d, size_t len, char type[5])
{
	size_t off = 8;
	int k;

	while (off + 12 <= len) {
		uint32_t n = (uint32_t)d[off] << 24 | (uint32_t)d[off + 1] << 16 | (uint32_t)d[off + 2] << 8 | d[off + 3];
		uint32_t crc;
		if (n > len - off - 12)
			return 1; /* truncated: libpng reports it */
		crc = (uint32_t)d[off + 8 + n] << 24 | (uint32_t)d[off + 9 + n] << 16 | (uint32_t)d[off + 10 + n] << 8 |
		      d[off + 11 + n];
		memcpy(type, d + off + 4, 4);
		type[4] = '\0';
		for (k = 0; k < 4; k++) /* a corrupt chunk name must not break the one-line message */
			if (!((type[k] >= 'A' && type[k] <= 'Z') || (type[k] >= 'a' && type[k] <= 'z')))
				type[k] = '?';
		if (crc32(crc32(0L, Z_NULL, 0), d + off + 4, n + 4) != crc)
			return 0;
		if (!memcmp(type, "IEND", 4))
			return 1;
		off += 12 + n;
	}
	return 1;
}

static int load_png(ds_image *out, const uint8_t *data, size_t len, const char *name,
                    const ds_load_opts *opts, ds_error *err)
{
	png_image png;
	char chunk[5];
	png_color white = {255, 255, 255};
	int rc;

	if (!png_chunks_ok(data, len, chunk))
		return ds_error_set(err, DS_EINVAL, "'%s': corrupt PNG: bad CRC in the %s chunk", name, chunk);
	memset(&png, 0, sizeof(png));
	png.version = PNG_IMAGE_VERSION;
	if (!png_image_begin_read_from_memory(&png, data, len))
		return ds_error_set(err, DS_EINVAL, "'%s': corrupt PNG: %s", name, png.message);
	rc = img_check_limit(name, png.width, png.height, opts, err);
	if (rc < 0) {
		png_image_free(&png);
		return rc;
	}
	png.format = PNG_FORMAT_GRAY; /* alpha is composited onto white */
	if (img_alloc(out, (int)png.width, (int)png.height, err) < 0) {
		png_image_free(&png);
		return DS_ENOMEM;
	}
	if (!png_image_finish_read(&png, &white, out->gray, (png_int_32)png.width, NULL)) {
		ds_error_set(err, DS_EINVAL, "'%s': corrupt PNG: %s", name, png.message);
		png_image_free(&png);
		ds_image_free(out);
		return DS_EINVAL;
	}
	png_image_free(&png);
	return DS_OK;
}

/* ---- WebP: the Y plane of a YUV decode is the greyscale image ---- */

static int load_webp(ds_image *out, const uint8_t *data, size_t len, const char *name,
                     const ds_load_opts *opts, ds_error *err)
{
	int w = 0, h = 0, ystride = 0, uvstride = 0, y, rc;
	uint8_t *u = NULL, *v = NULL, *ybuf;

	if (!WebPGetInfo(data, len, &w, &h))
		return ds_error_set(err, DS_EINVAL, "'%s': corrupt WebP", name);
	rc = img_check_limit(name, (uint64_t)w, (uint64_t)h, opts, err);
	if (rc < 0)
		return rc;
	ybuf = WebPDecodeYUV(data, len, &w, &h, &u, &v, &ystride, &uvstride);
	if (!ybuf)
		return ds_error_set(err, DS_EINVAL, "'%s': corrupt WebP", name);
	if (img_alloc(out, w, h, err) < 0) {
		WebPFree(ybuf);
		return DS_ENOMEM;
	}
	/* the Y plane is limited-range BT.601 (16..235): stretch it back to 0..255 */
	for (y = 0; y < h; y++) {
		const uint8_t *src = ybuf + (size_t)y * (size_t)ystride;
		uint8_t *dst = out->gray + (size_t)y * (size_t)w;
		int x;
		for (x = 0; x < w; x++) {
			int g = (src[x] - 16) * 255 / 219;
			dst[x] = (uint8_t)(g < 0 ? 0 : g > 255 ? 255 : g);
		}
	}
	WebPFree(ybuf); /* u and v live in the same allocation */
	return DS_OK;
}

/* ---- PNM (P1-P6), parsed with a cursor ---- */

typedef struct cursor {
	const uint8_t *p, *end;
} cursor;

static void skip_space(cursor *c)
{
	while (c->p < c->end) {
		if (*c->p == '#') {
			while (c->p < c->end && *c->p != '\n')
				c->p++;
		} else if (*c->p == ' ' || *c->p == '\t' || *c->p == '\r' || *c->p == '\n') {
			c->p++;
		} else {
			break;
		}
	}
}

static int read_uint(cursor *c, unsigned long *out, unsigned long max)
{
	unsigned long v = 0;
	int digits = 0;

	skip_space(c);
	while (c->p < c->end && *c->p >= '0' && *c->p <= '9') {
		v = v * 10 + (unsigned long)(*c->p - '0');
		if (v > max)
			return -1;
		c->p++;
		digits++;
	}
	*out = v;
	return digits ? 0 : -1;
}

static int pnm_sample(cursor *c, int ascii, int wide, unsigned long maxval, uint8_t *out)
{
	unsigned long v;

	if (ascii) {
		if (read_uint(c, &v, 65535) < 0)
			return -1;
	} else if (wide) {
		if (c->end - c->p < 2)
			return -1;
		v = (unsigned long)c->p[0] << 8 | c->p[1];
		c->p += 2;
	} else {
		if (c->p >= c->end)
			return -1;
		v = *c->p++;
	}
	if (v > maxval)
		v = maxval;
	*out = (uint8_t)(v * 255 / maxval);
	return 0;
}

static int load_pnm(ds_image *out, const uint8_t *data, size_t len, const char *name,
                    const ds_load_opts *opts, ds_error *err)
{
	cursor c = {data + 2, data + len};
	int type = data[1] - '0', ascii = type <= 3, rc;
	unsigned long w, h, maxval = 1, x, y;
	size_t i;

	if (read_uint(&c, &w, 1000000) < 0 || read_uint(&c, &h, 1000000) < 0 ||
	    (type != 1 && type != 4 && (read_uint(&c, &maxval, 65535) < 0 || maxval == 0)))
		return ds_error_set(err, DS_EINVAL, "'%s': corrupt PNM header", name);
	rc = img_check_limit(name, w, h, opts, err);
	if (rc < 0)
		return rc;
	if (!ascii)
		c.p++; /* the single whitespace after the header */
	if (img_alloc(out, (int)w, (int)h, err) < 0)
		return DS_ENOMEM;
	for (y = 0, i = 0; y < h; y++) {
		for (x = 0; x < w; x++, i++) {
			uint8_t s[3];
			int k, ok = 0;
			if (type == 1 || type == 4) {
				unsigned long bit;
				if (type == 1) {
					skip_space(&c);
					ok = c.p < c.end && (*c.p == '0' || *c.p == '1') ? 0 : -1;
					bit = ok == 0 ? (unsigned long)(*c.p++ - '0') : 0;
				} else {
					size_t row = (w + 7) / 8, off = (size_t)y * row + x / 8;
					ok = c.p + off < c.end ? 0 : -1;
					bit = ok == 0 ? (c.p[off] >> (7 - x % 8)) & 1 : 0;
				}
				out->gray[i] = bit ? 0 : 255;
			} else if (type == 2 || type == 5) {
				ok = pnm_sample(&c, ascii, maxval > 255, maxval, &out->gray[i]);
			} else {
				for (k = 0; k < 3 && ok == 0; k++)
					ok = pnm_sample(&c, ascii, maxval > 255, maxval, &s[k]);
				out->gray[i] = (uint8_t)((77 * s[0] + 150 * s[1] + 29 * s[2]) >> 8);
			}
			if (ok < 0) {
				ds_image_free(out);
				return ds_error_set(err, DS_EINVAL, "'%s': truncated PNM data", name);
			}
		}
	}
	return DS_OK;
}

int ds_image_load_mem(ds_image *out, const void *data, size_t len, const char *name,
                      const ds_load_opts *opts, ds_error *err)
{
	const uint8_t *d = data;

	memset(out, 0, sizeof(*out));
	if (len >= 3 && d[0] == 0xFF && d[1] == 0xD8 && d[2] == 0xFF)
		return img_load_jpeg(out, d, len, name, opts, err);
	if (len >= 8 && !memcmp(d, "\x89PNG\r\n\x1a\n", 8))
		return load_png(out, d, len, name, opts, err);
	if (len >= 12 && !memcmp(d, "RIFF", 4) && !memcmp(d + 8, "WEBP", 4))
		return load_webp(out, d, len, name, opts, err);
	if (len >= 3 && d[0] == 'P' && d[1] >= '1' && d[1] <= '6')
		return load_pnm(out, d, len, name, opts, err);
	if (len == 0)
		return ds_error_set(err, DS_EINVAL, "'%s': empty file", name);
	return ds_error_set(err, DS_EINVAL, "'%s': not a PNG, JPEG, WebP or PNM image", name);
}

int ds_image_read_file(const char *path, uint8_t **data, size_t *len, ds_error *err)
{
	FILE *f;
	struct stat st;
	uint8_t *buf;
	size_t got;

	*data = NULL;
	*len = 0;
	f = fopen(path, "rb");
	if (!f)
		return ds_error_set(err, DS_EIO, "cannot open '%s': %s", path, strerror(errno));
	if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
		fclose(f);
		return ds_error_set(err, DS_EIO, "cannot read '%s': not a regular file", path);
	}
	if ((uint64_t)st.st_size > MAX_FILE_BYTES) {
		fclose(f);
		return ds_error_set(err, DS_ELIMIT, "'%s': file is larger than %u MB", path, MAX_FILE_BYTES >> 20);
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		fclose(f);
		return ds_error_set(err, DS_ENOMEM, "out of memory reading '%s'", path);
	}
	got = fread(buf, 1, (size_t)st.st_size, f);
	if (ferror(f)) {
		ds_error_set(err, DS_EIO, "cannot read '%s': %s", path, strerror(errno));
		fclose(f);
		free(buf);
		return DS_EIO;
	}
	fclose(f);
	*data = buf;
	*len = got;
	return DS_OK;
}

int ds_image_load(ds_image *out, const char *path, const ds_load_opts *opts, ds_error *err)
{
	uint8_t *buf;
	size_t got;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = ds_image_read_file(path, &buf, &got, err);
	if (rc < 0)
		return rc;
	rc = ds_image_load_mem(out, buf, got, path, opts, err);
	free(buf);
	return rc;
}

int ds_image_thumbnail(ds_image *out, const ds_image *img, int max_side, ds_error *err)
{
	int side = img->width > img->height ? img->width : img->height;
	int w, h, x, y, rc;
	uint32_t *acc;
	uint32_t *cnt;

	if (max_side < 1 || side <= max_side)
		return ds_image_from_gray(out, img->gray, img->width, img->height, err);
	w = (int)((int64_t)img->width * max_side / side);
	h = (int)((int64_t)img->height * max_side / side);
	if (w < 1)
		w = 1;
	if (h < 1)
		h = 1;
	rc = img_alloc(out, w, h, err);
	if (rc < 0)
		return rc;
	acc = calloc((size_t)w, sizeof(*acc));
	cnt = calloc((size_t)w, sizeof(*cnt));
	if (!acc || !cnt) {
		free(acc);
		free(cnt);
		ds_image_free(out);
		return ds_error_set(err, DS_ENOMEM, "out of memory for a thumbnail");
	}
	/* area average: every source pixel lands in exactly one output pixel */
	for (y = 0; y < h; y++) {
		int y0 = (int)((int64_t)y * img->height / h), y1 = (int)((int64_t)(y + 1) * img->height / h), sy;
		memset(acc, 0, (size_t)w * sizeof(*acc));
		memset(cnt, 0, (size_t)w * sizeof(*cnt));
		for (sy = y0; sy < y1; sy++) {
			const uint8_t *row = img->gray + (size_t)sy * (size_t)img->width;
			int sx;
			for (sx = 0; sx < img->width; sx++) {
				int ox = (int)((int64_t)sx * w / img->width);
				acc[ox] += row[sx];
				cnt[ox]++;
			}
		}
		for (x = 0; x < w; x++)
			out->gray[(size_t)y * (size_t)w + (size_t)x] = (uint8_t)(cnt[x] ? (acc[x] + cnt[x] / 2) / cnt[x] : 0);
	}
	free(acc);
	free(cnt);
	out->orig_width = img->orig_width;
	out->orig_height = img->orig_height;
	out->scale = (img->orig_width + w / 2) / w;
	return DS_OK;
}
