/*
 * files.c - telling why a database file could not be written or read, for the
 * modules that keep one (catalog.db, ledger.db): what SQLite's result code and
 * the errno it saw mean, or, since by the time SQLite reports a failed write
 * errno may say something else, the file sizes, the file size limit and the
 * room left on the file system; and a file that SQLite cannot read as a
 * database is told apart from a foreign one by the text it still holds.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <sqlite3.h>

#include "ds_common.h"

unsigned long long ds_file_room(const char *path)
{
	struct statvfs vs;

	if (statvfs(path, &vs) != 0)
		return (unsigned long long)-1;
	return (unsigned long long)vs.f_bavail * vs.f_frsize;
}

int ds_file_at_size_limit(const char *path)
{
	static const char *const sfx[] = {"", "-wal", "-journal"};
	struct rlimit rl;
	struct stat sb;
	char name[4200];
	size_t i;

	if (getrlimit(RLIMIT_FSIZE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY)
		return 0;
	for (i = 0; i < sizeof(sfx) / sizeof(sfx[0]); i++)
		if (snprintf(name, sizeof(name), "%s%s", path, sfx[i]) < (int)sizeof(name) && stat(name, &sb) == 0 &&
		    (unsigned long long)sb.st_size + 65536 >= (unsigned long long)rl.rlim_cur)
			return 1;
	return 0;
}

static int contains(const char *buf, size_t n, const char *s)
{
	size_t len = strlen(s), i;

	for (i = 0; i + len <= n; i++)
		if (buf[i] == s[0] && !memcmp(buf + i, s, len))
			return 1;
	return 0;
}

int ds_file_holds(const char *path, const char *const *marks, size_t nmarks)
{
	size_t cap = 1 << 20, n = 0, i;
	char *buf = malloc(cap);
	int fd = open(path, O_RDONLY | O_CLOEXEC), found = 0;
	ssize_t got = 1;

	while (buf && fd >= 0 && n < cap && got > 0) {
		got = read(fd, buf + n, cap - n);
		if (got > 0)
			n += (size_t)got;
	}
	for (i = 0; buf && i < nmarks && !found; i++)
		found = contains(buf, n, marks[i]);
	if (fd >= 0)
		close(fd);
	free(buf);
	return found;
}

/* A file that does not exist in a folder that cannot be written: it cannot be created. */
static int cannot_create(const char *path)
{
	const char *slash = strrchr(path, '/');
	char dir[4200];

	if (access(path, F_OK) == 0)
		return 0;
	snprintf(dir, sizeof(dir), "%.*s", !slash ? 1 : slash == path ? 1 : (int)(slash - path), slash ? path : ".");
	return access(dir, W_OK) != 0;
}

ds_db_fault ds_db_classify(const char *path, int rc, int sys, const char *msg)
{
	switch (rc & 0xff) {
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
		return DS_DB_DAMAGED;
	case SQLITE_FULL:
		return ds_file_at_size_limit(path) && ds_file_room(path) > 1024 * 1024 ? DS_DB_TOO_BIG : DS_DB_FULL;
	case SQLITE_READONLY:
	case SQLITE_PERM:
	case SQLITE_AUTH:
		return DS_DB_READONLY;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return DS_DB_BUSY;
	case SQLITE_NOMEM:
		return DS_DB_NOMEM;
	case SQLITE_ERROR:
		/* the file was checked when it was opened: a table gone missing is damage */
		if (msg && (!strncmp(msg, "no such", 7) || strstr(msg, "malformed") || strstr(msg, "unsupported file format")))
			return DS_DB_DAMAGED;
		return DS_DB_IO;
	default:
		break;
	}
	if (sys == EACCES || sys == EPERM || sys == EROFS || ((rc & 0xff) == SQLITE_CANTOPEN && cannot_create(path)))
		return DS_DB_READONLY;
	if (sys == ENOSPC || sys == EDQUOT)
		return DS_DB_FULL;
	if (sys == EFBIG)
		return DS_DB_TOO_BIG;
	/* errno is often gone by now: a write that failed at the size limit or on a
	 * full file system (creating -shm, growing -wal) is told by the sizes */
	if ((rc & 0xff) == SQLITE_IOERR || (rc & 0xff) == SQLITE_CANTOPEN) {
		if (ds_file_at_size_limit(path))
			return DS_DB_TOO_BIG;
		if (ds_file_room(path) < 256 * 1024)
			return DS_DB_FULL;
	}
	return DS_DB_IO;
}
