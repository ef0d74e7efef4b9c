/*
 * audit.h - the inspector's audit, private to cli/: what cmd_audit.c,
 * audit_report.c and audit_html.c share.
 */
#ifndef DS_AUDIT_H
#define DS_AUDIT_H

#include <stdio.h>
#include <sys/types.h>

#include "cli.h"

/* Why a photo is listed among the problems (AU_WARN is the mildest). */
enum {
	AU_ERROR = 1,      /* the file could not be read as an image */
	AU_NO_CODE = 2,    /* no symbol at all */
	AU_NO_TRACE = 4,   /* only a product barcode, no trace code */
	AU_INVALID = 8,    /* a malformed trace code */
	AU_ALERT = 16,     /* a label of severity alert (expired, recalled, ...) */
	AU_DUPLICATE = 32, /* one of its codes is in another, different photo */
	AU_WARN = 64,      /* a label of severity warn (unmapped, expiring, ...) */
	AU_PROBLEM = 127
};

typedef struct au_photo {
	char *file;
	char *sha256;      /* of the file's bytes; "" when it could not be read */
	off_t offset;      /* its line in results.jsonl */
	size_t len;
	int src;
	unsigned flags;    /* AU_* */
} au_photo;

typedef struct au_code {
	char *key;         /* "nmpa20:…", "gs1:GTIN/SERIAL", "ma:DI/SERIAL", or "KIND:TEXT" */
	char *text, *kind, *nhsa_code, *generic_name, *labels;
	int valid;
	int serial;        /* names one box: can be a duplicate */
	int duplicate;     /* in two or more different files */
	size_t *photos;    /* photo indices, ascending */
	size_t nphotos, cap, files;
} au_code;

typedef struct au_count {
	char *name;
	char *severity, *text;  /* labels only */
	size_t codes, photos, last_photo;
} au_count;

typedef struct au {
	au_photo *photos;
	size_t nphotos, photos_cap;
	au_code *codes;
	size_t ncodes, codes_cap;
	size_t *table, table_cap;  /* open addressing over codes by key */
	au_count *status, *kinds, *labels;
	size_t nstatus, nkinds, nlabels;
	size_t nduplicates, dup_photos, problem_photos;
	size_t *by_sha;            /* photo indices sorted by content hash */
} au;

/* How this run went, for summary.json and the report. */
typedef struct au_run {
	double elapsed_s;
	size_t scanned, resumed;
	int jobs;
	const char *effort;
	char shard[32];            /* "K/N" or "" */
	struct json_t *shards;     /* merge: one object per shard, or NULL */
	const char *title;         /* what was audited, for the report's heading */
	int complete;              /* 0: interrupted, the reports cover the photos done so far */
} au_run;

uint64_t au_path_hash(const char *s);
int au_pathcmp(const char *a, const char *b);
int au_photo_flags(struct json_t *line, unsigned *flags);
/* A string member of a JSON object, "" when missing. */
const char *au_jstr(struct json_t *o, const char *key);
/* Read the line at off (len bytes) of f into buf, NUL-terminated. 0 or DS_EIO/DS_ENOMEM. */
int au_read_line(FILE *f, off_t off, size_t len, ds_buf *buf);

/* Read results.jsonl lines from f (a last line without its newline is
 * ignored: a run was killed while writing it). src tags the photos. */
int au_load(au *a, FILE *f, int src, ds_error *err);
int au_finish(au *a);
void au_free(au *a);

int au_write_codes_csv(const au *a, FILE *f);
struct json_t *au_summary_json(const au *a, const au_run *run);
/* results is the results.jsonl the photos were loaded from; dir holds thumbs/. */
int au_write_html(const au *a, const au_run *run, FILE *results, const char *dir, ds_lang lang, FILE *out);

/* Write codes.csv, summary.json and report.html into dir from dir/results.jsonl
 * (each through a temporary file and a rename). Sets *flags to the union of
 * the photos' AU_* flags. */
int au_write_reports(const char *dir, const au_run *run, ds_lang lang, unsigned *flags, ds_error *err);

/* cmd_audit.c: lock dir for this process (returns the fd to keep, or -1 after
 * a message); the exit code for the union of the photos' flags. */
int au_lock_dir(ds_cli *cli, const char *dir);
int au_exit_code(unsigned flags);
/* audit_merge.c: drugscan audit merge DIR... --out DIR */
int ds_audit_merge(ds_cli *cli, int argc, char **argv);

#endif
