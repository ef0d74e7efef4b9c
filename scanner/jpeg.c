/*
 * jpeg.c - JPEG through libjpeg-turbo: DCT scaling decodes a 12 MP photo at
 * 1/2, 1/4 or 1/8 size for a fraction of the cost, and the EXIF orientation
 * (read with libexif) turns it upright.
 */
#include <libexif/exif-data.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>
#define JPEG_INTERNALS /* for the JWRN_ message codes */
#include <jerror.h>

#include "internal.h"

typedef struct jerr {
	struct jpeg_error_mgr mgr;
	jmp_buf jump;
	int truncated;            /* the file ends before the picture does */
	char damage[JMSG_LENGTH_MAX]; /* the first warning that lost pixels, or "" */
} jerr;

static void on_error(j_common_ptr cinfo)
{
	jerr *e = (jerr *)(void *)cinfo->err;
	longjmp(e->jump, 1);
}

/*
 * libjpeg goes on after damage and fills what it could not decode with grey:
 * a photo cut short and given an end marker again would be "no code found".
 * The warnings that mean pixels were lost make the load fail. The others
 * leave every pixel decoded and are let through: extraneous bytes before a
 * marker (common from phone encoders), an unknown JFIF revision or Adobe
 * transform, a bad ICC or thumbnail marker.
 */
static int loses_pixels(int code)
{
	switch (code) {
	case JWRN_HIT_MARKER:     /* premature end of data segment: cut, then a marker */
	case JWRN_HUFF_BAD_CODE:  /* bad Huffman code */
	case JWRN_ARITH_BAD_CODE: /* bad arithmetic code */
	case JWRN_MUST_RESYNC:    /* a restart marker lost: an interval skipped */
		return 1;
	default:
		return 0;
	}
}

static void on_message(j_common_ptr cinfo, int level)
{
	jerr *e = (jerr *)(void *)cinfo->err;
	const char *prefix = "Corrupt JPEG data: ";
	char msg[JMSG_LENGTH_MAX];

	if (level >= 0)
		return; /* trace messages */
	if (cinfo->err->msg_code == JWRN_JPEG_EOF) {
		e->truncated = 1;
	} else if (loses_pixels(cinfo->err->msg_code) && !e->damage[0]) {
		cinfo->err->format_message(cinfo, msg);
		snprintf(e->damage, sizeof(e->damage), "%s",
		         strncmp(msg, prefix, strlen(prefix)) ? msg : msg + strlen(prefix));
	}
}

static int exif_orientation(j_decompress_ptr cinfo)
{
	jpeg_saved_marker_ptr m;
	int orientation = 1;

	for (m = cinfo->marker_list; m; m = m->next) {
		ExifData *ed;
		ExifEntry *entry;
		if (m->marker != JPEG_APP0 + 1 || m->data_length < 6 || memcmp(m->data, "Exif\0\0", 6))
			continue;
		ed = exif_data_new_from_data(m->data, m->data_length);
		if (!ed)
			continue;
		entry = exif_data_get_entry(ed, EXIF_TAG_ORIENTATION);
		if (entry && entry->format == EXIF_FORMAT_SHORT && entry->components >= 1)
			orientation = exif_get_short(entry->data, exif_data_get_byte_order(ed));
		exif_data_unref(ed);
		break;
	}
	return orientation >= 1 && orientation <= 8 ? orientation : 1;
}

/* Turn img upright for EXIF orientation o (2-8). */
static int apply_orientation(ds_image *img, int o, ds_error *err)
{
	int w = img->width, h = img->height, swap = o >= 5;
	int nw = swap ? h : w, nh = swap ? w : h, x, y;
	uint8_t *dst = malloc((size_t)w * (size_t)h);

	if (!dst)
		return ds_error_set(err, DS_ENOMEM, "out of memory");
	for (y = 0; y < nh; y++) {
		for (x = 0; x < nw; x++) {
			int sx, sy;
			switch (o) {
			case 2: sx = w - 1 - x; sy = y; break;
			case 3: sx = w - 1 - x; sy = h - 1 - y; break;
			case 4: sx = x; sy = h - 1 - y; break;
			case 5: sx = y; sy = x; break;
			case 6: sx = y; sy = h - 1 - x; break;
			case 7: sx = w - 1 - y; sy = h - 1 - x; break;
			case 8: sx = w - 1 - y; sy = x; break;
			default: sx = x; sy = y; break;
			}
			dst[(size_t)y * (size_t)nw + (size_t)x] = img->gray[(size_t)sy * (size_t)w + (size_t)sx];
		}
	}
	free(img->gray);
	img->gray = dst;
	img->width = nw;
	img->height = nh;
	if (swap) {
		int t = img->orig_width;
		img->orig_width = img->orig_height;
		img->orig_height = t;
	}
	return DS_OK;
}

static uint8_t cmyk_gray(const JSAMPLE *p)
{
	/* Adobe CMYK JPEGs store inverted ink: 255 = no ink. */
	unsigned k = p[3];
	unsigned rgb = (77u * p[0] + 150u * p[1] + 29u * p[2]) >> 8;
	return (uint8_t)(rgb * k / 255u);
}

int img_load_jpeg(ds_image *out, const uint8_t *data, size_t len, const char *name,
                  const ds_load_opts *opts, ds_error *err)
{
	struct jpeg_decompress_struct cinfo;
	jerr je;
	JSAMPLE *volatile row = NULL;
	int volatile rc = DS_OK;
	int volatile denom = 1;
	int orientation, longer, cmyk;

	memset(out, 0, sizeof(*out));
	memset(&je, 0, sizeof(je));
	cinfo.err = jpeg_std_error(&je.mgr);
	je.mgr.error_exit = on_error;
	je.mgr.emit_message = on_message;
	if (setjmp(je.jump)) {
		char msg[JMSG_LENGTH_MAX];
		je.mgr.format_message((j_common_ptr)&cinfo, msg);
		jpeg_destroy_decompress(&cinfo);
		free(row);
		ds_image_free(out);
		return ds_error_set(err, rc == DS_OK ? DS_EINVAL : rc, "'%s': corrupt JPEG: %s", name, msg);
	}
	jpeg_create_decompress(&cinfo);
	jpeg_mem_src(&cinfo, data, (unsigned long)len);
	jpeg_save_markers(&cinfo, JPEG_APP0 + 1, 0xFFFF);
	jpeg_read_header(&cinfo, TRUE);
	orientation = exif_orientation(&cinfo);
	if (img_check_limit(name, cinfo.image_width, cinfo.image_height, opts, err) < 0) {
		jpeg_destroy_decompress(&cinfo);
		return DS_ELIMIT;
	}
	longer = (int)(cinfo.image_width > cinfo.image_height ? cinfo.image_width : cinfo.image_height);
	if (opts && opts->min_side > 0)
		while (denom < 8 && longer / (denom * 2) >= opts->min_side)
			denom *= 2;
	cinfo.scale_num = 1;
	cinfo.scale_denom = (unsigned)denom;
	cinfo.dct_method = JDCT_IFAST;
	cmyk = cinfo.jpeg_color_space == JCS_CMYK || cinfo.jpeg_color_space == JCS_YCCK;
	cinfo.out_color_space = cmyk ? JCS_CMYK : JCS_GRAYSCALE;
	jpeg_start_decompress(&cinfo);
	if (img_alloc(out, (int)cinfo.output_width, (int)cinfo.output_height, err) < 0) {
		rc = DS_ENOMEM;
		longjmp(je.jump, 1);
	}
	out->orig_width = (int)cinfo.image_width;
	out->orig_height = (int)cinfo.image_height;
	out->scale = denom;
	if (cmyk) {
		row = malloc((size_t)cinfo.output_width * 4);
		if (!row) {
			rc = DS_ENOMEM;
			longjmp(je.jump, 1);
		}
	}
	while (cinfo.output_scanline < cinfo.output_height) {
		size_t y = cinfo.output_scanline, x;
		uint8_t *dst = out->gray + y * (size_t)cinfo.output_width;
		JSAMPROW rows[1];
		rows[0] = cmyk ? row : dst;
		jpeg_read_scanlines(&cinfo, rows, 1);
		if (cmyk)
			for (x = 0; x < cinfo.output_width; x++)
				dst[x] = cmyk_gray(row + 4 * x);
		if (je.truncated || je.damage[0])
			break;
	}
	if (je.truncated || je.damage[0]) {
		jpeg_destroy_decompress(&cinfo);
		free(row);
		ds_image_free(out);
		if (je.truncated)
			return ds_error_set(err, DS_EINVAL, "'%s': truncated JPEG (the file ends early)", name);
		return ds_error_set(err, DS_EINVAL, "'%s': corrupt or truncated image: JPEG data damaged (%s)", name,
		                    je.damage);
	}
	jpeg_finish_decompress(&cinfo);
	jpeg_destroy_decompress(&cinfo);
	free(row);
	if (orientation != 1 && apply_orientation(out, orientation, err) < 0) {
		ds_image_free(out);
		return DS_ENOMEM;
	}
	return DS_OK;
}

int ds_image_encode_jpeg(const ds_image *img, int quality, uint8_t **out, size_t *len, ds_error *err)
{
	struct jpeg_compress_struct cinfo;
	jerr je;
	unsigned char *volatile mem = NULL;
	unsigned long memlen = 0;
	int y;

	*out = NULL;
	*len = 0;
	if (!img || !img->gray || img->width <= 0 || img->height <= 0 || img->width > 65500 || img->height > 65500)
		return ds_error_set(err, DS_EINVAL, "cannot encode an empty or oversized image as JPEG");
	memset(&je, 0, sizeof(je));
	cinfo.err = jpeg_std_error(&je.mgr);
	je.mgr.error_exit = on_error;
	je.mgr.emit_message = on_message;
	if (setjmp(je.jump)) {
		jpeg_destroy_compress(&cinfo);
		free(mem);
		return ds_error_set(err, DS_ENOMEM, "cannot encode a JPEG thumbnail");
	}
	jpeg_create_compress(&cinfo);
	jpeg_mem_dest(&cinfo, (unsigned char **)&mem, &memlen);
	cinfo.image_width = (JDIMENSION)img->width;
	cinfo.image_height = (JDIMENSION)img->height;
	cinfo.input_components = 1;
	cinfo.in_color_space = JCS_GRAYSCALE;
	jpeg_set_defaults(&cinfo);
	jpeg_set_quality(&cinfo, quality < 1 ? 1 : quality > 100 ? 100 : quality, TRUE);
	jpeg_start_compress(&cinfo, TRUE);
	for (y = 0; y < img->height; y++) {
		JSAMPROW row = (JSAMPROW)(img->gray + (size_t)y * (size_t)img->width);
		jpeg_write_scanlines(&cinfo, &row, 1);
	}
	jpeg_finish_compress(&cinfo);
	jpeg_destroy_compress(&cinfo);
	*out = mem;
	*len = memlen;
	return DS_OK;
}
