/*
 * audit.h - the inspector's batch audit, and the batch machinery `scan`
 * shares with it: the file walk, the ordered parallel runner, the decoding
 * worker, and the code and scan objects of DESIGN.md as JSON.
 *
 * An audit turns folders of photos into a report folder: results.jsonl (one
 * line per photo, appended as it goes, so a killed run can be resumed),
 * codes.csv, summary.json and report.html. Nothing here prints: errors come
 * back in a ds_error, and what a user should be told along the way goes to
 * the caller's note and progress callbacks.
 */
#ifndef DS_AUDIT_H
#define DS_AUDIT_H

#include <signal.h>
#include <stddef.h>
#include <stdio.h>

#include "ds_common.h"
#include "catalog.h"
#include "scanner.h"
#include "trace.h"

struct json_t;
struct ds_counter_answer; /* ledger.h */
struct ds_event;

/* A line worth telling the user (lowercase, no final full stop); the library
 * itself prints nothing. Called on the calling thread. */
typedef void (*ds_audit_note_fn)(void *ctx, const char *message);

/* ---- the code object (codejson.c) ---- */

/* The code object of DESIGN.md as jansson JSON (no "input", no "position"). */
struct json_t *ds_code_json(const ds_verdict *v, ds_lang lang);
struct json_t *ds_drug_json(const ds_drug *d);
struct json_t *ds_label_json(const ds_label *l);
/* A ledger event as `ledger history --format jsonl` prints it; NULL when one
 * of its texts is not UTF-8 (a damaged row). */
struct json_t *ds_event_json(const struct ds_event *e);
/* One product's line of `ledger stock --format jsonl`. */
struct json_t *ds_stock_json(const char *product_key, const char *nhsa_code, long boxes, long opened);
/* `catalog info` as JSON: counts, the national list with its checked totals, local data. */
struct json_t *ds_catalog_info_json(const ds_catalog_info *info, int outdated);

/* ---- the code object as text (jsonout.c) ---- */

/* The JSON of drugs and labels already written, kept for the next codes of a
 * stream (a few thousand). One per thread. */
typedef struct ds_json_cache ds_json_cache;
ds_json_cache *ds_json_cache_new(void);           /* NULL when out of memory */
void ds_json_cache_free(ds_json_cache *c);        /* NULL-safe */
/* A JSON string as jansson writes it; DS_EINVAL, with nothing appended, when
 * s[0..len) is not UTF-8 (it may hold NUL bytes). */
int ds_json_put_string(ds_buf *out, const char *s, size_t len);
/* Append the members of ds_code_json(v, lang), without the braces, byte for
 * byte as json_dumps(JSON_COMPACT | JSON_REAL_PRECISION(9)) writes them: what
 * `check -f jsonl` and POST /v1/check print. c may be NULL (nothing kept).
 * 0 or DS_ENOMEM. */
int ds_code_json_put(ds_buf *out, const ds_verdict *v, ds_lang lang, ds_json_cache *c);
/* The members of the counter's answer to one input, without the braces, as
 * `counter --format json` prints it and POST /v1/counter/ACTION answers it:
 * format_version, "input" (the first 200 bytes, cut at a character;
 * "(binary)" when not UTF-8), the code object's members and "ledger": the
 * event (action, state_before, state_after, event_id, outcome, refused,
 * units_left, recorded: true) when recorded; {action, recorded: false, or
 * null when unknown, fault, error} when not (error: err's message); null
 * when the input names no box (a->refusal_id). 0 or DS_ENOMEM. */
int ds_counter_json_put(ds_buf *out, const struct ds_counter_answer *a, const void *input, size_t len, ds_lang lang,
                        const ds_error *err, ds_json_cache *c);

/* GS (0x1D) as <GS>, so spreadsheets keep it visible. */
void ds_put_visible(ds_buf *b, const char *s, size_t n);

/* One CSV cell (libcsv quoting; a cell a spreadsheet would run as a formula
 * gets a leading apostrophe), then ',' or, when last, '\n'. 0 or DS_EIO/DS_ENOMEM. */
int ds_csv_cell(FILE *f, const char *s, size_t len, int last);

/* The honest note every verdict carries. */
const char *ds_note_text(ds_lang lang);

/* ---- image files (batch.c) ---- */

/* Image files in input order; root_len[i] is how much of v[i] names the
 * folder it was found under (0 for a file named on the command line). */
typedef struct ds_files {
	char **v;          /* owned, each from strdup() */
	size_t *root_len;
	size_t n, cap;
	/* Set before the first add: a path the walk met and could not read (a
	 * folder that cannot be listed, a broken or looping symbolic link with an
	 * image name, an image name that is not a regular file, an operand that
	 * cannot be opened) is kept as an entry, with why[i] its one-line reason.
	 * Unset: it is told to note instead (and an operand failing is an error). */
	int keep_unreadable;
	char **why;        /* owned; NULL for an entry to read */
} ds_files;

int ds_is_image_name(const char *name);
int ds_files_add(ds_files *l, const char *path, size_t root_len);
/* An entry the walk could not read, with its reason (copied). */
int ds_files_add_unreadable(ds_files *l, const char *path, size_t root_len, const char *why);
/* A file is added as it is; a folder is walked recursively in name order
 * (image names only, no hidden entries, symlinked folders not followed).
 * What the walk cannot read is kept (keep_unreadable) or told to note (may
 * be NULL) and skipped; without keep_unreadable, arg itself failing to be
 * listed is DS_EIO in err. */
int ds_files_add_arg(ds_files *l, const char *arg, ds_audit_note_fn note, void *ctx, ds_error *err);
void ds_files_free(ds_files *l);

/* ---- the ordered parallel runner (batch.c) ---- */

/* Run work() for items 0..n-1 on `jobs` threads; emit() sees each result on
 * the calling thread strictly in item order. A non-zero emit() stops the run
 * (what is in flight is finished and dropped) and is returned. */
typedef struct ds_batch_ops {
	void *(*worker_new)(void *ctx);              /* per-thread state, may be NULL */
	void (*worker_free)(void *ctx, void *state);
	int (*work)(void *ctx, void *state, size_t i, ds_buf *out); /* returns flags for emit */
	int (*emit)(void *ctx, size_t i, const ds_buf *out, int flags);
} ds_batch_ops;

int ds_batch_run(size_t n, int jobs, const ds_batch_ops *ops, void *ctx);

/* ---- one decoding thread (batch.c) ---- */

/* What a decoding thread holds: its scanner, a code and a catalog connection
 * (decoder bytes are parsed exactly). no_catalog: judge without the catalog. */
typedef struct ds_image_worker {
	ds_scanner *scanner;
	ds_code code;
	ds_catalog *cat;        /* NULL: judged without the catalog */
	ds_trace_opts trace;    /* exact: decoder bytes */
	ds_lookup_opts lookup;  /* lookup.trace points at trace */
	ds_verdict verdict;     /* of the last code judged */
} ds_image_worker;

ds_image_worker *ds_image_worker_new(const ds_scan_opts *sopts, const char *data_dir, const char *insurance,
                                     ds_lang lang, int no_catalog);
void ds_image_worker_free(ds_image_worker *w); /* NULL-safe */
/* Open (and on first run build) the catalog once before the workers do.
 * 0, or an error in err when codes must be judged without it. */
int ds_catalog_probe(const char *data_dir, const char *insurance, ds_error *err);

/* What one image gave (flags of ds_scan_json). */
enum { DS_IMG_ERROR = 1, DS_IMG_NO_CODE = 2, DS_IMG_ALERT = 4, DS_IMG_FOUND = 8, DS_IMG_LOOKUP_FAILED = 16 };

/* The scan object of DESIGN.md for one image: every symbol parsed and judged. */
struct json_t *ds_scan_json(const char *file, const ds_scan_result *res, const char *error, ds_image_worker *w,
                            ds_lang lang, int *flags);

/* ---- the audit ---- */

/* Why a photo is listed among the problems (DS_AUDIT_WARN is the mildest). */
enum {
	DS_AUDIT_ERROR = 1,      /* the file could not be read as an image */
	DS_AUDIT_NO_CODE = 2,    /* no symbol at all */
	DS_AUDIT_NO_TRACE = 4,   /* only a product barcode, no trace code */
	DS_AUDIT_INVALID = 8,    /* a malformed trace code */
	DS_AUDIT_ALERT = 16,     /* a label of severity alert (expired, recalled, ...) */
	DS_AUDIT_DUPLICATE = 32, /* one of its codes is in another, different photo */
	DS_AUDIT_WARN = 64,      /* a label of severity warn (unmapped, expiring, ...) */
	DS_AUDIT_PROBLEM = 127
};

/* Where a run is, after each photo is written (and once more at the end, last = 1). */
typedef struct ds_audit_progress {
	size_t done;      /* photos in results.jsonl: resumed + scanned */
	size_t total;     /* photos in this run */
	size_t scanned;   /* decoded by this run so far */
	double elapsed_s; /* since decoding began */
	int last;
} ds_audit_progress;

typedef struct ds_audit_opts {
	const char *out_dir;      /* the report folder (created when missing) */
	int jobs;                 /* photos decoded at once; < 1 is 1 */
	int resume;               /* go on with the audit in out_dir; without it an existing one is refused */
	unsigned long shard_k;    /* audit only shard k of shard_n (chosen by a hash of each */
	unsigned long shard_n;    /* photo's path below its folder); 0 or 1: every photo */
	ds_scan_opts scan;        /* effort, max_pixels */
	const char *data_dir;     /* where catalog.db lives, NULL for the default */
	const char *insurance;    /* employee|resident, or NULL */
	ds_lang lang;             /* of labels and the report */
	/* Set (from a signal handler) to stop: the photos in flight are finished,
	 * the reports cover the photos done. Polled between photos; may be NULL. */
	volatile sig_atomic_t *stop;
	ds_audit_note_fn note;    /* may be NULL */
	void (*progress)(void *ctx, const ds_audit_progress *p); /* may be NULL */
	void *ctx;                /* for note and progress */
} ds_audit_opts;

/* Zero, one job, every photo, effort normal, language English. */
void ds_audit_opts_default(ds_audit_opts *o);

typedef struct ds_audit_result {
	size_t photos;      /* photos in this run (after the shard is chosen); 0: no images found */
	size_t scanned;     /* decoded by this run */
	size_t resumed;     /* kept from an earlier run's results.jsonl */
	size_t dropped;     /* earlier results dropped: photos changed or not in this run */
	size_t same;        /* merge: photos found in more than one shard folder, kept once */
	int interrupted;    /* *stop was set: the reports cover resumed + scanned photos */
	int no_catalog;     /* codes were judged without the catalog (a note said why) */
	int refused;        /* the error is a misuse of the folders: out_dir already holds an
	                     * audit and resume is off, or (merge) out_dir is one of the shards */
	unsigned flags;     /* DS_AUDIT_*: the union over the photos of the reports */
	size_t unreadable;  /* paths the walk met and could not read: error rows */
	size_t bad_operands; /* of them, paths given by the caller (a missing folder, a locked one) */
	size_t missing_shards;    /* merge: shards of K/N not among the folders */
	size_t incomplete_shards; /* merge: shard folders of an interrupted run */
	/* What the reports hold (when they were written): */
	size_t reported;    /* photos */
	size_t codes;       /* distinct codes */
	size_t duplicates;  /* codes in photos of different content */
	size_t errors;      /* photos that could not be read (status error) */
	/* An incomplete audit (interrupted, or a merge short of a shard): the
	 * commands that finish it, one a line; empty otherwise. */
	ds_buf finish;
} ds_audit_result;

/* What a result holds (finish); NULL-safe, and the result can be reused. */
void ds_audit_result_free(ds_audit_result *res);

/* The command that finishes an interrupted run of o over paths (the same
 * folder, --resume, and the options that decide what a line holds), shell
 * quoted, into out. 0 or DS_ENOMEM. */
int ds_audit_finish_command(const ds_audit_opts *o, char *const *paths, size_t npaths, ds_buf *out);

/* Audit the photos under paths (files or folders) into o->out_dir: walk,
 * choose the shard, resume, decode on o->jobs threads, append results.jsonl
 * in walk order, then write codes.csv, summary.json and report.html. res is
 * filled as far as the run got. 0, or an error in err. */
int ds_audit_run(const ds_audit_opts *o, char *const *paths, size_t npaths, ds_audit_result *res, ds_error *err);

/* Join the report folders of shard runs (dirs) into o->out_dir, in the order
 * one unsharded run would have written, and make the reports anew, so the
 * duplicates across shards are found. Uses out_dir, lang, note and ctx of o. */
int ds_audit_merge(const ds_audit_opts *o, char *const *dirs, size_t ndirs, ds_audit_result *res, ds_error *err);

/* How a run went, for summary.json ("run") and the report's heading. */
typedef struct ds_audit_info {
	double elapsed_s;
	size_t scanned, resumed;
	int jobs;
	const char *effort;        /* "fast", "normal", "thorough", or NULL */
	char shard[32];            /* "K/N" or "" */
	struct json_t *shards;     /* merge: one object per shard, or NULL (borrowed) */
	const char *title;         /* what was audited, for the report's heading */
	int complete;              /* 0: interrupted or a shard missing: the reports cover part */
	size_t total;              /* photos the run was to audit, when total_known */
	int total_known;
	char *const *paths;        /* the folders and files audited, as given */
	size_t npaths;
	struct json_t *options;    /* array: the options a resume or another shard must repeat */
	struct json_t *finish;     /* array of shell commands that finish the audit, or NULL */
	struct json_t *missing_shards; /* merge: array of "K/N" not among the folders, or NULL */
	const ds_catalog_info *catalog; /* the catalog the codes were judged with, or NULL */
	const char *catalog_error; /* why there was none; NULL with no catalog: not known */
	const char *date;          /* when the reports are made (ISO 8601); NULL: now */
} ds_audit_info;

/* What the reports hold. */
typedef struct ds_audit_totals {
	unsigned flags;            /* the union of the photos' DS_AUDIT_* flags */
	size_t photos, codes, duplicates;
	size_t errors;             /* photos with status error */
} ds_audit_totals;

/* Write codes.csv, summary.json and report.html into dir from
 * dir/results.jsonl alone (each through a temporary file and a rename; a
 * last line without its newline is ignored), stamped with the date, this
 * drugscan's version and info's catalog. Duplicates are codes with the same
 * unit_key in photos of different content. */
int ds_audit_report(const char *dir, const ds_audit_info *info, ds_lang lang, ds_audit_totals *totals,
                    ds_error *err);

#endif
