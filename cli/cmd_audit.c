/*
 * cmd_audit.c - drugscan audit: an inspector's folders of photos in, a
 * report folder out (results.jsonl, codes.csv, summary.json, report.html).
 *
 * Photos are decoded on N threads through the ordered runner of batch.c;
 * each result line is appended to results.jsonl and flushed in input order
 * as soon as it is ready, after its thumbnail is on disk. A killed run is
 * resumed from those lines (path, size and mtime say a photo is done), and
 * the reports are made from results.jsonl alone, so a resumed run ends with
 * the same reports as an uninterrupted one. `audit merge` is audit_merge.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "audit.h"

#define THUMB_SIDE 320

static const ds_optspec audit_opts[] = {
	{"out", 'o', "DIR", NULL, "write the report folder here (default drugscan-audit)"},
	{"jobs", 'j', "N", NULL, "decode N photos at once (default: number of cores)"},
	{"resume", 'r', NULL, NULL, "go on with the audit in DIR: photos already done (same path, size, mtime) are skipped"},
	{"shard", 0, "K/N", NULL, "audit only shard K of N (K from 0), chosen by a hash of each photo's path"},
	{"effort", 'e', "LEVEL", "fast|normal|thorough", "how hard to look (default normal)"},
	{"max-pixels", 0, "N", NULL, "refuse images larger than N pixels (default 100000000)"},
	{"lang", 0, "LANG", "zh|en", "language of labels and the report (default from $LANG)"},
	{"insurance", 0, "TYPE", "employee|resident", "show the reimbursement policy for this insurance type"},
	{"data-dir", 0, "DIR", NULL, "where catalog.db lives (default $DRUGSCAN_HOME or $XDG_DATA_HOME/drugscan)"},
	{"help", 'h', NULL, NULL, "show this help"},
	{NULL, 0, NULL, NULL, NULL},
};

static const ds_cmdspec audit_spec = {
	"audit [OPTIONS] PATH...  |  audit merge DIR... --out DIR",
	"Audit folders of photos: every image under PATH (walked recursively, in name\n"
	"order) is decoded on all cores and checked against the catalog. DIR gets\n"
	"results.jsonl (one line per photo, appended as it goes), codes.csv (one row\n"
	"per distinct code with every photo it is in), summary.json and report.html\n"
	"(one offline page: counts, a bar per label, then the problem photos with\n"
	"thumbnails). The same trace code in two different photos is a duplicate;\n"
	"byte-identical files are not. 'audit merge' joins the folders of --shard\n"
	"runs into one report and finds the duplicates across them.",
	audit_opts,
	"exit status: 0 every photo had a code, 1 the audit could not be done or\n"
	"written, 2 usage error, 3 an alert or a duplicate code, 4 some photo had no\n"
	"code or could not be read (and no alert).\n\n"
	"examples:\n"
	"  drugscan audit --out audit-0312 photos/\n"
	"  drugscan audit --out audit-0312 --resume photos/     # after a crash or Ctrl-C\n"
	"  drugscan audit --shard 0/4 --out part0 photos/       # one of 4 machines\n"
	"  drugscan audit merge part0 part1 part2 part3 --out audit-0312\n",
};

typedef struct audit_job {
	ds_cli *cli;
	ds_scan_opts sopts;
	const char *data_dir, *insurance, *dir;
	int no_catalog;
	char **todo;          /* paths still to scan */
	size_t ntodo, done_before, total;
	FILE *results;
	int write_error;
	size_t emitted;
	double t0, last_sync, last_bar;
	int tty;
} audit_job;

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void mtime_text(const struct stat *st, char out[48])
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

	return ds_image_worker_new(&job->sopts, job->data_dir, job->insurance, job->cli->lang, job->no_catalog);
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
	if (stat(path, &st) != 0)
		rc = ds_error_set(&err, DS_EIO, "cannot open '%s': %s", path, strerror(errno));
	else
		rc = ds_image_read_file(path, &data, &len, &err);
	if (rc == DS_OK) {
		unsigned char md[EVP_MAX_MD_SIZE];
		unsigned int n = 0, k;
		mtime_text(&st, mtime);
		if (EVP_Digest(data, len, md, &n, EVP_sha256(), NULL))
			for (k = 0; k < n && k < 32; k++)
				snprintf(sha + 2 * k, 3, "%02x", md[k]);
		rc = ds_scanner_scan_data(w->scanner, data, len, path, &extra, &res, &err);
		if (extra.thumb.gray && *sha && save_thumb(job, &extra.thumb, sha, rel) < 0)
			rel[0] = '\0';
	}
	free(data);
	line = ds_scan_json(path, &res, rc < 0 ? err.message : NULL, &w->judge, &w->code, job->cli->lang, &flags);
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
	double t = now_s(), el = t - job->t0, rate = el > 0 ? (double)job->emitted / el : 0;
	size_t done = job->done_before + job->emitted;
	double left = rate > 0 ? (double)(job->total - done) / rate : 0;
	int width = 28, fill = job->total ? (int)((double)width * (double)done / (double)job->total) : width, k;
	char bar[64];

	if (!job->tty || (!last && t - job->last_bar < 0.2))
		return;
	job->last_bar = t;
	for (k = 0; k < width; k++)
		bar[k] = k < fill ? '#' : '.';
	bar[width] = '\0';
	fprintf(job->cli->err, "\r\033[K[%s] %zu/%zu  %.1f img/s  ETA %dm%02ds%s", bar, done, job->total, rate,
	        (int)left / 60, (int)left % 60, last ? "\n" : "");
	fflush(job->cli->err);
}

static int audit_emit(void *ctx, size_t i, const ds_buf *b, int flags)
{
	audit_job *job = ctx;
	double t;

	(void)i;
	if (flags < 0) {
		fprintf(job->cli->err, "%s: out of memory\n", job->cli->prog);
		return DS_ENOMEM;
	}
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
	return ds_sig_pending() ? DS_ERR : DS_OK;
}

/* ---- resume ---- */

typedef struct path_index {
	size_t *slot, cap;
} path_index;

static int index_build(path_index *ix, char **v, size_t n)
{
	size_t i;

	ix->cap = 16;
	while (ix->cap < n * 2)
		ix->cap *= 2;
	ix->slot = malloc(ix->cap * sizeof(size_t));
	if (!ix->slot)
		return DS_ENOMEM;
	for (i = 0; i < ix->cap; i++)
		ix->slot[i] = (size_t)-1;
	for (i = 0; i < n; i++) {
		size_t j = au_path_hash(v[i]) & (ix->cap - 1);
		while (ix->slot[j] != (size_t)-1)
			j = (j + 1) & (ix->cap - 1);
		ix->slot[j] = i;
	}
	return DS_OK;
}

static size_t index_find(const path_index *ix, char **v, const char *path)
{
	size_t j;

	for (j = au_path_hash(path) & (ix->cap - 1); ix->slot[j] != (size_t)-1; j = (j + 1) & (ix->cap - 1))
		if (!strcmp(v[ix->slot[j]], path))
			return ix->slot[j];
	return (size_t)-1;
}

/*
 * Keep the lines of results.jsonl whose photo is in this run unchanged (same
 * size and mtime) and mark those photos done; drop the rest (a changed or
 * removed photo, a line cut short by a kill). The file is rewritten only
 * when something is dropped, and always in input order.
 */
static int resume_load(audit_job *job, const char *path, char **files, size_t n, unsigned char *done,
                       ds_error *err)
{
	FILE *f = fopen(path, "r");
	path_index ix = {NULL, 0};
	char *line = NULL;
	size_t cap = 0, kept = 0, dropped = 0, last = 0, i;
	off_t *off = NULL;
	ds_buf copy = DS_BUF_INIT;
	size_t *len = NULL;
	ssize_t got;
	off_t pos = 0, complete_end = 0;
	int rc = DS_OK, ordered = 1, partial = 0;

	if (!f)
		return errno == ENOENT ? DS_OK : ds_error_set(err, DS_EIO, "cannot open '%s': %s", path, strerror(errno));
	off = calloc(n ? n : 1, sizeof(*off));
	len = calloc(n ? n : 1, sizeof(*len));
	if (!off || !len || index_build(&ix, files, n) < 0) {
		rc = ds_error_set(err, DS_ENOMEM, "out of memory");
		goto done;
	}
	while ((got = getline(&line, &cap, f)) > 0) {
		json_t *j = line[got - 1] == '\n' ? json_loadb(line, (size_t)got, 0, NULL) : NULL;
		const char *file = j ? json_string_value(json_object_get(j, "file")) : NULL;
		size_t k = file ? index_find(&ix, files, file) : (size_t)-1;
		struct stat st;
		char mt[48];
		if (line[got - 1] != '\n')
			partial = 1;
		else
			complete_end = pos + got;
		if (k != (size_t)-1 && !done[k] && stat(file, &st) == 0) {
			const char *m = json_string_value(json_object_get(j, "mtime"));
			json_t *bytes = json_object_get(j, "bytes");
			mtime_text(&st, mt);
			if (m && !strcmp(m, mt) && json_is_integer(bytes) && json_integer_value(bytes) == (json_int_t)st.st_size) {
				done[k] = 1;
				off[k] = pos;
				len[k] = (size_t)got;
				if (kept && k < last)
					ordered = 0;
				last = k;
				kept++;
				k = (size_t)-2;
			}
		}
		if (k != (size_t)-2 && line[got - 1] == '\n')
			dropped++;
		json_decref(j);
		pos += got;
	}
	if (ferror(f)) {
		rc = ds_error_set(err, DS_EIO, "cannot read '%s': %s", path, strerror(errno));
		goto done;
	}
	if (dropped || !ordered) {
		ds_atomic o = DS_ATOMIC_INIT;
		if ((rc = ds_atomic_open(&o, path, err)) < 0)
			goto done;
		for (i = 0; i < n && rc == DS_OK; i++) {
			if (!done[i])
				continue;
			if (au_read_line(f, off[i], len[i], &copy) < 0 || fwrite(copy.ptr, 1, len[i], o.f) != len[i])
				rc = ds_error_set(err, DS_EIO, "cannot rewrite '%s': %s", path, strerror(errno));
		}
		if (rc == DS_OK)
			rc = ds_atomic_commit(&o, err);
		ds_atomic_abort(&o); /* after a failed copy; a no-op after the commit */
	} else if (partial && truncate(path, complete_end) != 0) {
		rc = ds_error_set(err, DS_EIO, "cannot repair '%s': %s", path, strerror(errno));
	}
	if (rc == DS_OK && dropped && job)
		fprintf(job->cli->err, "%s: audit: %zu earlier results dropped: photos changed or not in this run\n",
		        job->cli->prog, dropped);
	if (job)
		job->done_before = kept;
done:
	fclose(f);
	free(line);
	free(off);
	free(len);
	free(ix.slot);
	ds_buf_free(&copy);
	return rc;
}

/* ---- the command ---- */

static int parse_shard(const char *s, unsigned long *k, unsigned long *n)
{
	long kk = (long)*k, nn = (long)*n;

	if (ds_opt_shard(&kk, &nn, s, 100000) < 0)
		return -1;
	*k = (unsigned long)kk;
	*n = (unsigned long)nn;
	return 0;
}

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

static int cmp_paths(const void *a, const void *b)
{
	return au_pathcmp(*(char *const *)a, *(char *const *)b);
}

/* Lock DIR against a second audit writing into it at the same time. */
int au_lock_dir(ds_cli *cli, const char *dir)
{
	char path[4200];
	int fd;

	snprintf(path, sizeof(path), "%s/.lock", dir);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
	if (fd < 0) {
		fprintf(cli->err, "%s: cannot write in '%s': %s\n", cli->prog, dir, strerror(errno));
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		fprintf(cli->err, "%s: another audit is writing to '%s'\n", cli->prog, dir);
		close(fd);
		return -1;
	}
	return fd; /* held until exit */
}

int au_exit_code(unsigned flags)
{
	if (flags & (AU_ALERT | AU_DUPLICATE))
		return DS_EXIT_ALERT;
	if (flags & (AU_NO_CODE | AU_ERROR))
		return DS_EXIT_NO_CODE;
	return DS_EXIT_OK;
}

static void describe(ds_buf *title, const ds_optvals *v)
{
	int i;

	for (i = 0; i < v->nrest; i++)
		ds_buf_printf(title, "%s%s", i ? " " : "", v->rest[i]);
}

int ds_cmd_audit(ds_cli *cli, int argc, char **argv)
{
	ds_optvals v;
	ds_error err;
	audit_job job;
	ds_files files = {0};
	au_run run;
	ds_buf title = DS_BUF_INIT;
	long jobs = sysconf(_SC_NPROCESSORS_ONLN), maxpx = 0;
	unsigned long shard_k = 0, shard_n = 1;
	unsigned char *done = NULL;
	char results_path[4200], thumbs[4200];
	unsigned flags = 0;
	size_t i, n, first_todo;
	int rc, lock = -1, resume, prefix = 1;
	ds_sigcatch sig;

	if (argc >= 2 && !strcmp(argv[1], "merge"))
		return ds_audit_merge(cli, argc - 1, argv + 1);
	rc = ds_cli_begin(cli, &audit_spec, "audit", &v, argc, argv);
	if (rc >= 0) {
		free(v.rest);
		return rc;
	}
	memset(&job, 0, sizeof(job));
	memset(&run, 0, sizeof(run));
	job.cli = cli;
	job.dir = ds_opts_get(&v, &audit_spec, "out") ? ds_opts_get(&v, &audit_spec, "out") : "drugscan-audit";
	resume = ds_opts_has(&v, &audit_spec, "resume");
	ds_effort_parse(&job.sopts.effort, ds_opts_get(&v, &audit_spec, "effort"));
	if (jobs < 1)
		jobs = 1;
	if (ds_opt_long(&jobs, ds_opts_get(&v, &audit_spec, "jobs"), 1, 256) < 0) {
		rc = ds_cli_usage_error(cli, "audit", "--jobs needs a number from 1 to 256");
		goto done;
	}
	if (ds_opt_long(&maxpx, ds_opts_get(&v, &audit_spec, "max-pixels"), 1, 4000000000L) < 0) {
		rc = ds_cli_usage_error(cli, "audit", "--max-pixels needs a positive number");
		goto done;
	}
	if (parse_shard(ds_opts_get(&v, &audit_spec, "shard"), &shard_k, &shard_n) < 0) {
		rc = ds_cli_usage_error(cli, "audit", "--shard needs K/N with 0 <= K < N, e.g. --shard 0/4");
		goto done;
	}
	if (v.nrest == 0) {
		rc = ds_cli_usage_error(cli, "audit", "no photos given: pass PATH... (folders or images)");
		goto done;
	}
	job.sopts.max_pixels = (uint64_t)maxpx;
	job.data_dir = ds_opts_get(&v, &audit_spec, "data-dir");
	job.insurance = ds_opts_get(&v, &audit_spec, "insurance");
	job.no_catalog = ds_catalog_probe(cli, job.data_dir, job.insurance);

	/* the photos: walked, in one order whatever the arguments, each once, this shard's only */
	for (i = 0; i < (size_t)v.nrest; i++) {
		struct stat st;
		if (stat(v.rest[i], &st) != 0) {
			fprintf(cli->err, "%s: cannot open '%s': %s\n", cli->prog, v.rest[i], strerror(errno));
			rc = DS_EXIT_ERROR;
			goto done;
		}
		if (ds_files_add_arg(&files, v.rest[i], cli) < 0) {
			rc = DS_EXIT_ERROR;
			goto done;
		}
	}
	for (i = n = 0; i < files.n; i++) {
		const char *p = files.v[i];
		if ((shard_n > 1 && au_path_hash(p + files.root_len[i]) % shard_n != shard_k) || is_our_thumbnail(p)) {
			free(files.v[i]);
			continue;
		}
		files.v[n++] = files.v[i];
	}
	files.n = n;
	qsort(files.v, files.n, sizeof(char *), cmp_paths);
	for (i = n = 0; i < files.n; i++) {
		if (n && !strcmp(files.v[n - 1], files.v[i])) {
			free(files.v[i]);
			continue;
		}
		files.v[n++] = files.v[i];
	}
	files.n = n;

	/* the report folder */
	snprintf(results_path, sizeof(results_path), "%s/results.jsonl", job.dir);
	if (ds_mkdir_p(job.dir, 0777) != 0) {
		fprintf(cli->err, "%s: cannot create '%s': %s\n", cli->prog, job.dir, strerror(errno));
		rc = DS_EXIT_ERROR;
		goto done;
	}
	lock = au_lock_dir(cli, job.dir);
	if (lock < 0) {
		rc = DS_EXIT_ERROR;
		goto done;
	}
	if (!resume && access(results_path, F_OK) == 0) {
		fprintf(cli->err, "%s: '%s' already holds an audit: add --resume to go on with it, or choose another --out\n",
		        cli->prog, job.dir);
		rc = DS_EXIT_USAGE;
		goto done;
	}
	done = calloc(files.n ? files.n : 1, 1);
	if (!done) {
		rc = DS_EXIT_ERROR;
		goto done;
	}
	if (resume && resume_load(&job, results_path, files.v, files.n, done, &err) < 0) {
		fprintf(cli->err, "%s: %s\n", cli->prog, err.message);
		rc = DS_EXIT_ERROR;
		goto done;
	}
	job.todo = malloc((files.n ? files.n : 1) * sizeof(char *));
	if (!job.todo) {
		rc = DS_EXIT_ERROR;
		goto done;
	}
	first_todo = files.n;
	for (i = 0; i < files.n; i++) {
		if (done[i]) {
			if (first_todo < i)
				prefix = 0; /* a photo done after one still to do: put the lines in order at the end */
			continue;
		}
		if (first_todo == files.n)
			first_todo = i;
		job.todo[job.ntodo++] = files.v[i];
	}
	job.total = files.n;
	job.results = fopen(results_path, "a");
	snprintf(thumbs, sizeof(thumbs), "%s/thumbs", job.dir);
	if (!job.results || (mkdir(thumbs, 0777) != 0 && errno != EEXIST)) {
		fprintf(cli->err, "%s: cannot write in '%s': %s\n", cli->prog, job.dir, strerror(errno));
		rc = DS_EXIT_ERROR;
		goto done;
	}

	/* Ctrl-C or a TERM: finish the photos in flight, write the reports, say how to go on */
	ds_sig_catch(&sig, 1);
	job.tty = isatty(fileno(cli->err));
	job.t0 = job.last_sync = now_s();
	rc = DS_OK;
	if (job.ntodo) {
		static const ds_batch_ops ops = {audit_worker_new, audit_worker_free, audit_work, audit_emit};
		rc = ds_batch_run(job.ntodo, (int)jobs, &ops, &job);
		progress(&job, 1);
	}
	ds_sig_restore(&sig);
	if (fflush(job.results) != 0 || fsync(fileno(job.results)) != 0 || job.write_error) {
		fprintf(cli->err, "%s: cannot write '%s': %s\n", cli->prog, results_path,
		        strerror(job.write_error ? job.write_error : errno));
		rc = DS_EXIT_ERROR;
		goto done;
	}
	if (rc != DS_OK && !ds_sig_pending()) {
		rc = DS_EXIT_ERROR;
		goto done;
	}
	if (!prefix && !ds_sig_pending()) {
		memset(done, 0, files.n);
		if (resume_load(NULL, results_path, files.v, files.n, done, &err) < 0) {
			fprintf(cli->err, "%s: %s\n", cli->prog, err.message);
			rc = DS_EXIT_ERROR;
			goto done;
		}
	}

	describe(&title, &v);
	run.elapsed_s = now_s() - job.t0;
	run.scanned = job.emitted;
	run.resumed = job.done_before;
	run.jobs = (int)jobs;
	run.effort = job.sopts.effort == DS_EFFORT_FAST ? "fast" : job.sopts.effort == DS_EFFORT_THOROUGH ? "thorough" : "normal";
	if (shard_n > 1)
		snprintf(run.shard, sizeof(run.shard), "%lu/%lu", shard_k, shard_n);
	run.title = title.ptr;
	run.complete = !ds_sig_pending();
	if (au_write_reports(job.dir, &run, cli->lang, &flags, &err) < 0) {
		fprintf(cli->err, "%s: %s\n", cli->prog, err.message);
		rc = DS_EXIT_ERROR;
		goto done;
	}
	if (ds_sig_pending()) {
		fprintf(cli->err, "%s: audit interrupted after %zu of %zu photos; the reports in '%s' cover those. "
		                  "Run the same command with --resume to go on\n",
		        cli->prog, job.done_before + job.emitted, job.total, job.dir);
		rc = DS_EXIT_ERROR;
		goto done;
	}
	if (files.n == 0)
		fprintf(cli->err, "%s: no images found\n", cli->prog);
	rc = files.n == 0 ? DS_EXIT_NO_CODE : au_exit_code(flags);
done:
	if (job.results)
		fclose(job.results);
	if (lock >= 0)
		close(lock);
	free(job.todo);
	free(done);
	ds_buf_free(&title);
	ds_files_free(&files);
	free(v.rest);
	return rc;
}
