/*
 * resume.c - going on with an audit: the lines of an earlier run's
 * results.jsonl whose photo is in this run, unchanged, are kept and those
 * photos are not decoded again.
 *
 * A photo is known by its canonical path: its folder resolved (realpath)
 * and its name. So `./ph/good`, `ph/good/` and `/home/i/ph/good` are one
 * folder, and a resumed line is given this run's spelling of its path.
 */
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

void au_canon_free(au_canon *c)
{
	free(c->dir);
	free(c->real);
	memset(c, 0, sizeof(*c));
}

int au_canon_key(au_canon *c, const char *path, ds_buf *out)
{
	const char *slash = strrchr(path, '/'), *base = slash ? slash + 1 : path;
	size_t dl = !slash ? 0 : slash == path ? 1 : (size_t)(slash - path);

	ds_buf_clear(out);
	if (!c->dir || strlen(c->dir) != (slash ? dl : 1) || memcmp(c->dir, slash ? path : ".", slash ? dl : 1)) {
		au_canon_free(c);
		c->dir = slash ? strndup(path, dl) : strdup(".");
		if (!c->dir)
			return DS_ENOMEM;
		c->real = realpath(c->dir, NULL); /* NULL: the folder is gone, the path is its own key */
	}
	if (!c->real)
		ds_buf_puts(out, path);
	else
		ds_buf_printf(out, "%s%s%s", c->real, strcmp(c->real, "/") ? "/" : "", base);
	return out->ptr ? DS_OK : DS_ENOMEM;
}

/* ---- a set of keys ---- */

void au_keyset_free(au_keyset *k)
{
	size_t i;

	for (i = 0; k->v && i < k->n; i++)
		free(k->v[i]);
	free(k->v);
	free(k->slot);
	memset(k, 0, sizeof(*k));
}

int au_keyset_init(au_keyset *k, size_t n)
{
	size_t i;

	memset(k, 0, sizeof(*k));
	k->cap = 16;
	while (k->cap < n * 2)
		k->cap *= 2;
	k->max = n;
	k->v = calloc(n ? n : 1, sizeof(char *));
	k->slot = malloc(k->cap * sizeof(size_t));
	if (!k->v || !k->slot) {
		au_keyset_free(k);
		return DS_ENOMEM;
	}
	for (i = 0; i < k->cap; i++)
		k->slot[i] = (size_t)-1;
	return DS_OK;
}

size_t au_keyset_find(const au_keyset *k, const char *key)
{
	size_t j;

	for (j = au_path_hash(key) & (k->cap - 1); k->slot[j] != (size_t)-1; j = (j + 1) & (k->cap - 1))
		if (!strcmp(k->v[k->slot[j]], key))
			return k->slot[j];
	return (size_t)-1;
}

int au_keyset_add(au_keyset *k, const char *key)
{
	size_t j;

	for (j = au_path_hash(key) & (k->cap - 1); k->slot[j] != (size_t)-1; j = (j + 1) & (k->cap - 1))
		if (!strcmp(k->v[k->slot[j]], key))
			return 0;
	if (k->n == k->max || !(k->v[k->n] = strdup(key)))
		return DS_ENOMEM;
	k->slot[j] = k->n++;
	return 1;
}

/* This run's photos by key: photo i is key i (collect() made them unique). */
static int keys_build(au_keyset *k, char **files, size_t n)
{
	au_canon c = {NULL, NULL};
	ds_buf key = DS_BUF_INIT;
	size_t i;
	int rc = au_keyset_init(k, n);

	for (i = 0; rc == DS_OK && i < n; i++)
		if (au_canon_key(&c, files[i], &key) < 0 || au_keyset_add(k, key.ptr) != 1)
			rc = DS_ENOMEM;
	au_canon_free(&c);
	ds_buf_free(&key);
	return rc;
}

/* ---- matching and rewriting ---- */

typedef struct resume {
	const char *path;
	char **files;
	size_t n;
	unsigned char *done;
	off_t *off;
	size_t *len;
	unsigned char *respell; /* kept, but its path was spelled differently */
	au_resumed *out;
	int ordered, partial;
	off_t complete_end;
} resume;

/* Is line (parsed as j) the result of this run's photo k, unchanged since? */
static int same_photo(const resume *r, json_t *j, size_t k)
{
	const char *m = json_string_value(json_object_get(j, "mtime"));
	json_t *bytes = json_object_get(j, "bytes");
	struct stat st;
	char mt[48];

	if (k == (size_t)-1 || r->done[k] || stat(r->files[k], &st) != 0)
		return 0;
	au_mtime_text(&st, mt);
	return m && !strcmp(m, mt) && json_is_integer(bytes) && json_integer_value(bytes) == (json_int_t)st.st_size;
}

static int match_lines(resume *r, FILE *f, const au_keyset *ix, ds_error *err)
{
	au_canon c = {NULL, NULL};
	ds_buf key = DS_BUF_INIT;
	char *line = NULL;
	size_t cap = 0, last = 0;
	ssize_t got;
	off_t pos = 0;
	int rc = DS_OK;

	while ((got = getline(&line, &cap, f)) > 0) {
		int whole = line[got - 1] == '\n';
		json_t *j = whole ? json_loadb(line, (size_t)got, 0, NULL) : NULL;
		const char *file = j ? json_string_value(json_object_get(j, "file")) : NULL;
		size_t k = (size_t)-1;
		if (file && au_canon_key(&c, file, &key) < 0) {
			json_decref(j);
			rc = ds_error_set(err, DS_ENOMEM, "out of memory");
			break;
		}
		if (file)
			k = au_keyset_find(ix, key.ptr);
		if (!whole)
			r->partial = 1;
		else
			r->complete_end = pos + got;
		if (same_photo(r, j, k)) {
			r->done[k] = 1;
			r->off[k] = pos;
			r->len[k] = (size_t)got;
			r->respell[k] = strcmp(file, r->files[k]) != 0;
			r->out->respelled += r->respell[k];
			if (r->out->kept && k < last)
				r->ordered = 0;
			last = k;
			r->out->kept++;
		} else if (whole && k != (size_t)-1 && !json_is_integer(json_object_get(j, "bytes"))) {
			r->out->retried++; /* a path that could not be read: tried again */
		} else if (whole) {
			r->out->dropped++;
		}
		json_decref(j);
		pos += got;
	}
	if (rc == DS_OK && ferror(f))
		rc = ds_error_set(err, DS_EIO, "cannot read '%s': %s", r->path, strerror(errno));
	free(line);
	ds_buf_free(&key);
	au_canon_free(&c);
	return rc;
}

/* Line i as this run spells its path (also where its error quotes it). */
static int respelled(const resume *r, size_t i, ds_buf *line)
{
	json_t *j = json_loadb(line->ptr, line->len, 0, NULL);
	const char *file = j ? au_jstr(j, "file") : "", *error = j ? au_jstr(j, "error") : "";
	const char *at = *file ? strstr(error, file) : NULL;
	ds_buf fixed = DS_BUF_INIT;
	char *s;

	if (!j)
		return DS_EIO;
	if (at && at > error && at[-1] == '\'' && at[strlen(file)] == '\'') {
		ds_buf_printf(&fixed, "%.*s%s%s", (int)(at - error), error, r->files[i], at + strlen(file));
		json_object_set_new(j, "error", json_string(fixed.ptr ? fixed.ptr : error));
		ds_buf_free(&fixed);
	}
	json_object_set_new(j, "file", json_string(r->files[i]));
	s = json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(9));
	json_decref(j);
	if (!s)
		return DS_ENOMEM;
	ds_buf_clear(line);
	ds_buf_puts(line, s);
	ds_buf_putc(line, '\n');
	free(s);
	return line->ptr ? DS_OK : DS_ENOMEM;
}

/* results.jsonl anew: the kept lines in this run's order and spelling. */
static int rewrite(const resume *r, FILE *f, ds_error *err)
{
	ds_atomic o = DS_ATOMIC_INIT;
	ds_buf copy = DS_BUF_INIT;
	size_t i;
	int rc = ds_atomic_open(&o, r->path, err);

	for (i = 0; i < r->n && rc == DS_OK; i++) {
		if (!r->done[i])
			continue;
		if (au_read_line(f, r->off[i], r->len[i], &copy) < 0 || (r->respell[i] && respelled(r, i, &copy) < 0) ||
		    fwrite(copy.ptr, 1, copy.len, o.f) != copy.len)
			rc = ds_error_set(err, DS_EIO, "cannot rewrite '%s': %s", r->path, strerror(errno));
	}
	if (rc == DS_OK)
		rc = ds_atomic_commit(&o, err);
	ds_atomic_abort(&o); /* after a failed copy; a no-op after the commit */
	ds_buf_free(&copy);
	return rc;
}

int au_resume_load(const char *path, char **files, size_t n, unsigned char *done, au_resumed *out, ds_error *err)
{
	FILE *f = fopen(path, "r");
	au_keyset ix;
	resume r;
	int rc = DS_OK;

	memset(out, 0, sizeof(*out));
	memset(&ix, 0, sizeof(ix));
	if (!f)
		return errno == ENOENT ? DS_OK : ds_error_set(err, DS_EIO, "cannot open '%s': %s", path, strerror(errno));
	memset(&r, 0, sizeof(r));
	r.path = path;
	r.files = files;
	r.n = n;
	r.done = done;
	r.out = out;
	r.ordered = 1;
	r.off = calloc(n ? n : 1, sizeof(*r.off));
	r.len = calloc(n ? n : 1, sizeof(*r.len));
	r.respell = calloc(n ? n : 1, 1);
	if (!r.off || !r.len || !r.respell || keys_build(&ix, files, n) < 0)
		rc = ds_error_set(err, DS_ENOMEM, "out of memory");
	if (rc == DS_OK)
		rc = match_lines(&r, f, &ix, err);
	if (rc == DS_OK && (out->dropped || out->retried || out->respelled || !r.ordered))
		rc = rewrite(&r, f, err);
	else if (rc == DS_OK && r.partial && truncate(path, r.complete_end) != 0)
		rc = ds_error_set(err, DS_EIO, "cannot repair '%s': %s", path, strerror(errno));
	fclose(f);
	au_keyset_free(&ix);
	free(r.off);
	free(r.len);
	free(r.respell);
	return rc;
}
