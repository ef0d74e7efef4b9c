/*
 * cli.h - what the subcommands share: the run context, the option spec that
 * drives both parsing and --help, the stdin line reader and the renderers.
 * Private to cli/; the modules never see it. The code object's JSON, the
 * file walk and the parallel runner are the audit module's (audit.h).
 */
#ifndef DS_CLI_H
#define DS_CLI_H

#include <signal.h>
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
/* A library's note (ds_audit_note_fn) on stderr: "drugscan: message"; ctx is the ds_cli. */
void ds_cli_note(void *cli, const char *message);

/* The one parser of numeric option values: the whole of s (base 10 for
 * ds_opt_long) as a number from lo to hi, both included, into *out. Returns
 * 0, also when s is NULL (the option was not given: *out keeps its default),
 * or DS_EINVAL when s is not such a number (the caller gives the usage error). */
int ds_opt_long(long *out, const char *s, long lo, long hi);
int ds_opt_double(double *out, const char *s, double lo, double hi); /* no NaN or infinity */
/* "K/N" with 0 <= K < N <= max_n (--shard); 0 also when s is NULL or empty. */
int ds_opt_shard(long *k, long *n, const char *s, long max_n);

/* ---- Ctrl-C for a loop (signals.c) ---- */

/* The handlers a loop replaced, for ds_sig_restore(). */
typedef struct ds_sigcatch {
	int sig[2];
	struct sigaction old[2];
	int n;
} ds_sigcatch;

/* Clear the flag, then make SIGINT (and SIGTERM when also_term) only set it,
 * until ds_sig_restore(). Installed without SA_RESTART, so a read(2) blocked
 * on a terminal or a handheld scanner returns EINTR. */
void ds_sig_catch(ds_sigcatch *c, int also_term);
void ds_sig_restore(ds_sigcatch *c);
/* 1 once a caught signal has arrived; stays set after ds_sig_restore(). */
int ds_sig_pending(void);
/* The flag itself, for a library that polls a pointer (ds_audit_opts.stop). */
volatile sig_atomic_t *ds_sig_flag(void);

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
