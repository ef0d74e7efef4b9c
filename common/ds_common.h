/*
 * ds_common.h - the few helpers every drugscan module shares.
 *
 * - ds_error: a caller-owned error with a one-line message (never global).
 * - ds_buf:   a bounded, growable byte buffer for building strings.
 * - UTF-8:    a strict decoder used by the parsers.
 * - dates:    days in a month, strict YYYY-MM-DD, today (or $DRUGSCAN_TODAY).
 * - ds_atomic: replace a file whole (temp file, fsync, rename, folder fsync).
 * - the URL policy of catalog update and ledger sync (url_policy.c, libcurl).
 * - i18n:     the command line's gettext set-up and display-width padding (i18n.c).
 *
 * Return convention: fallible functions return 0 (DS_OK) or a negative DS_E*
 * code, fill a caller-supplied ds_error when one is given, and put their
 * out-parameters first.
 */
#ifndef DS_COMMON_H
#define DS_COMMON_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

enum {
	DS_OK = 0,
	DS_ERR = -1,       /* generic failure, see message */
	DS_ENOMEM = -2,    /* out of memory */
	DS_EINVAL = -3,    /* invalid argument or input */
	DS_EIO = -4,       /* I/O error */
	DS_ENOTFOUND = -5, /* a looked-up thing does not exist */
	DS_ELIMIT = -6     /* a size or time limit was exceeded */
};

#define DS_ERROR_MAX 256

typedef struct ds_error {
	int code;                   /* one of DS_E*, 0 when clear */
	char message[DS_ERROR_MAX]; /* lowercase, no final full stop */
} ds_error;

#if defined(__GNUC__)
#define DS_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define DS_PRINTF(a, b)
#endif

/* Set err (if not NULL) and return code, so callers can `return ds_error_set(...)`. */
int ds_error_set(ds_error *err, int code, const char *fmt, ...) DS_PRINTF(3, 4);
void ds_error_clear(ds_error *err);

/* A growable buffer. Always NUL-terminated when ptr != NULL. */
typedef struct ds_buf {
	char *ptr;  /* owned, from malloc() */
	size_t len; /* bytes used, excluding the terminating NUL */
	size_t cap; /* bytes allocated */
} ds_buf;

#define DS_BUF_INIT {NULL, 0, 0}

int ds_buf_grow(ds_buf *b, size_t extra);
int ds_buf_put(ds_buf *b, const void *data, size_t len);
int ds_buf_puts(ds_buf *b, const char *s);
int ds_buf_putc(ds_buf *b, char c);
int ds_buf_printf(ds_buf *b, const char *fmt, ...) DS_PRINTF(2, 3);
void ds_buf_clear(ds_buf *b); /* len = 0, keeps the allocation */
void ds_buf_free(ds_buf *b);  /* NULL-safe */

/*
 * Decode one UTF-8 sequence at s[0..len). On success stores the code point in
 * *out_cp and returns the sequence length (1..4). Returns 0 for an invalid or
 * truncated sequence (overlong forms, surrogates and values over U+10FFFF are
 * invalid).
 */
size_t ds_utf8_decode(uint32_t *out_cp, const unsigned char *s, size_t len);

/* Encode cp as UTF-8 into out (at least 4 bytes). Returns the length. */
size_t ds_utf8_encode(char *out, uint32_t cp);

/* Offset of the first invalid UTF-8 byte, or len when all of it is valid. */
size_t ds_utf8_check(const unsigned char *s, size_t len);

/* Days in a month of a Gregorian year (month 1..12), 0 for a bad month. */
int ds_days_in_month(int year, int month);

/* A date written exactly YYYY-MM-DD (digits only, a real day) as YYYYMMDD in
 * *out. 0, or DS_EINVAL with *out untouched. */
int ds_date_parse(int *out, const char *s);

/* Is this URL host this machine? "localhost", [::1], or 127.x.x.x written as an
 * address (not a name that merely starts with "127."). */
int ds_host_is_loopback(const char *host);

/* The one URL policy of catalog update and ledger sync: https:// to any host,
 * http:// only to this machine (ds_host_is_loopback), nothing else. 0, or
 * DS_EINVAL with "refusing 'URL': ..." (DS_ENOMEM when out of memory). The
 * URL is parsed by libcurl (common/url_policy.c). */
int ds_url_policy_check(const char *url, ds_error *err);

/* mkdir -p: create path and its missing parents with mode. 0, or -1 with errno. */
int ds_mkdir_p(const char *path, unsigned mode);

/*
 * Replace a file whole, so that a crash leaves the old file or the new one,
 * never a mix: write to a fresh temp file in the same folder, flush and fsync
 * it, rename it over the target and fsync the folder. The temp file is
 * removed on every error path. Messages name the target and strerror(), and
 * errno is kept from the failure.
 *
 *     ds_atomic a = DS_ATOMIC_INIT;
 *     if (ds_atomic_open(&a, path, err) < 0) return err->code;
 *     ...write to a.f...; on a write error: ds_atomic_abort(&a)
 *     return ds_atomic_commit(&a, err);
 */
typedef struct ds_atomic {
	FILE *f;    /* the temp file, open for writing; NULL when none */
	char *path; /* owned, from malloc(): the file to replace */
	char *tmp;  /* owned, from malloc(): the temp file beside it */
} ds_atomic;

#define DS_ATOMIC_INIT {NULL, NULL, NULL}

/* Create a new temp file beside path (mode 0666 less the umask) and open it as a->f. */
int ds_atomic_open(ds_atomic *a, const char *path, ds_error *err);
/* Flush, fsync and close a->f, rename it over a->path, fsync the folder. On
 * failure the temp file is gone. Either way a is cleared (abort is then a no-op). */
int ds_atomic_commit(ds_atomic *a, ds_error *err);
/* Close and remove the temp file and clear a. NULL-safe, keeps errno. */
void ds_atomic_abort(ds_atomic *a);
/* The same last step for a file built under its own temp name (an SQLite
 * database, closed): fsync tmp, rename it over path, fsync the folder. On
 * failure tmp is removed. */
int ds_atomic_rename(const char *tmp, const char *path, ds_error *err);

/* ---- i18n.c: messages in the user's language, and columns by display width ---- */

/* 1 when the environment asks for Chinese, 0 for English (the default): the first
 * zh or en entry of $LANGUAGE, English when it has neither (ignored when the
 * locale is C, POSIX or C.*, as gettext does), else the first set of $LC_ALL,
 * $LC_MESSAGES, $LANG starting "zh". */
int ds_i18n_env_zh(void);
/* Speak Chinese (zh_CN catalogue) or English (the msgids) from now on, through
 * gettext's text domain "drugscan". The catalogue is looked for in locale/
 * beside the executable (the build tree), else in the installed LOCALEDIR. It
 * needs no generated zh_CN locale: the language goes to $LANGUAGE, LC_MESSAGES
 * becomes C.UTF-8 and the catalogue is read as UTF-8. Only LC_MESSAGES changes.
 * Process-global (gettext is): for the command line, not for serve's requests,
 * which keep the ds_lang tables. May be called again to switch. */
void ds_i18n_use(int zh);
/* Terminal columns of UTF-8 text: wide (CJK, full-width) characters count 2,
 * combining marks 0, an invalid byte 1 (wcwidth() of C.UTF-8, whatever the
 * process locale). */
size_t ds_utf8_width(const char *s, size_t len);
/* s, then spaces up to width columns (none when s is as wide or wider). */
int ds_buf_pad(ds_buf *out, const char *s, size_t width);
/* The same into buf (size bytes, cut to fit), for a printf argument; returns buf. */
const char *ds_pad(char *buf, size_t size, const char *s, size_t width);
/* A row of a "label  value" table: label padded to width columns, a space, then
 * fmt's text (which ends the line itself). Returns what vfprintf returns. */
int ds_fprint_field(FILE *f, const char *label, size_t width, const char *fmt, ...) DS_PRINTF(4, 5);

/* ---- why a file could not be written or read (files.c) ---- */

/* Bytes left to an unprivileged user on path's file system (a lot when it cannot be told). */
unsigned long long ds_file_room(const char *path);
/* Is path, path-wal or path-journal within 64 KiB of the file size limit (ulimit -f)? */
int ds_file_at_size_limit(const char *path);
/* Does the first MiB of path hold one of the marks (a database's own schema text)? */
int ds_file_holds(const char *path, const char *const *marks, size_t nmarks);

/* What a failed SQLite call on the database at path means: rc its result code
 * (extended or not), sys the errno SQLite saw (sqlite3_system_errno), msg its
 * message. The one reading of SQLite's faults, for catalog.db and ledger.db. */
typedef enum ds_db_fault {
	DS_DB_IO = 1, /* an I/O error, or anything else */
	DS_DB_DAMAGED, /* SQLITE_CORRUPT, SQLITE_NOTADB, a table gone missing */
	DS_DB_READONLY, /* a read-only file, folder or file system; permission denied */
	DS_DB_FULL,     /* the disk is full (SQLITE_FULL, ENOSPC) */
	DS_DB_TOO_BIG,  /* the file size limit (ulimit -f, EFBIG) */
	DS_DB_BUSY,     /* locked by another process */
	DS_DB_NOMEM
} ds_db_fault;
ds_db_fault ds_db_classify(const char *path, int rc, int sys, const char *msg);

/* Today's date as YYYYMMDD in local time, honouring $DRUGSCAN_TODAY (YYYY-MM-DD) for tests. */
int ds_today_ymd(void);

#ifdef __cplusplus
}
#endif

#endif
