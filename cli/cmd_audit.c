/*
 * cmd_audit.c - drugscan audit: an inspector's folders of photos in, a
 * report folder out (results.jsonl, codes.csv, summary.json, report.html),
 * and `audit merge` for the folders of --shard runs. The audit itself is
 * the audit module's (audit/audit.h); this file parses the options, draws
 * the progress bar on a terminal, prints what the library says and turns
 * the result into an exit code.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "audit.h"
#include "cli.h"
#include "signals.h"

static const ds_optspec audit_opts[] = {
	{"out", 'o', "DIR", NULL, N_("write the report folder here (default drugscan-audit)")},
	{"jobs", 'j', "N", NULL, N_("decode N photos at once (default: number of cores)")},
	{"resume", 'r', NULL, NULL, N_("go on with the audit in DIR: photos already done (same path, size, mtime) are skipped")},
	{"shard", 0, "K/N", NULL, N_("audit only shard K of N (K from 0), chosen by a hash of each photo's path")},
	{"effort", 'e', "LEVEL", "fast|normal|thorough", N_("how hard to look (default normal)")},
	{"max-pixels", 0, "N", NULL, N_("refuse images larger than N pixels (default 100000000)")},
	{"lang", 0, "LANG", "zh|en", N_("language of labels and the report (default from $LANG)")},
	{"insurance", 0, "TYPE", "employee|resident", N_("show the reimbursement policy for this insurance type")},
	{"data-dir", 0, "DIR", NULL, N_("where catalog.db lives (default $DRUGSCAN_HOME or $XDG_DATA_HOME/drugscan)")},
	{"help", 'h', NULL, NULL, N_("show this help")},
	{NULL, 0, NULL, NULL, NULL},
};

static const ds_cmdspec audit_spec = {
	N_("audit [OPTIONS] PATH...  |  audit merge DIR... --out DIR"),
	N_("Audit folders of photos: every image under PATH (walked recursively, in name\n"
	"order) is decoded on all cores and checked against the catalog. DIR gets\n"
	"results.jsonl (one line per photo, appended as it goes), codes.csv (one row\n"
	"per distinct code with every photo it is in), summary.json and report.html\n"
	"(one offline page: counts, a bar per label, then the problem photos with\n"
	"thumbnails). The same trace code in two different photos is a duplicate;\n"
	"byte-identical files are not. 'audit merge' joins the folders of --shard\n"
	"runs into one report and finds the duplicates across them."),
	audit_opts,
	N_("Every path the walk meets and cannot read (a locked folder, a broken or\n"
	"looping symbolic link, a damaged image) is a row of the report with its\n"
	"reason. The run ends with a line naming the report it wrote.\n\n"
	"exit status: 0 every photo had a code, 1 the audit could not be done or\n"
	"written, was interrupted, a PATH could not be read or the catalog could not\n"
	"be opened, 2 usage error, 3 an alert or a duplicate code, 4 some photo had\n"
	"no code or could not be read (and no alert).\n\n"
	"examples:\n"
	"  drugscan audit --out audit-0312 photos/\n"
	"  drugscan audit --out audit-0312 --resume photos/     # after a crash or Ctrl-C\n"
	"  drugscan audit --shard 0/4 --out part0 photos/       # one of 4 machines\n"
	"  drugscan audit merge part0 part1 part2 part3 --out audit-0312\n"),
};

static const ds_optspec merge_opts[] = {
	{"out", 'o', "DIR", NULL, N_("write the merged report folder here (required)")},
	{"lang", 0, "LANG", "zh|en", N_("language of the report (default from $LANG)")},
	{"help", 'h', NULL, NULL, N_("show this help")},
	{NULL, 0, NULL, NULL, NULL},
};

static const ds_cmdspec merge_spec = {
	N_("audit merge DIR... --out DIR"),
	N_("Join the report folders of 'drugscan audit --shard K/N' runs into one:\n"
	"results.jsonl in one order, the thumbnails, and codes.csv, summary.json and\n"
	"report.html made anew, so a code photographed in two shards is a duplicate."),
	merge_opts,
	N_("A shard of K/N that is not among the folders, or a shard folder of an\n"
	"interrupted run, makes the report incomplete: it says what is missing and\n"
	"the commands that finish it, and the exit status is 1.\n\n"
	"exit status as for 'drugscan audit'.\n\n"
	"example:\n"
	"  drugscan audit merge part0 part1 part2 part3 --out audit-0312\n"),
};

/* The terminal side of a run: notes on stderr, and the progress bar when stderr is a terminal. */
typedef struct audit_ui {
	ds_cli *cli;
	int tty;
	double last_bar;
} audit_ui;

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void on_note(void *ctx, const char *message)
{
	audit_ui *ui = ctx;

	ds_cli_note(ui->cli, message);
}

static void on_progress(void *ctx, const ds_audit_progress *p)
{
	audit_ui *ui = ctx;
	double t = now_s(), rate = p->elapsed_s > 0 ? (double)p->scanned / p->elapsed_s : 0;
	double left = rate > 0 ? (double)(p->total - p->done) / rate : 0;
	int width = 28, fill = p->total ? (int)((double)width * (double)p->done / (double)p->total) : width, k;
	char bar[64];

	if (!ui->tty || (!p->last && t - ui->last_bar < 0.2))
		return;
	ui->last_bar = t;
	for (k = 0; k < width; k++)
		bar[k] = k < fill ? '#' : '.';
	bar[width] = '\0';
	fprintf(ui->cli->err, "\r\033[K[%s] ", bar);
	fprintf(ui->cli->err, _("%zu/%zu  %.1f img/s  ETA %dm%02ds"), p->done, p->total, rate, (int)left / 60, (int)left % 60);
	fputs(p->last ? "\n" : "", ui->cli->err);
	fflush(ui->cli->err);
}

static int exit_code(unsigned flags)
{
	if (flags & (DS_AUDIT_ALERT | DS_AUDIT_DUPLICATE))
		return DS_EXIT_ALERT;
	if (flags & (DS_AUDIT_NO_CODE | DS_AUDIT_ERROR))
		return DS_EXIT_NO_CODE;
	return DS_EXIT_OK;
}

/* The last line of a run: which report it wrote, and what is in it. */
static void report_line(ds_cli *cli, const char *dir, const ds_audit_result *res)
{
	size_t n = strlen(dir);

	while (n > 1 && dir[n - 1] == '/')
		n--;
	fprintf(cli->err, _("%s: report written to %.*s/report.html ("), cli->prog, (int)n, dir);
	fprintf(cli->err, ngettext("%zu photo", "%zu photos", res->reported), res->reported);
	fprintf(cli->err, ngettext(", %zu code", ", %zu codes", res->codes), res->codes);
	fprintf(cli->err, ngettext(", %zu duplicate", ", %zu duplicates", res->duplicates), res->duplicates);
	if (res->errors)
		fprintf(cli->err, _(", %zu unreadable"), res->errors);
	fputs(_(")\n"), cli->err);
}

/* The commands that finish an incomplete audit, one a line, indented. */
static void finish_lines(ds_cli *cli, const ds_audit_result *res)
{
	const char *s = res->finish.ptr;

	while (s && *s) {
		size_t n = strcspn(s, "\n");
		fprintf(cli->err, "  %.*s\n", (int)n, s);
		s += n + (s[n] == '\n');
	}
}

static int cmd_merge(ds_cli *cli, int argc, char **argv)
{
	ds_optvals v;
	ds_error err;
	ds_audit_opts o;
	ds_audit_result res;
	int rc;

	memset(&res, 0, sizeof(res));
	rc = ds_cli_begin(cli, &merge_spec, "audit merge", &v, argc, argv);
	if (rc >= 0) {
		free(v.rest);
		return rc;
	}
	ds_audit_opts_default(&o);
	o.out_dir = ds_opts_get(&v, &merge_spec, "out");
	o.lang = cli->lang;
	o.note = ds_cli_note;
	o.ctx = cli;
	if (!o.out_dir || v.nrest == 0) {
		rc = ds_cli_usage_error(cli, "audit merge", !o.out_dir ? _("--out DIR is required") : _("name the shard folders to merge"));
	} else if (ds_audit_merge(&o, v.rest, (size_t)v.nrest, &res, &err) < 0) {
		rc = DS_EXIT_ERROR;
		if (res.refused)
			rc = ds_cli_usage_error(cli, "audit merge", _("--out must be a new folder, not one of the shards"));
		else
			ds_cli_note(cli, err.message);
	} else if (res.missing_shards || res.incomplete_shards) {
		fprintf(cli->err, ngettext("%s: the merged report is incomplete (%zu shard missing, %zu interrupted); to finish it, run:\n",
		                           "%s: the merged report is incomplete (%zu shards missing, %zu interrupted); to finish it, run:\n",
		                           res.missing_shards), cli->prog, res.missing_shards, res.incomplete_shards);
		finish_lines(cli, &res);
		report_line(cli, o.out_dir, &res);
		rc = DS_EXIT_ERROR;
	} else {
		report_line(cli, o.out_dir, &res);
		rc = res.no_catalog ? DS_EXIT_ERROR : exit_code(res.flags);
	}
	ds_audit_result_free(&res);
	free(v.rest);
	return rc;
}

/* Options into o; -1 to go on, or a usage error's exit code. */
static int read_opts(ds_cli *cli, const ds_optvals *v, ds_audit_opts *o)
{
	long jobs = sysconf(_SC_NPROCESSORS_ONLN), maxpx = 0, shard_k = 0, shard_n = 1;

	o->out_dir = ds_opts_get(v, &audit_spec, "out") ? ds_opts_get(v, &audit_spec, "out") : "drugscan-audit";
	o->resume = ds_opts_has(v, &audit_spec, "resume");
	ds_effort_parse(&o->scan.effort, ds_opts_get(v, &audit_spec, "effort"));
	if (jobs < 1)
		jobs = 1;
	if (ds_opt_long(&jobs, ds_opts_get(v, &audit_spec, "jobs"), 1, 256) < 0)
		return ds_cli_usage_error(cli, "audit", _("--jobs needs a number from 1 to 256"));
	if (ds_opt_long(&maxpx, ds_opts_get(v, &audit_spec, "max-pixels"), 1, 4000000000L) < 0)
		return ds_cli_usage_error(cli, "audit", _("--max-pixels needs a positive number"));
	if (ds_opt_shard(&shard_k, &shard_n, ds_opts_get(v, &audit_spec, "shard"), 100000) < 0)
		return ds_cli_usage_error(cli, "audit", _("--shard needs K/N with 0 <= K < N, e.g. --shard 0/4"));
	if (v->nrest == 0)
		return ds_cli_usage_error(cli, "audit", _("no photos given: pass PATH... (folders or images)"));
	o->jobs = (int)jobs;
	o->shard_k = (unsigned long)shard_k;
	o->shard_n = (unsigned long)shard_n;
	o->scan.max_pixels = (uint64_t)maxpx;
	o->data_dir = ds_opts_get(v, &audit_spec, "data-dir");
	o->insurance = ds_opts_get(v, &audit_spec, "insurance");
	o->lang = cli->lang;
	return -1;
}

/* What the result means for the person at the terminal: what went wrong
 * first, then the line naming the report. */
static int outcome(ds_cli *cli, const ds_audit_opts *o, int rc, const ds_audit_result *res, const ds_error *err)
{
	if (rc < 0 && res->refused) {
		fprintf(cli->err, _("%s: '%s' already holds an audit: add --resume to go on with it, or choose another --out\n"),
		        cli->prog, o->out_dir);
		return DS_EXIT_USAGE;
	}
	if (rc < 0) {
		ds_cli_note(cli, err->message);
		return DS_EXIT_ERROR;
	}
	if (res->interrupted) {
		fprintf(cli->err, ngettext("%s: audit interrupted after %zu of %zu photo; the reports cover those. To finish it, run:\n",
		                           "%s: audit interrupted after %zu of %zu photos; the reports cover those. To finish it, run:\n",
		                           res->photos), cli->prog, res->resumed + res->scanned, res->photos);
		finish_lines(cli, res);
		report_line(cli, o->out_dir, res);
		return DS_EXIT_ERROR;
	}
	if (res->photos == 0)
		fprintf(cli->err, _("%s: no images found\n"), cli->prog);
	report_line(cli, o->out_dir, res);
	if (res->bad_operands || res->no_catalog) /* an operand not read, no catalog: not the audit that was asked for */
		return DS_EXIT_ERROR;
	return res->photos == 0 ? DS_EXIT_NO_CODE : exit_code(res->flags);
}

int ds_cmd_audit(ds_cli *cli, int argc, char **argv)
{
	ds_optvals v;
	ds_error err;
	ds_audit_opts o;
	ds_audit_result res;
	audit_ui ui;
	int rc;
	ds_sigcatch sig;

	if (argc >= 2 && !strcmp(argv[1], "merge"))
		return cmd_merge(cli, argc - 1, argv + 1);
	rc = ds_cli_begin(cli, &audit_spec, "audit", &v, argc, argv);
	if (rc >= 0) {
		free(v.rest);
		return rc;
	}
	ds_audit_opts_default(&o);
	rc = read_opts(cli, &v, &o);
	if (rc >= 0) {
		free(v.rest);
		return rc;
	}
	memset(&ui, 0, sizeof(ui));
	ui.cli = cli;
	ui.tty = isatty(fileno(cli->err));
	o.stop = ds_sig_flag();
	o.note = on_note;
	o.progress = on_progress;
	o.ctx = &ui;

	/* Ctrl-C or a TERM: finish the photos in flight, write the reports, say how to go on */
	ds_sig_catch(&sig, 1);
	rc = ds_audit_run(&o, v.rest, (size_t)v.nrest, &res, &err);
	ds_sig_restore(&sig);
	rc = outcome(cli, &o, rc, &res, &err);
	ds_audit_result_free(&res);
	free(v.rest);
	return rc;
}
