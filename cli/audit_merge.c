/*
 * audit_merge.c - drugscan audit merge DIR... --out DIR: the folders of
 * `audit --shard K/N` runs joined into one, in the order one unsharded run
 * would have written, with the duplicates found across shards.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "audit.h"

static const ds_optspec merge_opts[] = {
	{"out", 'o', "DIR", NULL, "write the merged report folder here (required)"},
	{"lang", 0, "LANG", "zh|en", "language of the report (default from $LANG)"},
	{"help", 'h', NULL, NULL, "show this help"},
	{NULL, 0, NULL, NULL, NULL},
};

static const ds_cmdspec merge_spec = {
	"audit merge DIR... --out DIR",
	"Join the report folders of 'drugscan audit --shard K/N' runs into one:\n"
	"results.jsonl in one order, the thumbnails, and codes.csv, summary.json and\n"
	"report.html made anew, so a code photographed in two shards is a duplicate.",
	merge_opts,
	"exit status as for 'drugscan audit'.\n\n"
	"example:\n"
	"  drugscan audit merge part0 part1 part2 part3 --out audit-0312\n",
};

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

/* What a shard's summary.json says of its run. */
static json_t *shard_info(const char *dir, int *k, int *n, int *complete)
{
	char path[4200];
	json_t *s, *run, *o;
	const char *shard;
	long kk = -1, nn = 0;

	snprintf(path, sizeof(path), "%s/summary.json", dir);
	s = json_load_file(path, 0, NULL);
	run = json_object_get(s, "run");
	shard = json_string_value(json_object_get(run, "shard"));
	*k = -1;
	*n = 0;
	*complete = !run || json_is_true(json_object_get(run, "complete"));
	if (shard && *shard && ds_opt_shard(&kk, &nn, shard, 100000) == DS_OK) {
		*k = (int)kk;
		*n = (int)nn;
	}
	o = json_pack("{s:s, s:O?, s:O?, s:O?, s:O?}", "dir", dir, "shard", json_object_get(run, "shard"), "images",
	              json_object_get(s, "images"), "elapsed_s", json_object_get(run, "elapsed_s"), "complete",
	              json_object_get(run, "complete"));
	json_decref(s);
	return o;
}

int ds_audit_merge(ds_cli *cli, int argc, char **argv)
{
	ds_optvals v;
	ds_error err;
	au_run run;
	entry *e = NULL;
	size_t ne = 0, cap = 0, i, kept = 0, same = 0;
	FILE **in = NULL;
	ds_atomic out = DS_ATOMIC_INIT;
	json_t *shards = json_array();
	char path[4200];
	char *line = NULL;
	ds_buf copy = DS_BUF_INIT;
	size_t lcap = 0;
	const char *dir;
	unsigned flags = 0;
	int rc, s, lock = -1, nshards = 0, incomplete = 0;
	unsigned char *seen = NULL;
	double wall = 0;

	rc = ds_cli_begin(cli, &merge_spec, "audit merge", &v, argc, argv);
	if (rc >= 0) {
		json_decref(shards);
		free(v.rest);
		return rc;
	}
	memset(&run, 0, sizeof(run));
	dir = ds_opts_get(&v, &merge_spec, "out");
	if (!dir || v.nrest == 0) {
		rc = ds_cli_usage_error(cli, "audit merge", !dir ? "--out DIR is required" : "name the shard folders to merge");
		goto done;
	}
	in = calloc((size_t)v.nrest, sizeof(FILE *));
	if (!in) {
		rc = DS_EXIT_ERROR;
		goto done;
	}
	for (s = 0; s < v.nrest; s++) {
		struct stat a, b;
		if (stat(v.rest[s], &a) == 0 && stat(dir, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino) {
			rc = ds_cli_usage_error(cli, "audit merge", "--out must be a new folder, not one of the shards");
			goto done;
		}
	}
	/* every complete line of every shard, by path */
	for (s = 0; s < v.nrest; s++) {
		ssize_t got;
		off_t pos = 0;
		int k, n, complete;
		json_t *info;
		snprintf(path, sizeof(path), "%s/results.jsonl", v.rest[s]);
		in[s] = fopen(path, "r");
		if (!in[s]) {
			fprintf(cli->err, "%s: cannot open '%s': %s\n", cli->prog, path, strerror(errno));
			rc = DS_EXIT_ERROR;
			goto done;
		}
		while ((got = getline(&line, &lcap, in[s])) > 0) {
			json_t *j = line[got - 1] == '\n' ? json_loadb(line, (size_t)got, 0, NULL) : NULL;
			const char *file = json_string_value(json_object_get(j, "file"));
			const char *thumb = json_string_value(json_object_get(j, "thumbnail"));
			if (file) {
				if (ne == cap) {
					size_t nc = cap ? cap * 2 : 1024;
					entry *ne_ = realloc(e, nc * sizeof(*e));
					if (!ne_) {
						json_decref(j);
						rc = DS_EXIT_ERROR;
						goto done;
					}
					e = ne_;
					cap = nc;
				}
				e[ne].file = strdup(file);
				e[ne].thumb = thumb ? strdup(thumb) : NULL;
				e[ne].src = s;
				e[ne].offset = pos;
				e[ne].len = (size_t)got;
				ne++;
			} else if (line[got - 1] == '\n') {
				fprintf(cli->err, "%s: '%s': a line that is not a scan result is skipped\n", cli->prog, path);
			}
			json_decref(j);
			pos += got;
		}
		info = shard_info(v.rest[s], &k, &n, &complete);
		if (!complete) {
			fprintf(cli->err, "%s: '%s' is an interrupted audit: resume it first for the whole picture\n", cli->prog,
			        v.rest[s]);
			incomplete = 1;
		}
		if (n > 0) {
			if (!seen) {
				nshards = n;
				seen = calloc((size_t)n, 1);
			}
			if (seen && n == nshards && k >= 0 && k < n)
				seen[k] = 1;
		}
		wall = wall > json_real_value(json_object_get(info, "elapsed_s"))
		           ? wall
		           : json_real_value(json_object_get(info, "elapsed_s"));
		json_array_append_new(shards, info);
	}
	for (s = 0; seen && s < nshards; s++)
		if (!seen[s])
			fprintf(cli->err, "%s: shard %d/%d is missing: its photos are not in the report\n", cli->prog, s, nshards);
	qsort(e, ne, sizeof(*e), cmp_entry);

	if (mkdir(dir, 0777) != 0 && errno != EEXIST) {
		fprintf(cli->err, "%s: cannot create '%s': %s\n", cli->prog, dir, strerror(errno));
		rc = DS_EXIT_ERROR;
		goto done;
	}
	lock = au_lock_dir(cli, dir);
	if (lock < 0) {
		rc = DS_EXIT_ERROR;
		goto done;
	}
	snprintf(path, sizeof(path), "%s/thumbs", dir);
	mkdir(path, 0777);
	snprintf(path, sizeof(path), "%s/results.jsonl", dir);
	if (ds_atomic_open(&out, path, &err) < 0) {
		fprintf(cli->err, "%s: %s\n", cli->prog, err.message);
		rc = DS_EXIT_ERROR;
		goto done;
	}
	rc = DS_EXIT_OK;
	for (i = 0; i < ne && rc == DS_EXIT_OK; i++) {
		if (i && !strcmp(e[i].file, e[i - 1].file)) {
			same++; /* the same photo in two shard folders: once is enough */
			continue;
		}
		if (au_read_line(in[e[i].src], e[i].offset, e[i].len, &copy) < 0 ||
		    fwrite(copy.ptr, 1, e[i].len, out.f) != e[i].len) {
			fprintf(cli->err, "%s: cannot copy a line of '%s': %s\n", cli->prog, v.rest[e[i].src], strerror(errno));
			rc = DS_EXIT_ERROR;
		}
		if (e[i].thumb && !strstr(e[i].thumb, "..") && !strncmp(e[i].thumb, "thumbs/", 7)) {
			char from[4300], to[4300], sub[4300];
			snprintf(from, sizeof(from), "%s/%s", v.rest[e[i].src], e[i].thumb);
			snprintf(to, sizeof(to), "%s/%s", dir, e[i].thumb);
			snprintf(sub, sizeof(sub), "%s/%.9s", dir, e[i].thumb);
			mkdir(sub, 0777);
			if (copy_file(from, to) != 0)
				fprintf(cli->err, "%s: cannot copy the thumbnail '%s': %s\n", cli->prog, from, strerror(errno));
		}
		kept++;
	}
	if (rc != DS_EXIT_OK) {
		fprintf(cli->err, "%s: cannot write '%s': %s\n", cli->prog, path, strerror(errno));
		goto done;
	}
	if (ds_atomic_commit(&out, &err) < 0) {
		fprintf(cli->err, "%s: %s\n", cli->prog, err.message);
		rc = DS_EXIT_ERROR;
		goto done;
	}
	if (same)
		fprintf(cli->err, "%s: %zu photos were in more than one shard folder and are counted once\n", cli->prog, same);
	run.elapsed_s = wall;
	run.scanned = kept;
	run.shards = shards;
	run.complete = !incomplete;
	run.title = "merge";
	if (au_write_reports(dir, &run, cli->lang, &flags, &err) < 0) {
		fprintf(cli->err, "%s: %s\n", cli->prog, err.message);
		rc = DS_EXIT_ERROR;
		goto done;
	}
	rc = au_exit_code(flags);
done:
	for (s = 0; in && s < v.nrest; s++)
		if (in[s])
			fclose(in[s]);
	for (i = 0; i < ne; i++) {
		free(e[i].file);
		free(e[i].thumb);
	}
	if (lock >= 0)
		close(lock);
	ds_atomic_abort(&out); /* the temp file of a failed merge */
	free(e);
	free(in);
	free(seen);
	free(line);
	ds_buf_free(&copy);
	json_decref(shards);
	free(v.rest);
	return rc;
}
