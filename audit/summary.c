/*
 * summary.c - summary.json: the counts of an audit's report folder (per
 * status, problem, kind, label, and label group by severity), the
 * duplicates and identical files, and the run: how it went, when the
 * report was made, by which drugscan with which catalog, and, when the
 * audit is incomplete, what is missing and the commands that finish it.
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#ifndef DS_VERSION
#define DS_VERSION "unknown"
#endif

const char *au_version(void)
{
	return DS_VERSION;
}

void au_shell_word(ds_buf *b, const char *s)
{
	const char *p;

	if (*s && strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_./:=@%+,-") == strlen(s)) {
		ds_buf_puts(b, s);
		return;
	}
	ds_buf_putc(b, '\'');
	for (p = s; *p; p++) {
		if (*p == '\'')
			ds_buf_puts(b, "'\\''");
		else
			ds_buf_putc(b, *p);
	}
	ds_buf_putc(b, '\'');
}

static json_t *counts_json(const au_count *v, size_t n)
{
	json_t *o = json_object();
	size_t i;

	for (i = 0; i < n; i++)
		json_object_set_new(o, v[i].name, json_integer((json_int_t)v[i].codes));
	return o;
}

static double round2(double v)
{
	return (double)(long long)(v * 100 + 0.5) / 100;
}

static json_t *label_json(const au_count *l, int with_id)
{
	json_t *o = json_object();

	if (with_id)
		json_object_set_new(o, "id", json_string(l->name));
	json_object_set_new(o, "severity", json_string(l->severity));
	json_object_set_new(o, "text", json_string(l->text));
	json_object_set_new(o, "codes", json_integer((json_int_t)l->codes));
	json_object_set_new(o, "photos", json_integer((json_int_t)l->photos));
	return o;
}

/* "labels": by id, with the strongest severity seen; "label_groups": one
 * row per id and severity, alerts first, then warnings, then the rest. */
static void labels_json(json_t *o, const au *a)
{
	json_t *labels = json_object(), *groups = json_array();
	size_t i;
	int r;

	for (i = 0; i < a->nlabels; i++)
		json_object_set_new(labels, a->labels[i].name, label_json(&a->labels[i], 0));
	for (r = 0; r <= 3; r++) {
		for (i = 0; i < a->ngroups; i++)
			if (au_severity_rank(a->groups[i].severity) == r)
				json_array_append_new(groups, label_json(&a->groups[i], 1));
	}
	json_object_set_new(o, "labels", labels);
	json_object_set_new(o, "label_groups", groups);
}

static void counts(json_t *o, const au *a)
{
	json_t *photos = json_object(), *codes = json_object(), *status = json_object();
	static const char *names[] = {"decoded", "no_code", "error"};
	size_t i, k, n[8] = {0}, read = 0;
	static const struct {
		unsigned flag;
		const char *name;
	} kinds[] = {{AU_DUPLICATE, "duplicate"}, {AU_ALERT, "alert"},          {AU_INVALID, "invalid"},
	             {AU_NO_CODE, "no_code"},     {AU_NO_TRACE, "no_trace_code"}, {AU_ERROR, "error"},
	             {AU_WARN, "warn"}};

	for (i = 0; i < 3; i++) /* every status, even at 0, so a reader need not guess */
		json_object_set_new(status, names[i], json_integer(0));
	for (i = 0; i < a->nstatus; i++)
		json_object_set_new(status, a->status[i].name, json_integer((json_int_t)a->status[i].codes));
	for (i = 0; i < a->nphotos; i++)
		for (k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++)
			if (a->photos[i].flags & kinds[k].flag)
				n[k]++;
	for (k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++)
		json_object_set_new(photos, kinds[k].name, json_integer((json_int_t)n[k]));
	json_object_set_new(photos, "problem", json_integer((json_int_t)a->problem_photos));
	for (i = 0; i < a->nkinds; i++)
		read += a->kinds[i].codes;
	json_object_set_new(codes, "read", json_integer((json_int_t)read));
	json_object_set_new(codes, "distinct", json_integer((json_int_t)a->ncodes));
	json_object_set_new(codes, "duplicate", json_integer((json_int_t)a->nduplicates));
	json_object_set_new(o, "format_version", json_integer(1));
	json_object_set_new(o, "images", json_integer((json_int_t)a->nphotos));
	json_object_set_new(o, "status", status);
	json_object_set_new(o, "photos", photos);
	json_object_set_new(o, "codes", codes);
	json_object_set_new(o, "kinds", counts_json(a->kinds, a->nkinds));
	labels_json(o, a);
}

static void duplicates(json_t *o, const au *a)
{
	json_t *dups = json_array(), *same = json_array();
	size_t i, k;

	for (i = 0; i < a->ncodes; i++) {
		const au_code *c = &a->codes[i];
		json_t *files;
		if (!c->duplicate)
			continue;
		files = json_array();
		for (k = 0; k < c->nphotos; k++)
			json_array_append_new(files, json_string(a->photos[c->photos[k]].file));
		json_array_append_new(dups, json_pack("{s:s, s:s, s:s, s:o, s:I}", "text", c->text, "kind", c->kind,
		                                      "generic_name", c->generic_name, "photos", files, "files",
		                                      (json_int_t)c->files));
	}
	for (i = 0; i < a->nphotos;) {
		size_t j = i + 1;
		const char *sha = a->photos[a->by_sha[i]].sha256;
		while (j < a->nphotos && *sha && !strcmp(sha, a->photos[a->by_sha[j]].sha256))
			j++;
		if (j - i > 1) {
			json_t *g = json_array();
			for (k = i; k < j; k++)
				json_array_append_new(g, json_string(a->photos[a->by_sha[k]].file));
			json_array_append_new(same, g);
		}
		i = j;
	}
	json_object_set_new(o, "duplicates", dups);
	json_object_set_new(o, "identical_files", same);
}

json_t *au_catalog_json(const ds_catalog_info *c)
{
	if (!c)
		return json_null();
	return json_pack("{s:s, s:s, s:s, s:b}", "source", c->source, "version", c->version, "imported_at",
	                 c->imported_at, "synthetic", c->synthetic);
}

/* What a run's summary says of it; fields are only ever added. */
static json_t *run_json(const au *a, const au_run *run)
{
	json_t *r = json_object(), *paths = json_array();
	size_t i;

	for (i = 0; i < run->npaths; i++)
		json_array_append_new(paths, json_string(run->paths[i]));
	json_object_set_new(r, "elapsed_s", json_real(round2(run->elapsed_s)));
	json_object_set_new(r, "images_per_s",
	                    json_real(run->elapsed_s > 0 ? round2((double)run->scanned / run->elapsed_s) : 0));
	json_object_set_new(r, "scanned", json_integer((json_int_t)run->scanned));
	json_object_set_new(r, "resumed", json_integer((json_int_t)run->resumed));
	json_object_set_new(r, "jobs", json_integer(run->jobs));
	json_object_set_new(r, "effort", run->effort ? json_string(run->effort) : json_null());
	json_object_set_new(r, "shard", run->shard[0] ? json_string(run->shard) : json_null());
	json_object_set_new(r, "complete", json_boolean(run->complete));
	if (run->shards)
		json_object_set_new(r, "shards", json_incref(run->shards));
	json_object_set_new(r, "images_total", run->total_known ? json_integer((json_int_t)run->total) : json_null());
	json_object_set_new(r, "images_missing",
	                    !run->total_known ? json_null()
	                                : json_integer((json_int_t)(run->total > a->nphotos ? run->total - a->nphotos : 0)));
	json_object_set_new(r, "missing_shards", run->missing_shards ? json_incref(run->missing_shards) : json_array());
	json_object_set_new(r, "finish", run->finish && !run->complete ? json_incref(run->finish) : json_null());
	json_object_set_new(r, "paths", paths);
	json_object_set_new(r, "options", run->options ? json_incref(run->options) : json_array());
	json_object_set_new(r, "date", json_string(run->date ? run->date : ""));
	json_object_set_new(r, "drugscan_version", json_string(au_version()));
	json_object_set_new(r, "catalog", au_catalog_json(run->catalog));
	json_object_set_new(r, "catalog_error", run->catalog_error ? json_string(run->catalog_error) : json_null());
	return r;
}

json_t *au_summary_json(const au *a, const au_run *run)
{
	json_t *o = json_object();

	if (!o)
		return NULL;
	counts(o, a);
	duplicates(o, a);
	json_object_set_new(o, "run", run_json(a, run));
	return o;
}
