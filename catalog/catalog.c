/*
 * catalog.c - open and migrate catalog.db, the data directory and the
 * default catalog (the compiled-in national list, or the demo), info and lists.
 */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

int cat_exec(sqlite3 *db, const char *sql, ds_error *err)
{
	int rc = sqlite3_exec(db, sql, NULL, NULL, NULL);

	return rc == SQLITE_OK ? DS_OK : cat_sql_error(db, rc, err);
}

static const char schema_v1[] =
	"CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
	"CREATE TABLE drugs ("
	" nhsa_code TEXT PRIMARY KEY, generic_name TEXT NOT NULL DEFAULT '', brand_name TEXT NOT NULL DEFAULT '',"
	" dosage_form TEXT NOT NULL DEFAULT '', spec TEXT NOT NULL DEFAULT '', pack TEXT NOT NULL DEFAULT '',"
	" manufacturer TEXT NOT NULL DEFAULT '', approval_no TEXT NOT NULL DEFAULT '',"
	" standard_code TEXT NOT NULL DEFAULT '', nrdl_no TEXT NOT NULL DEFAULT '',"
	" category TEXT CHECK (category IN ('A', 'B')), negotiated INTEGER NOT NULL DEFAULT 0,"
	" agreement_end TEXT NOT NULL DEFAULT '', payment_standard TEXT NOT NULL DEFAULT '',"
	" restriction TEXT NOT NULL DEFAULT '', remarks TEXT NOT NULL DEFAULT '');"
	"CREATE TABLE identifiers ("
	" type TEXT NOT NULL, value TEXT NOT NULL, nhsa_code TEXT NOT NULL,"
	" package_level INTEGER NOT NULL DEFAULT 1, units INTEGER NOT NULL DEFAULT 0,"
	" PRIMARY KEY (type, value, nhsa_code)) WITHOUT ROWID;"
	"CREATE TABLE lists (list_id TEXT PRIMARY KEY, name_zh TEXT NOT NULL DEFAULT '',"
	" name_en TEXT NOT NULL DEFAULT '', source TEXT NOT NULL DEFAULT '',"
	" label_id TEXT NOT NULL DEFAULT '', severity TEXT NOT NULL DEFAULT 'info');"
	"CREATE TABLE list_members (list_id TEXT NOT NULL, nhsa_code TEXT NOT NULL,"
	" PRIMARY KEY (nhsa_code, list_id)) WITHOUT ROWID;"
	"CREATE TABLE policies (scope TEXT NOT NULL, insurance TEXT NOT NULL, setting TEXT NOT NULL,"
	" label_id TEXT NOT NULL, ratio REAL, text_zh TEXT NOT NULL DEFAULT '', text_en TEXT NOT NULL DEFAULT '',"
	" PRIMARY KEY (scope, insurance, setting, label_id)) WITHOUT ROWID;"
	"CREATE TABLE recalls (type TEXT NOT NULL, value TEXT NOT NULL, batch TEXT NOT NULL DEFAULT '',"
	" reason TEXT NOT NULL DEFAULT '', date TEXT NOT NULL DEFAULT '',"
	" PRIMARY KEY (type, value, batch)) WITHOUT ROWID;";

/* v2: the national list's rows (section, number, key), name search, and the
 * pharmacy's own tables (local_*), which imports of national data leave alone. */
static const char schema_v2[] =
	"ALTER TABLE drugs ADD COLUMN section TEXT NOT NULL DEFAULT '';"
	"ALTER TABLE drugs ADD COLUMN list_no TEXT NOT NULL DEFAULT '';"
	"ALTER TABLE drugs ADD COLUMN primary_no INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE drugs ADD COLUMN agreement_period TEXT NOT NULL DEFAULT '';"
	"ALTER TABLE drugs ADD COLUMN category_code TEXT NOT NULL DEFAULT '';"
	"ALTER TABLE drugs ADD COLUMN list_key TEXT NOT NULL DEFAULT '';"
	"ALTER TABLE drugs ADD COLUMN list_name TEXT NOT NULL DEFAULT '';"
	"ALTER TABLE drugs ADD COLUMN list_form TEXT NOT NULL DEFAULT '';"
	"CREATE INDEX drugs_by_number ON drugs (primary_no) WHERE list_key = nhsa_code;"
	"ALTER TABLE policies ADD COLUMN source TEXT NOT NULL DEFAULT '';"
	"CREATE TABLE categories (code TEXT PRIMARY KEY, name TEXT NOT NULL DEFAULT '');"
	"CREATE TABLE name_keys (key TEXT NOT NULL, nhsa_code TEXT NOT NULL, quality INTEGER NOT NULL,"
	" form TEXT NOT NULL DEFAULT '', PRIMARY KEY (key, nhsa_code, form)) WITHOUT ROWID;"
	"CREATE VIRTUAL TABLE name_search USING fts5(nhsa_code UNINDEXED, text, tokenize = 'trigram');"
	"CREATE TABLE local_identifiers (type TEXT NOT NULL, value TEXT NOT NULL, nhsa_code TEXT NOT NULL,"
	" package_level INTEGER NOT NULL DEFAULT 1, units INTEGER NOT NULL DEFAULT 0, demo INTEGER NOT NULL DEFAULT 0,"
	" note TEXT NOT NULL DEFAULT '', added_at TEXT NOT NULL DEFAULT '', PRIMARY KEY (type, value)) WITHOUT ROWID;"
	"CREATE TABLE local_lists (list_id TEXT PRIMARY KEY, name_zh TEXT NOT NULL DEFAULT '',"
	" name_en TEXT NOT NULL DEFAULT '', source TEXT NOT NULL DEFAULT '',"
	" label_id TEXT NOT NULL DEFAULT '', severity TEXT NOT NULL DEFAULT 'info');"
	"CREATE TABLE local_list_members (list_id TEXT NOT NULL, nhsa_code TEXT NOT NULL,"
	" PRIMARY KEY (nhsa_code, list_id)) WITHOUT ROWID;"
	"CREATE TABLE local_policies (scope TEXT NOT NULL, insurance TEXT NOT NULL, setting TEXT NOT NULL,"
	" label_id TEXT NOT NULL, ratio REAL, text_zh TEXT NOT NULL DEFAULT '', text_en TEXT NOT NULL DEFAULT '',"
	" source TEXT NOT NULL DEFAULT '', PRIMARY KEY (scope, insurance, setting, label_id)) WITHOUT ROWID;";

/* Migrations by user_version: index i takes the schema from version i to i+1. */
static const char *const migrations[] = {schema_v1, schema_v2};

int cat_migrate(sqlite3 *db, ds_error *err)
{
	long version, appid, tables;
	size_t i;

	if ((version = cat_count(db, "PRAGMA user_version", err)) < 0 ||
	    (appid = cat_count(db, "PRAGMA application_id", err)) < 0 ||
	    (tables = cat_count(db, "SELECT count(*) FROM sqlite_master", err)) < 0)
		return DS_EIO;
	if (tables > 0 && appid != DS_CATALOG_APP_ID)
		return ds_error_set(err, DS_EINVAL, "not a drugscan catalog (another program's database); left untouched");
	if (version > DS_CATALOG_SCHEMA_VERSION)
		return ds_error_set(err, DS_EINVAL, "catalog schema %ld is newer than this drugscan (%d): update drugscan",
		                    version, DS_CATALOG_SCHEMA_VERSION);
	if (version == DS_CATALOG_SCHEMA_VERSION)
		return DS_OK;
	if (cat_exec(db, "BEGIN IMMEDIATE", err) < 0)
		return DS_ERR;
	for (i = (size_t)version; i < sizeof(migrations) / sizeof(migrations[0]); i++) {
		char sql[64];
		if (cat_exec(db, migrations[i], err) < 0)
			goto fail;
		snprintf(sql, sizeof(sql), "PRAGMA user_version = %zu", i + 1);
		if (cat_exec(db, sql, err) < 0)
			goto fail;
	}
	{
		char sql[64];
		snprintf(sql, sizeof(sql), "PRAGMA application_id = %d", DS_CATALOG_APP_ID);
		if (cat_exec(db, sql, err) < 0)
			goto fail;
	}
	/* a catalog from before name search gets its index now */
	if (version >= 1 && cat_search_rebuild(db, err) < 0)
		goto fail;
	return cat_exec(db, "COMMIT", err);
fail:
	sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	return DS_ERR;
}

int cat_set_meta(sqlite3 *db, const char *key, const char *value, ds_error *err)
{
	sqlite3_stmt *st;
	int rc;

	if ((rc = sqlite3_prepare_v2(db, "INSERT OR REPLACE INTO meta (key, value) VALUES (?1, ?2)", -1, &st, NULL)) !=
	    SQLITE_OK)
		return cat_sql_error(db, rc, err);
	sqlite3_bind_text(st, 1, key, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, value, -1, SQLITE_TRANSIENT);
	rc = sqlite3_step(st);
	rc = rc == SQLITE_DONE ? DS_OK : cat_sql_error(db, rc, err);
	sqlite3_finalize(st);
	return rc;
}

#define DRUG_COLUMNS                                                                                        \
	"d.nhsa_code, d.generic_name, d.brand_name, d.dosage_form, d.spec, d.pack, d.manufacturer, d.approval_no," \
	" d.standard_code, d.nrdl_no, ifnull(d.category, ''), d.negotiated, d.agreement_end, d.payment_standard,"  \
	" d.restriction, d.remarks, d.section, d.list_no, d.list_key, d.agreement_period, d.category_code"

static const char *const statements[ST_COUNT] = {
	("SELECT " DRUG_COLUMNS ", l.package_level, l.units, l.demo, 0 FROM local_identifiers l"
	 " JOIN drugs d ON d.nhsa_code = l.nhsa_code WHERE l.type = ?1 AND l.value = ?2"),
	("SELECT " DRUG_COLUMNS ", i.package_level, i.units, 0, 1 FROM identifiers i JOIN drugs d ON d.nhsa_code = i.nhsa_code"
	 " WHERE i.type = ?1 AND i.value = ?2"), /* the lowest package level: ident_row */
	"SELECT list_id FROM list_members WHERE nhsa_code = ?1 ORDER BY list_id",
	"SELECT list_id FROM local_list_members WHERE nhsa_code = ?1 ORDER BY list_id",
	("SELECT insurance, label_id, ratio, text_zh, text_en, setting FROM policies WHERE scope = ?1"
	 " AND setting IN ('*', 'outpatient') ORDER BY label_id, insurance"),
	("SELECT insurance, label_id, ratio, text_zh, text_en, setting FROM local_policies WHERE scope = ?1"
	 " AND setting IN ('*', 'outpatient') ORDER BY label_id, insurance"),
	"SELECT batch, reason, date FROM recalls WHERE type = ?1 AND value = ?2",
	"SELECT label_id, severity, name_zh, name_en FROM lists WHERE list_id = ?1",
	"SELECT label_id, severity, name_zh, name_en FROM local_lists WHERE list_id = ?1",
	"SELECT " DRUG_COLUMNS ", 0, 0, 0, 2 FROM drugs d WHERE d.nhsa_code = ?1",
	"SELECT nhsa_code FROM local_identifiers WHERE type = ?1 AND value = ?2",
};

/* A file SQLite cannot read as a database: a catalog whose first page is
 * damaged (its schema is still in it), or something else. */
static int unreadable(const char *path, ds_error *err)
{
	static const char *const marks[] = {"CREATE TABLE local_identifiers", "CREATE TABLE name_keys",
	                                    "CREATE TABLE list_members"};

	if (ds_file_holds(path, marks, sizeof(marks) / sizeof(marks[0])))
		return ds_error_set(err, DS_EIO, "catalog '%s' is damaged: its first page is not an SQLite header any more;"
		                                 " left untouched", path);
	return ds_error_set(err, DS_EINVAL, "catalog '%s': not a drugscan catalog (not an SQLite database); left untouched",
	                    path);
}

/* Checked, then migrated (a file that is not ours, or is damaged, is never written to). */
static int ready(ds_catalog *cat, const char *path, ds_error *err)
{
	int rc = cat_exec(cat->db, "PRAGMA cell_size_check = ON", err);

	if (rc == DS_OK)
		rc = cat_verify(cat->db, err);
	if (rc < 0 && (sqlite3_extended_errcode(cat->db) & 0xff) == SQLITE_NOTADB)
		return unreadable(path, err);
	if (rc < 0)
		return rc;
	if (cat_migrate(cat->db, err) < 0) {
		char msg[DS_ERROR_MAX];
		snprintf(msg, sizeof(msg), "%s", err ? err->message : "");
		if (err && strncmp(msg, "catalog '", 9))
			ds_error_set(err, DS_EINVAL, "catalog '%s': %s", path, msg);
		return err ? err->code : DS_EINVAL;
	}
	return DS_OK;
}

int ds_catalog_open(ds_catalog **out, const char *path, int create, ds_error *err)
{
	ds_catalog *cat;
	int flags = SQLITE_OPEN_READWRITE | (create ? SQLITE_OPEN_CREATE : 0) | SQLITE_OPEN_NOMUTEX;
	int i, rc;

	*out = NULL;
	cat = calloc(1, sizeof(*cat));
	if (!cat)
		return ds_error_set(err, DS_ENOMEM, "out of memory");
	if ((rc = sqlite3_open_v2(path, &cat->db, flags, NULL)) != SQLITE_OK) {
		rc = cat_path_error(path, cat->db, rc, err);
		ds_catalog_close(cat);
		return rc;
	}
	sqlite3_extended_result_codes(cat->db, 1);
	sqlite3_busy_timeout(cat->db, 5000);
	rc = ready(cat, path, err);
	for (i = 0; rc == DS_OK && i < ST_COUNT; i++)
		if (sqlite3_prepare_v3(cat->db, statements[i], -1, SQLITE_PREPARE_PERSISTENT, &cat->st[i], NULL) != SQLITE_OK)
			rc = cat_sql_error(cat->db, 0, err);
	if (rc == DS_OK)
		rc = cat_load_period(cat, err);
	if (rc < 0) {
		ds_catalog_close(cat);
		return rc;
	}
	*out = cat;
	return DS_OK;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int cat_read_begin(ds_catalog *cat, ds_error *err)
{
	long dv;

	cat->fail_rc = 0;
	if (cat->in_read && (cat->reads >= 512 || now_s() - cat->read_since > 0.2))
		cat_read_end(cat);
	if (!cat->in_read) {
		if (cat_exec(cat->db, "BEGIN", err) < 0)
			return DS_EIO;
		cat->in_read = 1;
		cat->reads = 0;
		cat->read_since = now_s();
		/* another process imported or updated: forget what we cached */
		if ((dv = cat_count(cat->db, "PRAGMA data_version", err)) < 0)
			return DS_EIO;
		if (dv != cat->data_version) {
			cat_cache_clear(cat);
			if (cat_load_period(cat, err) < 0)
				return DS_EIO;
		}
		cat->data_version = dv;
	}
	cat->reads++;
	return DS_OK;
}

void cat_read_end(ds_catalog *cat)
{
	if (cat->in_read) {
		sqlite3_exec(cat->db, "COMMIT", NULL, NULL, NULL);
		cat->in_read = 0;
	}
}

void ds_catalog_rest(ds_catalog *cat)
{
	if (cat)
		cat_read_end(cat);
}

void ds_catalog_close(ds_catalog *cat)
{
	int i;

	if (!cat)
		return;
	cat_read_end(cat);
	cat_cache_clear(cat);
	free(cat->cache);
	free(cat->scratch);
	for (i = 0; i < ST_COUNT; i++)
		sqlite3_finalize(cat->st[i]);
	sqlite3_close(cat->db);
	free(cat);
}

int ds_data_dir(ds_buf *out, const char *dir, int create, ds_error *err)
{
	const char *env;

	ds_buf_clear(out);
	if (dir && *dir)
		ds_buf_puts(out, dir);
	else if ((env = getenv("DRUGSCAN_HOME")) && *env)
		ds_buf_puts(out, env);
	else if ((env = getenv("XDG_DATA_HOME")) && *env)
		ds_buf_printf(out, "%s/drugscan", env);
	else if ((env = getenv("HOME")) && *env)
		ds_buf_printf(out, "%s/.local/share/drugscan", env);
	else
		return ds_error_set(err, DS_EINVAL, "no data directory: set --data-dir or $DRUGSCAN_HOME");
	if (!out->ptr)
		return ds_error_set(err, DS_ENOMEM, "out of memory");
	if (create && ds_mkdir_p(out->ptr, 0755) != 0)
		return ds_error_set(err, DS_EIO, "cannot create data directory '%s': %s", out->ptr, strerror(errno));
	return DS_OK;
}

/* The first-run build's temp file catalog.db.new-PID and SQLite's files beside it. */
static void remove_build(const char *tmp)
{
	static const char *const sfx[] = {"", "-journal", "-wal", "-shm"};
	char name[4096];
	size_t i;

	for (i = 0; i < sizeof(sfx) / sizeof(sfx[0]); i++)
		if (snprintf(name, sizeof(name), "%s%s", tmp, sfx[i]) < (int)sizeof(name))
			unlink(name);
}

/* Leftovers of a first-run build or an update that died (a crash, SIGKILL,
 * Ctrl-C): catalog.db.new-PID, catalog.db.update-PID, whose process is gone. */
static void remove_stale_builds(const char *dir)
{
	static const char *const kinds[] = {"catalog.db.new-", "catalog.db.update-"};
	DIR *d = opendir(dir);
	struct dirent *e;
	char tmp[4096];
	size_t k;

	while (d && (e = readdir(d))) {
		const char *p = NULL;
		long pid = 0;
		for (k = 0; k < 2 && !p; k++)
			p = strncmp(e->d_name, kinds[k], strlen(kinds[k])) ? NULL : e->d_name + strlen(kinds[k]);
		if (!p || *p < '1' || *p > '9')
			continue;
		for (; *p >= '0' && *p <= '9' && pid < 100000000; p++)
			pid = pid * 10 + (*p - '0');
		if (*p && *p != '-')
			continue;
		if (kill((pid_t)pid, 0) == 0 || errno != ESRCH)
			continue;
		if (snprintf(tmp, sizeof(tmp), "%s/%s%ld", dir, kinds[k - 1], pid) < (int)sizeof(tmp))
			remove_build(tmp);
	}
	if (d)
		closedir(d);
}

/* Build a catalog at tmp: the demo bundle, or the compiled-in list plus the
 * local tables of the catalog at keep (when it exists). */
static int build(const char *tmp, int demo, const char *keep, ds_error *err)
{
	ds_catalog *cat = NULL;
	int rc;

	unlink(tmp);
	rc = ds_catalog_open(&cat, tmp, 1, err);
	if (rc == DS_OK)
		rc = demo ? ds_catalog_import_demo(cat, err) : ds_catalog_import_nrdl(cat, err);
	if (rc == DS_OK && keep && access(keep, F_OK) == 0)
		rc = cat_copy_local(cat->db, keep, err);
	ds_catalog_close(cat);
	if (rc < 0)
		unlink(tmp);
	return rc;
}

/* Built from an older compiled-in list than this binary carries (and a folder
 * where a newer one can be built)? 1, 0 or an error. */
static int stale_builtin(ds_catalog *cat, const char *dir, ds_error *err)
{
	char seed[64], want[64];

	if (cat_meta(cat->db, "seed", seed, sizeof(seed), err) < 0)
		return DS_EIO;
	snprintf(want, sizeof(want), "builtin:%s", ds_catalog_builtin_version());
	return !strncmp(seed, "builtin:", 8) && strcmp(seed, want) != 0 && access(dir, W_OK) == 0;
}

int ds_catalog_open_default(ds_catalog **out, const char *data_dir, ds_error *err)
{
	ds_buf dir = DS_BUF_INIT, path = DS_BUF_INIT, tmp = DS_BUF_INIT;
	const char *seed = getenv("DRUGSCAN_CATALOG_SEED");
	int rc, demo = seed && !strcmp(seed, "demo"), exists;

	*out = NULL;
	if (seed && *seed && !demo && strcmp(seed, "nrdl"))
		return ds_error_set(err, DS_EINVAL, "DRUGSCAN_CATALOG_SEED '%s' is not nrdl (the national list) or demo", seed);
	rc = ds_data_dir(&dir, data_dir, 0, err);
	if (rc < 0)
		goto done;
	ds_buf_printf(&path, "%s/catalog.db", dir.ptr);
	remove_stale_builds(dir.ptr);
	ds_buf_printf(&tmp, "%s/catalog.db.new-%ld", dir.ptr, (long)getpid());
	exists = access(path.ptr, F_OK) == 0;
	if (exists) {
		rc = ds_catalog_open(out, path.ptr, 0, err);
		if (rc == DS_OK && (rc = stale_builtin(*out, dir.ptr, err)) < 0) {
			ds_catalog_close(*out);
			*out = NULL;
		}
		if (rc <= 0)
			goto done;
		/* a newer drugscan carries a newer list: rebuild, keeping the pharmacy's own rows */
		ds_catalog_close(*out);
		*out = NULL;
	}
	/* build aside (the first time, in a new data folder), then move in place */
	if ((rc = ds_data_dir(&dir, data_dir, 1, err)) < 0)
		goto done;
	remove_build(tmp.ptr);
	rc = build(tmp.ptr, demo && !exists, exists ? path.ptr : NULL, err);
	if (rc == DS_OK)
		rc = ds_atomic_rename(tmp.ptr, path.ptr, err);
	if (rc < 0)
		remove_build(tmp.ptr); /* and its journal: nothing of a failed build stays */
	if (rc == DS_OK)
		rc = ds_catalog_open(out, path.ptr, 0, err);
done:
	ds_buf_free(&dir);
	ds_buf_free(&path);
	ds_buf_free(&tmp);
	return rc;
}

long cat_count(sqlite3 *db, const char *sql, ds_error *err)
{
	sqlite3_stmt *st;
	long n = -1;
	int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);

	if (rc != SQLITE_OK) {
		cat_sql_error(db, rc, err);
		return -1;
	}
	if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		n = (long)sqlite3_column_int64(st, 0);
	else if (rc == SQLITE_DONE)
		cat_damaged(db, "a query that always has an answer had none", err);
	else
		cat_sql_error(db, rc, err);
	sqlite3_finalize(st);
	return n;
}

int cat_meta(sqlite3 *db, const char *key, char *out, size_t size, ds_error *err)
{
	sqlite3_stmt *st;
	int rc = sqlite3_prepare_v2(db, "SELECT value FROM meta WHERE key = ?1", -1, &st, NULL);

	out[0] = '\0';
	if (rc != SQLITE_OK)
		return cat_sql_error(db, rc, err);
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW && cat_text_ok(st, 0)) {
		if (sqlite3_column_text(st, 0))
			snprintf(out, size, "%s", (const char *)sqlite3_column_text(st, 0));
		rc = DS_OK;
	} else if (rc == SQLITE_ROW) {
		rc = cat_damaged(db, "a text in it is not UTF-8", err);
	} else {
		rc = rc == SQLITE_DONE ? DS_OK : cat_sql_error(db, rc, err);
	}
	sqlite3_finalize(st);
	return rc;
}

int ds_catalog_meta(ds_catalog *cat, const char *key, char *out, size_t size, ds_error *err)
{
	return cat_meta(cat->db, key, out, size, err);
}

/* The counts of catalog info, by their place in ds_catalog_info. */
static const struct info_count {
	size_t offset;
	const char *sql;
} info_counts[] = {
	{offsetof(ds_catalog_info, drugs), "SELECT count(*) FROM drugs"},
	{offsetof(ds_catalog_info, listed), "SELECT count(*) FROM drugs WHERE category IS NOT NULL OR negotiated"},
	{offsetof(ds_catalog_info, negotiated), "SELECT count(*) FROM drugs WHERE negotiated"},
	{offsetof(ds_catalog_info, identifiers), "SELECT count(*) FROM identifiers"},
	{offsetof(ds_catalog_info, lists), "SELECT count(*) FROM lists"},
	{offsetof(ds_catalog_info, policies), "SELECT count(*) FROM policies"},
	{offsetof(ds_catalog_info, recalls), "SELECT count(*) FROM recalls"},
	{offsetof(ds_catalog_info, local_mappings), "SELECT count(*) FROM local_identifiers"},
	{offsetof(ds_catalog_info, local_demo_mappings), "SELECT count(*) FROM local_identifiers WHERE demo"},
	{offsetof(ds_catalog_info, local_unresolved), "SELECT count(*) FROM local_identifiers l WHERE NOT EXISTS"
	                                                " (SELECT 1 FROM drugs d WHERE d.nhsa_code = l.nhsa_code)"},
	{offsetof(ds_catalog_info, local_lists), "SELECT count(*) FROM local_lists"},
	{offsetof(ds_catalog_info, local_policies), "SELECT count(*) FROM local_policies"},
};

int ds_catalog_get_info(ds_catalog *cat, ds_catalog_info *info, ds_error *err)
{
	sqlite3 *db = cat->db;
	char synthetic[8];
	long version;
	size_t i;

	memset(info, 0, sizeof(*info));
	for (i = 0; i < sizeof(info_counts) / sizeof(info_counts[0]); i++)
		if ((*(long *)(void *)((char *)info + info_counts[i].offset) = cat_count(db, info_counts[i].sql, err)) < 0)
			return DS_EIO;
	if ((version = cat_count(db, "PRAGMA user_version", err)) < 0 ||
	    cat_meta(db, "source", info->source, sizeof(info->source), err) < 0 ||
	    cat_meta(db, "version", info->version, sizeof(info->version), err) < 0 ||
	    cat_meta(db, "imported_at", info->imported_at, sizeof(info->imported_at), err) < 0 ||
	    cat_meta(db, "synthetic", synthetic, sizeof(synthetic), err) < 0)
		return DS_EIO;
	info->schema_version = (int)version;
	info->synthetic = synthetic[0] == '1';
	return cat_list_info(db, info, err);
}

int ds_catalog_each_list(ds_catalog *cat, ds_list_fn fn, void *ctx, ds_error *err)
{
	sqlite3_stmt *st;
	int rc = sqlite3_prepare_v2(cat->db,
	                            "SELECT l.list_id, name_zh, name_en, source, label_id,"
	                            " (SELECT count(*) FROM list_members m WHERE m.list_id = l.list_id)"
	                            " FROM lists l UNION ALL"
	                            " SELECT l.list_id, name_zh, name_en, 'local: ' || source, label_id,"
	                            " (SELECT count(*) FROM local_list_members m WHERE m.list_id = l.list_id)"
	                            " FROM local_lists l ORDER BY 1",
	                            -1, &st, NULL);

	if (rc != SQLITE_OK)
		return cat_sql_error(cat->db, rc, err);
	cat->fail_rc = 0;
	while ((rc = cat_step(cat, st)) == SQLITE_ROW) {
		const char *t[5];
		int i;
		for (i = 0; i < 5; i++)
			t[i] = cat_text(cat, st, i);
		if (cat->fail_rc || fn(ctx, t[0], t[1], t[2], t[3], t[4], (long)sqlite3_column_int64(st, 5)))
			break;
	}
	sqlite3_finalize(st);
	return cat_failed(cat, err);
}
