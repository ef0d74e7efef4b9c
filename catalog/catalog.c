/*
 * catalog.c - open and migrate catalog.db, the data directory, info and lists.
 */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

int cat_exec(sqlite3 *db, const char *sql, ds_error *err)
{
	char *msg = NULL;

	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		ds_error_set(err, DS_ERR, "catalog database: %s", msg ? msg : sqlite3_errmsg(db));
		sqlite3_free(msg);
		return DS_ERR;
	}
	return DS_OK;
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

/* Migrations by user_version: index i takes the schema from version i to i+1. */
static const char *const migrations[] = {schema_v1};

int cat_migrate(sqlite3 *db, ds_error *err)
{
	sqlite3_stmt *st;
	int version = 0, appid = 0, tables = 0;
	size_t i;

	if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK)
		return ds_error_set(err, DS_EINVAL, "not a drugscan catalog: %s", sqlite3_errmsg(db));
	if (sqlite3_step(st) == SQLITE_ROW)
		version = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	if (sqlite3_prepare_v2(db, "PRAGMA application_id", -1, &st, NULL) == SQLITE_OK) {
		if (sqlite3_step(st) == SQLITE_ROW)
			appid = sqlite3_column_int(st, 0);
		sqlite3_finalize(st);
	}
	if (sqlite3_prepare_v2(db, "SELECT count(*) FROM sqlite_master", -1, &st, NULL) == SQLITE_OK) {
		if (sqlite3_step(st) == SQLITE_ROW)
			tables = sqlite3_column_int(st, 0);
		sqlite3_finalize(st);
	}
	if (tables > 0 && appid != DS_CATALOG_APP_ID)
		return ds_error_set(err, DS_EINVAL, "not a drugscan catalog (another program's database); left untouched");
	if (version > DS_CATALOG_SCHEMA_VERSION)
		return ds_error_set(err, DS_EINVAL, "catalog schema %d is newer than this drugscan (%d): update drugscan",
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
	return cat_exec(db, "COMMIT", err);
fail:
	sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	return DS_ERR;
}

int cat_set_meta(sqlite3 *db, const char *key, const char *value, ds_error *err)
{
	sqlite3_stmt *st;
	int rc;

	if (sqlite3_prepare_v2(db, "INSERT OR REPLACE INTO meta (key, value) VALUES (?1, ?2)", -1, &st, NULL) != SQLITE_OK)
		return ds_error_set(err, DS_ERR, "catalog database: %s", sqlite3_errmsg(db));
	sqlite3_bind_text(st, 1, key, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, value, -1, SQLITE_TRANSIENT);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? DS_OK : ds_error_set(err, DS_ERR, "catalog database: %s", sqlite3_errmsg(db));
}

static const char *const statements[ST_COUNT] = {
	("SELECT d.nhsa_code, generic_name, brand_name, dosage_form, spec, pack, manufacturer, approval_no,"
	 " standard_code, nrdl_no, ifnull(category, ''), negotiated, agreement_end, payment_standard, restriction,"
	 " remarks, i.package_level, i.units FROM identifiers i JOIN drugs d ON d.nhsa_code = i.nhsa_code"
	 " WHERE i.type = ?1 AND i.value = ?2 ORDER BY i.package_level LIMIT 1"),
	"SELECT list_id FROM list_members WHERE nhsa_code = ?1 ORDER BY list_id",
	("SELECT insurance, label_id, ratio, text_zh, text_en FROM policies WHERE scope = ?1"
	 " AND setting IN ('*', 'outpatient') ORDER BY label_id, insurance"),
	"SELECT batch, reason, date FROM recalls WHERE type = ?1 AND value = ?2",
	"SELECT label_id, severity, name_zh, name_en FROM lists WHERE list_id = ?1",
};

int ds_catalog_open(ds_catalog **out, const char *path, int create, ds_error *err)
{
	ds_catalog *cat;
	int flags = SQLITE_OPEN_READWRITE | (create ? SQLITE_OPEN_CREATE : 0) | SQLITE_OPEN_NOMUTEX;
	int i;

	*out = NULL;
	cat = calloc(1, sizeof(*cat));
	if (!cat)
		return ds_error_set(err, DS_ENOMEM, "out of memory");
	if (sqlite3_open_v2(path, &cat->db, flags, NULL) != SQLITE_OK) {
		ds_error_set(err, DS_EIO, "cannot open catalog '%s': %s", path,
		             cat->db ? sqlite3_errmsg(cat->db) : "out of memory");
		ds_catalog_close(cat);
		return DS_EIO;
	}
	sqlite3_busy_timeout(cat->db, 5000);
	if (cat_migrate(cat->db, err) < 0) {
		char msg[DS_ERROR_MAX];
		snprintf(msg, sizeof(msg), "%s", err ? err->message : "");
		if (err && strstr(msg, "file is not a database"))
			snprintf(msg, sizeof(msg), "not a drugscan catalog (not an SQLite database); left untouched");
		ds_error_set(err, DS_EINVAL, "catalog '%s': %s", path, msg);
		ds_catalog_close(cat);
		return DS_EINVAL;
	}
	for (i = 0; i < ST_COUNT; i++) {
		if (sqlite3_prepare_v3(cat->db, statements[i], -1, SQLITE_PREPARE_PERSISTENT, &cat->st[i], NULL) != SQLITE_OK) {
			ds_error_set(err, DS_ERR, "catalog '%s': %s", path, sqlite3_errmsg(cat->db));
			ds_catalog_close(cat);
			return DS_ERR;
		}
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

void cat_read_begin(ds_catalog *cat)
{
	if (cat->in_read && (cat->reads >= 512 || now_s() - cat->read_since > 0.2))
		cat_read_end(cat);
	if (!cat->in_read && sqlite3_exec(cat->db, "BEGIN", NULL, NULL, NULL) == SQLITE_OK) {
		sqlite3_stmt *st;
		cat->in_read = 1;
		cat->reads = 0;
		cat->read_since = now_s();
		/* another process imported or updated: forget what we cached */
		if (sqlite3_prepare_v2(cat->db, "PRAGMA data_version", -1, &st, NULL) == SQLITE_OK) {
			if (sqlite3_step(st) == SQLITE_ROW) {
				long dv = (long)sqlite3_column_int64(st, 0);
				if (dv != cat->data_version && cat->cache)
					memset(cat->cache, 0, sizeof(*cat->cache) * DRUG_CACHE);
				cat->data_version = dv;
			}
			sqlite3_finalize(st);
		}
	}
	cat->reads++;
}

void cat_read_end(ds_catalog *cat)
{
	if (cat->in_read) {
		sqlite3_exec(cat->db, "COMMIT", NULL, NULL, NULL);
		cat->in_read = 0;
	}
}

void ds_catalog_close(ds_catalog *cat)
{
	int i;

	if (!cat)
		return;
	cat_read_end(cat);
	free(cat->cache);
	for (i = 0; i < ST_COUNT; i++)
		sqlite3_finalize(cat->st[i]);
	sqlite3_close(cat->db);
	free(cat);
}

int ds_data_dir(ds_buf *out, const char *dir, ds_error *err)
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
	if (ds_mkdir_p(out->ptr, 0755) != 0)
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

/* Leftovers of a first-run build that died (a crash, SIGKILL): its process is gone. */
static void remove_stale_builds(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char tmp[4096];

	while (d && (e = readdir(d))) {
		const char *p = e->d_name + 15;
		long pid = 0;
		if (strncmp(e->d_name, "catalog.db.new-", 15) || *p < '1' || *p > '9')
			continue;
		for (; *p >= '0' && *p <= '9' && pid < 100000000; p++)
			pid = pid * 10 + (*p - '0');
		if (*p && *p != '-')
			continue;
		if (kill((pid_t)pid, 0) == 0 || errno != ESRCH)
			continue;
		if (snprintf(tmp, sizeof(tmp), "%s/catalog.db.new-%ld", dir, pid) < (int)sizeof(tmp))
			remove_build(tmp);
	}
	if (d)
		closedir(d);
}

int ds_catalog_open_default(ds_catalog **out, const char *data_dir, ds_error *err)
{
	ds_buf dir = DS_BUF_INIT, path = DS_BUF_INIT, tmp = DS_BUF_INIT;
	ds_catalog *cat = NULL;
	int rc;

	*out = NULL;
	rc = ds_data_dir(&dir, data_dir, err);
	if (rc < 0)
		goto done;
	ds_buf_printf(&path, "%s/catalog.db", dir.ptr);
	remove_stale_builds(dir.ptr);
	if (access(path.ptr, F_OK) == 0) {
		rc = ds_catalog_open(out, path.ptr, 0, err);
		goto done;
	}
	/* first run: build the demo catalog aside, then move it in place */
	ds_buf_printf(&tmp, "%s/catalog.db.new-%ld", dir.ptr, (long)getpid());
	remove_build(tmp.ptr);
	rc = ds_catalog_open(&cat, tmp.ptr, 1, err);
	if (rc == DS_OK)
		rc = ds_catalog_import_demo(cat, err);
	ds_catalog_close(cat);
	if (rc == DS_OK)
		rc = ds_atomic_rename(tmp.ptr, path.ptr, err);
	if (rc < 0)
		remove_build(tmp.ptr); /* and its journal: nothing of a failed build stays */
	else
		rc = ds_catalog_open(out, path.ptr, 0, err);
done:
	ds_buf_free(&dir);
	ds_buf_free(&path);
	ds_buf_free(&tmp);
	return rc;
}

static long count(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st;
	long n = -1;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK) {
		if (sqlite3_step(st) == SQLITE_ROW)
			n = (long)sqlite3_column_int64(st, 0);
		sqlite3_finalize(st);
	}
	return n;
}

static void meta(sqlite3 *db, const char *key, char *out, size_t size)
{
	sqlite3_stmt *st;

	out[0] = '\0';
	if (sqlite3_prepare_v2(db, "SELECT value FROM meta WHERE key = ?1", -1, &st, NULL) != SQLITE_OK)
		return;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW)
		snprintf(out, size, "%s", (const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
}

int ds_catalog_meta(ds_catalog *cat, const char *key, char *out, size_t size)
{
	meta(cat->db, key, out, size);
	return DS_OK;
}

int ds_catalog_get_info(ds_catalog *cat, ds_catalog_info *info, ds_error *err)
{
	char synthetic[8];

	(void)err;
	memset(info, 0, sizeof(*info));
	info->drugs = count(cat->db, "SELECT count(*) FROM drugs");
	info->listed = count(cat->db, "SELECT count(*) FROM drugs WHERE category IS NOT NULL OR negotiated");
	info->negotiated = count(cat->db, "SELECT count(*) FROM drugs WHERE negotiated");
	info->identifiers = count(cat->db, "SELECT count(*) FROM identifiers");
	info->lists = count(cat->db, "SELECT count(*) FROM lists");
	info->policies = count(cat->db, "SELECT count(*) FROM policies");
	info->recalls = count(cat->db, "SELECT count(*) FROM recalls");
	info->schema_version = (int)count(cat->db, "PRAGMA user_version");
	meta(cat->db, "source", info->source, sizeof(info->source));
	meta(cat->db, "version", info->version, sizeof(info->version));
	meta(cat->db, "imported_at", info->imported_at, sizeof(info->imported_at));
	meta(cat->db, "synthetic", synthetic, sizeof(synthetic));
	info->synthetic = synthetic[0] == '1';
	return DS_OK;
}

int ds_catalog_each_list(ds_catalog *cat, ds_list_fn fn, void *ctx, ds_error *err)
{
	sqlite3_stmt *st;
	int rc = DS_OK;

	if (sqlite3_prepare_v2(cat->db,
	                       "SELECT l.list_id, name_zh, name_en, source, label_id,"
	                       " (SELECT count(*) FROM list_members m WHERE m.list_id = l.list_id)"
	                       " FROM lists l ORDER BY l.list_id",
	                       -1, &st, NULL) != SQLITE_OK)
		return ds_error_set(err, DS_ERR, "catalog database: %s", sqlite3_errmsg(cat->db));
	while (rc == DS_OK && sqlite3_step(st) == SQLITE_ROW)
		rc = fn(ctx, (const char *)sqlite3_column_text(st, 0), (const char *)sqlite3_column_text(st, 1),
		        (const char *)sqlite3_column_text(st, 2), (const char *)sqlite3_column_text(st, 3),
		        (const char *)sqlite3_column_text(st, 4), (long)sqlite3_column_int64(st, 5));
	sqlite3_finalize(st);
	return rc;
}
