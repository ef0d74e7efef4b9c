/*
 * render.c - a checked code as JSON, CSV (libcsv) or text for people.
 *
 * JSON is the stable interface of DESIGN.md ("Stable outputs", format_version
 * 1): fields are only ever added. The code object is written by
 * audit/jsonout.c, which keeps the JSON of the drugs and labels that repeat.
 */
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "cli.h"
#include "render.h"

struct ds_renderer {
	FILE *out;
	ds_format fmt;
	ds_lang lang;
	int csv_header;
	unsigned long count;
	ds_buf tmp;
	ds_buf json;
	ds_json_cache *cache; /* the JSON of drugs and labels already printed */
};

int ds_format_parse(ds_format *out, const char *name)
{
	if (!name || !strcmp(name, "text"))
		*out = DS_FMT_TEXT;
	else if (!strcmp(name, "json") || !strcmp(name, "jsonl"))
		*out = DS_FMT_JSON;
	else if (!strcmp(name, "csv"))
		*out = DS_FMT_CSV;
	else
		return DS_EINVAL;
	return DS_OK;
}

ds_renderer *ds_renderer_new(FILE *out, ds_format fmt, ds_lang lang)
{
	ds_renderer *r = calloc(1, sizeof(*r));

	if (r) {
		r->out = out;
		r->fmt = fmt;
		r->lang = lang;
	}
	if (r && fmt == DS_FMT_JSON && !(r->cache = ds_json_cache_new())) {
		free(r);
		r = NULL;
	}
	return r;
}

void ds_renderer_free(ds_renderer *r)
{
	if (!r)
		return;
	ds_buf_free(&r->tmp);
	ds_buf_free(&r->json);
	ds_json_cache_free(r->cache);
	free(r);
}

/* Make any bytes presentable as a JSON/CSV string: invalid UTF-8 becomes U+FFFD,
 * and a too-long input is cut with an ellipsis. */
static const char *printable(ds_buf *b, const void *data, size_t len, size_t limit)
{
	const unsigned char *s = data;
	size_t i = 0;

	ds_buf_clear(b);
	while (i < len && i < limit) {
		uint32_t cp;
		size_t n = ds_utf8_decode(&cp, s + i, len - i);
		if (n == 0) {
			ds_buf_puts(b, "\xef\xbf\xbd");
			i++;
		} else {
			ds_buf_put(b, s + i, n);
			i += n;
		}
	}
	if (i < len)
		ds_buf_puts(b, "\xe2\x80\xa6");
	return b->ptr ? b->ptr : "";
}

/* The code object (audit/jsonout.c) after format_version and input; one write. */
static int render_json(ds_renderer *r, const void *input, size_t len, const ds_verdict *v)
{
	int rc;

	printable(&r->tmp, input, len, DS_TRACE_MAX_INPUT);
	ds_buf_clear(&r->json);
	rc = ds_buf_puts(&r->json, "{\"format_version\":1,\"input\":");
	if (rc == DS_OK)
		rc = ds_json_put_string(&r->json, r->tmp.ptr ? r->tmp.ptr : "", r->tmp.len);
	if (rc == DS_OK)
		rc = ds_buf_putc(&r->json, ',');
	if (rc == DS_OK)
		rc = ds_code_json_put(&r->json, v, r->lang, r->cache);
	if (rc < 0 || ds_buf_puts(&r->json, "}\n") < 0)
		return DS_ENOMEM;
	return fwrite(r->json.ptr, 1, r->json.len, r->out) == r->json.len ? DS_OK : DS_EIO;
}

/* ---- CSV ---- */

static const char *csv_columns[] = {
	"input", "kind", "valid", "text", "symbology", "aim", "product_code", "serial", "check",
	"gtin", "batch", "expiry", "other_fields", "issues", "labels", "nhsa_code", "generic_name", "category",
};
#define CSV_NCOLS (sizeof(csv_columns) / sizeof(csv_columns[0]))
#define CSV_FIRST_FIELD 6
#define CSV_NFIELDS 6

static int csv_cell(FILE *f, const char *s, int last)
{
	return ds_csv_cell(f, s, strlen(s), last);
}

static int render_csv(ds_renderer *r, const void *input, size_t len, const ds_verdict *v)
{
	const ds_code *c = v->code;
	const ds_label *labels = v->labels;
	size_t nlabels = v->nlabels;
	ds_buf cell = DS_BUF_INIT;
	size_t i, k;
	int rc = DS_OK;

	if (!r->csv_header) {
		for (i = 0; i < CSV_NCOLS && rc == DS_OK; i++)
			rc = csv_cell(r->out, csv_columns[i], i + 1 == CSV_NCOLS);
		r->csv_header = 1;
	}
	rc |= csv_cell(r->out, printable(&r->tmp, input, len, 256), 0);
	rc |= csv_cell(r->out, ds_kind_name(c->kind), 0);
	rc |= csv_cell(r->out, c->valid ? "true" : "false", 0);
	ds_put_visible(&cell, c->text, c->text_len);
	rc |= csv_cell(r->out, cell.ptr ? cell.ptr : "", 0);
	rc |= csv_cell(r->out, c->symbology, 0);
	rc |= csv_cell(r->out, c->aim, 0);
	for (k = 0; k < CSV_NFIELDS; k++) {
		const char *val = ds_code_field(c, csv_columns[CSV_FIRST_FIELD + k]);
		rc |= csv_cell(r->out, val ? val : "", 0);
	}
	ds_buf_clear(&cell);
	for (i = 0; i < c->nfields; i++) {
		int common = 0;
		for (k = 0; k < CSV_NFIELDS; k++)
			common |= !strcmp(c->fields[i].name, csv_columns[CSV_FIRST_FIELD + k]);
		if (!common)
			ds_buf_printf(&cell, "%s%s=%s", cell.len ? ";" : "", c->fields[i].name, c->fields[i].value);
	}
	rc |= csv_cell(r->out, cell.ptr ? cell.ptr : "", 0);
	ds_buf_clear(&cell);
	for (i = 0; i < c->nissues; i++)
		ds_buf_printf(&cell, "%s%s", i ? ";" : "", c->issues[i].id);
	rc |= csv_cell(r->out, cell.ptr ? cell.ptr : "", 0);
	ds_buf_clear(&cell);
	for (i = 0; i < nlabels; i++)
		ds_buf_printf(&cell, "%s%s", i ? ";" : "", labels[i].id);
	rc |= csv_cell(r->out, cell.ptr ? cell.ptr : "", 0);
	rc |= csv_cell(r->out, v->drug ? v->drug->nhsa_code : "", 0);
	rc |= csv_cell(r->out, v->drug ? v->drug->generic_name : "", 0);
	rc |= csv_cell(r->out, v->drug ? v->drug->category : "", 1);
	ds_buf_free(&cell);
	return rc ? DS_EIO : DS_OK;
}

int ds_render_check(ds_renderer *r, const void *input, size_t len, const ds_verdict *v)
{
	int rc;

	r->count++;
	switch (r->fmt) {
	case DS_FMT_JSON: rc = render_json(r, input, len, v); break;
	case DS_FMT_CSV: rc = render_csv(r, input, len, v); break;
	case DS_FMT_TEXT:
	default: rc = ds_render_text(r->out, r->lang, &r->tmp, input, len, v); break;
	}
	return ferror(r->out) ? DS_EIO : rc;
}

int ds_renderer_finish(ds_renderer *r)
{
	if (r->fmt == DS_FMT_TEXT && r->count)
		fprintf(r->out, "\n%s\n", ds_note_text(r->lang));
	if (r->fmt == DS_FMT_CSV && !r->csv_header) {
		size_t i;
		for (i = 0; i < CSV_NCOLS; i++)
			csv_cell(r->out, csv_columns[i], i + 1 == CSV_NCOLS);
	}
	return fflush(r->out) == 0 && !ferror(r->out) ? DS_OK : DS_EIO;
}
