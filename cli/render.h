/*
 * render.h - printing verdicts: text for people, JSON and CSV (render.c,
 * render_text.c).
 * Private to cli/.
 */
#ifndef DS_CLI_RENDER_H
#define DS_CLI_RENDER_H

#include <stdio.h>

#include "catalog.h"
#include "ds_common.h"

typedef enum ds_format { DS_FMT_TEXT = 0, DS_FMT_JSON, DS_FMT_CSV } ds_format;

int ds_format_parse(ds_format *out, const char *name);

typedef struct ds_renderer ds_renderer;

ds_renderer *ds_renderer_new(FILE *out, ds_format fmt, ds_lang lang);
/* Render one checked payload. input/len is what was received. Returns 0 or DS_EIO. */
int ds_render_check(ds_renderer *r, const void *input, size_t len, const ds_verdict *v);
/* Finish the output (text: the closing note). */
int ds_renderer_finish(ds_renderer *r);
void ds_renderer_free(ds_renderer *r);

/* Text for people (render_text.c). tmp is scratch space. */
const char *ds_cli_word(const char *id); /* a ledger action or state ("sell", "in_stock") translated, else id */
int ds_render_text(FILE *out, ds_lang lang, ds_buf *tmp, const void *input, size_t len, const ds_verdict *v);

#endif
