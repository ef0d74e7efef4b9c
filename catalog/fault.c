/*
 * fault.c - what went wrong with catalog.db, named so that the person can act
 * on it, and the check of the whole file before the first answer.
 *
 * Every SQLite result of the catalog goes through cat_sql_error(), or is kept
 * by cat_step() until the call that met it returns (cat_failed()): damaged
 * (SQLITE_CORRUPT, SQLITE_NOTADB, a failed integrity check, a text that is not
 * UTF-8), read-only, the disk full, the file size limit (ulimit -f), busy,
 * out of memory, or an I/O error. ds_catalog_open() runs PRAGMA
 * integrity_check over the whole file (about 20 ms for the national list), so
 * that a damaged page is reported before any answer, whichever page a query
 * would have met, and an index that no longer matches its rows is caught too.
 */
#include <stdio.h>
#include <string.h>

#include "internal.h"

static int fault_error(const char *path, int rc, int sys, const char *msg, ds_error *err)
{
	int prim = rc & 0xff;
	char detail[160];

	if (sys > 0 && (prim == SQLITE_IOERR || prim == SQLITE_CANTOPEN || prim == SQLITE_READONLY))
		snprintf(detail, sizeof(detail), "%s: %s", msg, strerror(sys));
	else
		snprintf(detail, sizeof(detail), "%s", msg);
	switch (ds_db_classify(path, rc, sys, msg)) {
	case DS_DB_DAMAGED:
		return ds_error_set(err, DS_EIO, "catalog '%s' is damaged: %s; left untouched", path, detail);
	case DS_DB_READONLY:
		return ds_error_set(err, DS_EIO, "catalog '%s' is read-only: %s", path, detail);
	case DS_DB_FULL:
		return ds_error_set(err, DS_EIO, "catalog '%s': the disk is full (%s)", path, detail);
	case DS_DB_TOO_BIG:
		return ds_error_set(err, DS_EIO, "catalog '%s': the file size limit (ulimit -f) was reached (%s)", path, detail);
	case DS_DB_BUSY:
		return ds_error_set(err, DS_EIO, "catalog '%s' is busy: another process holds it (%s)", path, detail);
	case DS_DB_NOMEM:
		return ds_error_set(err, DS_ENOMEM, "out of memory");
	default:
		return ds_error_set(err, DS_EIO, "catalog '%s': I/O error (%s)", path, detail);
	}
}

static const char *path_of(sqlite3 *db)
{
	const char *p = db ? sqlite3_db_filename(db, "main") : NULL;

	return p && *p ? p : "catalog.db";
}

int cat_path_error(const char *path, sqlite3 *db, int rc, ds_error *err)
{
	if (rc == SQLITE_OK || rc == SQLITE_ROW || rc == SQLITE_DONE)
		rc = db ? sqlite3_extended_errcode(db) : SQLITE_ERROR;
	if (rc == SQLITE_OK || rc == SQLITE_ROW || rc == SQLITE_DONE)
		rc = SQLITE_ERROR; /* a call that should have failed with a code */
	return fault_error(path, rc, db ? sqlite3_system_errno(db) : 0, db ? sqlite3_errmsg(db) : sqlite3_errstr(rc), err);
}

int cat_sql_error(sqlite3 *db, int rc, ds_error *err)
{
	return cat_path_error(path_of(db), db, rc, err);
}

int cat_damaged(sqlite3 *db, const char *detail, ds_error *err)
{
	return fault_error(path_of(db), SQLITE_CORRUPT, 0, detail, err);
}

static void keep(ds_catalog *cat, int rc, int sys, const char *msg)
{
	if (cat->fail_rc)
		return;
	cat->fail_rc = rc;
	cat->fail_sys = sys;
	snprintf(cat->fail_msg, sizeof(cat->fail_msg), "%s", msg);
}

int cat_step(ds_catalog *cat, sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);

	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		keep(cat, rc, sqlite3_system_errno(cat->db), sqlite3_errmsg(cat->db));
	return rc;
}

int cat_text_ok(sqlite3_stmt *st, int col)
{
	const unsigned char *t = sqlite3_column_text(st, col);
	size_t n = (size_t)sqlite3_column_bytes(st, col);

	return !t || (ds_utf8_check(t, n) == n && strlen((const char *)t) == n);
}

const char *cat_text(ds_catalog *cat, sqlite3_stmt *st, int col)
{
	const unsigned char *t = sqlite3_column_text(st, col);

	if (!t)
		return "";
	if (!cat_text_ok(st, col)) {
		keep(cat, SQLITE_CORRUPT, 0, "a text in it is not UTF-8");
		return "";
	}
	return (const char *)t;
}

int cat_failed(ds_catalog *cat, ds_error *err)
{
	int rc = cat->fail_rc;

	if (!rc)
		return DS_OK;
	cat->fail_rc = 0;
	return fault_error(path_of(cat->db), rc, cat->fail_sys, cat->fail_msg, err);
}

/* ---- the whole file ---- */

/*
 * SQLite 3.40 (Debian 12) reports "NULL value in T.C" for every row of a
 * WITHOUT ROWID table whose primary key is not its leading columns in order
 * (name_keys, list_members, local_list_members): for those tables a query
 * looks for the NULLs instead.
 */
static const struct null_probe {
	const char *prefix;
	const char *sql;
} probes[] = {
	{"NULL value in name_keys.",
	 "SELECT count(*) FROM name_keys WHERE key IS NULL OR nhsa_code IS NULL OR quality IS NULL OR form IS NULL"},
	{"NULL value in list_members.", "SELECT count(*) FROM list_members WHERE list_id IS NULL OR nhsa_code IS NULL"},
	{"NULL value in local_list_members.",
	 "SELECT count(*) FROM local_list_members WHERE list_id IS NULL OR nhsa_code IS NULL"},
};

/* The check's first problem, without its "*** in database main ***" heading. */
static void first_line(char *out, size_t size, const char *t)
{
	size_t k = 0;

	if (!strncmp(t, "*** in database main ***", 24))
		t += 24;
	t += strspn(t, "\r\n");
	for (; *t && *t != '\n' && *t != '\r' && k + 1 < size; t++)
		if ((unsigned char)*t >= 0x20)
			out[k++] = *t;
	out[k] = '\0';
}

/* A message of the check that is SQLite's, not the file's: 1; a real NULL: 0; or an error. */
static int false_null(sqlite3 *db, const char *msg, unsigned *probed, ds_error *err)
{
	size_t i;
	long n;

	for (i = 0; i < sizeof(probes) / sizeof(probes[0]); i++) {
		if (strncmp(msg, probes[i].prefix, strlen(probes[i].prefix)))
			continue;
		if (*probed & (1u << i))
			return 1;
		*probed |= 1u << i;
		n = cat_count(db, probes[i].sql, err);
		return n < 0 ? DS_EIO : n == 0;
	}
	return 0;
}

/* 1 when the check finds nothing, 0 with the first problem in first, or an error. */
static int integrity(sqlite3 *db, char *first, size_t size, ds_error *err)
{
	sqlite3_stmt *st = NULL;
	unsigned probed = 0;
	int rc = sqlite3_prepare_v2(db, "PRAGMA integrity_check(1000000000)", -1, &st, NULL), ok = 1;

	if (rc != SQLITE_OK)
		return cat_sql_error(db, rc, err);
	while (ok == 1 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *t = (const char *)sqlite3_column_text(st, 0);
		if (!t || !strcmp(t, "ok"))
			continue;
		ok = false_null(db, t, &probed, err);
		if (ok == 0)
			first_line(first, size, t);
	}
	if (ok == 1 && rc != SQLITE_DONE)
		ok = cat_sql_error(db, rc, err);
	sqlite3_finalize(st);
	return ok;
}

int cat_verify(sqlite3 *db, ds_error *err)
{
	char first[160] = "";
	int i, rc = 0;

	/* a read error can look like damage to the check: one more try tells a passing fault from damage */
	for (i = 0; i < 2; i++) {
		rc = integrity(db, first, sizeof(first), err);
		if (rc != 0)
			break;
	}
	if (rc < 0 || rc == 1)
		return rc < 0 ? rc : DS_OK;
	return cat_damaged(db, first, err);
}
