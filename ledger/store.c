/*
 * store.c - opening ledger.db, checked statements, and naming what went wrong.
 *
 * Every SQLite result goes through led_fail(), which names the cause the way a
 * clerk can act on it: damaged (SQLITE_CORRUPT, SQLITE_NOTADB, a failed
 * integrity check), read-only (a read-only file, folder or file system,
 * permission denied), disk full, the file size limit (ulimit -f), busy, or an
 * I/O error. A file that is not a drugscan ledger is never written to.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

static const char schema_v1[] =
	"CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
	"INSERT INTO settings VALUES ('seen_warn_after', '1'), ('seen_alert_after', '3'), ('undo_days', '10');"
	"CREATE TABLE events ("
	" seq INTEGER PRIMARY KEY AUTOINCREMENT, uuid TEXT NOT NULL UNIQUE, code TEXT NOT NULL,"
	" product_key TEXT NOT NULL DEFAULT '', serial TEXT NOT NULL DEFAULT '', nhsa_code TEXT NOT NULL DEFAULT '',"
	" batch TEXT NOT NULL DEFAULT '', expiry TEXT NOT NULL DEFAULT '', action TEXT NOT NULL,"
	" split INTEGER NOT NULL DEFAULT 0, qty INTEGER NOT NULL DEFAULT 1, station TEXT NOT NULL,"
	" operator TEXT NOT NULL DEFAULT '', time_ms INTEGER NOT NULL, note TEXT NOT NULL DEFAULT '',"
	" state_before TEXT NOT NULL, state_after TEXT NOT NULL, units_before INTEGER, units_after INTEGER,"
	" undoes TEXT NOT NULL DEFAULT '', undone_action TEXT NOT NULL DEFAULT '',"
	" outcome INTEGER NOT NULL DEFAULT 0, refused INTEGER NOT NULL DEFAULT 0);"
	"CREATE INDEX events_code ON events (code, seq);"
	"CREATE INDEX events_time ON events (time_ms);"
	"CREATE TRIGGER events_append_only_u BEFORE UPDATE ON events BEGIN"
	" SELECT RAISE(ABORT, 'events are append-only'); END;"
	"CREATE TRIGGER events_append_only_d BEFORE DELETE ON events BEGIN"
	" SELECT RAISE(ABORT, 'events are append-only'); END;"
	"CREATE TABLE codes (code TEXT PRIMARY KEY, state TEXT NOT NULL, units INTEGER, units_left INTEGER,"
	" scans INTEGER NOT NULL DEFAULT 0, product_key TEXT NOT NULL DEFAULT '', nhsa_code TEXT NOT NULL DEFAULT '',"
	" last_seq INTEGER) WITHOUT ROWID;"
	"CREATE INDEX codes_state ON codes (state, product_key);"
	"CREATE TABLE outbox (seq INTEGER PRIMARY KEY, acked_ms INTEGER);"
	"CREATE INDEX outbox_pending ON outbox (acked_ms, seq);";

const char *ds_ledger_fault_name(ds_ledger_fault f)
{
	static const char *const names[] = {"ok",        "I/O error", "damaged",         "not a drugscan ledger",
	                                    "read-only", "disk full", "file size limit", "busy",
	                                    "out of memory"};
	return (unsigned)f < sizeof(names) / sizeof(names[0]) ? names[f] : "?";
}

const char *ds_ledger_fault_id(ds_ledger_fault f)
{
	static const char *const ids[] = {"none",      "io",        "damaged",         "not_a_ledger", "read_only",
	                                  "disk_full", "file_size_limit", "busy", "out_of_memory"};
	return (unsigned)f < sizeof(ids) / sizeof(ids[0]) ? ids[f] : "io";
}

const char *ds_ledger_fault_zh(ds_ledger_fault f)
{
	switch (f) {
	case DS_LEDGER_DAMAGED:
		return "账本文件已损坏";
	case DS_LEDGER_READONLY:
		return "账本只读，不能写入";
	case DS_LEDGER_FULL:
		return "磁盘已满";
	case DS_LEDGER_TOO_BIG:
		return "账本文件超过大小限制（ulimit -f）";
	case DS_LEDGER_BUSY:
		return "账本被其他程序占用";
	case DS_LEDGER_NOMEM:
		return "内存不足";
	default:
		return "账本读写错误";
	}
}

ds_ledger_fault ds_ledger_last_fault(const ds_ledger *l)
{
	return l ? l->fault : DS_LEDGER_OK;
}

static ds_ledger_fault classify(const ds_ledger *l, int rc, int sys, const char *msg)
{
	static const ds_ledger_fault of[] = {DS_LEDGER_IO,       DS_LEDGER_IO,      DS_LEDGER_DAMAGED,
	                                     DS_LEDGER_READONLY, DS_LEDGER_FULL,    DS_LEDGER_TOO_BIG,
	                                     DS_LEDGER_BUSY,     DS_LEDGER_NOMEM};

	return of[ds_db_classify(l->path, rc, sys, msg)];
}

/* Why the ledger cannot be written, in words: the file, its folder or the file system. */
static void why_readonly(const ds_ledger *l, const char *detail, char *out, size_t size)
{
	const char *slash = strrchr(l->path, '/');
	char dir[1024];

	if (slash == l->path)
		snprintf(dir, sizeof(dir), "/");
	else if (slash)
		snprintf(dir, sizeof(dir), "%.*s", (int)(slash - l->path), l->path);
	else
		snprintf(dir, sizeof(dir), ".");
	if (access(l->path, F_OK) == 0 && access(l->path, W_OK) != 0)
		snprintf(out, size, "the file cannot be written (%s)", strerror(errno));
	else if (access(dir, W_OK) != 0)
		snprintf(out, size, "its folder '%.120s' cannot be written (%s)", dir, strerror(errno));
	else
		snprintf(out, size, "%s", detail);
}

static int fault_error(ds_ledger *l, ds_ledger_fault f, const char *detail, ds_error *err)
{
	char why[DS_ERROR_MAX];

	l->fault = f;
	switch (f) {
	case DS_LEDGER_DAMAGED:
		return ds_error_set(err, DS_EINVAL, "ledger '%s' is damaged: %s; left untouched", l->path, detail);
	case DS_LEDGER_NOT_LEDGER:
		return ds_error_set(err, DS_EINVAL, "ledger '%s': %s; left untouched", l->path, detail);
	case DS_LEDGER_READONLY:
		why_readonly(l, detail, why, sizeof(why));
		return ds_error_set(err, DS_EIO, "ledger '%s' is read-only: %s", l->path, why);
	case DS_LEDGER_FULL:
		return ds_error_set(err, DS_EIO, "ledger '%s': the disk is full (%s)", l->path, detail);
	case DS_LEDGER_TOO_BIG:
		return ds_error_set(err, DS_EIO, "ledger '%s': the file size limit (ulimit -f) was reached (%s)", l->path,
		                    detail);
	case DS_LEDGER_BUSY:
		return ds_error_set(err, DS_EIO, "ledger '%s' is busy: another process has held it for over 30 s (%s)",
		                    l->path, detail);
	case DS_LEDGER_NOMEM:
		return ds_error_set(err, DS_ENOMEM, "out of memory");
	default:
		return ds_error_set(err, DS_EIO, "ledger '%s': I/O error (%s)", l->path, detail);
	}
}

int led_fail(ds_ledger *l, int rc, ds_error *err)
{
	const char *msg = l->db ? sqlite3_errmsg(l->db) : sqlite3_errstr(rc);
	int sys = l->db ? sqlite3_system_errno(l->db) : 0, prim = rc & 0xff;
	char detail[160];

	if (rc == SQLITE_OK)
		rc = SQLITE_ERROR; /* a call that should have failed with a code */
	if (sys > 0 && (prim == SQLITE_IOERR || prim == SQLITE_CANTOPEN || prim == SQLITE_READONLY))
		snprintf(detail, sizeof(detail), "%s: %s", msg, strerror(sys));
	else
		snprintf(detail, sizeof(detail), "%s", msg);
	return fault_error(l, classify(l, rc, sys, msg), detail, err);
}

int led_exec(ds_ledger *l, const char *sql, ds_error *err)
{
	int rc = sqlite3_exec(l->db, sql, NULL, NULL, NULL);

	return rc == SQLITE_OK ? DS_OK : led_fail(l, rc, err);
}

int led_prepare(ds_ledger *l, const char *sql, sqlite3_stmt **st, ds_error *err)
{
	int rc = sqlite3_prepare_v2(l->db, sql, -1, st, NULL);

	if (rc == SQLITE_OK)
		return DS_OK;
	sqlite3_finalize(*st);
	*st = NULL;
	return led_fail(l, rc, err);
}

int led_cached(ds_ledger *l, const char *sql, sqlite3_stmt **st, ds_error *err)
{
	size_t i;
	int rc;

	for (i = 0; i < LED_STMTS && l->stmts[i].sql; i++)
		if (l->stmts[i].sql == sql && l->stmts[i].st) {
			*st = l->stmts[i].st;
			return DS_OK;
		}
	if (i == LED_STMTS) /* full: a statement of its own */
		return led_prepare(l, sql, st, err);
	rc = sqlite3_prepare_v3(l->db, sql, -1, SQLITE_PREPARE_PERSISTENT, st, NULL);
	if (rc != SQLITE_OK) {
		sqlite3_finalize(*st);
		*st = NULL;
		return led_fail(l, rc, err);
	}
	l->stmts[i].sql = sql;
	l->stmts[i].st = *st;
	return DS_OK;
}

void led_done(sqlite3_stmt *st)
{
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
}

int led_run(ds_ledger *l, const char *sql, ds_error *err)
{
	sqlite3_stmt *st;
	int rc = led_cached(l, sql, &st, err);

	if (rc < 0)
		return rc;
	rc = led_step(l, st, err);
	led_done(st);
	return rc < 0 ? rc : DS_OK;
}

int led_step(ds_ledger *l, sqlite3_stmt *st, ds_error *err)
{
	int rc = sqlite3_step(st);

	if (rc == SQLITE_ROW)
		return 1;
	if (rc == SQLITE_DONE)
		return 0;
	return led_fail(l, rc, err);
}

int led_bound(ds_ledger *l, int rc, ds_error *err)
{
	return rc == SQLITE_OK ? DS_OK : led_fail(l, sqlite3_extended_errcode(l->db), err);
}

/* One integer from a query that returns one row. */
static int led_int(ds_ledger *l, const char *sql, long *out, ds_error *err)
{
	sqlite3_stmt *st;
	int rc = led_prepare(l, sql, &st, err);

	if (rc < 0)
		return rc;
	rc = led_step(l, st, err);
	if (rc == 1)
		*out = (long)sqlite3_column_int64(st, 0);
	else if (rc == 0)
		rc = fault_error(l, DS_LEDGER_DAMAGED, "a query that always has an answer had none", err);
	sqlite3_finalize(st);
	return rc < 0 ? rc : DS_OK;
}

/* ---- opening ---- */

enum { OPEN_RW, OPEN_RO, OPEN_IMMUTABLE, OPEN_MEMORY };

/* file:PATH?QUERY, the path percent-encoded where a URI needs it */
static int file_uri(ds_buf *uri, const char *path, const char *query)
{
	const unsigned char *p;
	int rc = ds_buf_puts(uri, "file:");

	for (p = (const unsigned char *)path; rc == DS_OK && *p; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || strchr("/._~-", *p))
			rc = ds_buf_putc(uri, (char)*p);
		else
			rc = ds_buf_printf(uri, "%%%02X", *p);
	}
	return rc == DS_OK ? ds_buf_printf(uri, "?%s", query) : rc;
}

static int connect(ds_ledger *l, int how, ds_error *err)
{
	ds_buf uri = DS_BUF_INIT;
	const char *name = l->path;
	int flags = SQLITE_OPEN_NOMUTEX, rc;

	if (how == OPEN_RW || how == OPEN_MEMORY) {
		flags |= SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
		if (how == OPEN_MEMORY)
			name = ":memory:";
	} else {
		flags |= SQLITE_OPEN_READONLY | SQLITE_OPEN_URI;
		if (file_uri(&uri, l->path, how == OPEN_IMMUTABLE ? "immutable=1" : "mode=ro") < 0)
			return ds_error_set(err, DS_ENOMEM, "out of memory");
		name = uri.ptr;
	}
	rc = sqlite3_open_v2(name, &l->db, flags, NULL);
	ds_buf_free(&uri);
	if (!l->db)
		return ds_error_set(err, DS_ENOMEM, "out of memory");
	sqlite3_extended_result_codes(l->db, 1);
	if (rc != SQLITE_OK) {
		rc = led_fail(l, rc, err);
		sqlite3_close(l->db);
		l->db = NULL;
		return rc;
	}
	/* a busy ledger is waited for, never reported to the person at the counter */
	sqlite3_busy_timeout(l->db, 30000);
	return led_exec(l, how == OPEN_RW ? "PRAGMA synchronous = FULL; PRAGMA cell_size_check = ON;"
	                                  : "PRAGMA cell_size_check = ON;",
	                err);
}

static void disconnect(ds_ledger *l)
{
	size_t i;

	for (i = 0; i < LED_STMTS; i++)
		sqlite3_finalize(l->stmts[i].st);
	memset(l->stmts, 0, sizeof(l->stmts));
	sqlite3_close(l->db);
	l->db = NULL;
}

/* The first problem that PRAGMA integrity_check reports, on one line: 1 ok, 0 a problem, or an error. */
static int integrity(ds_ledger *l, char *first, size_t size, ds_error *err)
{
	sqlite3_stmt *st;
	const char *t;
	size_t i, k = 0;
	int rc = led_prepare(l, "PRAGMA integrity_check(1)", &st, err);

	if (rc < 0)
		return rc;
	rc = led_step(l, st, err);
	if (rc == 1) {
		t = (const char *)sqlite3_column_text(st, 0);
		rc = t && !strcmp(t, "ok");
		if (!t)
			t = "no answer";
		if (!strncmp(t, "*** in database main ***", 24))
			t += 24;
		for (i = 0; t[i] && k + 3 < size; i++) {
			if (t[i] == '\n' || t[i] == '\r') {
				if (k > 0)
					first[k++] = ';', first[k++] = ' ';
			} else if ((unsigned char)t[i] >= 0x20) {
				first[k++] = t[i];
			}
		}
		first[k] = '\0';
	} else if (rc == 0) {
		snprintf(first, size, "the integrity check gave no answer");
	}
	sqlite3_finalize(st);
	return rc;
}

/* Verify the whole file. A read error can look like damage to the check: one
 * more try tells a passing fault from damage that stays. */
static int verify(ds_ledger *l, ds_error *err)
{
	char first[160] = "";
	int i, rc = 0;

	for (i = 0; i < 2; i++) {
		rc = integrity(l, first, sizeof(first), err);
		if (rc == 1)
			return DS_OK;
	}
	return rc < 0 ? rc : fault_error(l, DS_LEDGER_DAMAGED, first, err);
}

static int create(ds_ledger *l, ds_error *err)
{
	char sql[96];
	long version = 0;
	int rc;

	rc = led_exec(l, "BEGIN IMMEDIATE", err);
	/* another counter may have created it while we waited for the lock */
	if (rc == DS_OK)
		rc = led_int(l, "PRAGMA user_version", &version, err);
	if (rc == DS_OK && version != 1) {
		snprintf(sql, sizeof(sql), "PRAGMA application_id = %d; PRAGMA user_version = 1;", DS_LEDGER_APP_ID);
		rc = led_exec(l, schema_v1, err);
		if (rc == DS_OK)
			rc = led_exec(l, sql, err);
	}
	if (rc == DS_OK)
		rc = led_exec(l, "COMMIT", err);
	if (rc < 0)
		sqlite3_exec(l->db, "ROLLBACK", NULL, NULL, NULL);
	return rc;
}

/* Is it a drugscan ledger, of a schema this drugscan knows? Creates the schema
 * in an empty database when *empty is NULL; otherwise says it is empty. */
static int recognise(ds_ledger *l, int *empty, ds_error *err)
{
	long version, appid, tables, ours;
	int rc;

	if ((rc = led_int(l, "PRAGMA user_version", &version, err)) < 0 ||
	    (rc = led_int(l, "PRAGMA application_id", &appid, err)) < 0 ||
	    (rc = led_int(l, "SELECT count(*) FROM sqlite_master", &tables, err)) < 0 ||
	    (rc = led_int(l, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN"
	                     " ('settings', 'events', 'codes', 'outbox')", &ours, err)) < 0)
		return rc;
	if (tables == 0 && version == 0) {
		if (empty) {
			*empty = 1;
			return DS_OK;
		}
		return create(l, err);
	}
	if (appid != DS_LEDGER_APP_ID && ours < 4)
		return fault_error(l, DS_LEDGER_NOT_LEDGER, "not a drugscan ledger (another program's database)", err);
	if (appid != DS_LEDGER_APP_ID)
		return fault_error(l, DS_LEDGER_DAMAGED, "its header was overwritten (application id)", err);
	if (version > 1 && version < 1000 && ours == 4) {
		char msg[64];
		snprintf(msg, sizeof(msg), "schema %ld is newer than this drugscan", version);
		return fault_error(l, DS_LEDGER_NOT_LEDGER, msg, err);
	}
	if (version != 1 || ours < 4)
		return fault_error(l, DS_LEDGER_DAMAGED, version != 1 ? "its header was overwritten (schema version)"
		                                                      : "tables are missing from its schema",
		                   err);
	return DS_OK;
}

/* A file that SQLite cannot read as a database: a drugscan ledger whose first
 * page is damaged (its schema or settings are still in it), or something else. */
static int refuse_unreadable(ds_ledger *l, ds_error *err)
{
	static const char *const marks[] = {"events_append_only", "CREATE TABLE outbox", "seen_alert_after",
	                                    "undone_action"};

	if (ds_file_holds(l->path, marks, sizeof(marks) / sizeof(marks[0])))
		return fault_error(l, DS_LEDGER_DAMAGED, "its first page is not an SQLite header any more", err);
	return fault_error(l, DS_LEDGER_NOT_LEDGER, "not a drugscan ledger (not an SQLite database)", err);
}

/* 1 when the file starts with SQLite's header string, 0 when not, or an error. */
static int has_magic(ds_ledger *l, ds_error *err)
{
	char head[16];
	int fd = open(l->path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0) {
		int e = errno;
		return fault_error(l, e == EACCES || e == EPERM ? DS_LEDGER_READONLY : DS_LEDGER_IO, strerror(e), err);
	}
	n = read(fd, head, sizeof(head));
	close(fd);
	return n == (ssize_t)sizeof(head) && !memcmp(head, "SQLite format 3", 16);
}

/* Does the write-ahead log hold frames (changes not yet in the main file)? */
static int wal_has_frames(const char *path)
{
	ds_buf wal = DS_BUF_INIT;
	struct stat sb;
	int rc;

	if (ds_buf_printf(&wal, "%s-wal", path) < 0)
		return 1;
	rc = stat(wal.ptr, &sb) == 0 ? sb.st_size > 32 : errno != ENOENT;
	ds_buf_free(&wal);
	return rc;
}

/* Faults that leave a ledger readable but not writable: a read-only file,
 * folder or file system; no room for the -shm file, or none under the limit. */
static int cannot_write(ds_ledger_fault f)
{
	return f == DS_LEDGER_READONLY || f == DS_LEDGER_FULL || f == DS_LEDGER_TOO_BIG;
}

/* No ledger file: an empty ledger in memory, never written to a file. */
static int open_empty(ds_ledger *l, ds_error *err)
{
	int rc = connect(l, OPEN_MEMORY, err);

	if (rc == DS_OK)
		rc = create(l, err);
	l->memory = 1;
	return rc;
}

/* For reading: mode=ro, which needs the -shm file; in a read-only folder (or
 * on a full disk) without a -wal file nothing is lost by reading the file as
 * immutable. */
static int open_ro(ds_ledger *l, ds_error *err)
{
	int empty = 0, rc = connect(l, OPEN_RO, err);

	if (rc == DS_OK)
		rc = recognise(l, &empty, err);
	if (rc < 0 && cannot_write(l->fault) && !wal_has_frames(l->path)) {
		disconnect(l);
		rc = connect(l, OPEN_IMMUTABLE, err);
		if (rc == DS_OK)
			rc = recognise(l, &empty, err);
		l->immutable = rc == DS_OK;
	} else if (rc < 0 && cannot_write(l->fault)) {
		int e = l->db ? sqlite3_system_errno(l->db) : 0;
		rc = ds_error_set(err, DS_EIO,
		                  "ledger '%s' cannot be read here: its write-ahead log needs '%s-shm', which cannot be opened"
		                  " or created (%s)",
		                  l->path, l->path, strerror(e > 0 ? e : EACCES));
	}
	if (rc == DS_OK && empty) {
		disconnect(l);
		return open_empty(l, err);
	}
	return rc == DS_OK ? verify(l, err) : rc;
}

static int open_rw(ds_ledger *l, ds_error *err)
{
	ds_error why;
	int rc;

	ds_error_clear(&why);
	rc = connect(l, OPEN_RW, &why);
	if (rc == DS_OK)
		rc = recognise(l, NULL, &why);
	if (rc == DS_OK)
		rc = verify(l, &why);
	if (rc == DS_OK)
		rc = led_exec(l, "PRAGMA journal_mode = WAL", &why);
	if (rc == DS_OK && sqlite3_db_readonly(l->db, "main") == 1)
		rc = fault_error(l, DS_LEDGER_READONLY, "the file cannot be written", &why);
	if (rc == DS_OK || !cannot_write(l->fault)) {
		if (rc < 0 && err)
			*err = why;
		return rc;
	}
	/* it cannot be written (read-only, or no room to open it for writing): opened
	 * for reading, and every write refused with the reason */
	disconnect(l);
	snprintf(l->ro_reason, sizeof(l->ro_reason), "%s", why.message);
	l->readonly = 1;
	l->fault = DS_LEDGER_OK;
	rc = access(l->path, F_OK) == 0 ? open_ro(l, err) : open_empty(l, err);
	return rc;
}

/* A whole number from lo to hi, written as digits only. */
static int whole(const char *s, long lo, long hi, long *out)
{
	long v = 0;

	if (!s || !*s)
		return 0;
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || v > (hi - (*s - '0')) / 10)
			return 0;
		v = v * 10 + (*s - '0');
	}
	*out = v;
	return v >= lo;
}

/* A setting from the settings table; a bad value is told to the note and the default used. */
static int setting(ds_ledger *l, const char *key, long lo, long hi, int def, int *out, ds_error *err)
{
	sqlite3_stmt *st;
	long v;
	int rc;

	*out = def;
	if ((rc = led_prepare(l, "SELECT value FROM settings WHERE key = ?1", &st, err)) < 0)
		return rc;
	rc = led_bound(l, sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC), err);
	if (rc == DS_OK && (rc = led_step(l, st, err)) == 1) {
		const char *t = (const char *)sqlite3_column_text(st, 0);
		if (whole(t, lo, hi, &v)) {
			*out = (int)v;
		} else if (l->note) {
			char msg[DS_ERROR_MAX], shown[40];
			size_t i;
			for (i = 0; t && t[i] && i + 1 < sizeof(shown); i++)
				shown[i] = (unsigned char)t[i] < 0x20 || t[i] == 0x7f ? '?' : t[i];
			shown[i] = '\0';
			snprintf(msg, sizeof(msg), "ledger '%s': setting %s = '%s' is not a whole number from %ld to %ld; using %d",
			         l->path, key, shown, lo, hi, def);
			l->note(l->note_ctx, msg);
		}
	}
	sqlite3_finalize(st);
	return rc < 0 ? rc : DS_OK;
}

int ds_ledger_open(ds_ledger **out, const char *path, const ds_ledger_open_opts *opts, ds_error *err)
{
	ds_ledger *l = calloc(1, sizeof(*l));
	struct stat sb;
	int rc;

	*out = NULL;
	if (!l || !(l->path = strdup(path))) {
		free(l);
		return ds_error_set(err, DS_ENOMEM, "out of memory");
	}
	if (opts) {
		l->want_ro = opts->readonly;
		l->note = opts->note;
		l->note_ctx = opts->note_ctx;
	}
	l->warn_after = 1;
	l->alert_after = 3;
	l->undo_days = 10;
	if (ds_ledger_is_chain(path)) {
		rc = pg_open(l, path, opts, err); /* pg.c */
	} else if (stat(path, &sb) != 0) {
		int e = errno;
		if (e != ENOENT)
			rc = fault_error(l, e == EACCES ? DS_LEDGER_READONLY : DS_LEDGER_IO, strerror(e), err);
		else
			rc = l->want_ro ? open_empty(l, err) : open_rw(l, err);
	} else if (S_ISDIR(sb.st_mode)) {
		rc = fault_error(l, DS_LEDGER_NOT_LEDGER, "a folder, not a ledger file", err);
	} else if (sb.st_size > 0 && (rc = has_magic(l, err)) <= 0) {
		if (rc == 0)
			rc = refuse_unreadable(l, err);
	} else if (l->want_ro) {
		rc = sb.st_size == 0 ? open_empty(l, err) : open_ro(l, err);
	} else {
		rc = open_rw(l, err);
	}
	if (rc == DS_OK && !l->want_ro && !l->memory && !l->pg) {
		if ((rc = setting(l, "seen_warn_after", 1, 1000000, 1, &l->warn_after, err)) == DS_OK &&
		    (rc = setting(l, "seen_alert_after", 1, 1000000, 3, &l->alert_after, err)) == DS_OK)
			rc = setting(l, "undo_days", 0, 3650, 10, &l->undo_days, err);
	}
	if (rc < 0) {
		ds_ledger_close(l);
		return rc;
	}
	l->fault = DS_LEDGER_OK;
	*out = l;
	return DS_OK;
}

void ds_ledger_close(ds_ledger *l)
{
	if (!l)
		return;
	pg_close(l);
	disconnect(l);
	free(l->path);
	free(l);
}

int ds_ledger_writable(ds_ledger *l, ds_error *err)
{
	if (!l->readonly && !l->want_ro)
		return DS_OK;
	l->fault = DS_LEDGER_READONLY;
	if (l->readonly)
		return ds_error_set(err, DS_EIO, "%s", l->ro_reason);
	return ds_error_set(err, DS_EIO, "ledger '%s' was opened for reading only", l->path);
}

int led_reopen(ds_ledger *l, ds_error *err)
{
	int rc;

	if (l->memory)
		return l->db ? DS_OK : ds_error_set(err, DS_EIO, "ledger '%s': lost", l->path);
	disconnect(l);
	rc = connect(l, l->immutable ? OPEN_IMMUTABLE : l->want_ro || l->readonly ? OPEN_RO : OPEN_RW, err);
	if (rc < 0)
		disconnect(l);
	return rc;
}

int led_ready(ds_ledger *l, ds_error *err)
{
	return l->db ? DS_OK : led_reopen(l, err);
}
