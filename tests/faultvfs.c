/*
 * faultvfs.c - a test VFS that fails the Nth read, write, sync, truncate or
 * open, the way SQLite tests itself (its I/O-error tests). It wraps the default
 * VFS and counts the calls of each kind; the one it is told to fail returns an
 * error without touching the file.
 *
 * Linked only into drugscan-faulty (tests/CMakeLists.txt): the same program as
 * drugscan plus this file, which registers the shim as the default VFS before
 * main() runs. The environment is read only here, in the test build:
 *
 *   DRUGSCAN_FAULT=KIND:N[+][:full]
 *       KIND is read, write, sync, truncate or open. The Nth call of that kind
 *       fails (every call from the Nth on with '+') with SQLITE_IOERR_READ,
 *       _WRITE, _FSYNC, _TRUNCATE or SQLITE_CANTOPEN; with ':full', a write or
 *       truncate fails with SQLITE_FULL instead (a full disk).
 *   DRUGSCAN_FAULT_MATCH=TEXT
 *       only files whose path contains TEXT are counted and failed (default:
 *       every file), e.g. "ledger.db" for ledger.db, its -wal and its journal.
 *   DRUGSCAN_FAULT_COUNTS=FILE
 *       at exit, the counts are written there, one "KIND N" a line, and
 *       "injected N": how many faults were returned.
 *
 * Memory-mapped reads are refused (xFetch gives no page), so every read of a
 * page goes through xRead and can fail.
 */
#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { K_READ, K_WRITE, K_SYNC, K_TRUNCATE, K_OPEN, K_N };

static const char *const kind_names[K_N] = {"read", "write", "sync", "truncate", "open"};

typedef struct ffile {
	sqlite3_file base;
	sqlite3_file *real; /* the wrapped file, right after this struct */
	int watched;
	int pad_;
} ffile;

/* The shim's configuration and counters: test-only global state. */
static struct {
	int kind;      /* K_* to fail, or -1 */
	long n;        /* the call to fail, 1-based */
	int persistent;
	int full;
	const char *match;
	const char *counts_path;
	long count[K_N];
	long injected;
	sqlite3_vfs *real;
	sqlite3_vfs vfs;
	sqlite3_io_methods methods;
} F = {-1, 0, 0, 0, NULL, NULL, {0, 0, 0, 0, 0}, 0, NULL, {0}, {0}};

static int fail_now(const ffile *f, int kind)
{
	long c;

	if (!f->watched)
		return 0;
	c = ++F.count[kind];
	if (kind != F.kind || c < F.n || (c > F.n && !F.persistent))
		return 0;
	F.injected++;
	/* as a failing system call would leave it, for SQLite's xGetLastError */
	errno = F.full && (kind == K_WRITE || kind == K_TRUNCATE) ? ENOSPC : EIO;
	return 1;
}

#define REAL(f) (((ffile *)(f))->real)

static int f_close(sqlite3_file *f)
{
	return REAL(f)->pMethods ? REAL(f)->pMethods->xClose(REAL(f)) : SQLITE_OK;
}

static int f_read(sqlite3_file *f, void *buf, int amt, sqlite3_int64 off)
{
	if (fail_now((ffile *)f, K_READ))
		return SQLITE_IOERR_READ;
	return REAL(f)->pMethods->xRead(REAL(f), buf, amt, off);
}

static int f_write(sqlite3_file *f, const void *buf, int amt, sqlite3_int64 off)
{
	if (fail_now((ffile *)f, K_WRITE))
		return F.full ? SQLITE_FULL : SQLITE_IOERR_WRITE;
	return REAL(f)->pMethods->xWrite(REAL(f), buf, amt, off);
}

static int f_truncate(sqlite3_file *f, sqlite3_int64 size)
{
	if (fail_now((ffile *)f, K_TRUNCATE))
		return F.full ? SQLITE_FULL : SQLITE_IOERR_TRUNCATE;
	return REAL(f)->pMethods->xTruncate(REAL(f), size);
}

static int f_sync(sqlite3_file *f, int flags)
{
	if (fail_now((ffile *)f, K_SYNC))
		return SQLITE_IOERR_FSYNC;
	return REAL(f)->pMethods->xSync(REAL(f), flags);
}

static int f_file_size(sqlite3_file *f, sqlite3_int64 *size)
{
	return REAL(f)->pMethods->xFileSize(REAL(f), size);
}

static int f_lock(sqlite3_file *f, int level)
{
	return REAL(f)->pMethods->xLock(REAL(f), level);
}

static int f_unlock(sqlite3_file *f, int level)
{
	return REAL(f)->pMethods->xUnlock(REAL(f), level);
}

static int f_check_reserved(sqlite3_file *f, int *out)
{
	return REAL(f)->pMethods->xCheckReservedLock(REAL(f), out);
}

static int f_file_control(sqlite3_file *f, int op, void *arg)
{
	return REAL(f)->pMethods->xFileControl(REAL(f), op, arg);
}

static int f_sector_size(sqlite3_file *f)
{
	return REAL(f)->pMethods->xSectorSize(REAL(f));
}

static int f_device(sqlite3_file *f)
{
	return REAL(f)->pMethods->xDeviceCharacteristics(REAL(f));
}

static int f_shm_map(sqlite3_file *f, int pg, int pgsz, int extend, void volatile **pp)
{
	return REAL(f)->pMethods->xShmMap(REAL(f), pg, pgsz, extend, pp);
}

static int f_shm_lock(sqlite3_file *f, int offset, int n, int flags)
{
	return REAL(f)->pMethods->xShmLock(REAL(f), offset, n, flags);
}

static void f_shm_barrier(sqlite3_file *f)
{
	REAL(f)->pMethods->xShmBarrier(REAL(f));
}

static int f_shm_unmap(sqlite3_file *f, int delete_flag)
{
	return REAL(f)->pMethods->xShmUnmap(REAL(f), delete_flag);
}

/* no memory-mapped pages: every read goes through xRead */
static int f_fetch(sqlite3_file *f, sqlite3_int64 off, int amt, void **pp)
{
	(void)f;
	(void)off;
	(void)amt;
	*pp = NULL;
	return SQLITE_OK;
}

static int f_unfetch(sqlite3_file *f, sqlite3_int64 off, void *p)
{
	return REAL(f)->pMethods->xUnfetch(REAL(f), off, p);
}

static int f_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *file, int flags, int *out_flags)
{
	ffile *f = (ffile *)file;
	int rc;

	(void)vfs;
	f->real = (sqlite3_file *)(f + 1);
	f->real->pMethods = NULL;
	f->watched = !F.match || (name && strstr(name, F.match));
	if (fail_now(f, K_OPEN)) {
		f->base.pMethods = NULL;
		return SQLITE_CANTOPEN;
	}
	rc = F.real->xOpen(F.real, name, f->real, flags, out_flags);
	f->base.pMethods = f->real->pMethods ? &F.methods : NULL;
	return rc;
}

static int f_delete(sqlite3_vfs *vfs, const char *name, int sync_dir)
{
	(void)vfs;
	return F.real->xDelete(F.real, name, sync_dir);
}

static int f_access(sqlite3_vfs *vfs, const char *name, int flags, int *out)
{
	(void)vfs;
	return F.real->xAccess(F.real, name, flags, out);
}

static int f_full_pathname(sqlite3_vfs *vfs, const char *name, int n, char *out)
{
	(void)vfs;
	return F.real->xFullPathname(F.real, name, n, out);
}

static void *f_dlopen(sqlite3_vfs *vfs, const char *name)
{
	(void)vfs;
	return F.real->xDlOpen(F.real, name);
}

static void f_dlerror(sqlite3_vfs *vfs, int n, char *msg)
{
	(void)vfs;
	F.real->xDlError(F.real, n, msg);
}

static void (*f_dlsym(sqlite3_vfs *vfs, void *h, const char *sym))(void)
{
	(void)vfs;
	return F.real->xDlSym(F.real, h, sym);
}

static void f_dlclose(sqlite3_vfs *vfs, void *h)
{
	(void)vfs;
	F.real->xDlClose(F.real, h);
}

static int f_randomness(sqlite3_vfs *vfs, int n, char *out)
{
	(void)vfs;
	return F.real->xRandomness(F.real, n, out);
}

static int f_sleep(sqlite3_vfs *vfs, int us)
{
	(void)vfs;
	return F.real->xSleep(F.real, us);
}

static int f_current_time(sqlite3_vfs *vfs, double *out)
{
	(void)vfs;
	return F.real->xCurrentTime(F.real, out);
}

static int f_last_error(sqlite3_vfs *vfs, int n, char *out)
{
	(void)vfs;
	return F.real->xGetLastError(F.real, n, out);
}

static int f_current_time64(sqlite3_vfs *vfs, sqlite3_int64 *out)
{
	(void)vfs;
	return F.real->xCurrentTimeInt64(F.real, out);
}

static void write_counts(void)
{
	FILE *f;
	int k;

	if (!F.counts_path || !(f = fopen(F.counts_path, "w")))
		return;
	for (k = 0; k < K_N; k++)
		fprintf(f, "%s %ld\n", kind_names[k], F.count[k]);
	fprintf(f, "injected %ld\n", F.injected);
	fclose(f);
}

/* KIND:N[+][:full] */
static void parse_spec(const char *spec)
{
	const char *colon = spec ? strchr(spec, ':') : NULL;
	char *end;
	int k;

	if (!colon)
		return;
	for (k = 0; k < K_N; k++)
		if (strlen(kind_names[k]) == (size_t)(colon - spec) && !strncmp(spec, kind_names[k], (size_t)(colon - spec)))
			F.kind = k;
	F.n = strtol(colon + 1, &end, 10);
	if (*end == '+')
		F.persistent = 1, end++;
	F.full = !strcmp(end, ":full");
	if (F.n < 1 || (*end && !F.full)) {
		fprintf(stderr, "faultvfs: bad DRUGSCAN_FAULT '%s'\n", spec);
		exit(99);
	}
}

__attribute__((constructor)) static void fault_init(void)
{
	sqlite3_io_methods *m = &F.methods;

	parse_spec(getenv("DRUGSCAN_FAULT"));
	F.match = getenv("DRUGSCAN_FAULT_MATCH");
	F.counts_path = getenv("DRUGSCAN_FAULT_COUNTS");
	if (sqlite3_initialize() != SQLITE_OK || !(F.real = sqlite3_vfs_find(NULL)))
		exit(99);
	m->iVersion = 3;
	m->xClose = f_close;
	m->xRead = f_read;
	m->xWrite = f_write;
	m->xTruncate = f_truncate;
	m->xSync = f_sync;
	m->xFileSize = f_file_size;
	m->xLock = f_lock;
	m->xUnlock = f_unlock;
	m->xCheckReservedLock = f_check_reserved;
	m->xFileControl = f_file_control;
	m->xSectorSize = f_sector_size;
	m->xDeviceCharacteristics = f_device;
	m->xShmMap = f_shm_map;
	m->xShmLock = f_shm_lock;
	m->xShmBarrier = f_shm_barrier;
	m->xShmUnmap = f_shm_unmap;
	m->xFetch = f_fetch;
	m->xUnfetch = f_unfetch;
	F.vfs = *F.real;
	F.vfs.zName = "faulty";
	F.vfs.szOsFile = (int)sizeof(ffile) + F.real->szOsFile;
	F.vfs.pNext = NULL;
	F.vfs.pAppData = NULL;
	F.vfs.xOpen = f_open;
	F.vfs.xDelete = f_delete;
	F.vfs.xAccess = f_access;
	F.vfs.xFullPathname = f_full_pathname;
	F.vfs.xDlOpen = f_dlopen;
	F.vfs.xDlError = f_dlerror;
	F.vfs.xDlSym = f_dlsym;
	F.vfs.xDlClose = f_dlclose;
	F.vfs.xRandomness = f_randomness;
	F.vfs.xSleep = f_sleep;
	F.vfs.xCurrentTime = f_current_time;
	F.vfs.xGetLastError = f_last_error;
	F.vfs.xCurrentTimeInt64 = f_current_time64;
	if (sqlite3_vfs_register(&F.vfs, 1) != SQLITE_OK)
		exit(99);
	atexit(write_counts);
}
