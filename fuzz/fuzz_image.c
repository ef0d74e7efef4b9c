/*
 * fuzz_image.c - libFuzzer harness for the image loaders (PNG, JPEG with EXIF,
 * WebP, PNM) and, for small images, the decode pipeline.
 *
 * Invariants: a load either fails with a one-line message and no pixels, or
 * returns an image within the pixel limit whose buffer is fully readable; the
 * input is never modified; decoding never reports a symbol outside the image.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scanner.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                      \
	do {                                                                                 \
		if (!(cond)) {                                                                   \
			fprintf(stderr, "fuzz_image: invariant failed: %s (%s:%d)\n", #cond, __FILE__, \
			        __LINE__);                                                           \
			abort();                                                                     \
		}                                                                                \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	ds_load_opts lo = {4000000, 0};
	ds_image img;
	ds_error err;
	uint8_t *copy = malloc(size ? size : 1);
	unsigned sum = 0;
	size_t i;
	int rc;

	if (!copy)
		return 0;
	memcpy(copy, data, size);
	ds_error_clear(&err);
	rc = ds_image_load_mem(&img, data, size, "fuzz", &lo, &err);
	CHECK(memcmp(copy, data, size) == 0);
	if (rc < 0) {
		CHECK(img.gray == NULL);
		CHECK(err.message[0] != '\0');
		CHECK(strchr(err.message, '\n') == NULL);
	} else {
		CHECK(img.gray != NULL);
		CHECK(img.width > 0 && img.height > 0);
		CHECK((uint64_t)img.width * (uint64_t)img.height <= lo.max_pixels);
		for (i = 0; i < (size_t)img.width * (size_t)img.height; i++)
			sum += img.gray[i]; /* every pixel is readable (ASan) and initialised (MSan) */
		if ((long)img.width * img.height <= 96 * 96) {
			ds_scan_opts so = {DS_EFFORT_FAST, 20, 0, 0};
			ds_scanner *s = ds_scanner_new(&so);
			ds_scan_result res;
			if (s && ds_scanner_decode(s, &img, &res, &err) == 0) {
				for (i = 0; i < res.count; i++)
					CHECK(res.symbols[i].data != NULL);
				ds_scan_result_free(&res);
			}
			ds_scanner_free(s);
		}
		ds_image_free(&img);
	}
	(void)sum;
	free(copy);
	return 0;
}
