/*
 * search.c - finding list rows by the name on a box or a few typed
 * characters (docs/catalog-format.md, "Name search").
 *
 * Each list row's name is normalised (names.c) into keys: the name itself,
 * the names of a stacked row ("二甲双胍、二甲双胍Ⅱ"), the name without its
 * brackets and a bracketed alias ("埃索美拉唑(艾司奥美拉唑)"). A search
 * normalises the text the same way and ranks what it finds:
 *   0  a row whose name is the text,
 *   1  a row with an alias or stacked name that is the text,
 *   2  a row whose name is inside the text (the salt or maker on a box:
 *      阿托伐他汀钙片 finds 阿托伐他汀),
 *   3  a row whose name holds the text (FTS5 trigram for 3 or more
 *      characters, LIKE for fewer),
 * and within a rank, rows whose dosage form agrees with the text's first.
 * A row in another form than the text names comes after all the others: a
 * box of 磷酸奥司他韦胶囊 is 奥司他韦 in capsules (rank 2) before the
 * 磷酸奥司他韦干混悬剂 (rank 0, another form).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* ---- the index ---- */

int cat_search_rebuild(sqlite3 *db, ds_error *err)
{
	sqlite3_stmt *rows = NULL, *key = NULL, *fts = NULL;
	int rc = DS_OK, step = SQLITE_DONE;
	/* the list's rows; a catalog without a list (a bundle, the demo) is searched whole */
	long listed = cat_count(db, "SELECT count(*) FROM drugs WHERE list_key = nhsa_code", err);
	const char *scope = listed > 0 ? "SELECT nhsa_code, generic_name, dosage_form FROM drugs WHERE list_key = nhsa_code"
	                               : "SELECT nhsa_code, generic_name, dosage_form FROM drugs";

	if (listed < 0 || cat_exec(db, "DELETE FROM name_keys; DELETE FROM name_search;", err) < 0)
		return DS_EIO;
	if (sqlite3_prepare_v2(db, scope, -1, &rows, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, "INSERT OR IGNORE INTO name_keys (key, nhsa_code, quality, form) VALUES (?1, ?2, ?3, ?4)",
	                       -1, &key, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, "INSERT INTO name_search (nhsa_code, text) VALUES (?1, ?2)", -1, &fts, NULL) != SQLITE_OK)
		rc = cat_sql_error(db, 0, err);
	while (rc == DS_OK && (step = sqlite3_step(rows)) == SQLITE_ROW) {
		const char *code = (const char *)sqlite3_column_text(rows, 0);
		const char *name = (const char *)sqlite3_column_text(rows, 1);
		cat_name_key keys[CAT_MAX_KEYS];
		char full[CAT_NAME_MAX];
		size_t n = cat_name_keys(keys, CAT_MAX_KEYS, name, (const char *)sqlite3_column_text(rows, 2)), i;
		for (i = 0; i < n && rc == DS_OK; i++) {
			sqlite3_bind_text(key, 1, keys[i].key, -1, SQLITE_STATIC);
			sqlite3_bind_text(key, 2, code, -1, SQLITE_STATIC);
			sqlite3_bind_int(key, 3, keys[i].quality);
			sqlite3_bind_text(key, 4, keys[i].form ? keys[i].form : "", -1, SQLITE_STATIC);
			if ((step = sqlite3_step(key)) != SQLITE_DONE)
				rc = cat_sql_error(db, step, err);
			sqlite3_reset(key);
		}
		cat_name_norm(full, sizeof(full), name, strlen(name));
		sqlite3_bind_text(fts, 1, code, -1, SQLITE_STATIC);
		sqlite3_bind_text(fts, 2, full, -1, SQLITE_STATIC);
		if (rc == DS_OK && (step = sqlite3_step(fts)) != SQLITE_DONE)
			rc = cat_sql_error(db, step, err);
		sqlite3_reset(fts);
	}
	if (rc == DS_OK && step != SQLITE_DONE)
		rc = cat_sql_error(db, step, err);
	sqlite3_finalize(rows);
	sqlite3_finalize(key);
	sqlite3_finalize(fts);
	return rc;
}

/* ---- a search ---- */

typedef struct hit {
	char code[64];
	int form_conflict; /* the text names a form and the row is another: after every row that is not */
	int rank, form_match;
	size_t keylen;    /* rank 2: the longer the name found inside the text, the better */
	int section;      /* the list's order of sections */
	long number;
} hit;

typedef struct hits {
	hit *v;
	size_t n, cap;
} hits;

static int section_order(const char *section)
{
	static const char *const order[] = {"西药部分", "中成药部分", "协议期内谈判药品部分-西药", "协议期内谈判药品部分-中成药",
	                                    "竞价药品部分", "商保创新药目录"};
	size_t i;

	for (i = 0; i < sizeof(order) / sizeof(order[0]); i++)
		if (!strcmp(order[i], section))
			return (int)i;
	return 9;
}

static int better(const hit *a, const hit *b)
{
	if (a->form_conflict != b->form_conflict)
		return a->form_conflict < b->form_conflict;
	if (a->rank != b->rank)
		return a->rank < b->rank;
	if (a->form_match != b->form_match)
		return a->form_match > b->form_match;
	return a->keylen > b->keylen;
}

static int add_hit(hits *h, const hit *x)
{
	size_t i;

	for (i = 0; i < h->n; i++)
		if (!strcmp(h->v[i].code, x->code)) {
			if (better(x, &h->v[i]))
				h->v[i] = *x;
			return DS_OK;
		}
	if (h->n == h->cap) {
		size_t cap = h->cap ? h->cap * 2 : 64;
		hit *v = realloc(h->v, cap * sizeof(*v));
		if (!v)
			return DS_ENOMEM;
		h->v = v;
		h->cap = cap;
	}
	h->v[h->n++] = *x;
	return DS_OK;
}

static int cmp_hit(const void *pa, const void *pb)
{
	const hit *a = pa, *b = pb;

	if (better(a, b))
		return -1;
	if (better(b, a))
		return 1;
	if (a->section != b->section)
		return a->section - b->section;
	if (a->number != b->number)
		return a->number < b->number ? -1 : 1;
	return strcmp(a->code, b->code);
}

/* Run one query (columns: code, key, quality, form, section, number) into the hits. */
static int gather(ds_catalog *cat, const char *sql, const char *arg, int rank, const char *qform, hits *h,
                  ds_error *err)
{
	sqlite3_stmt *st;
	int rc = sqlite3_prepare_v2(cat->db, sql, -1, &st, NULL);

	if (rc != SQLITE_OK)
		return cat_sql_error(cat->db, rc, err);
	sqlite3_bind_text(st, 1, arg, -1, SQLITE_STATIC);
	rc = DS_OK;
	while (rc == DS_OK && cat_step(cat, st) == SQLITE_ROW) {
		hit x;
		const char *key = sqlite3_column_type(st, 1) == SQLITE_NULL ? NULL : cat_text(cat, st, 1);
		const char *form = cat_text(cat, st, 3);
		memset(&x, 0, sizeof(x));
		snprintf(x.code, sizeof(x.code), "%s", cat_text(cat, st, 0));
		x.rank = rank < 0 ? (sqlite3_column_int(st, 2) ? 1 : 0) : rank;
		x.form_match = cat_form_agrees(qform, form);
		x.form_conflict = qform && *form && !x.form_match;
		x.keylen = key ? strlen(key) : 0;
		x.section = section_order(cat_text(cat, st, 4));
		x.number = (long)sqlite3_column_int64(st, 5);
		if (add_hit(h, &x) < 0)
			rc = ds_error_set(err, DS_ENOMEM, "out of memory");
	}
	sqlite3_finalize(st);
	return rc < 0 ? rc : cat_failed(cat, err);
}

static size_t nchars(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += ((unsigned char)*s & 0xC0) != 0x80;
	return n;
}

#define HIT_COLS "k.nhsa_code, k.key, k.quality, k.form, d.section, d.primary_no"

/* Every row the text finds, best first. */
static int collect(ds_catalog *cat, const char *text, hits *h, ds_error *err)
{
	char key[CAT_NAME_MAX], pattern[CAT_NAME_MAX * 2 + 8];
	const char *qform;
	size_t i, o = 0;
	int rc;

	if (!text || cat_name_norm(key, sizeof(key), text, strlen(text)) == 0)
		return ds_error_set(err, DS_EINVAL, "nothing to search for");
	qform = cat_name_strip_form(key);
	rc = gather(cat, "SELECT " HIT_COLS " FROM name_keys k JOIN drugs d USING (nhsa_code) WHERE k.key = ?1", key, -1,
	            qform, h, err);
	if (rc == DS_OK)
		rc = gather(cat,
		            "SELECT " HIT_COLS " FROM name_keys k JOIN drugs d USING (nhsa_code) WHERE length(k.key) >= 2"
		            " AND k.quality < 2 AND k.key != ?1 AND instr(?1, k.key) > 0",
		            key, 2, qform, h, err);
	if (rc != DS_OK)
		return rc;
	if (nchars(key) >= 3) { /* FTS5 trigram: the text inside a name */
		pattern[o++] = '"';
		for (i = 0; key[i] && o < sizeof(pattern) - 3; i++) {
			if (key[i] == '"')
				pattern[o++] = '"';
			pattern[o++] = key[i];
		}
		pattern[o++] = '"';
		pattern[o] = '\0';
		return gather(cat,
		              "SELECT s.nhsa_code, NULL, 0, ifnull((SELECT form FROM name_keys k WHERE k.nhsa_code = s.nhsa_code"
		              " AND k.quality = 0), ''), d.section, d.primary_no FROM name_search s JOIN drugs d USING (nhsa_code)"
		              " WHERE name_search MATCH ?1",
		              pattern, 3, qform, h, err);
	}
	pattern[o++] = '%';
	for (i = 0; key[i] && o < sizeof(pattern) - 3; i++) {
		if (key[i] == '%' || key[i] == '_' || key[i] == '\\')
			pattern[o++] = '\\';
		pattern[o++] = key[i];
	}
	pattern[o++] = '%';
	pattern[o] = '\0';
	return gather(cat,
	              "SELECT s.nhsa_code, NULL, 0, ifnull((SELECT form FROM name_keys k WHERE k.nhsa_code = s.nhsa_code"
	              " AND k.quality = 0), ''), d.section, d.primary_no FROM name_search s JOIN drugs d USING (nhsa_code)"
	              " WHERE s.text LIKE ?1 ESCAPE '\\'",
	              pattern, 3, qform, h, err);
}

static int has_label(const ds_label *labels, size_t n, const char *id)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!strcmp(labels[i].id, id))
			return 1;
	return 0;
}

/* Tell fn about one hit: the row, its labels, its heading. */
static int report(ds_catalog *cat, const hit *x, const ds_lookup_opts *opts, ds_drug *d, ds_label *labels,
                  ds_search_fn fn, void *ctx, ds_error *err)
{
	ds_search_hit sh;
	sqlite3_stmt *st;
	char category[256] = "";
	size_t n = 0;
	int rc = cat_get_drug(cat, x->code, d);

	if (rc <= 0)
		return cat_failed(cat, err);
	cat_drug_labels(cat, d, opts, labels, &n, DS_MAX_LABELS);
	if (d->category_code[0]) {
		if ((rc = sqlite3_prepare_v2(cat->db, "SELECT name FROM categories WHERE code = ?1", -1, &st, NULL)) != SQLITE_OK)
			return cat_sql_error(cat->db, rc, err);
		sqlite3_bind_text(st, 1, d->category_code, -1, SQLITE_STATIC);
		if (cat_step(cat, st) == SQLITE_ROW)
			snprintf(category, sizeof(category), "%s", cat_text(cat, st, 0));
		sqlite3_finalize(st);
	}
	if (cat_failed(cat, err) < 0)
		return DS_EIO;
	memset(&sh, 0, sizeof(sh));
	sh.drug = d;
	sh.rank = x->rank;
	sh.form_match = x->form_match;
	sh.new_2025 = has_label(labels, n, "nrdl.new_2025");
	sh.commercial = has_label(labels, n, "list.commercial_innovative");
	sh.category_name = category;
	sh.labels = labels;
	sh.nlabels = n;
	return fn(ctx, &sh) ? 1 : DS_OK;
}

/* Report hits [from, to) of h. */
static int report_range(ds_catalog *cat, const hits *h, size_t from, size_t to, const ds_lookup_opts *opts,
                        ds_search_fn fn, void *ctx, ds_error *err)
{
	ds_drug *d = malloc(sizeof(*d));
	ds_label *labels = malloc(DS_MAX_LABELS * sizeof(*labels));
	size_t i;
	int rc = DS_OK;

	if (!d || !labels)
		rc = ds_error_set(err, DS_ENOMEM, "out of memory");
	for (i = from; i < to && rc == DS_OK; i++)
		rc = report(cat, &h->v[i], opts, d, labels, fn, ctx, err);
	free(d);
	free(labels);
	return rc < 0 ? rc : DS_OK;
}

int ds_catalog_search(ds_catalog *cat, const char *text, const ds_lookup_opts *opts, size_t limit,
                      ds_search_fn fn, void *ctx, size_t *total, ds_error *err)
{
	ds_lookup_opts defaults = {DS_INS_ANY, DS_LANG_EN, NULL};
	hits h = {NULL, 0, 0};
	int rc;

	if (total)
		*total = 0;
	if (!opts)
		opts = &defaults;
	rc = cat_read_begin(cat, err);
	if (rc == DS_OK)
		rc = collect(cat, text, &h, err);
	if (rc == DS_OK) {
		if (h.n)
			qsort(h.v, h.n, sizeof(*h.v), cmp_hit);
		if (total)
			*total = h.n;
		rc = report_range(cat, &h, 0, h.n < (limit ? limit : 20) ? h.n : (limit ? limit : 20), opts, fn, ctx, err);
	}
	free(h.v);
	return rc;
}

/*
 * A name to one row: the best hit, when no other hit is as good and it is
 * the name itself, an alias, or a name inside the text. Otherwise the
 * candidates go to fn and the name is refused.
 */
int cat_resolve_name(ds_catalog *cat, const char *name, char *key, size_t size, ds_search_fn fn, void *ctx,
                     ds_error *err)
{
	ds_lookup_opts o = {DS_INS_ANY, DS_LANG_ZH, NULL};
	hits h = {NULL, 0, 0};
	size_t same = 0;
	int rc;

	rc = cat_read_begin(cat, err);
	if (rc == DS_OK)
		rc = collect(cat, name, &h, err);
	if (rc == DS_OK && h.n == 0)
		rc = ds_error_set(err, DS_ENOTFOUND, "no list row is named '%s' (try `drugscan catalog search`)", name);
	if (rc == DS_OK) {
		qsort(h.v, h.n, sizeof(*h.v), cmp_hit);
		while (same < h.n && !better(&h.v[0], &h.v[same]))
			same++;
		if (same == 1 && h.v[0].rank <= 2) {
			snprintf(key, size, "%s", h.v[0].code);
		} else {
			size_t show = h.v[0].rank <= 2 ? same : h.n;
			if (h.v[0].rank <= 2)
				rc = ds_error_set(err, DS_EINVAL, "'%s' is ambiguous: %zu list rows match it equally well; give the row"
				                                  " as SECTION:NUMBER or its key", name, show);
			else
				rc = ds_error_set(err, DS_EINVAL, "no list row is named '%s'; %zu rows contain it: give the row as"
				                                  " SECTION:NUMBER or its key", name, show);
			if (fn)
				report_range(cat, &h, 0, show < 20 ? show : 20, &o, fn, ctx, NULL);
		}
	}
	free(h.v);
	return rc;
}
