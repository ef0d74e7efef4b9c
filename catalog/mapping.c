/*
 * mapping.c - 对照: the pharmacy's own link from a code to a drug.
 *
 * No public table maps the 7-digit 药品标识码 of a 20-digit trace code (or a
 * GTIN, or an MA DI) to a drug: pharmacies build it in their own systems and
 * distributors send it with deliveries. drugscan keeps it in local_identifiers,
 * with the pharmacy's own lists and policies (local_lists, local_list_members,
 * local_policies). Imports of national data leave these tables alone, and
 * `catalog update` and a rebuild copy them into the new catalog
 * (cat_copy_local).
 *
 * A mapping names its target as an NHSA drug code or a list-row key; when it
 * is made, the target may also be given as SECTION:NUMBER or, on the command
 * line, as a name (search.c resolves it and refuses an ambiguous one).
 */
#include <csv.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* ---- targets ---- */

/* "693", "★(693)", "★693", "*693", "693-S2": the number, the ★ index (-1 any ★ row, 0 none). */
static long parse_number(const char *s, int *star)
{
	static const char *const stars[] = {"★(", "★（", "★", "*"};
	char digits[16];
	size_t i, n = 0;
	long no;

	*star = 0;
	for (i = 0; i < 4; i++)
		if (!strncmp(s, stars[i], strlen(stars[i]))) {
			s += strlen(stars[i]);
			*star = -1;
			break;
		}
	while (*s >= '0' && *s <= '9' && n < sizeof(digits) - 1)
		digits[n++] = *s++;
	digits[n] = '\0';
	if (!n || n > 4)
		return -1;
	no = strtol(digits, NULL, 10);
	if (*star && (!strcmp(s, ")") || !strcmp(s, "）")))
		s += strlen(s);
	if (!*star && (s[0] == '-' || s[0] == '/') && (s[1] == 'S' || s[1] == 's') && s[2] >= '1' && s[2] <= '9') {
		*star = (int)strtol(s + 2, NULL, 10);
		s += 2;
		while (*s >= '0' && *s <= '9')
			s++;
	}
	return *s ? -1 : no;
}

/* SECTION:NUMBER to a key; 1 found, 0 not, -1 several ★ rows (listed in why), DS_EIO a failed query. */
static int section_number(sqlite3 *db, const char *target, char *key, size_t size, char *why, size_t wsize,
                          ds_error *err)
{
	char sec[96];
	const char *colon = strrchr(target, ':'), *wide = strstr(target, "："), *num;
	const cat_section *s;
	sqlite3_stmt *st;
	int star, found = 0, rc;
	long no;

	if (wide && (!colon || wide > colon))
		colon = wide, num = wide + strlen("：");
	else if (colon)
		num = colon + 1;
	else
		return 0;
	snprintf(sec, sizeof(sec), "%.*s", (int)(colon - target), target);
	if (!(s = cat_section_by_alias(sec)) || (no = parse_number(num, &star)) < 0)
		return 0;
	if ((rc = sqlite3_prepare_v2(db,
	                             "SELECT nhsa_code, list_no FROM drugs WHERE list_key = nhsa_code AND section = ?1"
	                             " AND primary_no = ?2 ORDER BY nhsa_code",
	                             -1, &st, NULL)) != SQLITE_OK)
		return cat_sql_error(db, rc, err);
	sqlite3_bind_text(st, 1, s->name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, no);
	if (why && wsize)
		why[0] = '\0';
	while ((rc = sqlite3_step(st)) == SQLITE_ROW && cat_text_ok(st, 0) && cat_text_ok(st, 1)) {
		const char *k = (const char *)sqlite3_column_text(st, 0);
		int is_star = strstr((const char *)sqlite3_column_text(st, 1), "★") != NULL;
		char want[16];
		size_t kl = strlen(k), wl;
		int keep;
		snprintf(want, sizeof(want), "-S%d", star);
		wl = strlen(want);
		if (star == 0)
			keep = !is_star;
		else if (star < 0)
			keep = is_star;
		else
			keep = kl >= wl && !strcmp(k + kl - wl, want);
		if (!keep)
			continue;
		if (found++ == 0)
			snprintf(key, size, "%s", k);
		if (why && wsize) {
			size_t used = strlen(why);
			snprintf(why + used, wsize - used, "%s%s", used ? ", " : "", k);
		}
	}
	if (rc == SQLITE_ROW)
		rc = cat_damaged(db, "a text in it is not UTF-8", err);
	else if (rc != SQLITE_DONE)
		rc = cat_sql_error(db, rc, err);
	sqlite3_finalize(st);
	return rc < 0 ? DS_EIO : found > 1 ? -1 : found;
}

int cat_resolve_key(sqlite3 *db, const char *target, char *key, size_t size, char *why, size_t wsize, ds_error *err)
{
	sqlite3_stmt *st;
	int rc;

	if (!target || !*target)
		return 0;
	if ((rc = sqlite3_prepare_v2(db, "SELECT 1 FROM drugs WHERE nhsa_code = ?1", -1, &st, NULL)) != SQLITE_OK)
		return cat_sql_error(db, rc, err);
	sqlite3_bind_text(st, 1, target, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc == SQLITE_ROW) {
		snprintf(key, size, "%s", target);
		return 1;
	}
	if (rc != SQLITE_DONE)
		return cat_sql_error(db, rc, err);
	return section_number(db, target, key, size, why, wsize, err);
}

int ds_catalog_resolve(ds_catalog *cat, const char *target, char *key, size_t size, ds_search_fn fn, void *ctx,
                       ds_error *err)
{
	char why[512];
	int rc = cat_resolve_key(cat->db, target, key, size, why, sizeof(why), err);

	if (rc > 0)
		return DS_OK;
	if (rc < -1)
		return rc;
	if (rc < 0)
		return ds_error_set(err, DS_EINVAL, "'%s' names several ★ rows (%s): give one as SECTION:NUMBER-Sk or its key",
		                    target, why);
	return cat_resolve_name(cat, target, key, size, fn, ctx, err);
}

/* ---- identifiers ---- */

static int gtin_ok(const char *d)
{
	size_t n = strlen(d), i;
	int sum = 0, w = 3;

	for (i = n - 1; i-- > 0;) {
		sum += (d[i] - '0') * w;
		w = w == 3 ? 1 : 3;
	}
	return (10 - sum % 10) % 10 == d[n - 1] - '0';
}

int ds_catalog_identifier(char *type, size_t tsize, char *value, size_t vsize, const char *code, ds_error *err)
{
	size_t n = code ? strlen(code) : 0;
	ds_trace_opts topts;
	ds_code c;
	const char *t = NULL;
	char v[64];
	int rc;

	if (n && imp_all_digits(code, n) && (n == 7 || n == 8 || n == 12 || n == 13 || n == 14)) {
		if (n == 7) {
			snprintf(type, tsize, "trace_prefix");
			snprintf(value, vsize, "%s", code);
			return DS_OK;
		}
		snprintf(v, sizeof(v), "%0*d%s", (int)(14 - n), 0, code);
		if (n == 14)
			snprintf(v, sizeof(v), "%s", code);
		if (!gtin_ok(v))
			return ds_error_set(err, DS_EINVAL, "'%s' is not a GTIN: its check digit is wrong", code);
		snprintf(type, tsize, "gtin");
		snprintf(value, vsize, "%s", v);
		return DS_OK;
	}
	if (n > 3 && !strncmp(code, "MA.", 3) && !strstr(code, ".S") && !strstr(code, ".L") && !strstr(code, ".E")) {
		snprintf(type, tsize, "ma_di");
		snprintf(value, vsize, "%s", code);
		return DS_OK;
	}
	ds_code_init(&c);
	ds_trace_opts_default(&topts);
	rc = ds_trace_parse(&c, code ? code : "", n, NULL, NULL, &topts);
	if (rc == DS_OK && (!cat_product_key(&c, &t, v, sizeof(v)) || (!c.valid && c.kind != DS_KIND_PRODUCT_BARCODE)))
		rc = ds_error_set(err, DS_EINVAL, "'%s' names no product: give a trace code, its 7-digit prefix, a GTIN or an"
		                                  " MA DI",
		                  code ? code : "");
	else if (rc != DS_OK)
		rc = ds_error_set(err, rc, "out of memory");
	ds_code_free(&c);
	if (rc != DS_OK)
		return rc;
	if (!strcmp(t, "ean13")) /* a product barcode: kept as its GTIN-14 */
		return ds_catalog_identifier(type, tsize, value, vsize, v, err);
	snprintf(type, tsize, "%s", t);
	snprintf(value, vsize, "%s", v);
	return DS_OK;
}

/* ---- the mapping file ---- */

static const char *guess_type(const char *v)
{
	size_t n = strlen(v);

	if (imp_all_digits(v, n) && n == 7)
		return "trace_prefix";
	if (imp_all_digits(v, n) && (n == 8 || n == 12 || n == 13 || n == 14))
		return "gtin";
	if (!strncmp(v, "MA.", 3))
		return "ma_di";
	return NULL;
}

void imp_mapping(importer *im)
{
	const char *type = imp_fld(im, M_TYPE), *id = imp_fld(im, M_ID), *target = imp_fld(im, M_TARGET);
	const char *added = imp_fld(im, M_ADDED);
	char value[64], key[64], why[256];
	int ok1, ok2, demo = imp_parse_bool(imp_fld(im, M_DEMO)), found;
	long level = imp_parse_int(imp_fld(im, M_LEVEL), 1, 1, 9, &ok1);
	long units = imp_parse_int(imp_fld(im, M_UNITS), 0, 0, 1000000, &ok2);
	sqlite3_stmt *st = im->ins;

	if (!id[0])
		return imp_bad(im, imp_colno(im, M_ID), "identifier is empty");
	if (!type[0] && !(type = guess_type(id)))
		return imp_bad(im, imp_colno(im, M_ID), "cannot tell what identifier '%s' is: give its id_type", id);
	if (!imp_known_ident_type(type) || !strcmp(type, "standard_code"))
		return imp_bad(im, imp_colno(im, M_TYPE), "id_type '%s' is not trace_prefix, gtin, ean13 or ma_di", type);
	if (!imp_check_ident(im, type, id, imp_colno(im, M_ID), value, sizeof(value)))
		return;
	found = cat_resolve_key(im->db, target, key, sizeof(key), why, sizeof(why), im->err);
	if (found < -1) {
		im->fatal = 1;
		return;
	}
	if (found < 0)
		return imp_bad(im, imp_colno(im, M_TARGET), "target '%s' names several ★ rows (%s)", target, why);
	if (found == 0)
		return imp_bad(im, imp_colno(im, M_TARGET),
		               "target '%s' is not in the catalog (an NHSA drug code, a list-row key such as NRDL2025-W-0693,"
		               " or SECTION:NUMBER such as W:693)",
		               target);
	if (!ok1)
		return imp_bad(im, imp_colno(im, M_LEVEL), "package_level '%s' is not 1-9", imp_fld(im, M_LEVEL));
	if (!ok2)
		return imp_bad(im, imp_colno(im, M_UNITS), "units '%s' is not a whole number", imp_fld(im, M_UNITS));
	if (demo < 0)
		return imp_bad(im, imp_colno(im, M_DEMO), "demo '%s' is not 0 or 1", imp_fld(im, M_DEMO));
	sqlite3_bind_text(st, 1, type, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, value, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 3, key, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 4, level);
	sqlite3_bind_int64(st, 5, units);
	sqlite3_bind_int(st, 6, demo);
	sqlite3_bind_text(st, 7, imp_fld(im, M_NOTE), -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 8, added, -1, SQLITE_TRANSIENT);
	imp_step(im, st);
}

/* ---- the mapping API ---- */

static void forget(ds_catalog *cat)
{
	cat_read_end(cat);
	cat_cache_clear(cat); /* our own writes do not change data_version */
}

/* After our own write: what the lookups know of the local tables. */
static int written(ds_catalog *cat, int rc, ds_error *err)
{
	int loaded = cat_load_period(cat, rc < 0 ? NULL : err);

	return rc < 0 ? rc : loaded;
}

static void read_mapping(ds_catalog *cat, sqlite3_stmt *st, ds_mapping *m)
{
	int i;
	struct {
		char *dst;
		size_t size;
	} cols[] = {{m->type, sizeof(m->type)}, {m->value, sizeof(m->value)}, {m->target, sizeof(m->target)},
	            {NULL, 0}, {NULL, 0}, {NULL, 0}, {m->note, sizeof(m->note)}, {m->added_at, sizeof(m->added_at)},
	            {m->name, sizeof(m->name)}, {m->section, sizeof(m->section)}, {m->list_no, sizeof(m->list_no)}};

	memset(m, 0, sizeof(*m));
	for (i = 0; i < 11; i++)
		if (cols[i].dst)
			snprintf(cols[i].dst, cols[i].size, "%s", cat_text(cat, st, i));
	m->package_level = sqlite3_column_int(st, 3);
	m->units = sqlite3_column_int(st, 4);
	m->demo = sqlite3_column_int(st, 5);
	m->resolved = sqlite3_column_type(st, 8) != SQLITE_NULL;
}

#define MAPPING_SQL                                                                                         \
	"SELECT l.type, l.value, l.nhsa_code, l.package_level, l.units, l.demo, l.note, l.added_at,"            \
	" d.generic_name, d.section, d.list_no FROM local_identifiers l LEFT JOIN drugs d ON d.nhsa_code = l.nhsa_code"

int ds_catalog_get_mapping(ds_catalog *cat, const char *code, ds_mapping *out, int *found, ds_error *err)
{
	char type[16], value[64];
	sqlite3_stmt *st;
	int rc = ds_catalog_identifier(type, sizeof(type), value, sizeof(value), code, err);

	*found = 0;
	if (rc < 0)
		return rc;
	if ((rc = sqlite3_prepare_v2(cat->db, MAPPING_SQL " WHERE l.type = ?1 AND l.value = ?2", -1, &st, NULL)) !=
	    SQLITE_OK)
		return cat_sql_error(cat->db, rc, err);
	sqlite3_bind_text(st, 1, type, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, value, -1, SQLITE_STATIC);
	cat->fail_rc = 0;
	if (cat_step(cat, st) == SQLITE_ROW) {
		read_mapping(cat, st, out);
		*found = 1;
	} else {
		memset(out, 0, sizeof(*out));
		snprintf(out->type, sizeof(out->type), "%s", type);
		snprintf(out->value, sizeof(out->value), "%s", value);
	}
	sqlite3_finalize(st);
	if (cat->fail_rc)
		*found = 0;
	return cat_failed(cat, err);
}

int ds_catalog_map(ds_catalog *cat, const char *code, const char *target, const ds_map_opts *opts,
                   ds_mapping *out, ds_search_fn candidates, void *ctx, ds_error *err)
{
	char type[16], value[64], key[64];
	ds_map_opts none = {1, 0, 0, NULL};
	sqlite3_stmt *st;
	int rc, found;

	if (!opts)
		opts = &none;
	if (opts->package_level < 0 || opts->package_level > 9 || opts->units < 0 || opts->units > 1000000)
		return ds_error_set(err, DS_EINVAL, "package level 1-9 and units 0-1000000");
	rc = ds_catalog_identifier(type, sizeof(type), value, sizeof(value), code, err);
	if (rc == DS_OK)
		rc = ds_catalog_resolve(cat, target, key, sizeof(key), candidates, ctx, err);
	if (rc < 0)
		return rc;
	forget(cat);
	if ((rc = sqlite3_prepare_v2(cat->db,
	                             "INSERT OR REPLACE INTO local_identifiers (type, value, nhsa_code, package_level, units,"
	                             " demo, note, added_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7,"
	                             " strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))",
	                             -1, &st, NULL)) != SQLITE_OK)
		return cat_sql_error(cat->db, rc, err);
	sqlite3_bind_text(st, 1, type, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, value, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, key, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 4, opts->package_level ? opts->package_level : 1);
	sqlite3_bind_int(st, 5, opts->units);
	sqlite3_bind_int(st, 6, opts->demo != 0);
	sqlite3_bind_text(st, 7, opts->note ? opts->note : "", -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	rc = written(cat, rc == SQLITE_DONE ? DS_OK : cat_sql_error(cat->db, rc, err), err);
	sqlite3_finalize(st);
	if (rc == DS_OK && out)
		rc = ds_catalog_get_mapping(cat, code, out, &found, err);
	return rc;
}

int ds_catalog_unmap(ds_catalog *cat, const char *code, int *removed, ds_error *err)
{
	char type[16], value[64];
	sqlite3_stmt *st;
	int rc = ds_catalog_identifier(type, sizeof(type), value, sizeof(value), code, err);

	*removed = 0;
	if (rc < 0)
		return rc;
	forget(cat);
	if ((rc = sqlite3_prepare_v2(cat->db, "DELETE FROM local_identifiers WHERE type = ?1 AND value = ?2", -1, &st,
	                             NULL)) != SQLITE_OK)
		return cat_sql_error(cat->db, rc, err);
	sqlite3_bind_text(st, 1, type, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, value, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	rc = rc == SQLITE_DONE ? DS_OK : cat_sql_error(cat->db, rc, err);
	*removed = rc == DS_OK && sqlite3_changes(cat->db) > 0;
	rc = written(cat, rc, err);
	sqlite3_finalize(st);
	return rc;
}

int ds_catalog_each_mapping(ds_catalog *cat, ds_mapping_fn fn, void *ctx, ds_error *err)
{
	sqlite3_stmt *st;
	ds_mapping m;
	int rc = sqlite3_prepare_v2(cat->db, MAPPING_SQL " ORDER BY l.type, l.value", -1, &st, NULL);

	if (rc != SQLITE_OK)
		return cat_sql_error(cat->db, rc, err);
	rc = DS_OK;
	cat->fail_rc = 0;
	while (rc == DS_OK && cat_step(cat, st) == SQLITE_ROW) {
		read_mapping(cat, st, &m);
		rc = cat->fail_rc ? DS_OK : fn(ctx, &m);
	}
	sqlite3_finalize(st);
	return cat->fail_rc ? cat_failed(cat, err) : rc;
}

static int csv_row(FILE *out, const char *const *cells, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if ((i && fputc(',', out) == EOF) || csv_fwrite(out, cells[i], strlen(cells[i])) != 0)
			return -1;
	return fputs("\r\n", out) == EOF ? -1 : 0;
}

typedef struct export_ctx {
	FILE *out;
	int errno_; /* of the first write that failed */
} export_ctx;

static int export_one(void *ctx, const ds_mapping *m)
{
	export_ctx *x = ctx;
	char level[16], units[16];
	const char *cells[9];

	snprintf(level, sizeof(level), "%d", m->package_level);
	snprintf(units, sizeof(units), "%d", m->units);
	cells[0] = m->type, cells[1] = m->value, cells[2] = m->target, cells[3] = level, cells[4] = units;
	cells[5] = m->demo ? "1" : "0", cells[6] = m->note, cells[7] = m->added_at, cells[8] = m->name;
	if (csv_row(x->out, cells, 9) == 0)
		return 0;
	x->errno_ = errno ? errno : EIO;
	return 1; /* stops the walk: the output failed */
}

int ds_catalog_export_map(ds_catalog *cat, FILE *out, ds_error *err)
{
	static const char *const header[] = {"id_type", "identifier", "target", "package_level", "units",
	                                     "demo", "note", "added_at", "target_name"};
	export_ctx x = {out, 0};
	int rc;

	if (csv_row(out, header, 9) < 0)
		return ds_error_set(err, DS_EIO, "cannot write output: %s", strerror(errno ? errno : EIO));
	rc = ds_catalog_each_mapping(cat, export_one, &x, err);
	if (rc < 0)
		return rc; /* the database */
	if (rc == 0 && (fflush(out) != 0 || ferror(out)))
		x.errno_ = errno ? errno : EIO;
	return x.errno_ ? ds_error_set(err, DS_EIO, "cannot write output: %s", strerror(x.errno_)) : DS_OK;
}

/* ---- keeping the local tables ---- */

static const struct {
	const char *table, *columns;
} local_tables[] = {
	{"local_identifiers", "type, value, nhsa_code, package_level, units, demo, note, added_at"},
	{"local_lists", "list_id, name_zh, name_en, source, label_id, severity"},
	{"local_list_members", "list_id, nhsa_code"},
	{"local_policies", "scope, insurance, setting, label_id, ratio, text_zh, text_en, source"},
};

int cat_copy_local(sqlite3 *db, const char *old_path, ds_error *err)
{
	sqlite3_stmt *st;
	size_t i;
	int rc = DS_OK;

	if (sqlite3_prepare_v2(db, "ATTACH DATABASE ?1 AS old", -1, &st, NULL) != SQLITE_OK)
		return cat_sql_error(db, 0, err);
	sqlite3_bind_text(st, 1, old_path, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE)
		rc = ds_error_set(err, DS_EIO, "cannot read the old catalog '%s': %s", old_path, sqlite3_errmsg(db));
	sqlite3_finalize(st);
	if (rc < 0)
		return rc;
	for (i = 0; i < sizeof(local_tables) / sizeof(local_tables[0]) && rc == DS_OK; i++) {
		char sql[512], probe[128];
		long n;
		snprintf(probe, sizeof(probe), "SELECT count(*) FROM old.sqlite_master WHERE type = 'table' AND name = '%s'",
		         local_tables[i].table);
		if ((n = cat_count(db, probe, err)) <= 0) {
			rc = n < 0 ? DS_EIO : DS_OK;
			continue; /* an older catalog, from before the local tables */
		}
		snprintf(sql, sizeof(sql), "INSERT OR REPLACE INTO main.%s (%s) SELECT %s FROM old.%s", local_tables[i].table,
		         local_tables[i].columns, local_tables[i].columns, local_tables[i].table);
		rc = cat_exec(db, sql, err);
	}
	sqlite3_exec(db, "DETACH DATABASE old", NULL, NULL, NULL);
	return rc;
}
