/*
 * cli.h - what the subcommands share: the run context, the option spec that
 * drives both parsing and --help, the stdin line reader and the renderers.
 * Private to cli/; the modules never see it.
 */
#ifndef DS_CLI_H
#define DS_CLI_H

#include <stdio.h>

#include "ds_common.h"
#include "catalog.h"
#include "scanner.h"
#include "trace.h"

/* Exit codes (DESIGN.md); documented once, in drugscan(1). */
enum {
	DS_EXIT_OK = 0,
	DS_EXIT_ERROR = 1,   /* runtime error: I/O, corrupt input, database */
	DS_EXIT_USAGE = 2,   /* bad command line */
	DS_EXIT_ALERT = 3,   /* an alert label was raised */
	DS_EXIT_NO_CODE = 4  /* some input held no valid trace code */
};

typedef struct ds_cli {
	FILE *out;         /* results */
	FILE *err;         /* diagnostics */
	FILE *in;          /* stdin */
	const char *prog;  /* "drugscan" */
	ds_lang lang;      /* from --lang or the environment */
} ds_cli;

typedef struct ds_command {
	const char *name;
	int (*run)(ds_cli *cli, int argc, char **argv);
	const char *summary;
} ds_command;

/* ---- declarative options (opts.c) ---- */

#define DS_OPTS_MAX 24

typedef struct ds_optspec {
	const char *name;    /* long name without "--" */
	char short_name;     /* 0 when none */
	const char *arg;     /* "FMT" for options taking a value, NULL for flags */
	const char *choices; /* "text|json|csv", or NULL for any value */
	const char *help;
} ds_optspec;

typedef struct ds_optvals {
	const char *value[DS_OPTS_MAX]; /* last value given, or NULL */
	int count[DS_OPTS_MAX];         /* times given */
	char **rest;                    /* positional arguments (borrowed from argv) */
	int nrest;
} ds_optvals;

typedef struct ds_cmdspec {
	const char *usage;       /* "check [OPTIONS] CODE... | -" */
	const char *description; /* a paragraph for --help */
	const ds_optspec *opts;  /* terminated by a {NULL} row */
	const char *epilog;      /* examples, may be NULL */
} ds_cmdspec;

/* Parse argv (argv[0] is the subcommand). Returns 0, or DS_EINVAL with a message. */
int ds_opts_parse(ds_optvals *out, const ds_cmdspec *spec, int argc, char **argv, ds_error *err);
void ds_opts_help(FILE *f, const char *prog, const ds_cmdspec *spec);
/* Index of an option in the spec, for reading ds_optvals; -1 when missing. */
int ds_opts_index(const ds_cmdspec *spec, const char *name);
const char *ds_opts_get(const ds_optvals *v, const ds_cmdspec *spec, const char *name);
int ds_opts_has(const ds_optvals *v, const ds_cmdspec *spec, const char *name);

/* Parse a command's argv and handle the options every command shares (--help,
 * --lang). Returns -1 to go on, or an exit code to return: a usage error for `cmd`
 * (v->rest is then freed and NULL) or 0 after --help. */
int ds_cli_begin(ds_cli *cli, const ds_cmdspec *spec, const char *cmd, ds_optvals *v, int argc, char **argv);
ds_lang ds_lang_from_env(void);
int ds_cli_usage_error(ds_cli *cli, const char *cmd, const char *message);

/* ---- stdin lines (lineread.c) ---- */

typedef struct ds_line {
	const char *data;  /* not NUL-terminated when too_long */
	size_t len;        /* bytes kept in data (<= DS_TRACE_MAX_INPUT) */
	size_t full_len;   /* bytes the line really had */
	unsigned long no;  /* 1-based line number */
} ds_line;

typedef struct ds_lines ds_lines;

ds_lines *ds_lines_open(FILE *in, FILE *flush_before_block);
/* 1 with a line, 0 at end of input, -1 on a read error (errno set). */
int ds_lines_next(ds_lines *r, ds_line *out);
void ds_lines_free(ds_lines *r);

/* ---- rendering a code (render.c) ---- */

typedef enum ds_format { DS_FMT_TEXT = 0, DS_FMT_JSON, DS_FMT_CSV } ds_format;

int ds_format_parse(ds_format *out, const char *name);

typedef struct ds_renderer ds_renderer;

ds_renderer *ds_renderer_new(FILE *out, ds_format fmt, ds_lang lang);
/* Render one checked payload. input/len is what was received. Returns 0 or DS_EIO. */
int ds_render_check(ds_renderer *r, const void *input, size_t len, const ds_verdict *v);
/* Finish the output (text: the closing note). */
int ds_renderer_finish(ds_renderer *r);
void ds_renderer_free(ds_renderer *r);

/* Text for people (render_text.c). tmp is scratch space. */
int ds_render_text(FILE *out, ds_lang lang, ds_buf *tmp, const void *input, size_t len, const ds_verdict *v);

/* The code object of DESIGN.md as jansson JSON (no "input", no "position"). */
struct json_t;
struct json_t *ds_code_json(const ds_verdict *v, ds_lang lang);
struct json_t *ds_drug_json(const ds_drug *d);
struct json_t *ds_label_json(const ds_label *l); /* id, severity, text, and ratio when there is one */

/* GS (0x1D) as <GS>, so spreadsheets keep it visible. */
void ds_put_visible(ds_buf *b, const char *s, size_t n);

/* CSV writing shared by the renderers (libcsv quoting, formula-safe). */
int ds_csv_cell(FILE *f, const char *s, size_t len, int last);

/* The honest note every verdict carries. */
const char *ds_note_text(ds_lang lang);

/* ---- batches of images (batch.c) ---- */

/* Image files in input order; root_len[i] is how much of v[i] names the
 * folder it was found under (0 for a file named on the command line). */
typedef struct ds_files {
	char **v;
	size_t *root_len;
	size_t n, cap;
} ds_files;

int ds_is_image_name(const char *name);
int ds_files_add(ds_files *l, const char *path, size_t root_len);
/* A file is added as it is; a folder is walked recursively in name order
 * (image names only, no hidden entries, symlinked folders not followed). */
int ds_files_add_arg(ds_files *l, const char *arg, ds_cli *cli);
void ds_files_free(ds_files *l);

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
/* Open (and on first run build) the catalog once before the workers do;
 * 1 with a message on stderr when codes must be judged without it. */
int ds_catalog_probe(ds_cli *cli, const char *data_dir, const char *insurance);
/* A whole number from lo to hi in *out; 0 also when s is NULL (*out kept), -1 when bad. */
int ds_parse_count(const char *s, long lo, long hi, long *out);

/* What one image gave (flags of ds_scan_json). */
enum { DS_IMG_ERROR = 1, DS_IMG_NO_CODE = 2, DS_IMG_ALERT = 4, DS_IMG_FOUND = 8, DS_IMG_LOOKUP_FAILED = 16 };

/* The scan object of DESIGN.md for one image: every symbol parsed and judged. */
struct json_t *ds_scan_json(const char *file, const ds_scan_result *res, const char *error, ds_image_worker *w,
                            ds_lang lang, int *flags);

/* ---- commands ---- */
int ds_cmd_check(ds_cli *cli, int argc, char **argv);
int ds_cmd_scan(ds_cli *cli, int argc, char **argv);
int ds_cmd_catalog(ds_cli *cli, int argc, char **argv);
int ds_cmd_counter(ds_cli *cli, int argc, char **argv);
int ds_cmd_ledger(ds_cli *cli, int argc, char **argv);
int ds_cmd_audit(ds_cli *cli, int argc, char **argv);
/* scan --camera / --frames (scan_live.c) */
int ds_scan_live(ds_cli *cli, const ds_cmdspec *spec, const ds_optvals *v, ds_format fmt,
                 const ds_scan_opts *sopts);

#endif
