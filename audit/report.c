/*
 * report.c - what an audit makes of its results.jsonl: the photos and
 * their problems, one entry per distinct code with every photo it is in,
 * cross-photo duplicates, and codes.csv and summary.json.
 *
 * results.jsonl is read as a stream and only a small record per photo and
 * per distinct code is kept; the HTML report (html.c) reads the lines
 * of the photos it shows again, by offset.
 */
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

static uint64_t fnv1a(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 0x100000001b3ULL;
	return h;
}

uint64_t au_path_hash(const char *s)
{
	return fnv1a(s);
}

/* Folders first by component, so the order is the walk's: "a/b" < "a-c". */
int au_pathcmp(const char *a, const char *b)
{
	for (;;) {
		size_t la = strcspn(a, "/"), lb = strcspn(b, "/");
		int c = memcmp(a, b, la < lb ? la : lb);
		if (c)
			return c;
		if (la != lb)
			return la < lb ? -1 : 1;
		a += la;
		b += lb;
		if (!*a || !*b)
			return *a ? 1 : *b ? -1 : 0;
		a++;
		b++;
	}
}

static char *dup_str(const char *s)
{
	return strdup(s ? s : "");
}

const char *au_jstr(json_t *o, const char *key)
{
	const char *v = json_string_value(json_object_get(o, key));
	return v ? v : "";
}

int au_read_line(FILE *f, off_t off, size_t len, ds_buf *buf)
{
	ds_buf_clear(buf);
	if (ds_buf_grow(buf, len + 1) < 0)
		return DS_ENOMEM;
	if (fseeko(f, off, SEEK_SET) != 0 || fread(buf->ptr, 1, len, f) != len)
		return DS_EIO;
	buf->len = len;
	buf->ptr[len] = '\0';
	return DS_OK;
}

/* ---- distinct codes ---- */

/* The identity of one box: the unit_key of the code object (ds_code_unit_key),
 * the same key the counter's ledger uses. A line written before unit_key
 * existed (a resumed older audit) has its text parsed again. Codes without a
 * key (product barcodes, GS1 without (21)) are listed but never duplicates. */
static int code_key(json_t *code, ds_buf *key)
{
	json_t *uk = json_object_get(code, "unit_key");
	ds_unit_key unit;

	ds_buf_clear(key);
	if (json_is_string(uk) && *json_string_value(uk)) {
		ds_buf_puts(key, json_string_value(uk));
		return 1;
	}
	if (!uk) {
		json_t *text = json_object_get(code, "text");
		ds_trace_opts to;
		ds_code c;
		int found;
		ds_trace_opts_default(&to);
		to.exact = 1;
		ds_code_init(&c);
		ds_trace_parse(&c, json_string_value(text) ? json_string_value(text) : "", json_string_length(text),
		               au_jstr(code, "symbology"), au_jstr(code, "aim"), &to);
		found = ds_code_unit_key(&c, &unit);
		ds_code_free(&c);
		if (found) {
			ds_buf_puts(key, unit.key);
			return 1;
		}
	}
	ds_buf_printf(key, "%s:%s", au_jstr(code, "kind"), au_jstr(code, "text"));
	return 0;
}

static au_code *code_find(au *a, const char *key, int create)
{
	size_t mask, i;

	if (create && (a->ncodes + 1) * 2 > a->table_cap) {
		size_t cap = a->table_cap ? a->table_cap * 2 : 1024, k;
		size_t *t = malloc(cap * sizeof(*t));
		if (!t)
			return NULL;
		for (k = 0; k < cap; k++)
			t[k] = (size_t)-1;
		for (k = 0; k < a->ncodes; k++) {
			size_t j = fnv1a(a->codes[k].key) & (cap - 1);
			while (t[j] != (size_t)-1)
				j = (j + 1) & (cap - 1);
			t[j] = k;
		}
		free(a->table);
		a->table = t;
		a->table_cap = cap;
	}
	if (!a->table_cap)
		return NULL;
	mask = a->table_cap - 1;
	for (i = fnv1a(key) & mask; a->table[i] != (size_t)-1; i = (i + 1) & mask)
		if (!strcmp(a->codes[a->table[i]].key, key))
			return &a->codes[a->table[i]];
	if (!create)
		return NULL;
	if (a->ncodes == a->codes_cap) {
		size_t cap = a->codes_cap ? a->codes_cap * 2 : 256;
		au_code *v = realloc(a->codes, cap * sizeof(*v));
		if (!v)
			return NULL;
		a->codes = v;
		a->codes_cap = cap;
	}
	memset(&a->codes[a->ncodes], 0, sizeof(au_code));
	a->codes[a->ncodes].key = strdup(key);
	if (!a->codes[a->ncodes].key)
		return NULL;
	a->table[i] = a->ncodes;
	return &a->codes[a->ncodes++];
}

static int code_add_photo(au_code *c, size_t photo)
{
	if (c->nphotos && c->photos[c->nphotos - 1] == photo)
		return DS_OK; /* the same box read twice in one photo (Code128 and DataMatrix) */
	if (c->nphotos == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 2;
		size_t *v = realloc(c->photos, cap * sizeof(*v));
		if (!v)
			return DS_ENOMEM;
		c->photos = v;
		c->cap = cap;
	}
	c->photos[c->nphotos++] = photo;
	return DS_OK;
}

/* ---- counters by name ---- */

static au_count *count_get(au_count **v, size_t *n, const char *name)
{
	size_t i;
	au_count *nv;

	for (i = 0; i < *n; i++)
		if (!strcmp((*v)[i].name, name))
			return &(*v)[i];
	nv = realloc(*v, (*n + 1) * sizeof(**v));
	if (!nv)
		return NULL;
	*v = nv;
	memset(&nv[*n], 0, sizeof(**v));
	nv[*n].name = strdup(name);
	nv[*n].last_photo = (size_t)-1;
	if (!nv[*n].name)
		return NULL;
	return &nv[(*n)++];
}

int au_severity_rank(const char *sev)
{
	return !strcmp(sev, "alert") ? 0 : !strcmp(sev, "warn") ? 1 : !strcmp(sev, "info") ? 2 : 3;
}

static void tally(au_count *c, size_t photo)
{
	c->codes++;
	if (c->last_photo != photo) {
		c->photos++;
		c->last_photo = photo;
	}
}

/* One label of a code in photo: counted under its id (with the strongest
 * severity and its text) and under its id and severity, so six alerts and
 * one warning of the same id stay two groups and the alert is not lost. */
static int count_label(au *a, json_t *l, size_t photo)
{
	const char *id = au_jstr(l, "id"), *sev = au_jstr(l, "severity"), *text = au_jstr(l, "text");
	au_count *lc = count_get(&a->labels, &a->nlabels, id), *g = NULL;
	size_t i;

	for (i = 0; i < a->ngroups && !g; i++)
		if (!strcmp(a->groups[i].name, id) && !strcmp(a->groups[i].severity, sev))
			g = &a->groups[i];
	if (!g) {
		au_count *v = realloc(a->groups, (a->ngroups + 1) * sizeof(*v));
		if (!v)
			return DS_ENOMEM;
		a->groups = v;
		g = &v[a->ngroups];
		memset(g, 0, sizeof(*g));
		g->last_photo = (size_t)-1;
		g->name = dup_str(id);
		g->severity = dup_str(sev);
		g->text = dup_str(text);
		if (!g->name || !g->severity || !g->text) {
			free(g->name);
			free(g->severity);
			free(g->text);
			return DS_ENOMEM;
		}
		a->ngroups++;
	}
	if (!lc)
		return DS_ENOMEM;
	if (!lc->severity || au_severity_rank(sev) < au_severity_rank(lc->severity)) {
		char *ns = dup_str(sev), *nt = dup_str(text);
		if (!ns || !nt) {
			free(ns);
			free(nt);
			return DS_ENOMEM;
		}
		free(lc->severity);
		free(lc->text);
		lc->severity = ns;
		lc->text = nt;
	}
	tally(lc, photo);
	tally(g, photo);
	return DS_OK;
}

/* ---- loading ---- */

int au_photo_flags(json_t *line, unsigned *flags)
{
	const char *status = au_jstr(line, "status");
	json_t *codes = json_object_get(line, "codes"), *c;
	size_t i;
	int trace = 0;

	*flags = !strcmp(status, "error") ? AU_ERROR : !strcmp(status, "no_code") ? AU_NO_CODE : 0;
	json_array_foreach(codes, i, c) {
		json_t *labels = json_object_get(c, "labels"), *l;
		size_t k;
		int product = !strcmp(au_jstr(c, "kind"), "product-barcode");
		if (!product)
			trace = 1;
		if (!product && !json_is_true(json_object_get(c, "valid")))
			*flags |= AU_INVALID;
		json_array_foreach(labels, k, l) {
			const char *sev = au_jstr(l, "severity");
			if (!strcmp(sev, "alert"))
				*flags |= AU_ALERT;
			else if (!strcmp(sev, "warn") && !product && strcmp(au_jstr(l, "id"), "nrdl.restricted"))
				*flags |= AU_WARN; /* a payment restriction is a rule to follow, not a problem with the box */
		}
	}
	if (!*flags && !trace)
		*flags |= AU_NO_TRACE; /* only a product barcode: the trace code was not in the picture */
	return DS_OK;
}

static int add_line(au *a, json_t *line, off_t offset, size_t len, int src)
{
	au_photo *p;
	json_t *codes = json_object_get(line, "codes"), *c;
	const char *status = au_jstr(line, "status");
	ds_buf key = DS_BUF_INIT;
	au_count *st;
	size_t i, idx;
	int rc = DS_OK;

	if (!json_is_object(line) || !*au_jstr(line, "file"))
		return DS_EINVAL;
	if (a->nphotos == a->photos_cap) {
		size_t cap = a->photos_cap ? a->photos_cap * 2 : 256;
		au_photo *v = realloc(a->photos, cap * sizeof(*v));
		if (!v)
			return DS_ENOMEM;
		a->photos = v;
		a->photos_cap = cap;
	}
	idx = a->nphotos;
	p = &a->photos[idx];
	memset(p, 0, sizeof(*p));
	p->file = dup_str(au_jstr(line, "file"));
	p->sha256 = dup_str(au_jstr(line, "sha256"));
	if (!p->file || !p->sha256) {
		free(p->file);
		free(p->sha256);
		return DS_ENOMEM;
	}
	p->offset = offset;
	p->len = len;
	p->src = src;
	au_photo_flags(line, &p->flags);
	a->nphotos++;
	st = count_get(&a->status, &a->nstatus, status);
	if (!st)
		return DS_ENOMEM;
	st->codes++;
	json_array_foreach(codes, i, c) {
		json_t *labels = json_object_get(c, "labels"), *l;
		au_code *ac;
		au_count *kc = count_get(&a->kinds, &a->nkinds, au_jstr(c, "kind"));
		size_t k;
		int serial = code_key(c, &key);
		if (!kc || !key.ptr || !(ac = code_find(a, key.ptr, 1))) {
			rc = DS_ENOMEM;
			break;
		}
		kc->codes++;
		if (!ac->text) {
			json_t *drug = json_object_get(c, "drug");
			ds_buf ids = DS_BUF_INIT;
			ac->serial = serial;
			ac->text = dup_str(au_jstr(c, "text"));
			ac->kind = dup_str(au_jstr(c, "kind"));
			ac->valid = json_is_true(json_object_get(c, "valid"));
			ac->nhsa_code = dup_str(au_jstr(drug, "nhsa_code"));
			ac->generic_name = dup_str(au_jstr(drug, "generic_name"));
			json_array_foreach(labels, k, l)
				ds_buf_printf(&ids, "%s%s", k ? ";" : "", au_jstr(l, "id"));
			ac->labels = dup_str(ids.ptr);
			ds_buf_free(&ids);
			if (!ac->text || !ac->kind || !ac->nhsa_code || !ac->generic_name || !ac->labels) {
				rc = DS_ENOMEM;
				break;
			}
		}
		if (code_add_photo(ac, idx) < 0) {
			rc = DS_ENOMEM;
			break;
		}
		json_array_foreach(labels, k, l) {
			if ((rc = count_label(a, l, idx)) < 0)
				break;
		}
	}
	ds_buf_free(&key);
	return rc;
}

int au_load(au *a, FILE *f, int src, ds_error *err)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	off_t off = ftello(f);
	unsigned long no = 0;
	int rc = DS_OK;

	while ((n = getline(&line, &cap, f)) > 0) {
		json_error_t jerr;
		json_t *j;
		no++;
		if (line[n - 1] != '\n') /* a line cut short by a kill: not a result */
			break;
		j = json_loadb(line, (size_t)n, 0, &jerr);
		if (!j) {
			rc = ds_error_set(err, DS_EINVAL, "line %lu is not JSON: %s", no, jerr.text);
			break;
		}
		rc = add_line(a, j, off, (size_t)n, src);
		json_decref(j);
		if (rc < 0) {
			ds_error_set(err, rc, rc == DS_ENOMEM ? "out of memory" : "line %lu is not a scan result", no);
			break;
		}
		off += n;
	}
	free(line);
	if (rc == DS_OK && ferror(f))
		rc = ds_error_set(err, DS_EIO, "cannot read: %s", strerror(errno));
	return rc;
}

static int cmp_str(const void *x, const void *y)
{
	return strcmp(*(const char *const *)x, *(const char *const *)y);
}

typedef struct sha_ix {
	const char *sha;
	size_t i;
} sha_ix;

static int cmp_sha(const void *x, const void *y)
{
	const sha_ix *p = x, *q = y;
	int c = strcmp(p->sha, q->sha);

	return c ? c : p->i < q->i ? -1 : p->i > q->i;
}

int au_finish(au *a)
{
	size_t i, k;

	const char **shas = malloc((a->nphotos ? a->nphotos : 1) * sizeof(char *));

	if (!shas)
		return DS_ENOMEM;
	for (i = 0; i < a->ncodes; i++) {
		au_code *c = &a->codes[i];
		size_t files = 0;
		/* distinct files: photos with the same content hash are one file */
		for (k = 0; k < c->nphotos; k++)
			shas[k] = a->photos[c->photos[k]].sha256;
		qsort(shas, c->nphotos, sizeof(char *), cmp_str);
		for (k = 0; k < c->nphotos; k++)
			if (k == 0 || !*shas[k] || strcmp(shas[k], shas[k - 1]))
				files++;
		c->files = files;
		c->duplicate = c->serial && files >= 2;
		if (c->duplicate) {
			a->nduplicates++;
			for (k = 0; k < c->nphotos; k++)
				a->photos[c->photos[k]].flags |= AU_DUPLICATE;
		}
	}
	free(shas);
	/* groups of byte-identical files */
	{
		sha_ix *v = malloc((a->nphotos ? a->nphotos : 1) * sizeof(*v));
		a->by_sha = malloc((a->nphotos ? a->nphotos : 1) * sizeof(size_t));
		if (!v || !a->by_sha) {
			free(v);
			return DS_ENOMEM;
		}
		for (i = 0; i < a->nphotos; i++) {
			v[i].sha = a->photos[i].sha256;
			v[i].i = i;
		}
		qsort(v, a->nphotos, sizeof(*v), cmp_sha);
		for (i = 0; i < a->nphotos; i++)
			a->by_sha[i] = v[i].i;
		free(v);
	}
	for (i = 0; i < a->nphotos; i++) {
		au_photo *p = &a->photos[i];
		if (p->flags & AU_DUPLICATE)
			a->dup_photos++;
		if (p->flags & AU_PROBLEM)
			a->problem_photos++;
	}
	return DS_OK;
}

void au_free(au *a)
{
	size_t i;

	for (i = 0; i < a->nphotos; i++) {
		free(a->photos[i].file);
		free(a->photos[i].sha256);
	}
	for (i = 0; i < a->ncodes; i++) {
		au_code *c = &a->codes[i];
		free(c->key);
		free(c->text);
		free(c->kind);
		free(c->nhsa_code);
		free(c->generic_name);
		free(c->labels);
		free(c->photos);
	}
	for (i = 0; i < a->nstatus; i++)
		free(a->status[i].name);
	for (i = 0; i < a->nkinds; i++)
		free(a->kinds[i].name);
	for (i = 0; i < a->nlabels; i++) {
		free(a->labels[i].name);
		free(a->labels[i].severity);
		free(a->labels[i].text);
	}
	for (i = 0; i < a->ngroups; i++) {
		free(a->groups[i].name);
		free(a->groups[i].severity);
		free(a->groups[i].text);
	}
	free(a->groups);
	free(a->status);
	free(a->kinds);
	free(a->labels);
	free(a->photos);
	free(a->codes);
	free(a->table);
	free(a->by_sha);
	memset(a, 0, sizeof(*a));
}

/* ---- codes.csv ---- */

static int cell(FILE *f, const char *s, int last)
{
	return ds_csv_cell(f, s, strlen(s), last);
}

/* Duplicates first, then the codes in the order they were first seen. */
static void code_order(const au *a, size_t *order)
{
	size_t i, n = 0;

	for (i = 0; i < a->ncodes; i++)
		if (a->codes[i].duplicate)
			order[n++] = i;
	for (i = 0; i < a->ncodes; i++)
		if (!a->codes[i].duplicate)
			order[n++] = i;
}

int au_write_codes_csv(const au *a, FILE *f)
{
	static const char *cols[] = {"code", "kind", "valid", "duplicate", "photos", "files", "nhsa_code",
	                             "generic_name", "labels", "photo_files"};
	size_t *order = malloc((a->ncodes ? a->ncodes : 1) * sizeof(size_t));
	ds_buf b = DS_BUF_INIT;
	size_t i, k;
	int rc = DS_OK;

	if (!order)
		return DS_ENOMEM;
	code_order(a, order);
	for (i = 0; i < sizeof(cols) / sizeof(cols[0]) && rc == DS_OK; i++)
		rc = cell(f, cols[i], i + 1 == sizeof(cols) / sizeof(cols[0]));
	for (i = 0; i < a->ncodes && rc == DS_OK; i++) {
		const au_code *c = &a->codes[order[i]];
		char num[32];
		ds_buf_clear(&b);
		ds_put_visible(&b, c->text, strlen(c->text));
		cell(f, b.ptr ? b.ptr : "", 0);
		cell(f, c->kind, 0);
		cell(f, c->valid ? "true" : "false", 0);
		cell(f, c->duplicate ? "true" : "false", 0);
		snprintf(num, sizeof(num), "%zu", c->nphotos);
		cell(f, num, 0);
		snprintf(num, sizeof(num), "%zu", c->files);
		cell(f, num, 0);
		cell(f, c->nhsa_code, 0);
		cell(f, c->generic_name, 0);
		cell(f, c->labels, 0);
		ds_buf_clear(&b);
		for (k = 0; k < c->nphotos; k++)
			ds_buf_printf(&b, "%s%s", k ? "; " : "", a->photos[c->photos[k]].file);
		rc = cell(f, b.ptr ? b.ptr : "", 1);
	}
	ds_buf_free(&b);
	free(order);
	if (rc == DS_OK && ferror(f))
		rc = DS_EIO;
	return rc;
}

/* ---- all three, each written whole before it replaces the old one ---- */

typedef int (*writer_fn)(const au *a, const au_run *run, FILE *results, const char *dir, ds_lang lang, FILE *out);

static int write_csv(const au *a, const au_run *run, FILE *results, const char *dir, ds_lang lang, FILE *out)
{
	(void)run, (void)results, (void)dir, (void)lang;
	return au_write_codes_csv(a, out);
}

static int write_summary(const au *a, const au_run *run, FILE *results, const char *dir, ds_lang lang, FILE *out)
{
	json_t *j = au_summary_json(a, run);
	int rc;

	(void)results, (void)dir, (void)lang;
	if (!j)
		return DS_ENOMEM;
	rc = json_dumpf(j, out, JSON_INDENT(2) | JSON_REAL_PRECISION(12)) < 0 || fputc('\n', out) == EOF ? DS_EIO : DS_OK;
	json_decref(j);
	return rc;
}

static int write_atomic(const char *dir, const char *name, writer_fn fn, const au *a, const au_run *run,
                        FILE *results, ds_lang lang, ds_error *err)
{
	char path[4096];
	ds_atomic out = DS_ATOMIC_INIT;
	int rc;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((rc = ds_atomic_open(&out, path, err)) < 0)
		return rc;
	rc = fn(a, run, results, dir, lang, out.f);
	if (rc != DS_OK) {
		int e = errno;
		ds_atomic_abort(&out);
		return ds_error_set(err, rc, rc == DS_ENOMEM ? "out of memory writing '%s'" : "cannot write '%s': %s", path,
		                    strerror(e));
	}
	return ds_atomic_commit(&out, err);
}

/* Now, as 2026-03-12T14:03:22+08:00 (local time and its offset from UTC). */
static void now_text(char out[40])
{
	time_t t = time(NULL);
	struct tm tm;
	size_t n;

	if (!localtime_r(&t, &tm) || (n = strftime(out, 40, "%Y-%m-%dT%H:%M:%S%z", &tm)) < 5) {
		snprintf(out, 40, "unknown");
		return;
	}
	/* +0800 -> +08:00 */
	out[n + 1] = '\0';
	out[n] = out[n - 1];
	out[n - 1] = out[n - 2];
	out[n - 2] = ':';
}

int ds_audit_report(const char *dir, const ds_audit_info *info, ds_lang lang, ds_audit_totals *totals,
                    ds_error *err)
{
	char path[4096], date[40];
	ds_audit_info run = *info;
	FILE *results;
	au a;
	size_t i;
	int rc;

	memset(&a, 0, sizeof(a));
	memset(totals, 0, sizeof(*totals));
	if (!run.date) {
		now_text(date);
		run.date = date;
	}
	snprintf(path, sizeof(path), "%s/results.jsonl", dir);
	results = fopen(path, "r");
	if (!results)
		return ds_error_set(err, DS_EIO, "cannot open '%s': %s", path, strerror(errno));
	rc = au_load(&a, results, 0, err);
	if (rc < 0) {
		char msg[DS_ERROR_MAX];
		snprintf(msg, sizeof(msg), "%s", err->message);
		ds_error_set(err, rc, "'%s': %s", path, msg);
	}
	if (rc == DS_OK && au_finish(&a) < 0)
		rc = ds_error_set(err, DS_ENOMEM, "out of memory");
	if (rc == DS_OK)
		rc = write_atomic(dir, "codes.csv", write_csv, &a, &run, results, lang, err);
	if (rc == DS_OK)
		rc = write_atomic(dir, "summary.json", write_summary, &a, &run, results, lang, err);
	if (rc == DS_OK)
		rc = write_atomic(dir, "report.html", au_write_html, &a, &run, results, lang, err);
	for (i = 0; i < a.nphotos; i++) {
		totals->flags |= a.photos[i].flags;
		totals->errors += (a.photos[i].flags & AU_ERROR) != 0;
	}
	totals->photos = a.nphotos;
	totals->codes = a.ncodes;
	totals->duplicates = a.nduplicates;
	fclose(results);
	au_free(&a);
	return rc;
}
