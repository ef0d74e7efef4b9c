/*
 * batch.c - what scan and audit share: the list of image files (folders
 * walked recursively in name order), the ordered parallel runner, the
 * decoding worker and the scan object of one image.
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
#include <stdarg.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "audit.h"

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

int ds_files_add_unreadable(ds_files *l, const char *path, size_t root_len, const char *why)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 64;
		char **v = realloc(l->v, cap * sizeof(*v));
		size_t *r = realloc(l->root_len, cap * sizeof(*r));
		char **w = realloc(l->why, cap * sizeof(*w));
		if (v)
			l->v = v;
		if (r)
			l->root_len = r;
		if (w)
			l->why = w;
		if (!v || !r || !w)
			return DS_ENOMEM;
		l->cap = cap;
	}
	l->v[l->n] = strdup(path);
	l->root_len[l->n] = root_len;
	l->why[l->n] = why ? strdup(why) : NULL;
	if (!l->v[l->n] || (why && !l->why[l->n])) {
		free(l->v[l->n]);
		free(l->why[l->n]);
		return DS_ENOMEM;
	}
	l->n++;
	return DS_OK;
}

int ds_files_add(ds_files *l, const char *path, size_t root_len)
{
	return ds_files_add_unreadable(l, path, root_len, NULL);
}

void ds_files_free(ds_files *l)
{
	size_t i;

	for (i = 0; i < l->n; i++) {
		free(l->v[i]);
		if (l->why)
			free(l->why[i]);
	}
	free(l->v);
	free(l->root_len);
	free(l->why);
	memset(l, 0, sizeof(*l));
}

typedef struct walker {
	ds_files *l;
	ds_audit_note_fn note;
	void *ctx;
} walker;

/* A path met and not readable: an entry with its reason, or a note. */
static int unreadable(const walker *wk, const char *path, size_t root_len, const char *fmt, ...) DS_PRINTF(4, 5);

static int unreadable(const walker *wk, const char *path, size_t root_len, const char *fmt, ...)
{
	char why[DS_ERROR_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	if (wk->l->keep_unreadable)
		return ds_files_add_unreadable(wk->l, path, root_len, why);
	if (wk->note)
		wk->note(wk->ctx, why);
	return DS_OK;
}

/* The root_len of an entry for the folder dir itself: 0 when dir is the
 * operand (root_len then reaches past its end). */
static size_t own_root(const char *dir, size_t root_len)
{
	return strlen(dir) > root_len ? root_len : 0;
}

/* Why a symbolic link cannot be followed (stat() failed with e). */
static int bad_link(const walker *wk, const char *path, size_t root_len, int e)
{
	char target[1024];
	ssize_t n = readlink(path, target, sizeof(target) - 1);

	target[n > 0 ? n : 0] = '\0';
	if (e == ELOOP)
		return unreadable(wk, path, root_len, "cannot open '%s': symbolic link loop", path);
	if (e == ENOENT && n > 0)
		return unreadable(wk, path, root_len, "cannot open '%s': broken symbolic link (its target '%s' does not exist)",
		                  path, target);
	return unreadable(wk, path, root_len, "cannot open '%s': %s", path, strerror(e));
}

/* The names in dir, sorted; a listing cut short by an error is kept and said. */
static int list_dir(const walker *wk, const char *dir, size_t root_len, ds_files *names, ds_error *err)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int rc = DS_OK;

	if (!d)
		return ds_error_set(err, DS_EIO, "cannot open folder '%s': %s", dir, strerror(errno));
	for (;;) {
		errno = 0;
		e = readdir(d);
		if (!e) {
			if (errno)
				rc = unreadable(wk, dir, own_root(dir, root_len), "cannot read folder '%s': %s", dir, strerror(errno));
			break;
		}
		if (e->d_name[0] != '.' && (rc = ds_files_add(names, e->d_name, 0)) < 0)
			break;
	}
	closedir(d);
	if (rc == DS_OK && names->n > 1) /* an empty folder has no array: qsort(NULL) is undefined */
		qsort(names->v, names->n, sizeof(char *), cmp_names);
	return rc == DS_ENOMEM ? ds_error_set(err, rc, "out of memory") : rc;
}

static int walk(const walker *wk, const char *dir, size_t root_len, ds_error *err)
{
	ds_files names = {0};
	size_t i, dl = strlen(dir);
	int rc = list_dir(wk, dir, root_len, &names, err);

	while (dl > 1 && dir[dl - 1] == '/')
		dl--; /* "ph/good//" and "ph/good" give the same paths */

	for (i = 0; i < names.n && rc == DS_OK; i++) {
		char path[4096];
		struct stat st;
		const char *name = names.v[i];
		int link;
		snprintf(path, sizeof(path), "%.*s%s%s", (int)dl, dir, dl == 1 && dir[0] == '/' ? "" : "/", name);
		if (lstat(path, &st) != 0) {
			if (errno == ENOENT)
				continue; /* gone since it was listed */
			/* a folder that can be listed but not entered: said once, for the folder */
			rc = unreadable(wk, dir, own_root(dir, root_len), "cannot open folder '%s': %s", dir, strerror(errno));
			break;
		}
		link = S_ISLNK(st.st_mode);
		if (link && stat(path, &st) != 0) {
			if (ds_is_image_name(name))
				rc = bad_link(wk, path, root_len, errno);
			continue;
		}
		if (S_ISDIR(st.st_mode)) {
			ds_error sub;
			int r;
			if (link)
				continue; /* a symlinked folder is not followed (no loops); a symlinked file is read */
			r = walk(wk, path, root_len, &sub);
			if (r == DS_EIO) /* an unreadable folder below: an entry, or said */
				r = unreadable(wk, path, root_len, "%s", sub.message);
			if (r == DS_ENOMEM)
				rc = ds_error_set(err, r, "out of memory");
		} else if (ds_is_image_name(name)) {
			rc = S_ISREG(st.st_mode) ? ds_files_add(wk->l, path, root_len)
			                         : unreadable(wk, path, root_len, "cannot open '%s': not a regular file", path);
		}
	}
	ds_files_free(&names);
	if (rc == DS_ENOMEM)
		ds_error_set(err, rc, "out of memory");
	return rc;
}

int ds_files_add_arg(ds_files *l, const char *arg, ds_audit_note_fn note, void *ctx, ds_error *err)
{
	walker wk = {l, note, ctx};
	struct stat st;
	size_t al = strlen(arg);
	int rc;

	if (stat(arg, &st) == 0 && S_ISDIR(st.st_mode)) {
		/* below a folder, the part of the path after it (and its slash) */
		while (al > 1 && arg[al - 1] == '/')
			al--;
		rc = walk(&wk, arg, al + (arg[al - 1] != '/'), err); /* "/" is its own slash */
		if (rc == DS_EIO && l->keep_unreadable)
			rc = ds_files_add_unreadable(l, arg, 0, err->message);
	} else if (l->keep_unreadable && lstat(arg, &st) == 0 && S_ISLNK(st.st_mode) && stat(arg, &st) != 0) {
		rc = bad_link(&wk, arg, 0, errno);
	} else if (l->keep_unreadable && stat(arg, &st) != 0) {
		rc = unreadable(&wk, arg, 0, "cannot open '%s': %s", arg, strerror(errno));
	} else if (l->keep_unreadable && !S_ISREG(st.st_mode)) {
		rc = unreadable(&wk, arg, 0, "cannot open '%s': not a regular file", arg);
	} else {
		rc = ds_files_add(l, arg, 0); /* reading it is the decoder's business */
	}
	if (rc == DS_ENOMEM)
		ds_error_set(err, rc, "out of memory");
	return rc;
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
	/* decoder bytes are parsed exactly */
	ds_trace_opts_default(&w->trace);
	w->trace.exact = 1;
	w->lookup.lang = lang;
	w->lookup.trace = &w->trace;
	ds_insurance_parse(&w->lookup.insurance, insurance);
	/* one catalog connection per thread; none at all when the probe found none */
	if (!w->scanner || (!no_catalog && ds_catalog_open_default(&w->cat, data_dir, &err) < 0)) {
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
	ds_catalog_close(w->cat);
	ds_scanner_free(w->scanner);
	free(w);
}

int ds_catalog_probe(const char *data_dir, const char *insurance, ds_error *err)
{
	ds_catalog *cat = NULL;
	ds_insurance ins;
	int rc;

	(void)ds_insurance_parse(&ins, insurance);
	rc = ds_catalog_open_default(&cat, data_dir, err);
	ds_catalog_close(cat);
	return rc < 0 ? rc : DS_OK;
}

/* ---- the scan object of DESIGN.md ---- */

static double tenth(double v)
{
	return (double)(long long)(v * 10 + (v < 0 ? -0.5 : 0.5)) / 10;
}

json_t *ds_scan_json(const char *file, const ds_scan_result *res, const char *error, ds_image_worker *w,
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
		ds_verdict *verdict = &w->verdict;
		json_t *o, *pos = json_array();
		ds_trace_parse(&w->code, sym->data, sym->len, sym->symbology, sym->aim, &w->trace);
		if (ds_catalog_judge(w->cat, &w->code, &w->lookup, verdict, NULL) < 0)
			*flags |= DS_IMG_LOOKUP_FAILED; /* the code carries catalog.error */
		if (ds_verdict_has_alert(verdict))
			*flags |= DS_IMG_ALERT;
		o = ds_code_json(verdict, lang);
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
