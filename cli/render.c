/*
 * render.c - a checked code as JSON (jansson), CSV (libcsv) or text for people.
 *
 * JSON is the stable interface of DESIGN.md ("Stable outputs", format_version
 * 1): fields are only ever added. The objects themselves are built in
 * audit/codejson.c; this file caches the parts that repeat.
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "cli.h"
#include "render.h"

/* Cached fragments: enough for the distinct drugs of a busy stream (a
 * pharmacy's few thousand products) and their labels. */
#define DS_FRAGS 8192

struct ds_renderer {
	FILE *out;
	ds_format fmt;
	ds_lang lang;
	int csv_header;
	unsigned long count;
	ds_buf tmp;
	ds_buf json;
	/* JSON of values that repeat from code to code (labels, drugs, the note),
	 * serialised by jansson once and reused: a stream of 100,000 codes is
	 * mostly the same few hundred of them */
	ds_buf note;
	struct frag {
		uint64_t hash;
		char *json; /* owned, NUL-terminated */
	} frags[DS_FRAGS];
};

static uint64_t fnv(uint64_t h, const void *data, size_t n)
{
	const unsigned char *p = data;
	size_t i;

	for (i = 0; i < n; i++)
		h = (h ^ p[i]) * 0x100000001b3ULL;
	return h;
}

/* Append the cached serialisation of v (made by make when missing) to out. */
static int put_frag(ds_renderer *r, ds_buf *out, uint64_t hash, json_t *(*make)(const void *), const void *arg)
{
	struct frag *f = &r->frags[hash % DS_FRAGS];

	if (!f->json || f->hash != hash) {
		json_t *j = make(arg);
		char *s = j ? json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(9)) : NULL;
		json_decref(j);
		if (!s)
			return DS_ENOMEM;
		free(f->json);
		f->json = s;
		f->hash = hash;
	}
	return ds_buf_puts(out, f->json);
}

static json_t *make_label(const void *l)
{
	return ds_label_json(l);
}

static json_t *make_drug(const void *d)
{
	return ds_drug_json(d);
}

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
	return r;
}

void ds_renderer_free(ds_renderer *r)
{
	size_t i;

	for (i = 0; r && i < DS_FRAGS; i++)
		free(r->frags[i].json);
	if (r) {
		ds_buf_free(&r->tmp);
		ds_buf_free(&r->json);
		ds_buf_free(&r->note);
	}
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

static int to_buf(const char *data, size_t size, void *ctx)
{
	return ds_buf_put(ctx, data, size) == DS_OK ? 0 : -1;
}

static int render_json(ds_renderer *r, const void *input, size_t len, const ds_verdict *v)
{
	json_t *o = json_object(), *code = ds_code_json_head(v, r->lang);
	size_t i;
	int rc;

	json_object_set_new(o, "format_version", json_integer(1));
	printable(&r->tmp, input, len, DS_TRACE_MAX_INPUT);
	json_object_set_new(o, "input", json_stringn(r->tmp.ptr ? r->tmp.ptr : "", r->tmp.len));
	json_object_update(o, code);
	json_decref(code);
	/* the head through "elements" by jansson, then the cached tail; one write */
	ds_buf_clear(&r->json);
	rc = json_dump_callback(o, to_buf, &r->json, JSON_COMPACT);
	json_decref(o);
	if (rc < 0 || !r->json.len)
		return DS_ENOMEM;
	r->json.len--; /* the closing brace */
	ds_buf_puts(&r->json, ",\"drug\":");
	if (v->drug) {
		const ds_drug *d = v->drug;
		uint64_t h = fnv(0xcbf29ce484222325ULL, d->nhsa_code, strlen(d->nhsa_code));
		h = fnv(h, d->matched_by, strlen(d->matched_by));
		h = fnv(h, &d->package_level, sizeof(d->package_level));
		h = fnv(h, &d->units, sizeof(d->units));
		h = fnv(h, &d->local_mapping, sizeof(d->local_mapping));
		h = fnv(h, &d->demo_mapping, sizeof(d->demo_mapping));
		h = fnv(h, "drug", 4);
		rc = put_frag(r, &r->json, h, make_drug, d);
	} else {
		rc = ds_buf_puts(&r->json, "null");
	}
	ds_buf_puts(&r->json, ",\"labels\":[");
	for (i = 0; i < v->nlabels && rc == DS_OK; i++) {
		const ds_label *l = &v->labels[i];
		uint64_t h = fnv(0xcbf29ce484222325ULL, l->id, strlen(l->id));
		h = fnv(h, &l->level, sizeof(l->level));
		h = fnv(h, &l->ratio, sizeof(l->ratio));
		h = fnv(h, l->text, strlen(l->text));
		if (i)
			ds_buf_putc(&r->json, ',');
		rc = put_frag(r, &r->json, h, make_label, l);
	}
	if (!r->note.len) {
		json_t *n = json_string(ds_note_text(r->lang));
		json_dump_callback(n, to_buf, &r->note, JSON_ENCODE_ANY);
		json_decref(n);
	}
	ds_buf_puts(&r->json, "],\"note\":");
	ds_buf_put(&r->json, r->note.ptr, r->note.len);
	if (rc < 0 || ds_buf_puts(&r->json, "}\n") < 0 || fwrite(r->json.ptr, 1, r->json.len, r->out) != r->json.len)
		return DS_EIO;
	return DS_OK;
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
