/*
 * batch.c - what scan and audit share: the list of image files (folders
 * walked recursively in name order) and the ordered parallel runner.
 *
 * Workers take the next item, do the work into a buffer and park it in a
 * bounded window of slots; the calling thread hands the slots on strictly
 * in input order, so memory stays bounded however many items there are.
 */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include <jansson.h>

#include "cli.h"

int ds_is_image_name(const char *name)
{
	static const char *exts[] = {".jpg", ".jpeg", ".png", ".webp", ".pgm", ".ppm", ".pbm", ".pnm"};
	const char *dot = strrchr(name, '.');
	size_t i;

	if (!dot)
		return 0;
	for (i = 0; i < sizeof(exts) / sizeof(exts[0]); i++)
		if (!strcasecmp(dot, exts[i]))
			return 1;
	return 0;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int ds_files_add(ds_files *l, const char *path, size_t root_len)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 64;
		char **v = realloc(l->v, cap * sizeof(*v));
		size_t *r = realloc(l->root_len, cap * sizeof(*r));
		if (v)
			l->v = v;
		if (r)
			l->root_len = r;
		if (!v || !r)
			return DS_ENOMEM;
		l->cap = cap;
	}
	l->v[l->n] = strdup(path);
	l->root_len[l->n] = root_len;
	return l->v[l->n++] ? DS_OK : DS_ENOMEM;
}

void ds_files_free(ds_files *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	free(l->root_len);
	memset(l, 0, sizeof(*l));
}

static int walk(ds_files *l, const char *dir, size_t root_len, ds_cli *cli)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	ds_files names = {0};
	size_t i;
	int rc = DS_OK;

	if (!d) {
		fprintf(cli->err, "%s: cannot open '%s': %s\n", cli->prog, dir, strerror(errno));
		return DS_EIO;
	}
	while ((e = readdir(d)) && rc == DS_OK)
		if (e->d_name[0] != '.')
			rc = ds_files_add(&names, e->d_name, 0);
	closedir(d);
	qsort(names.v, names.n, sizeof(char *), cmp_names);
	for (i = 0; i < names.n; i++) {
		char path[4096];
		struct stat st;
		size_t dl = strlen(dir);
		snprintf(path, sizeof(path), "%.*s/%s", (int)(dl > 1 && dir[dl - 1] == '/' ? dl - 1 : dl), dir, names.v[i]);
		/* a symlinked folder is not followed (no loops); a symlinked file is read */
		if (rc == DS_OK && lstat(path, &st) == 0 &&
		    (!S_ISLNK(st.st_mode) || (stat(path, &st) == 0 && !S_ISDIR(st.st_mode)))) {
			if (S_ISDIR(st.st_mode))
				rc = walk(l, path, root_len, cli) == DS_ENOMEM ? DS_ENOMEM : rc;
			else if (S_ISREG(st.st_mode) && ds_is_image_name(names.v[i]))
				rc = ds_files_add(l, path, root_len);
		}
	}
	ds_files_free(&names);
	return rc;
}

int ds_files_add_arg(ds_files *l, const char *arg, ds_cli *cli)
{
	struct stat st;
	size_t al = strlen(arg);

	if (stat(arg, &st) == 0 && S_ISDIR(st.st_mode)) {
		/* below a folder, the part of the path after it (and its slash) */
		while (al > 1 && arg[al - 1] == '/')
			al--;
		return walk(l, arg, al + 1, cli);
	}
	return ds_files_add(l, arg, 0);
}

/* ---- the ordered parallel runner ---- */

typedef struct runner {
	const ds_batch_ops *ops;
	void *ctx;
	size_t n;
	pthread_mutex_t lock;
	pthread_cond_t cond_done, cond_space;
	size_t next, emitted, window;
	ds_buf *slots;
	int *ready;
	int *flags;
	int stop;
} runner;

static void *worker(void *arg)
{
	runner *r = arg;
	void *state = r->ops->worker_new ? r->ops->worker_new(r->ctx) : NULL;

	for (;;) {
		size_t i, slot;
		ds_buf out = DS_BUF_INIT;
		int flags;

		pthread_mutex_lock(&r->lock);
		while (!r->stop && r->next < r->n && r->next >= r->emitted + r->window)
			pthread_cond_wait(&r->cond_space, &r->lock);
		if (r->stop || r->next >= r->n) {
			pthread_mutex_unlock(&r->lock);
			break;
		}
		i = r->next++;
		pthread_mutex_unlock(&r->lock);

		flags = r->ops->work(r->ctx, state, i, &out);
		slot = i % r->window;
		pthread_mutex_lock(&r->lock);
		r->slots[slot] = out;
		r->flags[slot] = flags;
		r->ready[slot] = 1;
		pthread_cond_broadcast(&r->cond_done);
		pthread_mutex_unlock(&r->lock);
	}
	if (r->ops->worker_free)
		r->ops->worker_free(r->ctx, state);
	return NULL;
}

int ds_batch_run(size_t n, int jobs, const ds_batch_ops *ops, void *ctx)
{
	runner r;
	pthread_t *threads;
	int started = 0, t, rc = DS_OK;
	size_t i;

	if (n == 0)
		return DS_OK;
	if (jobs < 1)
		jobs = 1;
	if ((size_t)jobs > n)
		jobs = (int)n;
	memset(&r, 0, sizeof(r));
	r.ops = ops;
	r.ctx = ctx;
	r.n = n;
	r.window = (size_t)jobs * 4 + 4;
	threads = calloc((size_t)jobs, sizeof(pthread_t));
	r.slots = calloc(r.window, sizeof(ds_buf));
	r.ready = calloc(r.window, sizeof(int));
	r.flags = calloc(r.window, sizeof(int));
	if (!threads || !r.slots || !r.ready || !r.flags) {
		rc = DS_ENOMEM;
		goto done;
	}
	pthread_mutex_init(&r.lock, NULL);
	pthread_cond_init(&r.cond_done, NULL);
	pthread_cond_init(&r.cond_space, NULL);
	for (t = 0; t < jobs; t++)
		if (pthread_create(&threads[t], NULL, worker, &r) == 0)
			started++;
	if (!started)
		rc = DS_ENOMEM;
	for (i = 0; i < n && started; i++) {
		size_t slot = i % r.window;
		ds_buf b;
		int flags;
		pthread_mutex_lock(&r.lock);
		while (!r.ready[slot])
			pthread_cond_wait(&r.cond_done, &r.lock);
		b = r.slots[slot];
		flags = r.flags[slot];
		r.ready[slot] = 0;
		r.emitted = i + 1;
		pthread_cond_broadcast(&r.cond_space);
		pthread_mutex_unlock(&r.lock);
		if (rc == DS_OK)
			rc = ops->emit(ctx, i, &b, flags);
		ds_buf_free(&b);
		if (rc != DS_OK) {
			/* stop handing out work; drain what is in flight */
			pthread_mutex_lock(&r.lock);
			r.stop = 1;
			pthread_cond_broadcast(&r.cond_space);
			n = r.next;
			pthread_mutex_unlock(&r.lock);
		}
	}
	for (t = 0; t < started; t++)
		pthread_join(threads[t], NULL);
	pthread_mutex_destroy(&r.lock);
	pthread_cond_destroy(&r.cond_done);
	pthread_cond_destroy(&r.cond_space);
done:
	free(threads);
	free(r.slots);
	free(r.ready);
	free(r.flags);
	return rc;
}

/* ---- one decoding thread ---- */

ds_image_worker *ds_image_worker_new(const ds_scan_opts *sopts, const char *data_dir, const char *insurance,
                                     ds_lang lang, int no_catalog)
{
	ds_image_worker *w = calloc(1, sizeof(*w));
	ds_error err;

	if (!w)
		return NULL;
	w->scanner = ds_scanner_new(sopts);
	ds_code_init(&w->code);
	/* one catalog connection per thread; decoder bytes are parsed exactly */
	if (ds_judge_open(&w->judge, no_catalog ? "/nonexistent/" : data_dir, insurance, lang, 1, &err) < 0)
		w->judge.cat = NULL;
	if (!w->scanner) {
		ds_image_worker_free(w);
		return NULL;
	}
	return w;
}

void ds_image_worker_free(ds_image_worker *w)
{
	if (!w)
		return;
	ds_code_free(&w->code);
	ds_judge_close(&w->judge);
	ds_scanner_free(w->scanner);
	free(w);
}

int ds_catalog_probe(ds_cli *cli, const char *data_dir, const char *insurance)
{
	ds_judge probe;
	ds_error err;
	int missing = 0;

	if (ds_judge_open(&probe, data_dir, insurance, cli->lang, 1, &err) < 0) {
		fprintf(cli->err, "%s: %s; codes are decoded without the catalog\n", cli->prog, err.message);
		missing = 1;
	}
	ds_judge_close(&probe);
	return missing;
}

/* ---- the scan object of DESIGN.md ---- */

static double tenth(double v)
{
	return (double)(long long)(v * 10 + (v < 0 ? -0.5 : 0.5)) / 10;
}

json_t *ds_scan_json(const char *file, const ds_scan_result *res, const char *error, ds_judge *judge, ds_code *code,
                     ds_lang lang, int *flags)
{
	json_t *line = json_object(), *codes = json_array();
	size_t i;
	int k;

	*flags = error ? DS_IMG_ERROR : res->count == 0 ? DS_IMG_NO_CODE : DS_IMG_FOUND;
	if (!line || !codes) {
		json_decref(line);
		json_decref(codes);
		return NULL;
	}
	json_object_set_new(line, "format_version", json_integer(1));
	json_object_set_new(line, "file", json_string(file));
	json_object_set_new(line, "status", json_string(error ? "error" : res->count ? "decoded" : "no_code"));
	json_object_set_new(line, "error", error ? json_string(error) : json_null());
	json_object_set_new(line, "elapsed_ms", json_real(tenth(res->elapsed_ms)));
	for (i = 0; !error && i < res->count; i++) {
		const ds_symbol *sym = &res->symbols[i];
		ds_verdict verdict;
		json_t *o, *pos = json_array();
		ds_trace_parse(code, sym->data, sym->len, sym->symbology, sym->aim, &judge->trace);
		ds_judge_code(judge, code, &verdict);
		if (ds_verdict_has_alert(&verdict))
			*flags |= DS_IMG_ALERT;
		o = ds_code_json(&verdict, lang);
		for (k = 0; k < 4; k++)
			json_array_append_new(pos, json_pack("[f, f]", tenth(sym->pos[k][0]), tenth(sym->pos[k][1])));
		json_object_set_new(o, "position", pos);
		json_object_set_new(o, "pass", json_string(sym->pass));
		json_object_set_new(o, "quality", json_integer(sym->quality));
		json_array_append_new(codes, o);
	}
	json_object_set_new(line, "codes", codes);
	return line;
}
