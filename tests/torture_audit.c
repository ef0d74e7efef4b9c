/*
 * torture_audit.c - the audit module in-process: real photos from
 * fixtures/scan copied into a mkdtemp() tree, audited with the real decoders
 * and the demo catalog (built in the tree's own data folder).
 *
 * The tree (walk order):  a/box1.jpg   a trace code (Code128 20-digit)
 *                         a/wall.jpg   no code
 *                         b/box1-copy.jpg  the same bytes as a/box1.jpg
 *                         b/box2.jpg   another box
 *                         c/box9.jpg   a/box1.jpg's box in a different file
 *                         c/broken.jpg not an image
 *                         c/notes.txt  not audited
 * One full run is made in the group setup; the tests compare against it.
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
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "audit.h"

#define MTIME 1767225600 /* 2026-01-01T00:00:00Z */
#define NPHOTOS 6

static const char *fixtures = "fixtures";

static const char *const walk_order[NPHOTOS] = {
	"a/box1.jpg", "a/wall.jpg", "b/box1-copy.jpg", "b/box2.jpg", "c/box9.jpg", "c/broken.jpg",
};

/* The tree of the whole group, and the full run every test compares with. */
static struct {
	char root[256];
	char photos[300];
	char home[300];
	char full[300];
	ds_audit_result res;
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

static void spill_str(const char *path, const char *s)
{
	spill(path, s, strlen(s));
}

static void set_mtime(const char *path, time_t t)
{
	struct timespec ts[2] = {{t, 0}, {t, 0}};

	assert_int_equal(utimensat(AT_FDCWD, path, ts, 0), 0);
}

/* A fixture photo into the tree; comment != NULL adds a JPEG comment after
 * SOI, so the bytes differ and the pixels do not. */
static void put_photo(const char *fixture, const char *rel, const char *comment)
{
	char src[512], dst[512];
	size_t len;
	char *data;

	snprintf(src, sizeof(src), "%s/scan/%s", fixtures, fixture);
	path_in(dst, sizeof(dst), w.photos, rel);
	data = slurp(src, &len);
	assert_non_null(data);
	if (comment) {
		size_t cl = strlen(comment), n = 2 + 4 + cl + len - 2;
		char *out = malloc(n);
		assert_non_null(out);
		memcpy(out, data, 2);
		out[2] = (char)0xFF;
		out[3] = (char)0xFE;
		out[4] = (char)(((cl + 2) >> 8) & 0xFF);
		out[5] = (char)((cl + 2) & 0xFF);
		memcpy(out + 6, comment, cl);
		memcpy(out + 6 + cl, data + 2, len - 2);
		spill(dst, out, n);
		free(out);
	} else {
		spill(dst, data, len);
	}
	free(data);
	set_mtime(dst, MTIME);
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	return remove(path);
}

/* The "file" of every line of dir/results.jsonl, in order; returns the count. */
static size_t result_files(const char *dir, char files[][512], size_t max)
{
	char path[512], *line = NULL;
	size_t cap = 0, n = 0;
	FILE *f;

	path_in(path, sizeof(path), dir, "results.jsonl");
	f = fopen(path, "r");
	assert_non_null(f);
	while (getline(&line, &cap, f) > 0) {
		json_t *j = json_loads(line, 0, NULL);
		assert_non_null(j);
		assert_int_equal(json_integer_value(json_object_get(j, "format_version")), 1);
		if (n < max)
			snprintf(files[n], 512, "%s", json_string_value(json_object_get(j, "file")));
		n++;
		json_decref(j);
	}
	free(line);
	fclose(f);
	return n;
}

/* The photo's path relative to the tree's photos/ folder. */
static const char *rel(const char *file)
{
	size_t n = strlen(w.photos);

	return !strncmp(file, w.photos, n) && file[n] == '/' ? file + n + 1 : file;
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

static int same_file(const char *a, const char *b)
{
	size_t la = 0, lb = 0;
	char *x = slurp(a, &la), *y = slurp(b, &lb);
	int same = x && y && la == lb && !memcmp(x, y, la);

	free(x);
	free(y);
	return same;
}

/* ---- notes ---- */

typedef struct notes {
	char text[4096];
	int n;
} notes;

static void on_note(void *ctx, const char *message)
{
	notes *ns = ctx;
	size_t len = strlen(ns->text);

	snprintf(ns->text + len, sizeof(ns->text) - len, "%s\n", message);
	ns->n++;
}

static void opts_for(ds_audit_opts *o, const char *out, notes *ns)
{
	ds_audit_opts_default(o);
	o->out_dir = out;
	o->jobs = 2;
	o->data_dir = w.home;
	o->note = on_note;
	o->ctx = ns;
	memset(ns, 0, sizeof(*ns));
}

static int run(const char *out, int resume, unsigned long k, unsigned long n, ds_audit_result *res, notes *ns,
               ds_error *err)
{
	ds_audit_opts o;
	char *paths[1];

	opts_for(&o, out, ns);
	o.resume = resume;
	o.shard_k = k;
	o.shard_n = n;
	paths[0] = w.photos;
	return ds_audit_run(&o, paths, 1, res, err);
}

/* ---- the group ---- */

static int setup(void **state)
{
	static const char *const dirs[] = {"photos", "photos/a", "photos/b", "photos/c", "home"};
	char path[512];
	notes ns;
	ds_error err;
	size_t i;

	(void)state;
	snprintf(w.root, sizeof(w.root), "/tmp/torture-audit-XXXXXX");
	if (!mkdtemp(w.root))
		return -1;
	for (i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		path_in(path, sizeof(path), w.root, dirs[i]);
		if (mkdir(path, 0777) != 0)
			return -1;
	}
	path_in(w.photos, sizeof(w.photos), w.root, "photos");
	path_in(w.home, sizeof(w.home), w.root, "home");
	path_in(w.full, sizeof(w.full), w.root, "full");
	put_photo("rot0-code128.jpg", "a/box1.jpg", NULL);
	put_photo("nocode-0.jpg", "a/wall.jpg", NULL);
	put_photo("rot0-code128.jpg", "b/box1-copy.jpg", NULL);
	put_photo("jpeg50-code128.jpg", "b/box2.jpg", NULL);
	put_photo("rot0-code128.jpg", "c/box9.jpg", "shop c");
	path_in(path, sizeof(path), w.photos, "c/broken.jpg");
	spill_str(path, "\xff\xd8\xff\xe0 not really a JPEG");
	path_in(path, sizeof(path), w.photos, "c/notes.txt");
	spill_str(path, "not an image\n");
	if (run(w.full, 0, 0, 1, &w.res, &ns, &err) < 0) {
		fprintf(stderr, "full run: %s\n", err.message);
		return -1;
	}
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	if (w.root[0])
		nftw(w.root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	return 0;
}

/* ---- the walk and the runner ---- */

static void test_walk_order_and_images_only(void **state)
{
	ds_files files = {0};
	ds_error err;
	size_t i;

	(void)state;
	assert_int_equal(ds_files_add_arg(&files, w.photos, NULL, NULL, &err), DS_OK);
	assert_int_equal(files.n, NPHOTOS); /* notes.txt is not an image */
	for (i = 0; i < files.n; i++) {
		assert_string_equal(rel(files.v[i]), walk_order[i]);
		assert_string_equal(files.v[i] + files.root_len[i], walk_order[i]);
	}
	/* a file is taken as it is (reading it is the decoder's business) */
	assert_int_equal(ds_files_add_arg(&files, "no/such/photo.jpg", NULL, NULL, &err), DS_OK);
	assert_int_equal(files.n, NPHOTOS + 1);
	assert_int_equal(files.root_len[NPHOTOS], 0);
	ds_files_free(&files);
	ds_files_free(&files); /* reusable */
	assert_true(ds_is_image_name("X.JPEG") && ds_is_image_name("a.pgm") && !ds_is_image_name("a.txt"));
}

typedef struct order_ctx {
	size_t next;
	int bad;
} order_ctx;

static int order_work(void *ctx, void *st, size_t i, ds_buf *out)
{
	(void)ctx, (void)st;
	if (i % 3 == 0)
		usleep(2000); /* finish out of order */
	ds_buf_printf(out, "%zu", i * 7);
	return (int)(i & 1);
}

static int order_emit(void *ctx, size_t i, const ds_buf *out, int flags)
{
	order_ctx *c = ctx;
	char want[32];

	snprintf(want, sizeof(want), "%zu", i * 7);
	if (i != c->next || strcmp(out->ptr, want) || flags != (int)(i & 1))
		c->bad = 1;
	c->next++;
	return i == 150 ? DS_ERR : DS_OK; /* a non-zero emit stops the run and is returned */
}

static void test_batch_runner_in_order(void **state)
{
	static const ds_batch_ops ops = {NULL, NULL, order_work, order_emit};
	order_ctx c = {0, 0};

	(void)state;
	assert_int_equal(ds_batch_run(100, 4, &ops, &c), DS_OK);
	assert_int_equal(c.next, 100);
	assert_false(c.bad);
	c.next = 0;
	assert_int_equal(ds_batch_run(1000, 3, &ops, &c), DS_ERR);
	assert_int_equal(c.next, 151);
	assert_false(c.bad);
	assert_int_equal(ds_batch_run(0, 3, &ops, &c), DS_OK);
}

/* ---- a run ---- */

static void test_run_one_line_per_photo_in_walk_order(void **state)
{
	static const char *const reports[] = {"results.jsonl", "codes.csv", "summary.json", "report.html"};
	char files[NPHOTOS + 2][512], path[512];
	struct stat st;
	json_t *s;
	size_t i;

	(void)state;
	assert_int_equal(result_files(w.full, files, NPHOTOS + 2), NPHOTOS);
	for (i = 0; i < NPHOTOS; i++)
		assert_string_equal(rel(files[i]), walk_order[i]);
	for (i = 0; i < sizeof(reports) / sizeof(reports[0]); i++) {
		path_in(path, sizeof(path), w.full, reports[i]);
		assert_int_equal(stat(path, &st), 0);
		assert_true(st.st_size > 0);
		snprintf(path, sizeof(path), "%s/%s.tmp", w.full, reports[i]);
		assert_int_not_equal(stat(path, &st), 0); /* nothing left half-written */
	}
	assert_int_equal(w.res.photos, NPHOTOS);
	assert_int_equal(w.res.scanned, NPHOTOS);
	assert_int_equal(w.res.resumed, 0);
	assert_false(w.res.interrupted || w.res.refused || w.res.no_catalog);
	assert_true(w.res.flags & DS_AUDIT_DUPLICATE);
	assert_true(w.res.flags & DS_AUDIT_NO_CODE);
	assert_true(w.res.flags & DS_AUDIT_ERROR);
	s = summary(w.full);
	assert_int_equal(json_integer_value(json_object_get(s, "images")), NPHOTOS);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(s, "status"), "decoded")), 4);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(s, "run"), "scanned")), NPHOTOS);
	assert_true(json_is_true(json_object_get(json_object_get(s, "run"), "complete")));
	json_decref(s);
}

static void test_duplicate_across_photos(void **state)
{
	json_t *s = summary(w.full), *dups, *photos, *same;

	(void)state;
	dups = json_object_get(s, "duplicates");
	assert_int_equal(json_array_size(dups), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(dups, 0), "text")), "81000464033958964338");
	photos = json_object_get(json_array_get(dups, 0), "photos");
	assert_int_equal(json_array_size(photos), 3);
	assert_string_equal(rel(json_string_value(json_array_get(photos, 0))), "a/box1.jpg");
	assert_string_equal(rel(json_string_value(json_array_get(photos, 1))), "b/box1-copy.jpg");
	assert_string_equal(rel(json_string_value(json_array_get(photos, 2))), "c/box9.jpg");
	/* the byte-identical copy is the same file: two files, not three */
	assert_int_equal(json_integer_value(json_object_get(json_array_get(dups, 0), "files")), 2);
	same = json_object_get(s, "identical_files");
	assert_int_equal(json_array_size(same), 1);
	assert_int_equal(json_array_size(json_array_get(same, 0)), 2);
	json_decref(s);
}

static void test_refuses_an_existing_audit_without_resume(void **state)
{
	ds_audit_result res;
	ds_error err;
	notes ns;

	(void)state;
	assert_int_equal(run(w.full, 0, 0, 1, &res, &ns, &err), DS_EINVAL);
	assert_true(res.refused);
	assert_int_equal(res.scanned, 0);
}

/* ---- resume ---- */

static void test_resume_skips_done_photos_and_drops_a_cut_line(void **state)
{
	char out[512], from[512], to[512], wall[512], files[NPHOTOS + 2][512];
	ds_audit_result res;
	ds_error err;
	notes ns;
	size_t len, i;
	char *data;

	(void)state;
	path_in(out, sizeof(out), w.root, "resumed");
	assert_int_equal(mkdir(out, 0777), 0);
	path_in(from, sizeof(from), w.full, "results.jsonl");
	path_in(to, sizeof(to), out, "results.jsonl");
	data = slurp(from, &len);
	assert_non_null(data);
	spill(to, data, len - 40); /* the last line cut short, as a kill mid-write leaves it */
	free(data);

	assert_int_equal(run(out, 1, 0, 1, &res, &ns, &err), DS_OK);
	assert_int_equal(res.resumed, NPHOTOS - 1);
	assert_int_equal(res.scanned, 1); /* only the cut one */
	assert_int_equal(res.dropped, 0);
	assert_int_equal(ns.n, 0);
	assert_int_equal(result_files(out, files, NPHOTOS + 2), NPHOTOS);
	for (i = 0; i < NPHOTOS; i++)
		assert_string_equal(rel(files[i]), walk_order[i]);
	path_in(from, sizeof(from), w.full, "codes.csv");
	path_in(to, sizeof(to), out, "codes.csv");
	assert_true(same_file(from, to));

	/* nothing changed: nothing decoded */
	assert_int_equal(run(out, 1, 0, 1, &res, &ns, &err), DS_OK);
	assert_int_equal(res.scanned, 0);
	assert_int_equal(res.resumed, NPHOTOS);

	/* a photo changed since: its line is dropped, said, and made again in its place */
	path_in(wall, sizeof(wall), w.photos, "a/wall.jpg");
	set_mtime(wall, MTIME + 60);
	assert_int_equal(run(out, 1, 0, 1, &res, &ns, &err), DS_OK);
	set_mtime(wall, MTIME);
	assert_int_equal(res.dropped, 1);
	assert_int_equal(res.scanned, 1);
	assert_int_equal(res.resumed, NPHOTOS - 1);
	assert_string_equal(ns.text, "audit: 1 earlier results dropped: photos changed or not in this run\n");
	assert_int_equal(result_files(out, files, NPHOTOS + 2), NPHOTOS);
	for (i = 0; i < NPHOTOS; i++)
		assert_string_equal(rel(files[i]), walk_order[i]);
	assert_true(same_file(from, to));
}

/* ---- shards and merge ---- */

static uint64_t fnv1a(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 0x100000001b3ULL;
	return h;
}

static void test_shards_cover_once_and_merge_equals_one_run(void **state)
{
	char dirs[40][512], files[NPHOTOS + 2][512], a[512], b[512], merged[512];
	char *shards[40];
	unsigned long n, k;
	ds_audit_result res;
	ds_audit_opts o;
	ds_error err;
	notes ns;
	int seen[NPHOTOS] = {0};
	size_t i, got, total = 0;
	uint64_t h1 = fnv1a("a/box1.jpg"), h2 = fnv1a("b/box1-copy.jpg"), h9 = fnv1a("c/box9.jpg");

	(void)state;
	/* N such that the duplicate's other file lands in a shard of its own */
	for (n = 2; n < 40 && (h9 % n == h1 % n || h9 % n == h2 % n); n++)
		;
	assert_true(n < 40);
	for (k = 0; k < n; k++) {
		json_t *s;
		snprintf(dirs[k], sizeof(dirs[k]), "%s/shard%lu", w.root, k);
		shards[k] = dirs[k];
		assert_int_equal(run(dirs[k], 0, k, n, &res, &ns, &err), DS_OK);
		got = result_files(dirs[k], files, NPHOTOS + 2);
		assert_int_equal(got, res.photos);
		for (i = 0; i < got; i++) {
			size_t j;
			for (j = 0; j < NPHOTOS && strcmp(rel(files[i]), walk_order[j]); j++)
				;
			assert_true(j < NPHOTOS);
			assert_int_equal(fnv1a(walk_order[j]) % n, k); /* the shard the hash names */
			seen[j]++;
		}
		total += got;
		s = summary(dirs[k]);
		assert_int_equal(json_array_size(json_object_get(s, "duplicates")), 0); /* no shard sees it alone */
		json_decref(s);
	}
	assert_int_equal(total, NPHOTOS);
	for (i = 0; i < NPHOTOS; i++)
		assert_int_equal(seen[i], 1); /* each photo in exactly one shard */

	path_in(merged, sizeof(merged), w.root, "merged");
	opts_for(&o, merged, &ns);
	assert_int_equal(ds_audit_merge(&o, shards, n, &res, &err), DS_OK);
	assert_int_equal(ns.n, 0);
	assert_true(res.flags & DS_AUDIT_DUPLICATE);
	assert_int_equal(result_files(merged, files, NPHOTOS + 2), NPHOTOS);
	for (i = 0; i < NPHOTOS; i++)
		assert_string_equal(rel(files[i]), walk_order[i]);
	path_in(a, sizeof(a), w.full, "codes.csv");
	path_in(b, sizeof(b), merged, "codes.csv");
	assert_true(same_file(a, b));

	/* a shard left out is said; the merged folder may not be one of the shards */
	opts_for(&o, merged, &ns);
	o.out_dir = dirs[0];
	assert_int_equal(ds_audit_merge(&o, shards, n, &res, &err), DS_EINVAL);
	assert_true(res.refused);
	path_in(merged, sizeof(merged), w.root, "merged-part");
	opts_for(&o, merged, &ns);
	assert_int_equal(ds_audit_merge(&o, shards + 1, n - 1, &res, &err), DS_OK);
	snprintf(a, sizeof(a), "shard 0/%lu is missing: its photos are not in the report\n", n);
	assert_string_equal(ns.text, a);
	assert_int_equal(res.missing_shards, 1);
	assert_non_null(res.finish.ptr); /* the commands that finish it (torture_audit_faults.c checks them) */
	ds_audit_result_free(&res);
}

/* ---- the report builder on hand-written lines ---- */

/* One results.jsonl line: one photo with one code. with_key: the unit_key
 * the trace parser gives; without it the line is an older one, and the
 * report parses the text again. */
static void carrier_line(FILE *f, const char *file, const char *sha, const char *text, const char *symbology,
                         const char *aim, int with_key, char key_out[DS_UNIT_KEY_MAX])
{
	ds_trace_opts to;
	ds_unit_key unit;
	ds_code c;
	json_t *code, *line;
	char *s;

	ds_trace_opts_default(&to);
	to.exact = 1;
	ds_code_init(&c);
	assert_int_equal(ds_trace_parse(&c, text, strlen(text), symbology, aim, &to), DS_OK);
	assert_true(c.valid);
	assert_true(ds_code_unit_key(&c, &unit));
	snprintf(key_out, DS_UNIT_KEY_MAX, "%s", unit.key);
	code = json_pack("{s:s, s:s, s:s, s:s, s:b, s:[], s:n, s:[]}", "text", text, "symbology", symbology, "aim", aim,
	                 "kind", ds_kind_name(c.kind), "valid", c.valid, "issues", "drug", "labels");
	assert_non_null(code);
	if (with_key)
		json_object_set_new(code, "unit_key", json_string(unit.key));
	line = json_pack("{s:i, s:s, s:s, s:n, s:s, s:[o]}", "format_version", 1, "file", file, "status", "decoded",
	                 "error", "sha256", sha, "codes", code);
	assert_non_null(line);
	s = json_dumps(line, JSON_COMPACT);
	assert_non_null(s);
	fprintf(f, "%s\n", s);
	free(s);
	json_decref(line);
	ds_code_free(&c);
}

static void three_carriers(const char *name, int with_key)
{
	static const char element[] = "0106901234567892"
	                              "21SERIAL1";
	char dir[512], path[512], keys[3][DS_UNIT_KEY_MAX];
	ds_audit_info info;
	ds_audit_totals totals;
	ds_error err;
	json_t *s, *dups, *photos;
	FILE *f;

	path_in(dir, sizeof(dir), w.root, name);
	assert_int_equal(mkdir(dir, 0777), 0);
	path_in(path, sizeof(path), dir, "results.jsonl");
	f = fopen(path, "w");
	assert_non_null(f);
	carrier_line(f, "visit/datamatrix.jpg", "aa01", element, "gs1-datamatrix", "]d2", with_key, keys[0]);
	carrier_line(f, "visit/digital-link.jpg", "aa02", "https://id.example.com/01/06901234567892/21/SERIAL1", "qr", "]Q1",
	             with_key, keys[1]);
	carrier_line(f, "visit/bracketed.jpg", "aa03", "(01)06901234567892(21)SERIAL1", "", "", with_key, keys[2]);
	fputs("{\"format_version\":1,\"file\":\"visit/cut.jpg\",\"sta", f); /* a cut last line: not a photo */
	assert_int_equal(fclose(f), 0);
	assert_string_equal(keys[0], keys[1]); /* one pack, one key, whatever the carrier */
	assert_string_equal(keys[0], keys[2]);

	memset(&info, 0, sizeof(info));
	info.title = "three carriers";
	info.complete = 1;
	assert_int_equal(ds_audit_report(dir, &info, DS_LANG_EN, &totals, &err), DS_OK);
	assert_true(totals.flags & DS_AUDIT_DUPLICATE);
	assert_int_equal(totals.photos, 3);
	assert_int_equal(totals.codes, 1);
	assert_int_equal(totals.duplicates, 1);
	s = summary(dir);
	assert_int_equal(json_integer_value(json_object_get(s, "images")), 3);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(s, "codes"), "distinct")), 1);
	dups = json_object_get(s, "duplicates");
	assert_int_equal(json_array_size(dups), 1);
	photos = json_object_get(json_array_get(dups, 0), "photos");
	assert_int_equal(json_array_size(photos), 3);
	assert_string_equal(json_string_value(json_array_get(photos, 0)), "visit/datamatrix.jpg");
	assert_string_equal(json_string_value(json_array_get(photos, 1)), "visit/digital-link.jpg");
	assert_string_equal(json_string_value(json_array_get(photos, 2)), "visit/bracketed.jpg");
	assert_int_equal(json_integer_value(json_object_get(json_array_get(dups, 0), "files")), 3);
	json_decref(s);
}

static void test_three_carriers_are_one_duplicate_group(void **state)
{
	(void)state;
	three_carriers("carriers", 1);
}

static void test_three_carriers_in_older_lines_without_unit_key(void **state)
{
	(void)state;
	three_carriers("carriers-old", 0);
}

static void test_report_refuses_a_line_that_is_not_json(void **state)
{
	char dir[512], path[512];
	ds_audit_info info;
	ds_audit_totals totals;
	ds_error err;

	(void)state;
	path_in(dir, sizeof(dir), w.root, "not-json");
	assert_int_equal(mkdir(dir, 0777), 0);
	path_in(path, sizeof(path), dir, "results.jsonl");
	spill_str(path, "{\"file\":\"a.jpg\",\"status\":\"no_code\",\"codes\":[]}\nnot json\n");
	memset(&info, 0, sizeof(info));
	assert_int_equal(ds_audit_report(dir, &info, DS_LANG_EN, &totals, &err), DS_EINVAL);
	assert_non_null(strstr(err.message, "line 2 is not JSON"));
	path_in(path, sizeof(path), dir, "missing");
	assert_int_equal(ds_audit_report(path, &info, DS_LANG_EN, &totals, &err), DS_EIO);
}

/* ---- the code object as text: byte for byte jansson's ---- */

static void same_as_jansson(ds_catalog *cat, ds_json_cache *cache, const char *in, size_t len, ds_lang lang,
                            int line)
{
	ds_code code;
	ds_verdict *v = malloc(sizeof(*v));
	ds_trace_opts t;
	ds_lookup_opts lo = {DS_INS_EMPLOYEE, lang, &t};
	ds_buf got = DS_BUF_INIT;
	json_t *o;
	char *want;
	int pass;

	assert_non_null(v);
	ds_trace_opts_default(&t);
	ds_code_init(&code);
	assert_int_equal(ds_trace_parse(&code, in, len, NULL, NULL, &t), DS_OK);
	ds_catalog_judge(cat, &code, &lo, v, NULL);
	if (v->nlabels + 2 <= DS_MAX_LABELS) { /* a ratio, and a text that is not UTF-8 (left out) */
		ds_label *l = &v->labels[v->nlabels++];
		*l = v->labels[0];
		l->id = "test.ratio";
		l->ratio = 0.7;
		l = &v->labels[v->nlabels++];
		*l = v->labels[0];
		l->id = "test.bad";
		snprintf(l->text, sizeof(l->text), "x\xffy");
	}
	o = ds_code_json(v, lang);
	want = json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(9));
	for (pass = 0; pass < 3; pass++) { /* no cache, then the cache empty and full */
		ds_buf_clear(&got);
		assert_int_equal(ds_buf_putc(&got, '{'), DS_OK);
		assert_int_equal(ds_code_json_put(&got, v, lang, pass ? cache : NULL), DS_OK);
		assert_int_equal(ds_buf_putc(&got, '}'), DS_OK);
		if (strcmp(got.ptr, want))
			fail_msg("line %d: %s\n  != %s", line, got.ptr, want);
	}
	free(want);
	json_decref(o);
	ds_buf_free(&got);
	ds_code_free(&code);
	free(v);
}

static void test_code_json_put_is_jansson_byte_for_byte(void **state)
{
	static const struct {
		const char *in;
		size_t len; /* 0: strlen */
		int line;
	} rows[] = {
		{"81000310000000011234", 0, __LINE__},
		{"(01)06901234567892(17)280331(10)B1(21)S1", 0, __LINE__},
		{"0106901234567892211234\x1d" "10A\x1d" "10B\x1d" "21C", 0, __LINE__}, /* a field given twice */
		{"]d20106901234567892\x1d" "17280331\x1d" "10A\xff\x1d" "21X", 0, __LINE__}, /* not UTF-8 */
		{"8100031\"\\/\t\x01\x7f" "0000011234", 0, __LINE__}, /* escapes */
		{"81000\00031000000011234", 21, __LINE__},                      /* a NUL byte */
		{"\xe3\x80\x80\xef\xbc\x98" "100031000000011234", 0, __LINE__},
		{"MA.156.M0.100001.S123.L4.E260101", 0, __LINE__},
		{"https://id.gs1.org/01/06901234567892/21/A%22B?17=280331", 0, __LINE__},
		{"6901234567892", 0, __LINE__},
		{"", 0, __LINE__},
	};
	ds_json_cache *cache = ds_json_cache_new();
	ds_catalog *cat = NULL;
	ds_error err;
	size_t i;

	(void)state;
	assert_non_null(cache);
	assert_int_equal(ds_catalog_open_default(&cat, w.home, &err), DS_OK);
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		size_t len = rows[i].len ? rows[i].len : strlen(rows[i].in);
		same_as_jansson(cat, cache, rows[i].in, len, DS_LANG_EN, rows[i].line);
		same_as_jansson(cat, cache, rows[i].in, len, DS_LANG_ZH, rows[i].line);
		same_as_jansson(NULL, cache, rows[i].in, len, DS_LANG_EN, rows[i].line);
	}
	ds_catalog_close(cat);
	ds_json_cache_free(cache);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_walk_order_and_images_only),
		cmocka_unit_test(test_batch_runner_in_order),
		cmocka_unit_test(test_run_one_line_per_photo_in_walk_order),
		cmocka_unit_test(test_duplicate_across_photos),
		cmocka_unit_test(test_refuses_an_existing_audit_without_resume),
		cmocka_unit_test(test_resume_skips_done_photos_and_drops_a_cut_line),
		cmocka_unit_test(test_shards_cover_once_and_merge_equals_one_run),
		cmocka_unit_test(test_three_carriers_are_one_duplicate_group),
		cmocka_unit_test(test_three_carriers_in_older_lines_without_unit_key),
		cmocka_unit_test(test_report_refuses_a_line_that_is_not_json),
		cmocka_unit_test(test_code_json_put_is_jansson_byte_for_byte),
	};
	if (argc > 1)
		fixtures = argv[1];
	return cmocka_run_group_tests(tests, setup, teardown);
}
