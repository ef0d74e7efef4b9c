/*
 * cli.h - what every subcommand shares: the run context, the exit codes, the
 * option spec that drives both parsing and --help, the numeric option parser
 * and the subcommands' entry points. Private to cli/; the modules never see
 * it. A command includes the other cli headers only for what it uses:
 * signals.h (Ctrl-C), lines.h (stdin lines), render.h (printing a verdict),
 * scan_live.h (scan --camera/--frames). The code object's JSON, the file walk
 * and the parallel runner are the audit module's (audit.h).
 */
#ifndef DS_CLI_H
#define DS_CLI_H

#include <libintl.h>
#include <stdio.h>

#include "ds_common.h"
#include "trace.h"

/* Every string a person reads goes through gettext (text domain "drugscan", po/);
 * N_() marks one in a static table, translated where it is printed. */
#define _(s) gettext(s)
#define N_(s) (s)

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
	int out_failed;    /* a command said that out could not be written (main() says it otherwise) */
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
/* Make lang the language of the whole output: cli->lang (the library's tables) and gettext's. */
void ds_cli_lang(ds_cli *cli, ds_lang lang);
int ds_cli_usage_error(ds_cli *cli, const char *cmd, const char *message);
/* A library's note (ds_audit_note_fn, ds_ledger_note_fn) on stderr: "drugscan: message"; ctx is the ds_cli. */
void ds_cli_note(void *cli, const char *message);
/* Text for a terminal, appended to out: GS as <GS>, other control characters
 * (C0, DEL, C1) as \xNN or \u00NN, bytes that are not UTF-8 as \xNN, so that a
 * crafted code cannot move the cursor, clear the screen or retitle the window. */
int ds_cli_escape(ds_buf *out, const char *s, size_t len);
/* Printable UTF-8 text of 1 to max bytes (min 0 allows ""): for --station and the like. */
int ds_cli_printable(const char *s, size_t min, size_t max);

/* The one parser of numeric option values: the whole of s (base 10 for
 * ds_opt_long) as a number from lo to hi, both included, into *out. Returns
 * 0, also when s is NULL (the option was not given: *out keeps its default),
 * or DS_EINVAL when s is not such a number (the caller gives the usage error). */
int ds_opt_long(long *out, const char *s, long lo, long hi);
int ds_opt_double(double *out, const char *s, double lo, double hi); /* no NaN or infinity */
/* "K/N" with 0 <= K < N <= max_n (--shard); 0 also when s is NULL or empty. */
int ds_opt_shard(long *k, long *n, const char *s, long max_n);

/* ---- commands ---- */
int ds_cmd_check(ds_cli *cli, int argc, char **argv);
int ds_cmd_scan(ds_cli *cli, int argc, char **argv);
int ds_cmd_catalog(ds_cli *cli, int argc, char **argv);
int ds_cmd_counter(ds_cli *cli, int argc, char **argv);
int ds_cmd_ledger(ds_cli *cli, int argc, char **argv);
int ds_cmd_audit(ds_cli *cli, int argc, char **argv);
int ds_cmd_serve(ds_cli *cli, int argc, char **argv);
#endif
