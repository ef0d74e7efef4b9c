/*
 * internal.h - what the audit's files share (run.c, merge.c, report.c,
 * html.c). Private to audit/; not an API.
 */
#ifndef DS_AUDIT_INTERNAL_H
#define DS_AUDIT_INTERNAL_H

#include <stdio.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "audit.h"

/* Why a photo is listed among the problems (AU_WARN is the mildest). */
enum {
	AU_ERROR = DS_AUDIT_ERROR,
	AU_NO_CODE = DS_AUDIT_NO_CODE,
	AU_NO_TRACE = DS_AUDIT_NO_TRACE,
	AU_INVALID = DS_AUDIT_INVALID,
	AU_ALERT = DS_AUDIT_ALERT,
	AU_DUPLICATE = DS_AUDIT_DUPLICATE,
	AU_WARN = DS_AUDIT_WARN,
	AU_PROBLEM = DS_AUDIT_PROBLEM
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
	char *key;         /* the unit_key, or "KIND:TEXT" for a code that names no box */
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
	au_count *groups;          /* labels by id and severity, in the order first seen */
	size_t ngroups;
	size_t nduplicates, dup_photos, problem_photos;
	size_t *by_sha;            /* photo indices sorted by content hash */
} au;

/* How this run went, for summary.json and the report. */
typedef ds_audit_info au_run;

uint64_t au_path_hash(const char *s);
int au_pathcmp(const char *a, const char *b);
int au_photo_flags(struct json_t *line, unsigned *flags);
/* alert 0, warn 1, info 2, anything else 3: the order label groups are shown in */
int au_severity_rank(const char *severity);
/* This drugscan's version. */
const char *au_version(void);
/* Append s to b, quoted for a POSIX shell when it needs it. */
void au_shell_word(ds_buf *b, const char *s);
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
/* A catalog's source, version, import time and whether it is the synthetic demo; null for NULL. */
struct json_t *au_catalog_json(const ds_catalog_info *c);
/* results is the results.jsonl the photos were loaded from; dir holds thumbs/. */
int au_write_html(const au *a, const au_run *run, FILE *results, const char *dir, ds_lang lang, FILE *out);

/* A file's mtime as results.jsonl writes it: UTC with nanoseconds. */
void au_mtime_text(const struct stat *st, char out[48]);

/* The canonical key of a path: its folder resolved (realpath) and its name;
 * the last folder resolved is kept for the next call. */
typedef struct au_canon {
	char *dir, *real;
} au_canon;
int au_canon_key(au_canon *c, const char *path, ds_buf *out);
void au_canon_free(au_canon *c);

/* A set of strings (keys of paths), at most max of them. */
typedef struct au_keyset {
	char **v;
	size_t n, max;
	size_t *slot, cap;
} au_keyset;
int au_keyset_init(au_keyset *k, size_t max);
/* 1: added as v[n-1]; 0: already there; DS_ENOMEM (also when full). */
int au_keyset_add(au_keyset *k, const char *key);
/* The index of key in v, or (size_t)-1. */
size_t au_keyset_find(const au_keyset *k, const char *key);
void au_keyset_free(au_keyset *k);

typedef struct au_resumed {
	size_t kept;      /* lines kept: their photos are done */
	size_t dropped;   /* lines of photos changed or not in this run */
	size_t retried;   /* lines of paths that could not be read, read again */
	size_t respelled; /* kept lines whose path this run spells differently */
} au_resumed;

/* Keep the lines of the results.jsonl at path whose photo is in files
 * (known by au_canon_key), with the same size and mtime, and set done[] for
 * them; drop the rest (a changed or removed photo, a line cut short by a
 * kill). The file is rewritten, in files' order and spelling, only when a
 * line is dropped, out of order or spelled differently. */
int au_resume_load(const char *path, char **files, size_t n, unsigned char *done, au_resumed *out, ds_error *err);

/* Lock dir against a second audit writing into it at the same time: the fd
 * to keep (close it to unlock), or -1 with a message in err. */
int au_lock_dir(const char *dir, ds_error *err);
/* Tell the caller a line through o->note, printf-style (no-op without one). */
void au_note(const ds_audit_opts *o, const char *fmt, ...) DS_PRINTF(2, 3);

#endif
