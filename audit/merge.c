/*
 * merge.c - `audit merge`: the folders of `audit --shard K/N` runs joined
 * into one, in the order one unsharded run would have written, with the
 * duplicates found across shards.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

typedef struct entry {
	char *file;
	int src;
	off_t offset;
	size_t len;
	char *thumb;
} entry;

static int cmp_entry(const void *a, const void *b)
{
	const entry *x = a, *y = b;
	int c = au_pathcmp(x->file, y->file);

	return c ? c : x->src - y->src;
}

static int copy_file(const char *from, const char *to)
{
	char buf[65536];
	ds_atomic out = DS_ATOMIC_INIT;
	FILE *in;
	size_t n;
	int ok = 1;

	if (link(from, to) == 0 || errno == EEXIST)
		return 0;
	in = fopen(from, "rb");
	if (!in)
		return -1;
	if (ds_atomic_open(&out, to, NULL) < 0) {
		fclose(in);
		return -1;
	}
	while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
		if (fwrite(buf, 1, n, out.f) != n)
			ok = 0;
	if (ferror(in))
		ok = 0;
	fclose(in);
	if (!ok) {
		ds_atomic_abort(&out);
		return -1;
	}
	return ds_atomic_commit(&out, NULL) < 0 ? -1 : 0;
}

/* "K/N" as written in summary.json; -1 when it is not that. */
static int parse_shard_text(const char *s, int *k, int *n)
{
	char *end;
	long a, b;

	errno = 0;
	a = strtol(s, &end, 10);
	if (errno || end == s || *end != '/' || a < 0 || a > 1000000)
		return -1;
	s = end + 1;
	b = strtol(s, &end, 10);
	if (errno || end == s || *end || b < 1 || b > 1000000)
		return -1;
	*k = (int)a;
	*n = (int)b;
	return 0;
}

/* What a shard's summary.json says of its run (*run: its "run", owned). */
static json_t *shard_info(const char *dir, int *k, int *n, int *complete, json_t **run)
{
	char path[4200];
	json_t *s, *o;
	const char *shard;

	snprintf(path, sizeof(path), "%s/summary.json", dir);
	s = json_load_file(path, 0, NULL);
	*run = json_incref(json_object_get(s, "run"));
	shard = json_string_value(json_object_get(*run, "shard"));
	*k = -1;
	*n = 0;
	*complete = json_is_true(json_object_get(*run, "complete")); /* no summary: a run killed before its reports */
	if (shard && parse_shard_text(shard, k, n) < 0)
		*k = -1;
	o = json_pack("{s:s, s:O?, s:O?, s:O?, s:b, s:O?}", "dir", dir, "shard", json_object_get(*run, "shard"), "images",
	              json_object_get(s, "images"), "elapsed_s", json_object_get(*run, "elapsed_s"), "complete", *complete,
	              "images_total", json_object_get(*run, "images_total"));
	json_decref(s);
	return o;
}

typedef struct merge {
	const ds_audit_opts *o;
	char *const *dirs;
	size_t ndirs;
	entry *e;
	size_t ne, cap;
	FILE **in;          /* each shard's results.jsonl */
	json_t *shards;     /* what each shard's summary.json says */
	double wall;        /* the slowest shard's time */
	size_t incomplete;  /* shard folders of an interrupted run */
	json_t *missing;    /* "K/N" of the shards not among the folders */
	json_t *finish;     /* the commands that finish the audit */
	json_t *model;      /* the "run" of a shard that says its paths and options (owned) */
	size_t total;       /* photos the shards were to audit, when total_known */
	int total_known;
	ds_catalog_info catalog;
	int have_catalog;
	char no_catalog[DS_ERROR_MAX]; /* a shard judged without the catalog, said */
	char *line;
	size_t lcap;
	ds_buf copy;
} merge;

/* Every complete line of shard s, by path. */
static int read_shard(merge *m, size_t s, ds_error *err)
{
	char path[4200];
	ssize_t got;
	off_t pos = 0;

	snprintf(path, sizeof(path), "%s/results.jsonl", m->dirs[s]);
	m->in[s] = fopen(path, "r");
	if (!m->in[s])
		return ds_error_set(err, DS_EIO, "cannot open '%s': %s", path, strerror(errno));
	while ((got = getline(&m->line, &m->lcap, m->in[s])) > 0) {
		json_t *j = m->line[got - 1] == '\n' ? json_loadb(m->line, (size_t)got, 0, NULL) : NULL;
		const char *file = json_string_value(json_object_get(j, "file"));
		const char *thumb = json_string_value(json_object_get(j, "thumbnail"));
		if (file) {
			if (m->ne == m->cap) {
				size_t nc = m->cap ? m->cap * 2 : 1024;
				entry *ne_ = realloc(m->e, nc * sizeof(*m->e));
				if (!ne_) {
					json_decref(j);
					return ds_error_set(err, DS_ENOMEM, "out of memory");
				}
				m->e = ne_;
				m->cap = nc;
			}
			m->e[m->ne].file = strdup(file);
			m->e[m->ne].thumb = thumb ? strdup(thumb) : NULL;
			m->e[m->ne].src = (int)s;
			m->e[m->ne].offset = pos;
			m->e[m->ne].len = (size_t)got;
			m->ne++;
		} else if (m->line[got - 1] == '\n') {
			au_note(m->o, "'%s': a line that is not a scan result is skipped", path);
		}
		json_decref(j);
		pos += got;
	}
	return DS_OK;
}

/* A shard's run as the catalog it was judged with; another catalog than the
 * first shard's is said (the codes were judged against different data). */
static void shard_catalog(merge *m, const char *dir, json_t *run)
{
	json_t *c = json_object_get(run, "catalog");
	ds_catalog_info info;

	if (json_is_null(c) && !m->no_catalog[0]) { /* judged without the catalog (an older summary says nothing) */
		snprintf(m->no_catalog, sizeof(m->no_catalog), "'%s' was audited without the catalog", dir);
		au_note(m->o, "%s: its codes have no drug, labels or recalls", m->no_catalog);
	}
	if (!json_is_object(c))
		return;
	memset(&info, 0, sizeof(info));
	snprintf(info.source, sizeof(info.source), "%s", au_jstr(c, "source"));
	snprintf(info.version, sizeof(info.version), "%s", au_jstr(c, "version"));
	snprintf(info.imported_at, sizeof(info.imported_at), "%s", au_jstr(c, "imported_at"));
	info.synthetic = json_is_true(json_object_get(c, "synthetic"));
	if (!m->have_catalog) {
		m->catalog = info;
		m->have_catalog = 1;
	} else if (strcmp(info.source, m->catalog.source) || strcmp(info.version, m->catalog.version)) {
		au_note(m->o, "'%s' was judged with the catalog '%s' %s, not '%s' %s as the first shard", dir, info.source,
		        info.version, m->catalog.source, m->catalog.version);
	}
	m->catalog.synthetic |= info.synthetic;
}

/* " OPTIONS PATHS" of the model shard's run, or " PATH..." when no shard says them. */
static void model_args(const merge *m, ds_buf *b)
{
	json_t *opts = json_object_get(m->model, "options"), *paths = json_object_get(m->model, "paths"), *w;
	size_t i;
	int dash = 0;

	json_array_foreach(opts, i, w) {
		ds_buf_putc(b, ' ');
		au_shell_word(b, json_string_value(w));
	}
	json_array_foreach(paths, i, w)
		dash |= (json_string_value(w) ? json_string_value(w) : "")[0] == '-';
	if (dash)
		ds_buf_puts(b, " --");
	json_array_foreach(paths, i, w) {
		ds_buf_putc(b, ' ');
		au_shell_word(b, (json_string_value(w) ? json_string_value(w) : ""));
	}
	if (!json_array_size(paths))
		ds_buf_puts(b, " PATH...");
}

/* The command that finishes shard s, an interrupted run. */
static void resume_shard(merge *m, size_t s, json_t *run, int k, int n)
{
	json_t *fin = json_array_get(json_object_get(run, "finish"), 0);
	ds_buf cmd = DS_BUF_INIT;

	if (json_string_value(fin)) {
		ds_buf_puts(&cmd, json_string_value(fin));
	} else { /* killed before its reports: a sibling's paths, as good as any (they ran the same command) */
		ds_buf_puts(&cmd, "drugscan audit --resume --out ");
		au_shell_word(&cmd, m->dirs[s]);
		if (k >= 0)
			ds_buf_printf(&cmd, " --shard %d/%d", k, n);
		model_args(m, &cmd);
	}
	json_array_append_new(m->finish, json_string(cmd.ptr ? cmd.ptr : ""));
	ds_buf_free(&cmd);
}

/* What one shard's summary says: counted, and an interrupted shard said with the command that finishes it. */
static void shard_said(merge *m, size_t s, int *nshards, unsigned char **seen)
{
	int k, n, complete;
	json_t *run, *info = shard_info(m->dirs[s], &k, &n, &complete, &run);
	double el = json_real_value(json_object_get(info, "elapsed_s"));

	if (!m->model && json_array_size(json_object_get(run, "paths")))
		m->model = json_incref(run);
	if (!complete) {
		au_note(m->o, "'%s' is an interrupted audit: resume it first for the whole picture", m->dirs[s]);
		m->incomplete++;
		resume_shard(m, s, run, k, n);
	}
	if (json_is_integer(json_object_get(run, "images_total")))
		m->total += (size_t)json_integer_value(json_object_get(run, "images_total"));
	else
		m->total_known = 0;
	if (n > 0 && !*seen) {
		*nshards = n;
		*seen = calloc((size_t)n, 1);
	}
	if (*seen && n == *nshards && k >= 0 && k < n)
		(*seen)[k] = 1;
	shard_catalog(m, m->dirs[s], run);
	m->wall = m->wall > el ? m->wall : el;
	json_array_append_new(m->shards, info);
	json_decref(run);
}

/* The shards of K/N that no folder is: said, and the commands to make them;
 * then the merge again with every folder. */
static void missing_shards(merge *m, const char *out, int nshards, const unsigned char *seen)
{
	ds_buf cmd = DS_BUF_INIT;
	size_t s, i;

	for (s = 0; seen && s < (size_t)nshards; s++) {
		char shard[64];
		if (seen[s])
			continue;
		au_note(m->o, "shard %zu/%d is missing: its photos are not in the report", s, nshards);
		snprintf(shard, sizeof(shard), "%zu/%d", s, nshards);
		json_array_append_new(m->missing, json_string(shard));
		ds_buf_clear(&cmd);
		ds_buf_printf(&cmd, "drugscan audit --shard %s --out shard-%zu-of-%d", shard, s, nshards);
		model_args(m, &cmd);
		json_array_append_new(m->finish, json_string(cmd.ptr ? cmd.ptr : ""));
	}
	if (json_array_size(m->finish)) {
		ds_buf_clear(&cmd);
		ds_buf_puts(&cmd, "drugscan audit merge");
		for (i = 0; i < m->ndirs; i++) {
			ds_buf_putc(&cmd, ' ');
			au_shell_word(&cmd, m->dirs[i]);
		}
		for (s = 0; seen && s < (size_t)nshards; s++)
			if (!seen[s])
				ds_buf_printf(&cmd, " shard-%zu-of-%d", s, nshards);
		ds_buf_puts(&cmd, " --out ");
		au_shell_word(&cmd, out);
		json_array_append_new(m->finish, json_string(cmd.ptr ? cmd.ptr : ""));
	}
	ds_buf_free(&cmd);
}

/* Every shard read, what their summaries say noted, the lines in one order. */
static int read_shards(merge *m, ds_error *err)
{
	unsigned char *seen = NULL;
	int nshards = 0, rc = DS_OK;
	size_t s;

	m->total_known = 1;
	for (s = 0; s < m->ndirs && rc == DS_OK; s++)
		rc = read_shard(m, s, err);
	for (s = 0; s < m->ndirs && rc == DS_OK; s++)
		shard_said(m, s, &nshards, &seen);
	if (rc == DS_OK)
		missing_shards(m, m->o->out_dir, nshards, seen);
	free(seen);
	if (rc == DS_OK)
		qsort(m->e, m->ne, sizeof(*m->e), cmp_entry);
	return rc;
}

/* results.jsonl of the merge, through a temporary file, and the thumbnails. */
static int write_merged(merge *m, const char *dir, size_t *kept, size_t *same, ds_error *err)
{
	char path[4200];
	ds_atomic out = DS_ATOMIC_INIT;
	size_t i;
	int rc = DS_OK;

	snprintf(path, sizeof(path), "%s/thumbs", dir);
	mkdir(path, 0777);
	snprintf(path, sizeof(path), "%s/results.jsonl", dir);
	if ((rc = ds_atomic_open(&out, path, err)) < 0)
		return rc;
	for (i = 0; i < m->ne && rc == DS_OK; i++) {
		const entry *e = &m->e[i];
		if (i && !strcmp(e->file, m->e[i - 1].file)) {
			(*same)++; /* the same photo in two shard folders: once is enough */
			continue;
		}
		if (au_read_line(m->in[e->src], e->offset, e->len, &m->copy) < 0 ||
		    fwrite(m->copy.ptr, 1, e->len, out.f) != e->len) {
			au_note(m->o, "cannot copy a line of '%s': %s", m->dirs[e->src], strerror(errno));
			rc = DS_EIO;
		}
		if (e->thumb && !strstr(e->thumb, "..") && !strncmp(e->thumb, "thumbs/", 7)) {
			char from[4300], to[4300], sub[4300];
			snprintf(from, sizeof(from), "%s/%s", m->dirs[e->src], e->thumb);
			snprintf(to, sizeof(to), "%s/%s", dir, e->thumb);
			snprintf(sub, sizeof(sub), "%s/%.9s", dir, e->thumb);
			mkdir(sub, 0777);
			if (copy_file(from, to) != 0)
				au_note(m->o, "cannot copy the thumbnail '%s': %s", from, strerror(errno));
		}
		(*kept)++;
	}
	if (rc != DS_OK) {
		ds_error_set(err, DS_EIO, "cannot write '%s': %s", path, strerror(errno));
		ds_atomic_abort(&out);
		return DS_EIO;
	}
	return ds_atomic_commit(&out, err);
}

/* --out may not be one of the shards: the merge would write into it. */
static int out_is_a_shard(const char *dir, char *const *dirs, size_t ndirs)
{
	size_t s;

	for (s = 0; s < ndirs; s++) {
		struct stat a, b;
		if (stat(dirs[s], &a) == 0 && stat(dir, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino)
			return 1;
	}
	return 0;
}

int ds_audit_merge(const ds_audit_opts *o, char *const *dirs, size_t ndirs, ds_audit_result *res, ds_error *err)
{
	const char *dir = o->out_dir;
	merge m;
	au_run run;
	ds_audit_totals t;
	json_t *cmd;
	size_t i, kept = 0;
	int rc, lock = -1;

	memset(res, 0, sizeof(*res));
	if (!dir || !ndirs)
		return ds_error_set(err, DS_EINVAL, "nothing to merge");
	if (out_is_a_shard(dir, dirs, ndirs)) {
		res->refused = 1;
		return ds_error_set(err, DS_EINVAL, "'%s' is one of the shards: merge into a new folder", dir);
	}
	memset(&m, 0, sizeof(m));
	memset(&run, 0, sizeof(run));
	m.o = o;
	m.dirs = dirs;
	m.ndirs = ndirs;
	m.shards = json_array();
	m.missing = json_array();
	m.finish = json_array();
	m.in = calloc(ndirs, sizeof(FILE *));
	if (!m.in || !m.shards || !m.missing || !m.finish) {
		rc = ds_error_set(err, DS_ENOMEM, "out of memory");
		goto done;
	}
	rc = read_shards(&m, err);
	if (rc < 0)
		goto done;
	if (mkdir(dir, 0777) != 0 && errno != EEXIST) {
		rc = ds_error_set(err, DS_EIO, "cannot create '%s': %s", dir, strerror(errno));
		goto done;
	}
	lock = au_lock_dir(dir, err);
	if (lock < 0) {
		rc = DS_EIO;
		goto done;
	}
	rc = write_merged(&m, dir, &kept, &res->same, err);
	if (rc < 0)
		goto done;
	if (res->same)
		au_note(o, "%zu photos were in more than one shard folder and are counted once", res->same);
	run.elapsed_s = m.wall;
	run.scanned = kept;
	run.shards = m.shards;
	run.complete = !m.incomplete && !json_array_size(m.missing);
	run.title = "merge";
	run.total = m.total;
	run.total_known = m.total_known && !json_array_size(m.missing);
	run.paths = (char *const *)dirs;
	run.npaths = ndirs;
	run.missing_shards = m.missing;
	run.finish = m.finish;
	run.options = json_object_get(m.model, "options");
	run.catalog = m.have_catalog && !m.no_catalog[0] ? &m.catalog : NULL;
	run.catalog_error = m.no_catalog[0] ? m.no_catalog : NULL;
	res->photos = res->scanned = kept;
	res->missing_shards = json_array_size(m.missing);
	res->no_catalog = m.no_catalog[0] != '\0';
	res->incomplete_shards = m.incomplete;
	json_array_foreach(m.finish, i, cmd)
		ds_buf_printf(&res->finish, "%s\n", json_string_value(cmd));
	rc = ds_audit_report(dir, &run, o->lang, &t, err);
	res->flags = t.flags;
	res->reported = t.photos;
	res->codes = t.codes;
	res->duplicates = t.duplicates;
	res->errors = t.errors;
done:
	for (i = 0; m.in && i < ndirs; i++)
		if (m.in[i])
			fclose(m.in[i]);
	for (i = 0; i < m.ne; i++) {
		free(m.e[i].file);
		free(m.e[i].thumb);
	}
	if (lock >= 0)
		close(lock);
	free(m.e);
	free(m.in);
	free(m.line);
	ds_buf_free(&m.copy);
	json_decref(m.shards);
	json_decref(m.missing);
	json_decref(m.finish);
	json_decref(m.model);
	return rc;
}
