/*
 * run.c - an audit: an inspector's folders of photos in, a report folder
 * out (results.jsonl, codes.csv, summary.json, report.html).
 *
 * Photos are decoded on N threads through the ordered runner of batch.c;
 * each result line is appended to results.jsonl and flushed in input order
 * as soon as it is ready, after its thumbnail is on disk. A killed run is
 * resumed from those lines (path, size and mtime say a photo is done), and
 * the reports are made from results.jsonl alone, so a resumed run ends with
 * the same reports as an uninterrupted one. Merging shards is merge.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

#define THUMB_SIDE 320

typedef struct audit_job {
	const ds_audit_opts *o;
	const char *dir;
	int no_catalog;
	char **todo;          /* paths still to scan */
	char **why;           /* for each, why it cannot be read (the walk said), or NULL */
	size_t ntodo, done_before, dropped, total;
	FILE *results;
	int write_error;
	size_t emitted;
	double t0, last_sync;
	ds_error err;         /* why emit stopped the run */
	ds_catalog_info catalog; /* what the codes are judged with, unless no_catalog */
	char catalog_error[DS_ERROR_MAX];
} audit_job;

void au_note(const ds_audit_opts *o, const char *fmt, ...)
{
	char msg[8192];
	va_list ap;

	if (!o || !o->note)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	o->note(o->ctx, msg);
}

static int stopped(const audit_job *job)
{
	return job->o->stop && *job->o->stop;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void au_mtime_text(const struct stat *st, char out[48])
{
	struct tm tm;
	size_t n;

	gmtime_r(&st->st_mtim.tv_sec, &tm);
	n = strftime(out, 24, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out + n, 48 - n, ".%09ldZ", (long)(st->st_mtim.tv_nsec % 1000000000L));
}

/* thumbs/ab/<sha256>.jpg: named by content, so copies share one. */
static int save_thumb(const audit_job *job, const ds_image *thumb, const char *sha, char rel[96])
{
	char path[4300], tmp[4400];
	uint8_t *jpg;
	size_t len;
	ds_error err;
	ds_atomic out = DS_ATOMIC_INIT;
	struct stat st;
	int ok;

	snprintf(rel, 96, "thumbs/%.2s/%s.jpg", sha, sha);
	snprintf(path, sizeof(path), "%s/%s", job->dir, rel);
	if (stat(path, &st) == 0 && st.st_size > 0)
		return 0;
	if (ds_image_encode_jpeg(thumb, 70, &jpg, &len, &err) < 0)
		return -1;
	snprintf(tmp, sizeof(tmp), "%s/thumbs/%.2s", job->dir, sha);
	mkdir(tmp, 0777);
	ok = ds_atomic_open(&out, path, NULL) == DS_OK && fwrite(jpg, 1, len, out.f) == len;
	free(jpg);
	if (!ok) {
		ds_atomic_abort(&out);
		return -1;
	}
	return ds_atomic_commit(&out, NULL) < 0 ? -1 : 0;
}

/* ---- the workers ---- */

static void *audit_worker_new(void *ctx)
{
	audit_job *job = ctx;

	return ds_image_worker_new(&job->o->scan, job->o->data_dir, job->o->insurance, job->o->lang, job->no_catalog);
}

static void audit_worker_free(void *ctx, void *state)
{
	(void)ctx;
	ds_image_worker_free(state);
}

static int audit_work(void *ctx, void *state, size_t i, ds_buf *out)
{
	audit_job *job = ctx;
	ds_image_worker *w = state;
	const char *path = job->todo[i];
	ds_scan_result res;
	ds_scan_extra extra;
	ds_error err;
	struct stat st;
	uint8_t *data = NULL;
	size_t len = 0;
	char sha[65] = "", mtime[48] = "", rel[96] = "";
	json_t *line;
	char *s;
	int rc, flags;

	memset(&res, 0, sizeof(res));
	memset(&extra, 0, sizeof(extra));
	ds_error_clear(&err);
	if (!w)
		return -1;
	extra.thumb_side = THUMB_SIDE;
	if (job->why[i])
		rc = ds_error_set(&err, DS_EIO, "%s", job->why[i]);
	else if (stat(path, &st) != 0)
		rc = ds_error_set(&err, DS_EIO, "cannot open '%s': %s", path, strerror(errno));
	else
		rc = ds_image_read_file(path, &data, &len, &err);
	if (rc == DS_OK) {
		unsigned char md[EVP_MAX_MD_SIZE];
		unsigned int n = 0, k;
		au_mtime_text(&st, mtime);
		if (EVP_Digest(data, len, md, &n, EVP_sha256(), NULL))
			for (k = 0; k < n && k < 32; k++)
				snprintf(sha + 2 * k, 3, "%02x", md[k]);
		rc = ds_scanner_scan_data(w->scanner, data, len, path, &extra, &res, &err);
		if (extra.thumb.gray && *sha && save_thumb(job, &extra.thumb, sha, rel) < 0)
			rel[0] = '\0';
	}
	free(data);
	line = ds_scan_json(path, &res, rc < 0 ? err.message : NULL, w, job->o->lang, &flags);
	if (line) {
		json_object_set_new(line, "bytes", *mtime ? json_integer((json_int_t)st.st_size) : json_null());
		json_object_set_new(line, "mtime", *mtime ? json_string(mtime) : json_null());
		json_object_set_new(line, "sha256", *sha ? json_string(sha) : json_null());
		json_object_set_new(line, "image", extra.width ? json_pack("{s:i, s:i}", "width", extra.width, "height",
		                                                            extra.height)
		                                                : json_null());
		json_object_set_new(line, "thumbnail", *rel ? json_string(rel) : json_null());
	}
	s = line ? json_dumps(line, JSON_COMPACT | JSON_REAL_PRECISION(9)) : NULL;
	json_decref(line);
	ds_image_free(&extra.thumb);
	ds_scan_result_free(&res);
	if (!s)
		return -1;
	ds_buf_puts(out, s);
	ds_buf_putc(out, '\n');
	free(s);
	return flags;
}

static void progress(audit_job *job, int last)
{
	ds_audit_progress p;

	if (!job->o->progress)
		return;
	p.done = job->done_before + job->emitted;
	p.total = job->total;
	p.scanned = job->emitted;
	p.elapsed_s = now_s() - job->t0;
	p.last = last;
	job->o->progress(job->o->ctx, &p);
}

static int audit_emit(void *ctx, size_t i, const ds_buf *b, int flags)
{
	audit_job *job = ctx;
	double t;

	(void)i;
	if (flags < 0)
		return ds_error_set(&job->err, DS_ENOMEM, "out of memory");
	if (fwrite(b->ptr, 1, b->len, job->results) != b->len || fflush(job->results) != 0) {
		job->write_error = errno ? errno : EIO;
		return DS_EIO;
	}
	job->emitted++;
	t = now_s();
	if (t - job->last_sync > 1.0) { /* on disk at least once a second, not only in the page cache */
		fdatasync(fileno(job->results));
		job->last_sync = t;
	}
	progress(job, 0);
	return stopped(job) ? DS_ERR : DS_OK;
}

/* ---- the run ---- */

/* thumbs/ab/<sha256>.jpg of a report folder inside the photo folder: not a photo */
static int is_our_thumbnail(const char *path)
{
	size_t n = strlen(path), k;
	const char *name;

	if (n < 7 + 3 + 68 + 1)
		return 0;
	name = path + n - 68;
	if (strcmp(name + 64, ".jpg") || name[-1] != '/' || name[-4] != '/' || memcmp(name - 3, name, 2) ||
	    memcmp(name - 11, "/thumbs/", 8))
		return 0;
	for (k = 0; k < 64; k++)
		if (!strchr("0123456789abcdef", name[k]))
			return 0;
	return 1;
}

typedef struct entry {
	char *path, *why;
	size_t root_len;
} entry;

static int cmp_entries(const void *a, const void *b)
{
	return au_pathcmp(((const entry *)a)->path, ((const entry *)b)->path);
}

/* Lock DIR against a second audit writing into it at the same time. */
int au_lock_dir(const char *dir, ds_error *err)
{
	char path[4200];
	int fd;

	snprintf(path, sizeof(path), "%s/.lock", dir);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
	if (fd < 0) {
		ds_error_set(err, DS_EIO, "cannot write in '%s': %s", dir, strerror(errno));
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		ds_error_set(err, DS_EIO, "another audit is writing to '%s'", dir);
		close(fd);
		return -1;
	}
	return fd; /* held until the caller is done */
}


/* The photos: walked, in one order whatever the arguments, each once (one
 * path however its folder is spelled), this shard's only. A path the walk
 * could not read is kept with its reason. */
static int collect(const ds_audit_opts *o, char *const *paths, size_t npaths, ds_files *files, ds_audit_result *res,
                   ds_error *err)
{
	unsigned long shard_n = o->shard_n > 1 ? o->shard_n : 1;
	entry *e;
	au_canon c = {NULL, NULL};
	ds_buf key = DS_BUF_INIT;
	au_keyset seen;
	size_t i, n;
	int rc = DS_OK;

	files->keep_unreadable = 1;
	for (i = 0; i < npaths && rc == DS_OK; i++) {
		size_t before = files->n;
		rc = ds_files_add_arg(files, paths[i], o->note, o->ctx, err);
		if (rc == DS_OK && files->n == before + 1 && files->why[before] && files->root_len[before] == 0) {
			au_note(o, "%s", files->why[before]); /* an operand that cannot be read: said, and a row */
			res->bad_operands++;
		}
	}
	e = malloc((files->n ? files->n : 1) * sizeof(*e));
	if (rc < 0 || !e) {
		free(e);
		return rc < 0 ? rc : ds_error_set(err, DS_ENOMEM, "out of memory");
	}
	for (i = n = 0; i < files->n; i++) {
		const char *p = files->v[i];
		if ((shard_n > 1 && au_path_hash(p + files->root_len[i]) % shard_n != o->shard_k) || is_our_thumbnail(p)) {
			free(files->v[i]);
			free(files->why[i]);
			continue;
		}
		e[n].path = files->v[i];
		e[n].why = files->why[i];
		e[n++].root_len = files->root_len[i];
	}
	qsort(e, n, sizeof(*e), cmp_entries);
	/* a path named twice, or the same folder spelled two ways: once */
	if (au_keyset_init(&seen, n) < 0)
		rc = ds_error_set(err, DS_ENOMEM, "out of memory");
	for (i = files->n = 0; i < n; i++) {
		int fresh = 0;
		if (rc == DS_OK && (au_canon_key(&c, e[i].path, &key) < 0 || (fresh = au_keyset_add(&seen, key.ptr)) < 0))
			rc = ds_error_set(err, DS_ENOMEM, "out of memory");
		if (!fresh) {
			free(e[i].path);
			free(e[i].why);
			continue;
		}
		files->v[files->n] = e[i].path;
		files->why[files->n] = e[i].why;
		files->root_len[files->n++] = e[i].root_len;
		res->unreadable += e[i].why != NULL;
	}
	free(e);
	au_keyset_free(&seen);
	ds_buf_free(&key);
	au_canon_free(&c);
	return rc;
}

static void describe(ds_buf *title, char *const *paths, size_t npaths)
{
	size_t i;

	for (i = 0; i < npaths; i++)
		ds_buf_printf(title, "%s%s", i ? " " : "", paths[i]);
}

/* The report folder, locked; refused when it holds an audit and this is no resume. */
static int open_dir(const ds_audit_opts *o, const char *results_path, int *lock, ds_audit_result *res,
                    ds_error *err)
{
	if (ds_mkdir_p(o->out_dir, 0777) != 0)
		return ds_error_set(err, DS_EIO, "cannot create '%s': %s", o->out_dir, strerror(errno));
	*lock = au_lock_dir(o->out_dir, err);
	if (*lock < 0)
		return DS_EIO;
	if (!o->resume && access(results_path, F_OK) == 0) {
		res->refused = 1;
		return ds_error_set(err, DS_EINVAL, "'%s' already holds an audit", o->out_dir);
	}
	return DS_OK;
}

/* What is still to do: the photos not kept from an earlier run. *prefix is 0
 * when a photo done comes after one still to do (the lines are put in order
 * at the end). */
static int plan(audit_job *job, const ds_files *files, unsigned char *done, int *prefix, ds_error *err)
{
	size_t i, first_todo = files->n;

	job->todo = malloc((files->n ? files->n : 1) * sizeof(char *));
	job->why = malloc((files->n ? files->n : 1) * sizeof(char *));
	if (!job->todo || !job->why)
		return ds_error_set(err, DS_ENOMEM, "out of memory");
	*prefix = 1;
	for (i = 0; i < files->n; i++) {
		if (done[i]) {
			if (first_todo < i)
				*prefix = 0;
			continue;
		}
		if (first_todo == files->n)
			first_todo = i;
		job->why[job->ntodo] = files->why ? files->why[i] : NULL;
		job->todo[job->ntodo++] = files->v[i];
	}
	job->total = files->n;
	return DS_OK;
}

/* Decode what is to do, appending to results.jsonl; a stop ends it early. */
static int decode(audit_job *job, const char *results_path, int *interrupted, ds_error *err)
{
	int rc = DS_OK;

	job->t0 = job->last_sync = now_s();
	if (job->ntodo && !stopped(job)) {
		static const ds_batch_ops ops = {audit_worker_new, audit_worker_free, audit_work, audit_emit};
		ds_error_clear(&job->err);
		rc = ds_batch_run(job->ntodo, job->o->jobs, &ops, job);
		progress(job, 1);
	}
	*interrupted = stopped(job);
	if (fflush(job->results) != 0 || fsync(fileno(job->results)) != 0 || job->write_error)
		return ds_error_set(err, DS_EIO, "cannot write '%s': %s", results_path,
		                    strerror(job->write_error ? job->write_error : errno));
	if (rc != DS_OK && !*interrupted)
		return ds_error_set(err, rc, "%s", job->err.code ? job->err.message : "out of memory");
	return DS_OK;
}

static const char *effort_name(ds_effort e)
{
	return e == DS_EFFORT_FAST ? "fast" : e == DS_EFFORT_THOROUGH ? "thorough" : "normal";
}

static void option(json_t *v, const char *name, const char *value)
{
	json_array_append_new(v, json_string(name));
	json_array_append_new(v, json_string(value));
}

/* The options that decide what a line holds: a resume, or another shard of
 * the same audit, must give them again. */
static json_t *result_options(const ds_audit_opts *o)
{
	json_t *v = json_array();
	char num[32];

	if (o->scan.effort != DS_EFFORT_NORMAL)
		option(v, "--effort", effort_name(o->scan.effort));
	if (o->scan.max_pixels) {
		snprintf(num, sizeof(num), "%llu", (unsigned long long)o->scan.max_pixels);
		option(v, "--max-pixels", num);
	}
	if (o->insurance)
		option(v, "--insurance", o->insurance);
	if (o->data_dir)
		option(v, "--data-dir", o->data_dir);
	if (o->lang == DS_LANG_ZH)
		option(v, "--lang", "zh");
	return v;
}

int ds_audit_finish_command(const ds_audit_opts *o, char *const *paths, size_t npaths, ds_buf *out)
{
	json_t *opts = result_options(o), *w;
	size_t i;
	int dash = 0;

	ds_buf_puts(out, "drugscan audit --resume --out ");
	au_shell_word(out, o->out_dir ? o->out_dir : "drugscan-audit");
	if (o->shard_n > 1)
		ds_buf_printf(out, " --shard %lu/%lu", o->shard_k, o->shard_n);
	json_array_foreach(opts, i, w) {
		ds_buf_putc(out, ' ');
		au_shell_word(out, json_string_value(w));
	}
	json_decref(opts);
	for (i = 0; i < npaths; i++)
		dash |= paths[i][0] == '-';
	if (dash)
		ds_buf_puts(out, " --");
	for (i = 0; i < npaths; i++) {
		ds_buf_putc(out, ' ');
		au_shell_word(out, paths[i]);
	}
	return out->ptr ? DS_OK : DS_ENOMEM;
}

/* summary.json's "run" and the reports, from results.jsonl. */
static int report(const audit_job *job, char *const *paths, size_t npaths, int interrupted, ds_audit_result *res,
                  ds_error *err)
{
	const ds_audit_opts *o = job->o;
	ds_buf title = DS_BUF_INIT, cmd = DS_BUF_INIT;
	ds_audit_totals t;
	au_run run;
	int rc;

	memset(&run, 0, sizeof(run));
	describe(&title, paths, npaths);
	run.elapsed_s = now_s() - job->t0;
	run.scanned = job->emitted;
	run.resumed = job->done_before;
	run.jobs = o->jobs;
	run.effort = effort_name(o->scan.effort);
	if (o->shard_n > 1)
		snprintf(run.shard, sizeof(run.shard), "%lu/%lu", o->shard_k, o->shard_n);
	run.title = title.ptr;
	run.complete = !interrupted;
	run.total = job->total;
	run.total_known = 1;
	run.paths = paths;
	run.npaths = npaths;
	run.options = result_options(o);
	ds_audit_finish_command(o, paths, npaths, &cmd);
	run.finish = json_pack("[s]", cmd.ptr ? cmd.ptr : "");
	run.catalog = job->no_catalog ? NULL : &job->catalog;
	run.catalog_error = job->no_catalog ? job->catalog_error : NULL;
	if (interrupted)
		ds_buf_printf(&res->finish, "%s\n", cmd.ptr ? cmd.ptr : "");
	rc = ds_audit_report(job->dir, &run, o->lang, &t, err);
	res->flags = t.flags;
	res->reported = t.photos;
	res->codes = t.codes;
	res->duplicates = t.duplicates;
	res->errors = t.errors;
	json_decref(run.options);
	json_decref(run.finish);
	ds_buf_free(&title);
	ds_buf_free(&cmd);
	return rc;
}

void ds_audit_result_free(ds_audit_result *res)
{
	if (res)
		ds_buf_free(&res->finish);
}

void ds_audit_opts_default(ds_audit_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->jobs = 1;
	o->shard_n = 1;
	o->scan.effort = DS_EFFORT_NORMAL;
	o->lang = DS_LANG_EN;
}

/* The catalog's source and version for the report; a catalog that cannot
 * be opened means the codes are judged without it (said to note). */
static void open_catalog(audit_job *job, ds_audit_result *res)
{
	ds_catalog *cat = NULL;
	ds_error e;

	if (ds_catalog_open_default(&cat, job->o->data_dir, &e) < 0 ||
	    ds_catalog_get_info(cat, &job->catalog, &e) < 0) {
		au_note(job->o, "%s; codes are decoded without the catalog", e.message);
		snprintf(job->catalog_error, sizeof(job->catalog_error), "%s", e.message);
		job->no_catalog = res->no_catalog = 1;
	}
	ds_catalog_close(cat);
}

/* Go on from an earlier run's results.jsonl. */
static int resume(audit_job *job, const char *results_path, const ds_files *files, unsigned char *done,
                  ds_audit_result *res, ds_error *err)
{
	au_resumed r;
	int rc = au_resume_load(results_path, files->v, files->n, done, &r, err);

	if (rc < 0)
		return rc;
	if (r.dropped)
		au_note(job->o, "audit: %zu earlier results dropped: photos changed or not in this run", r.dropped);
	job->done_before = res->resumed = r.kept;
	job->dropped = res->dropped = r.dropped;
	return DS_OK;
}

int ds_audit_run(const ds_audit_opts *o, char *const *paths, size_t npaths, ds_audit_result *res, ds_error *err)
{
	ds_audit_opts opts = *o;
	audit_job job;
	ds_files files = {0};
	unsigned char *done = NULL;
	char results_path[4200], thumbs[4200];
	int rc, lock = -1, prefix = 1, interrupted = 0;

	memset(res, 0, sizeof(*res));
	memset(&job, 0, sizeof(job));
	if (opts.jobs < 1)
		opts.jobs = 1;
	if (!opts.out_dir || (opts.shard_n > 1 && opts.shard_k >= opts.shard_n))
		return ds_error_set(err, DS_EINVAL, "no report folder or a shard out of range");
	job.o = &opts;
	job.dir = opts.out_dir;
	open_catalog(&job, res);
	rc = collect(&opts, paths, npaths, &files, res, err);
	if (rc < 0)
		goto done;
	res->photos = files.n;
	snprintf(results_path, sizeof(results_path), "%s/results.jsonl", job.dir);
	rc = open_dir(&opts, results_path, &lock, res, err);
	if (rc < 0)
		goto done;
	done = calloc(files.n ? files.n : 1, 1);
	if (!done) {
		rc = ds_error_set(err, DS_ENOMEM, "out of memory");
		goto done;
	}
	if (opts.resume && (rc = resume(&job, results_path, &files, done, res, err)) < 0)
		goto done;
	rc = plan(&job, &files, done, &prefix, err);
	if (rc < 0)
		goto done;
	job.results = fopen(results_path, "a");
	snprintf(thumbs, sizeof(thumbs), "%s/thumbs", job.dir);
	if (!job.results || (mkdir(thumbs, 0777) != 0 && errno != EEXIST)) {
		rc = ds_error_set(err, DS_EIO, "cannot write in '%s': %s", job.dir, strerror(errno));
		goto done;
	}
	rc = decode(&job, results_path, &interrupted, err);
	res->scanned = job.emitted;
	res->interrupted = interrupted;
	if (rc < 0)
		goto done;
	if (!prefix && !interrupted) {
		au_resumed r;
		memset(done, 0, files.n);
		if ((rc = au_resume_load(results_path, files.v, files.n, done, &r, err)) < 0)
			goto done;
	}
	rc = report(&job, paths, npaths, interrupted, res, err);
done:
	if (job.results)
		fclose(job.results);
	if (lock >= 0)
		close(lock);
	free(job.todo);
	free(job.why);
	free(done);
	ds_files_free(&files);
	return rc;
}
