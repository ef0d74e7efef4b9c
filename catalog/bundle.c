/*
 * bundle.c - an import run: gather files (and the files of directories),
 * order them so referenced rows come first, and import them in one
 * transaction that is committed only when every row was good (or --skip-bad).
 * The bundles compiled into the binary (the national list, the demo) are
 * imported the same way.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "internal.h"

void ds_import_report_free(ds_import_report *r)
{
	if (r)
		ds_buf_free(&r->errors);
}

/* The national data goes; the pharmacy's own tables (local_*) stay. */
int cat_clear(sqlite3 *db, ds_error *err)
{
	return cat_exec(db,
	                "DELETE FROM drugs; DELETE FROM identifiers; DELETE FROM lists; DELETE FROM list_members;"
	                " DELETE FROM policies; DELETE FROM recalls; DELETE FROM meta; DELETE FROM categories;"
	                " DELETE FROM name_keys; DELETE FROM name_search;",
	                err);
}

typedef struct infile {
	char *path;         /* owned */
	unsigned char *data; /* owned */
	size_t len;
	int rank;
} infile;

static int has(const char *head, const char *name)
{
	return strstr(head, name) != NULL;
}

/*
 * Order by what the header names, so referenced rows exist first: meta,
 * drugs (NHSA exports, the list's rows, cidl and categories), lists,
 * identifiers and mappings, list members, policies, recalls. A header with
 * none of the bundle's ASCII names is an NHSA export (its Chinese names may
 * still be GB18030 here).
 */
static int rank_of(const unsigned char *d, size_t len)
{
	char head[1024];
	size_t n = 0, i;

	if (len >= 3 && d[0] == 0xEF && d[1] == 0xBB && d[2] == 0xBF) {
		d += 3;
		len -= 3;
	}
	while (n < len && n < sizeof(head) - 1 && d[n] != '\n')
		n++;
	memcpy(head, d, n);
	head[n] = '\0';
	for (i = 0; i < n; i++)
		if (head[i] >= 'A' && head[i] <= 'Z')
			head[i] = (char)(head[i] - 'A' + 'a');
	if (has(head, "identifier") && has(head, "target"))
		return 3; /* a 对照 file: after the drugs it names */
	if (has(head, "generic_name"))
		return 1;
	if (has(head, "list_id") && has(head, "name_zh"))
		return 2;
	if (has(head, "type") && has(head, "value") && has(head, "batch"))
		return 6;
	if (has(head, "type") && has(head, "value"))
		return 3;
	if (has(head, "list_id"))
		return 4;
	if (has(head, "scope"))
		return 5;
	if (has(head, "key") && has(head, "value"))
		return 0;
	return 1;
}

static int read_file(infile *f, const char *path, ds_error *err)
{
	FILE *fp = fopen(path, "rb");
	struct stat st;
	size_t got;

	if (!fp)
		return ds_error_set(err, DS_EIO, "cannot open '%s': %s", path, strerror(errno));
	if (fstat(fileno(fp), &st) != 0 || !S_ISREG(st.st_mode)) {
		fclose(fp);
		return ds_error_set(err, DS_EIO, "cannot read '%s': not a regular file", path);
	}
	f->data = malloc((size_t)st.st_size + 1);
	if (!f->data) {
		fclose(fp);
		return ds_error_set(err, DS_ENOMEM, "out of memory reading '%s'", path);
	}
	got = fread(f->data, 1, (size_t)st.st_size, fp);
	fclose(fp);
	f->len = got;
	f->path = strdup(path);
	f->rank = rank_of(f->data, f->len);
	return f->path ? DS_OK : DS_ENOMEM;
}

static int cmp_infile(const void *a, const void *b)
{
	const infile *x = a, *y = b;
	return x->rank != y->rank ? x->rank - y->rank : strcmp(x->path, y->path);
}

static int gather(infile **files, size_t *n, size_t *cap, const char *path, ds_error *err)
{
	struct stat st;

	if (stat(path, &st) != 0)
		return ds_error_set(err, DS_EIO, "cannot open '%s': %s", path, strerror(errno));
	if (S_ISDIR(st.st_mode)) {
		DIR *d = opendir(path);
		struct dirent *e;
		int rc = DS_OK;
		if (!d)
			return ds_error_set(err, DS_EIO, "cannot open '%s': %s", path, strerror(errno));
		while (rc == DS_OK && (e = readdir(d))) {
			size_t len = strlen(e->d_name);
			char child[4096];
			if (e->d_name[0] == '.' || len < 5 || strcasecmp(e->d_name + len - 4, ".csv"))
				continue;
			snprintf(child, sizeof(child), "%s/%s", path, e->d_name);
			rc = gather(files, n, cap, child, err);
		}
		closedir(d);
		return rc;
	}
	if (*n == *cap) {
		infile *v;
		*cap = *cap ? *cap * 2 : 16;
		v = realloc(*files, *cap * sizeof(**files));
		if (!v)
			return ds_error_set(err, DS_ENOMEM, "out of memory");
		*files = v;
	}
	memset(&(*files)[*n], 0, sizeof(infile));
	(*n)++;
	return read_file(&(*files)[*n - 1], path, err);
}

/* The import's time, its source and (for a bundle compiled in) its seed, in its transaction. */
static int stamp(sqlite3 *db, const char *source, const char *seed, ds_error *err)
{
	char now[32];
	time_t t = time(NULL);
	struct tm tm;
	sqlite3_stmt *st;
	int rc;

	gmtime_r(&t, &tm);
	strftime(now, sizeof(now), "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (cat_set_meta(db, "imported_at", now, err) < 0 || (seed && cat_set_meta(db, "seed", seed, err) < 0))
		return DS_EIO;
	if (!source)
		return DS_OK;
	/* a bundle's own meta.csv wins over the file names */
	if ((rc = sqlite3_prepare_v2(db, "INSERT OR IGNORE INTO meta (key, value) VALUES ('source', ?1)", -1, &st, NULL)) !=
	    SQLITE_OK)
		return cat_sql_error(db, rc, err);
	sqlite3_bind_text(st, 1, source, -1, SQLITE_TRANSIENT);
	rc = sqlite3_step(st);
	rc = rc == SQLITE_DONE ? DS_OK : cat_sql_error(db, rc, err);
	sqlite3_finalize(st);
	return rc;
}

static int run(ds_catalog *cat, infile *files, size_t n, const ds_import_opts *opts, ds_import_report *report,
               const char *source, const char *seed, ds_error *err)
{
	size_t i;
	int rc = DS_OK, drugs = opts && opts->replace;

	qsort(files, n, sizeof(*files), cmp_infile);
	cat_read_end(cat); /* a lookup's read transaction would block the write */
	cat_cache_clear(cat); /* our own writes do not change data_version */
	if (cat_exec(cat->db, "BEGIN IMMEDIATE", err) < 0)
		return DS_ERR;
	if (opts && opts->replace)
		rc = cat_clear(cat->db, err);
	for (i = 0; i < n && rc == DS_OK; i++) {
		rc = cat_import_buffer(cat->db, files[i].path, files[i].data, files[i].len, opts, report, err);
		drugs |= files[i].rank == 1;
	}
	if (rc == DS_OK && report->bad && !(opts && opts->skip_bad))
		rc = ds_error_set(err, DS_EINVAL, "%ld bad row%s: nothing was imported (--skip-bad imports the rest)",
		                  report->bad, report->bad == 1 ? "" : "s");
	if (rc == DS_OK && drugs) /* drugs changed: join NHSA rows to the list, rebuild the search index */
		rc = cat_after_import(cat->db, err);
	if (rc == DS_OK)
		rc = stamp(cat->db, source, seed, err);
	if (rc == DS_OK)
		rc = cat_exec(cat->db, "COMMIT", err);
	if (rc != DS_OK) {
		sqlite3_exec(cat->db, "ROLLBACK", NULL, NULL, NULL);
		report->rows = 0;
	}
	/* what the lookups know of the local tables; when it cannot be read, none is skipped */
	if (cat_load_period(cat, NULL) < 0)
		cat->local_idents = cat->local_lists = cat->local_members = cat->local_policies = 1;
	return rc;
}

int ds_catalog_import(ds_catalog *cat, const char *const *paths, size_t npaths, const ds_import_opts *opts,
                      ds_import_report *report, ds_error *err)
{
	infile *files = NULL;
	size_t n = 0, cap = 0, i;
	ds_buf source = DS_BUF_INIT;
	int rc = DS_OK;

	for (i = 0; i < npaths && rc == DS_OK; i++) {
		rc = gather(&files, &n, &cap, paths[i], err);
		ds_buf_printf(&source, "%s%s", i ? ", " : "", paths[i]);
	}
	if (rc == DS_OK && n == 0)
		rc = ds_error_set(err, DS_EINVAL, "no CSV files found");
	if (rc == DS_OK)
		rc = run(cat, files, n, opts, report, source.ptr, NULL, err);
	for (i = 0; i < n; i++) {
		free(files[i].path);
		free(files[i].data);
	}
	free(files);
	ds_buf_free(&source);
	return rc;
}

int cat_import_memory(ds_catalog *cat, const char *const *names, const unsigned char *const *data,
                      const size_t *lens, size_t n, const ds_import_opts *opts, ds_import_report *report,
                      const char *source, ds_error *err)
{
	infile *files = calloc(n ? n : 1, sizeof(infile));
	size_t i;
	int rc;

	if (!files)
		return ds_error_set(err, DS_ENOMEM, "out of memory");
	for (i = 0; i < n; i++) {
		files[i].path = (char *)(uintptr_t)names[i];
		files[i].data = (unsigned char *)(uintptr_t)data[i];
		files[i].len = lens[i];
		files[i].rank = rank_of(data[i], lens[i]);
	}
	rc = run(cat, files, n, opts, report, source, NULL, err);
	free(files);
	return rc;
}

/* Import a bundle compiled into the binary, instead of the national data. */
static int import_embedded(ds_catalog *cat, const demo_file *emb, size_t n, const char *what, const char *source,
                           const char *seed, ds_error *err)
{
	infile *files = calloc(n ? n : 1, sizeof(infile));
	ds_import_report report;
	ds_import_opts opts = {1, 0, 0, 0};
	size_t i;
	int rc;

	if (!files)
		return ds_error_set(err, DS_ENOMEM, "out of memory");
	memset(&report, 0, sizeof(report));
	for (i = 0; i < n; i++) {
		files[i].path = (char *)(uintptr_t)emb[i].name;
		files[i].data = (unsigned char *)(uintptr_t)emb[i].data;
		files[i].len = emb[i].len;
		files[i].rank = rank_of(files[i].data, files[i].len);
	}
	rc = run(cat, files, n, &opts, &report, source, seed, err);
	if (rc < 0 && report.errors.ptr) /* the bundle is ours: its first bad row says what broke */
		ds_error_set(err, DS_EINVAL, "embedded %s: %.*s", what, (int)strcspn(report.errors.ptr, "\n"),
		             report.errors.ptr);
	ds_import_report_free(&report);
	free(files);
	return rc;
}

int ds_catalog_import_demo(ds_catalog *cat, ds_error *err)
{
	return import_embedded(cat, ds_demo_files, ds_demo_nfiles, "demo catalog", "drugscan demo bundle (embedded)",
	                       "demo", err);
}

const char *ds_catalog_builtin_version(void)
{
	static const char key[] = "\nversion,";
	static char version[64];
	size_t i;

	if (version[0])
		return version;
	for (i = 0; i < ds_nrdl_nfiles; i++) {
		const char *d = (const char *)ds_nrdl_files[i].data, *v;
		size_t n;
		if (strcmp(ds_nrdl_files[i].name, "meta.csv") || !(v = strstr(d, key)))
			continue;
		v += strlen(key);
		n = strcspn(v, "\r\n");
		snprintf(version, sizeof(version), "%.*s", (int)(n < sizeof(version) ? n : sizeof(version) - 1), v);
	}
	if (!version[0])
		snprintf(version, sizeof(version), "unknown");
	return version;
}

int ds_catalog_import_nrdl(ds_catalog *cat, ds_error *err)
{
	char seed[80];

	snprintf(seed, sizeof(seed), "builtin:%s", ds_catalog_builtin_version());
	return import_embedded(cat, ds_nrdl_files, ds_nrdl_nfiles, "national list", NULL, seed, err);
}
