/*
 * torture_audit_faults.c - the audit's reports tell the truth (issue 12,
 * cases 15-20), in-process on real photos from fixtures/scan copied into a
 * mkdtemp() tree, with the real decoders and the demo catalog:
 *
 *   15 an interrupted run, and a merge short of a shard, say so (complete
 *      false, a red banner naming what is missing, the commands to finish);
 *   16 label groups keep their severity (one row per id and severity);
 *   17 a JPEG cut short and given its end marker back is an error row;
 *   18 what the walk cannot read (broken or looping links, a FIFO, a locked
 *      folder, an operand) is an error row with its reason;
 *   19 --resume matches a photo however its folder is spelled;
 *   20 the report carries its date, drugscan version and catalog.
 */
#define _XOPEN_SOURCE 700
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "audit.h"

#ifndef DS_VERSION
#error "the build passes DS_VERSION, the version the report must carry"
#endif

#define MTIME 1767225600 /* 2026-01-01T00:00:00Z */
#define NPHOTOS 6

static const char *fixtures = "fixtures";

static struct {
	char root[256];
	char photos[300];
	char home[300];
} w;

/* ---- files ---- */

static void path_in(char *out, size_t n, const char *dir, const char *name)
{
	int k = snprintf(out, n, "%s/%s", dir, name);

	assert_true(k > 0 && (size_t)k < n);
}

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long n;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0) {
		buf = malloc((size_t)n + 1);
		if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
			free(buf);
			buf = NULL;
		}
		if (buf) {
			buf[n] = '\0';
			if (len)
				*len = (size_t)n;
		}
	}
	fclose(f);
	return buf;
}

static void spill(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

static void put_photo(const char *fixture, const char *dir, const char *rel)
{
	char src[512], dst[512];
	struct timespec ts[2] = {{MTIME, 0}, {MTIME, 0}};
	size_t len;
	char *data;

	snprintf(src, sizeof(src), "%s/scan/%s", fixtures, fixture);
	path_in(dst, sizeof(dst), dir, rel);
	data = slurp(src, &len);
	assert_non_null(data);
	spill(dst, data, len);
	free(data);
	assert_int_equal(utimensat(AT_FDCWD, dst, ts, 0), 0);
}

static void make_dir(char *out, size_t n, const char *name)
{
	path_in(out, n, w.root, name);
	assert_int_equal(mkdir(out, 0755), 0);
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	chmod(path, 0755); /* a locked folder is opened again to be removed */
	return remove(path);
}

static json_t *summary(const char *dir)
{
	char path[512];
	json_t *s;

	path_in(path, sizeof(path), dir, "summary.json");
	s = json_load_file(path, 0, NULL);
	assert_non_null(s);
	return s;
}

static char *report_html(const char *dir)
{
	char path[512], *html;

	path_in(path, sizeof(path), dir, "report.html");
	html = slurp(path, NULL);
	assert_non_null(html);
	return html;
}

/* Line i (from 0) of dir/results.jsonl, parsed. */
static json_t *result_line(const char *dir, size_t i)
{
	char path[512], *line = NULL;
	size_t cap = 0, k = 0;
	json_t *j = NULL;
	FILE *f;

	path_in(path, sizeof(path), dir, "results.jsonl");
	f = fopen(path, "r");
	assert_non_null(f);
	while (getline(&line, &cap, f) > 0 && !j)
		if (k++ == i)
			j = json_loads(line, 0, NULL);
	free(line);
	fclose(f);
	assert_non_null(j);
	return j;
}

static size_t count_lines(const char *dir)
{
	char path[512];
	size_t len = 0, i, n = 0;
	char *data;

	path_in(path, sizeof(path), dir, "results.jsonl");
	data = slurp(path, &len);
	for (i = 0; data && i < len; i++)
		n += data[i] == '\n';
	free(data);
	return n;
}

static const char *run_str(json_t *s, const char *key)
{
	return json_string_value(json_object_get(json_object_get(s, "run"), key));
}

/* ---- runs ---- */

typedef struct ctx {
	char notes[4096];
	size_t stop_after; /* 0: never */
	volatile sig_atomic_t stop;
} ctx;

static void on_note(void *c, const char *message)
{
	ctx *x = c;
	size_t len = strlen(x->notes);

	snprintf(x->notes + len, sizeof(x->notes) - len, "%s\n", message);
}

static void on_progress(void *c, const ds_audit_progress *p)
{
	ctx *x = c;

	if (x->stop_after && p->done >= x->stop_after)
		x->stop = 1; /* as the Ctrl-C handler does */
}

static void opts_for(ds_audit_opts *o, const char *out, ctx *x)
{
	memset(x, 0, sizeof(*x));
	ds_audit_opts_default(o);
	o->out_dir = out;
	o->jobs = 2;
	o->data_dir = w.home;
	o->note = on_note;
	o->progress = on_progress;
	o->stop = &x->stop;
	o->ctx = x;
}

static int audit(const char *out, const char *path, int resume, ds_audit_result *res, ctx *x)
{
	ds_audit_opts o;
	char *paths[1];
	ds_error err;
	int rc;

	opts_for(&o, out, x);
	o.resume = resume;
	paths[0] = (char *)path;
	rc = ds_audit_run(&o, paths, 1, res, &err);
	if (rc < 0)
		fprintf(stderr, "audit: %s\n", err.message);
	return rc;
}

/* ---- the group ---- */

static int setup(void **state)
{
	char path[512];

	(void)state;
	snprintf(w.root, sizeof(w.root), "/tmp/torture-audit-faults-XXXXXX");
	if (!mkdtemp(w.root) || chmod(w.root, 0755) != 0)
		return -1;
	path_in(w.photos, sizeof(w.photos), w.root, "photos");
	path_in(w.home, sizeof(w.home), w.root, "home");
	if (mkdir(w.photos, 0755) != 0 || mkdir(w.home, 0777) != 0)
		return -1;
	path_in(path, sizeof(path), w.photos, "a");
	if (mkdir(path, 0755) != 0)
		return -1;
	path_in(path, sizeof(path), w.photos, "b");
	if (mkdir(path, 0755) != 0)
		return -1;
	put_photo("rot0-code128.jpg", w.photos, "a/box1.jpg");
	put_photo("nocode-0.jpg", w.photos, "a/wall.jpg");
	put_photo("jpeg50-code128.jpg", w.photos, "a/box2.jpg");
	put_photo("rot180-qr-ma.jpg", w.photos, "b/qr.jpg");
	put_photo("rot270-code128.jpg", w.photos, "b/box3.jpg");
	put_photo("perspective-code128.jpg", w.photos, "b/box4.jpg");
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	if (w.root[0])
		nftw(w.root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	return 0;
}

/* ---- 15: an interrupted run, a merge short of a shard ---- */

static void test_interrupted_run_says_what_is_missing(void **state)
{
	char out[512], merged[512], want[2048], *html;
	char *dirs[1];
	ds_audit_result res;
	ds_audit_opts o;
	ds_error err;
	json_t *s, *fin;
	ctx x;

	(void)state;
	path_in(out, sizeof(out), w.root, "stopped");
	opts_for(&o, out, &x);
	x.stop_after = 2; /* Ctrl-C after the second photo */
	dirs[0] = w.photos;
	assert_int_equal(ds_audit_run(&o, dirs, 1, &res, &err), DS_OK);
	assert_true(res.interrupted);
	assert_int_equal(res.photos, NPHOTOS);
	assert_int_equal(res.reported, 2);
	assert_int_equal(count_lines(out), 2);
	snprintf(want, sizeof(want), "drugscan audit --resume --out %s --data-dir %s %s\n", out, w.home, w.photos);
	assert_string_equal(res.finish.ptr, want);
	ds_audit_result_free(&res);

	s = summary(out);
	assert_true(json_is_false(json_object_get(json_object_get(s, "run"), "complete")));
	assert_int_equal(json_integer_value(json_object_get(json_object_get(s, "run"), "images_total")), NPHOTOS);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(s, "run"), "images_missing")), NPHOTOS - 2);
	fin = json_object_get(json_object_get(s, "run"), "finish");
	assert_int_equal(json_array_size(fin), 1);
	want[strlen(want) - 1] = '\0';
	assert_string_equal(json_string_value(json_array_get(fin, 0)), want);
	json_decref(s);
	html = report_html(out);
	assert_non_null(strstr(html, "<div class=\"banner stop\" id=incomplete role=alert><b>Incomplete report</b>"));
	assert_non_null(strstr(html, "<p>The audit stopped after 2 of 6 photos: 4 are not in this report.</p>"));
	assert_non_null(strstr(html, want)); /* the command, in the page */
	assert_non_null(strstr(html, "<title>drugscan audit: 2 photos (incomplete)</title>"));
	free(html);

	/* merged as it is, the merge is as incomplete and says which folder to finish */
	path_in(merged, sizeof(merged), w.root, "stopped-merged");
	opts_for(&o, merged, &x);
	dirs[0] = out;
	assert_int_equal(ds_audit_merge(&o, dirs, 1, &res, &err), DS_OK);
	assert_int_equal(res.incomplete_shards, 1);
	assert_non_null(strstr(res.finish.ptr, want));
	ds_audit_result_free(&res);
	html = report_html(merged);
	snprintf(want, sizeof(want), "<p>shard folder %s stopped after 2 of 6 photos.</p>", out);
	assert_non_null(strstr(html, want));
	free(html);

	/* the command, run: complete, and the banner is gone */
	assert_int_equal(audit(out, w.photos, 1, &res, &x), DS_OK);
	assert_false(res.interrupted);
	assert_int_equal(res.resumed, 2);
	assert_int_equal(res.scanned, NPHOTOS - 2);
	assert_null(res.finish.ptr);
	s = summary(out);
	assert_true(json_is_true(json_object_get(json_object_get(s, "run"), "complete")));
	assert_true(json_is_null(json_object_get(json_object_get(s, "run"), "finish")));
	assert_int_equal(json_integer_value(json_object_get(json_object_get(s, "run"), "images_missing")), 0);
	json_decref(s);
	html = report_html(out);
	assert_null(strstr(html, "id=incomplete"));
	free(html);
}

static void test_merge_short_of_a_shard_is_incomplete(void **state)
{
	char dirs[3][512], out[512], want[4096], *html;
	char *shards[3];
	ds_audit_result res;
	ds_audit_opts o;
	ds_error err;
	json_t *s, *run;
	unsigned long k;
	char *photos[1] = {w.photos};
	ctx x;

	(void)state;
	for (k = 0; k < 3; k++) {
		snprintf(dirs[k], sizeof(dirs[k]), "%s/part%lu", w.root, k);
		shards[k] = dirs[k];
		opts_for(&o, dirs[k], &x);
		o.shard_k = k;
		o.shard_n = 3;
		assert_int_equal(ds_audit_run(&o, photos, 1, &res, &err), DS_OK);
		ds_audit_result_free(&res);
	}
	/* all three: complete */
	path_in(out, sizeof(out), w.root, "merged-all");
	opts_for(&o, out, &x);
	assert_int_equal(ds_audit_merge(&o, shards, 3, &res, &err), DS_OK);
	assert_int_equal(res.missing_shards + res.incomplete_shards, 0);
	assert_null(res.finish.ptr);
	s = summary(out);
	assert_true(json_is_true(json_object_get(json_object_get(s, "run"), "complete")));
	assert_int_equal(json_integer_value(json_object_get(json_object_get(s, "run"), "images_total")), NPHOTOS);
	json_decref(s);

	/* shard 1 left out */
	path_in(out, sizeof(out), w.root, "merged-short");
	opts_for(&o, out, &x);
	shards[1] = dirs[2];
	assert_int_equal(ds_audit_merge(&o, shards, 2, &res, &err), DS_OK);
	assert_string_equal(x.notes, "shard 1/3 is missing: its photos are not in the report\n");
	assert_int_equal(res.missing_shards, 1);
	snprintf(want, sizeof(want),
	         "drugscan audit --shard 1/3 --out shard-1-of-3 --data-dir %s %s\n"
	         "drugscan audit merge %s %s shard-1-of-3 --out %s\n",
	         w.home, w.photos, dirs[0], dirs[2], out);
	assert_string_equal(res.finish.ptr, want);
	ds_audit_result_free(&res);
	s = summary(out);
	run = json_object_get(s, "run");
	assert_true(json_is_false(json_object_get(run, "complete"))); /* not true, as it was */
	assert_int_equal(json_array_size(json_object_get(run, "missing_shards")), 1);
	assert_string_equal(json_string_value(json_array_get(json_object_get(run, "missing_shards"), 0)), "1/3");
	assert_int_equal(json_array_size(json_object_get(run, "finish")), 2);
	assert_true(json_is_null(json_object_get(run, "images_total"))); /* the missing shard's count is not known */
	json_decref(s);
	html = report_html(out);
	assert_non_null(strstr(html, "id=incomplete"));
	assert_non_null(strstr(html, "<p>shard 1/3 missing: its photos are not in this report.</p>"));
	assert_non_null(strstr(html, "drugscan audit --shard 1/3 --out shard-1-of-3 "));
	free(html);
}

/* ---- 16: label groups keep their severity ---- */

/* One photo, its own file and box, with one code: recall.batch at severity, and class B. */
static void label_line(FILE *f, int i, const char *severity, const char *text)
{
	json_t *labels = json_pack("[{s:s, s:s, s:s}, {s:s, s:s, s:s}]", "id", "recall.batch", "severity", severity,
	                           "text", text, "id", "nrdl.class_b", "severity", "info", "text", "class B");
	json_t *code = json_pack("{s:s, s:s, s:b, s:o, s:o}", "text", "81000460000000000000", "kind", "nmpa20", "valid", 1,
	                         "unit_key", json_sprintf("nmpa20:u%d", i), "labels", labels);
	json_t *line = json_pack("{s:i, s:o, s:s, s:n, s:o, s:[o]}", "format_version", 1, "file",
	                         json_sprintf("visit/p%d.jpg", i), "status", "decoded", "error", "sha256",
	                         json_sprintf("aa%02d", i), "codes", code);
	char *s;

	assert_non_null(line);
	s = json_dumps(line, JSON_COMPACT);
	assert_non_null(s);
	fprintf(f, "%s\n", s);
	free(s);
	json_decref(line);
}

static void test_label_groups_keep_their_severity(void **state)
{
	char dir[512], path[512], *html, *alert, *warn;
	ds_audit_info info;
	ds_audit_totals t;
	ds_error err;
	json_t *s, *groups, *g, *l;
	FILE *f;
	int i;

	(void)state;
	make_dir(dir, sizeof(dir), "labels");
	path_in(path, sizeof(path), dir, "results.jsonl");
	f = fopen(path, "w");
	assert_non_null(f);
	/* the warning comes first, so "first seen" would pick it */
	label_line(f, 0, "warn", "batch B2503 of this drug is recalled: check the batch printed on the box");
	for (i = 1; i <= 6; i++)
		label_line(f, i, "alert", "recalled, all batches");
	assert_int_equal(fclose(f), 0);
	memset(&info, 0, sizeof(info));
	info.complete = 1;
	assert_int_equal(ds_audit_report(dir, &info, DS_LANG_EN, &t, &err), DS_OK);
	assert_true(t.flags & DS_AUDIT_ALERT);

	s = summary(dir);
	groups = json_object_get(s, "label_groups");
	assert_int_equal(json_array_size(groups), 3);
	g = json_array_get(groups, 0); /* the alert first, and it is six */
	assert_string_equal(json_string_value(json_object_get(g, "id")), "recall.batch");
	assert_string_equal(json_string_value(json_object_get(g, "severity")), "alert");
	assert_string_equal(json_string_value(json_object_get(g, "text")), "recalled, all batches");
	assert_int_equal(json_integer_value(json_object_get(g, "photos")), 6);
	g = json_array_get(groups, 1);
	assert_string_equal(json_string_value(json_object_get(g, "id")), "recall.batch");
	assert_string_equal(json_string_value(json_object_get(g, "severity")), "warn");
	assert_int_equal(json_integer_value(json_object_get(g, "photos")), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(groups, 2), "severity")), "info");
	/* "labels" keeps its shape: by id, now with the strongest severity */
	l = json_object_get(json_object_get(s, "labels"), "recall.batch");
	assert_string_equal(json_string_value(json_object_get(l, "severity")), "alert");
	assert_int_equal(json_integer_value(json_object_get(l, "photos")), 7);
	assert_int_equal(json_integer_value(json_object_get(l, "codes")), 7);
	json_decref(s);

	html = report_html(dir);
	alert = strstr(html, "<tr class=\"label alert\"><td><span class=\"chip alert\">recalled, all batches</span>");
	warn = strstr(html, "<tr class=\"label warn\"><td><span class=\"chip warn\">batch B2503");
	assert_non_null(alert);
	assert_non_null(warn);
	assert_true(alert < warn);
	assert_non_null(strstr(alert, "<td class=n>6</td>"));
	assert_true(strstr(alert, "<td class=n>6</td>") < warn);
	free(html);
}

/* ---- 17: a damaged JPEG is an error row, not "no code" ---- */

static void test_cut_jpeg_is_an_error_row(void **state)
{
	char dir[512], out[512], src[512], dst[512];
	ds_audit_result res;
	size_t len;
	char *data;
	json_t *line;
	ctx x;

	(void)state;
	make_dir(dir, sizeof(dir), "damaged");
	snprintf(src, sizeof(src), "%s/scan/rot0-code128.jpg", fixtures);
	data = slurp(src, &len);
	assert_non_null(data);
	data[len / 2] = (char)0xFF; /* cut in half, the end marker put back */
	data[len / 2 + 1] = (char)0xD9;
	path_in(dst, sizeof(dst), dir, "cut.jpg");
	spill(dst, data, len / 2 + 2);
	free(data);
	path_in(out, sizeof(out), w.root, "damaged-report");
	assert_int_equal(audit(out, dir, 0, &res, &x), DS_OK);
	assert_true(res.flags & DS_AUDIT_ERROR);
	assert_false(res.flags & DS_AUDIT_NO_CODE);
	line = result_line(out, 0);
	assert_string_equal(json_string_value(json_object_get(line, "status")), "error");
	assert_non_null(strstr(json_string_value(json_object_get(line, "error")), "': corrupt or truncated image: JPEG data"));
	json_decref(line);
}

/* ---- 18: what the walk cannot read is a row ---- */

static void test_walk_keeps_what_it_cannot_read(void **state)
{
	char dir[512], path[512], sub[512], out[512], missing[512];
	static const char *const want[] = {"dangling.jpg", "fifo.jpg", "good.jpg", "loop.jpg", "sub/ok.jpg"};
	ds_files files = {0}, plain = {0};
	ds_audit_result res;
	ds_audit_opts o;
	ds_error err;
	char *paths[2];
	json_t *line;
	size_t i;
	ctx x;

	(void)state;
	make_dir(dir, sizeof(dir), "walk");
	put_photo("rot0-code128.jpg", dir, "good.jpg");
	path_in(sub, sizeof(sub), dir, "sub");
	assert_int_equal(mkdir(sub, 0755), 0);
	put_photo("jpeg50-code128.jpg", sub, "ok.jpg");
	path_in(path, sizeof(path), dir, "dangling.jpg");
	assert_int_equal(symlink("nowhere.jpg", path), 0);
	path_in(path, sizeof(path), dir, "loop.jpg");
	assert_int_equal(symlink("loop.jpg", path), 0);
	path_in(path, sizeof(path), dir, "fifo.jpg");
	assert_int_equal(mkfifo(path, 0644), 0);
	path_in(path, sizeof(path), dir, "notes"); /* not an image name: not ours */
	assert_int_equal(symlink("nowhere", path), 0);
	path_in(path, sizeof(path), dir, "folder.jpg"); /* a symlinked folder: not followed */
	assert_int_equal(symlink("sub", path), 0);

	files.keep_unreadable = 1;
	assert_int_equal(ds_files_add_arg(&files, dir, NULL, NULL, &err), DS_OK);
	assert_int_equal(files.n, 5);
	for (i = 0; i < files.n; i++)
		assert_string_equal(files.v[i] + files.root_len[i], want[i]);
	assert_non_null(strstr(files.why[0], "dangling.jpg': broken symbolic link (its target 'nowhere.jpg' does not exist)"));
	assert_non_null(strstr(files.why[1], "fifo.jpg': not a regular file"));
	assert_null(files.why[2]);
	assert_non_null(strstr(files.why[3], "loop.jpg': symbolic link loop"));
	assert_null(files.why[4]);
	/* an operand that cannot be opened: an entry of its own */
	path_in(missing, sizeof(missing), w.root, "no-such-folder");
	assert_int_equal(ds_files_add_arg(&files, missing, NULL, NULL, &err), DS_OK);
	assert_int_equal(files.n, 6);
	assert_int_equal(files.root_len[5], 0);
	assert_non_null(strstr(files.why[5], "no-such-folder': No such file or directory"));
	ds_files_free(&files);

	/* without keep_unreadable (scan): the two images, and the rest said */
	memset(&x, 0, sizeof(x));
	assert_int_equal(ds_files_add_arg(&plain, dir, on_note, &x, &err), DS_OK);
	assert_int_equal(plain.n, 2);
	assert_non_null(strstr(x.notes, "broken symbolic link"));
	assert_non_null(strstr(x.notes, "symbolic link loop"));
	assert_non_null(strstr(x.notes, "not a regular file"));
	ds_files_free(&plain);

	/* the audit: a row each, the operand said, nothing aborted */
	path_in(out, sizeof(out), w.root, "walk-report");
	opts_for(&o, out, &x);
	paths[0] = dir;
	paths[1] = missing;
	assert_int_equal(ds_audit_run(&o, paths, 2, &res, &err), DS_OK);
	assert_int_equal(res.photos, 6);
	assert_int_equal(res.unreadable, 4);
	assert_int_equal(res.bad_operands, 1);
	assert_int_equal(res.errors, 4);
	assert_non_null(strstr(x.notes, "no-such-folder': No such file or directory"));
	assert_int_equal(count_lines(out), 6);
	/* in walk order: ROOT/no-such-folder sorts before ROOT/walk/ */
	line = result_line(out, 0);
	assert_string_equal(json_string_value(json_object_get(line, "file")), missing);
	json_decref(line);
	for (i = 0; i < 6; i++) {
		int ok = i == 3 || i == 5; /* good.jpg, sub/ok.jpg */
		line = result_line(out, i);
		assert_string_equal(json_string_value(json_object_get(line, "status")), ok ? "decoded" : "error");
		if (!ok)
			assert_null(strchr(json_string_value(json_object_get(line, "error")), '\n'));
		if (!ok) /* nothing read: no size, time or hash */
			assert_true(json_is_null(json_object_get(line, "bytes")));
		json_decref(line);
	}
	ds_audit_result_free(&res);
}

/* A locked folder below the operand, and a locked operand, as a user who
 * cannot open them (as root: in a child that drops to nobody). */
static int locked_walk(const char *tree, const char *locked, const char *half)
{
	ds_files files = {0};
	ds_error err;
	int ok;

	files.keep_unreadable = 1;
	if (ds_files_add_arg(&files, tree, NULL, NULL, &err) != DS_OK || files.n != 2)
		return 1;
	ok = !strcmp(files.v[0], locked) && files.why[0] && strstr(files.why[0], "cannot open folder '") &&
	     strstr(files.why[0], "': Permission denied") && !files.why[1];
	ok = ok && ds_files_add_arg(&files, locked, NULL, NULL, &err) == DS_OK && files.n == 3 && files.root_len[2] == 0 &&
	     files.why[2] && strstr(files.why[2], "Permission denied");
	/* a folder that can be listed but not entered, as the operand: one row, for the folder itself */
	ok = ok && ds_files_add_arg(&files, half, NULL, NULL, &err) == DS_OK && files.n == 4 && files.root_len[3] == 0 &&
	     !strcmp(files.v[3], half) && files.why[3] && strstr(files.why[3], "cannot open folder '") &&
	     strstr(files.why[3], "': Permission denied");
	ds_files_free(&files);
	return ok ? 0 : 1;
}

static void test_locked_folder_is_a_row(void **state)
{
	char tree[512], locked[512], half[512];
	pid_t pid;
	int status;

	(void)state;
	make_dir(tree, sizeof(tree), "locked-tree");
	put_photo("rot0-code128.jpg", tree, "ok.jpg");
	path_in(locked, sizeof(locked), tree, "inner");
	assert_int_equal(mkdir(locked, 0755), 0);
	put_photo("rot0-code128.jpg", locked, "hidden.jpg");
	assert_int_equal(chmod(locked, 0), 0);
	make_dir(half, sizeof(half), "half-locked");
	put_photo("rot0-code128.jpg", half, "x.jpg");
	assert_int_equal(chmod(half, 0444), 0);
	if (geteuid() != 0) {
		assert_int_equal(locked_walk(tree, locked, half), 0);
		return;
	}
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (setgid(65534) != 0 || setuid(65534) != 0)
			_exit(77);
		_exit(locked_walk(tree, locked, half));
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	if (WEXITSTATUS(status) == 77)
		skip(); /* cannot drop root here; tests/cli/test_audit.py tries as well */
	assert_int_equal(WEXITSTATUS(status), 0);
}

/* ---- 19: resume, the folder spelled another way ---- */

static void test_resume_matches_the_folder_however_spelled(void **state)
{
	char out[512], spelled[512], cwd[4096];
	/* absolute with a dot and a trailing slash, a doubled slash, relative, relative with ./ and slashes */
	static const char *const spellings[] = {"/./photos/", "//photos", "photos", "./photos//"};
	ds_audit_result res;
	json_t *line;
	size_t k;
	ctx x;

	(void)state;
	path_in(out, sizeof(out), w.root, "spelled");
	assert_int_equal(audit(out, w.photos, 0, &res, &x), DS_OK);
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	assert_int_equal(chdir(w.root), 0);
	for (k = 0; k < sizeof(spellings) / sizeof(spellings[0]); k++) {
		snprintf(spelled, sizeof(spelled), "%s%s", spellings[k][0] == '/' ? w.root : "", spellings[k]);
		assert_int_equal(audit(out, spelled, 1, &res, &x), DS_OK);
		assert_int_equal(res.resumed, NPHOTOS);
		assert_int_equal(res.scanned, 0);
		assert_int_equal(res.dropped, 0);
		assert_string_equal(x.notes, "");
		/* the kept lines say the path as this run spells it */
		line = result_line(out, 0);
		while (strlen(spelled) > 1 && spelled[strlen(spelled) - 1] == '/')
			spelled[strlen(spelled) - 1] = '\0';
		strncat(spelled, "/a/box1.jpg", sizeof(spelled) - strlen(spelled) - 1);
		assert_string_equal(json_string_value(json_object_get(line, "file")), spelled);
		json_decref(line);
		assert_int_equal(count_lines(out), NPHOTOS);
	}
	/* the same folder named twice, two ways: each photo once */
	assert_int_equal(audit(out, "photos/../photos", 1, &res, &x), DS_OK);
	assert_int_equal(res.photos, NPHOTOS);
	{
		ds_audit_opts o;
		ds_error err;
		char a[] = "photos", b[] = "./photos/";
		char *paths[2] = {a, b};
		opts_for(&o, out, &x);
		o.resume = 1;
		assert_int_equal(ds_audit_run(&o, paths, 2, &res, &err), DS_OK);
		assert_int_equal(res.photos, NPHOTOS);
		assert_int_equal(res.scanned, 0);
	}
	assert_int_equal(chdir(cwd), 0);
}

/* ---- 20: when, by what, with which catalog ---- */

static void test_report_says_when_by_what_and_with_which_catalog(void **state)
{
	char out[512], bad[512], *html;
	ds_audit_result res;
	ds_audit_opts o;
	ds_error err;
	json_t *s, *cat;
	const char *date;
	char *paths[1];
	size_t i;
	ctx x;

	(void)state;
	path_in(out, sizeof(out), w.root, "stamped");
	assert_int_equal(audit(out, w.photos, 0, &res, &x), DS_OK);
	s = summary(out);
	assert_string_equal(run_str(s, "drugscan_version"), DS_VERSION);
	date = run_str(s, "date"); /* 2026-03-12T14:03:22+08:00 */
	assert_non_null(date);
	assert_int_equal(strlen(date), 25);
	for (i = 0; i < 25; i++)
		assert_true(strchr("0123456789", date[i]) || strchr("--T::+:", date[i]) || (i == 19 && date[i] == '-'));
	assert_true(date[4] == '-' && date[10] == 'T' && (date[19] == '+' || date[19] == '-') && date[22] == ':');
	cat = json_object_get(json_object_get(s, "run"), "catalog");
	assert_string_equal(json_string_value(json_object_get(cat, "source")),
	                    "drugscan demo bundle (scripts/gen-demo-catalog)");
	assert_string_equal(json_string_value(json_object_get(cat, "version")), "2026.1-demo");
	assert_true(json_is_true(json_object_get(cat, "synthetic")));
	html = report_html(out);
	assert_non_null(strstr(html, "· drugscan " DS_VERSION " · catalog: drugscan demo bundle"));
	assert_non_null(strstr(html, ", version 2026.1-demo"));
	assert_non_null(strstr(html, "<div class=\"banner demo\" id=synthetic role=note><b>Synthetic demo catalog</b>"));
	free(html);
	json_decref(s);

	/* no catalog at all: said in the summary and on the page */
	path_in(out, sizeof(out), w.root, "stamped-nocat");
	path_in(bad, sizeof(bad), w.root, "not-a-folder");
	spill(bad, "x", 1);
	opts_for(&o, out, &x);
	o.data_dir = bad;
	paths[0] = w.photos;
	assert_int_equal(ds_audit_run(&o, paths, 1, &res, &err), DS_OK);
	assert_true(res.no_catalog);
	s = summary(out);
	assert_true(json_is_null(json_object_get(json_object_get(s, "run"), "catalog")));
	assert_non_null(run_str(s, "catalog_error"));
	json_decref(s);
	html = report_html(out);
	assert_non_null(strstr(html, "id=nocatalog"));
	assert_null(strstr(html, "id=synthetic"));
	free(html);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_interrupted_run_says_what_is_missing),
		cmocka_unit_test(test_merge_short_of_a_shard_is_incomplete),
		cmocka_unit_test(test_label_groups_keep_their_severity),
		cmocka_unit_test(test_cut_jpeg_is_an_error_row),
		cmocka_unit_test(test_walk_keeps_what_it_cannot_read),
		cmocka_unit_test(test_locked_folder_is_a_row),
		cmocka_unit_test(test_resume_matches_the_folder_however_spelled),
		cmocka_unit_test(test_report_says_when_by_what_and_with_which_catalog),
	};
	if (argc > 1)
		fixtures = argv[1];
	setenv("DRUGSCAN_CATALOG_SEED", "demo", 1); /* the tests assert the synthetic demo catalog */
	return cmocka_run_group_tests(tests, setup, teardown);
}
