/*
 * cmd_check.c - drugscan check: parse and explain trace codes given as
 * arguments or, one per line, on stdin (how a USB handheld scanner is used).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "lines.h"
#include "render.h"

static const ds_optspec check_opts[] = {
	{"format", 'f', "FMT", "text|json|jsonl|csv", N_("output format (default text; json is one object per line)")},
	{"lang", 0, "LANG", "zh|en", N_("language of messages (default from $LANG)")},
	{"symbology", 0, "NAME", NULL, N_("payloads were read from this symbology, e.g. code128, gs1-datamatrix, ean13")},
	{"expiring-days", 0, "N", NULL, N_("label codes expiring within N days (default 90)")},
	{"insurance", 0, "TYPE", "employee|resident", N_("show the reimbursement policy for this insurance type")},
	{"data-dir", 0, "DIR", NULL, N_("where catalog.db lives (default $DRUGSCAN_HOME or $XDG_DATA_HOME/drugscan)")},
	{"help", 'h', NULL, NULL, N_("show this help")},
	{NULL, 0, NULL, NULL, NULL},
};

static const ds_cmdspec check_spec = {
	N_("check [OPTIONS] CODE... | -"),
	N_("Read each CODE (or, with '-' or a pipe, each line of stdin) as a drug trace-code\n"
	"payload and say what it is: a 20-digit NMPA code, a GS1 element string, an MA code,\n"
	"a URL, or a product barcode that is not a trace code. Scanner quirks are\n"
	"normalised and reported: AIM prefixes (]C1 ]d2 ]Q3 ]e0), FNC1 stand-ins\n"
	"(<GS> {GS} [GS] \\x1d \\u001d ~1 ^ | and U+241D), full-width characters, Caps Lock,\n"
	"spaces or hyphens inside a number. The 4 check digits of a 20-digit code have no\n"
	"public algorithm and are never verified."),
	check_opts,
	N_("exit status: 0 all valid, 1 unreadable input or I/O error, 2 usage error,\n"
	"3 an alert (e.g. expired), 4 some input was not a valid trace code.\n\n"
	"examples:\n"
	"  drugscan check 81234567890123456789\n"
	"  drugscan check --format json '(01)06901234567892(17)270331(21)A1B2'\n"
	"  drugscan check -          # then scan boxes with a handheld scanner\n"),
};

typedef struct check_run {
	ds_cli *cli;
	ds_renderer *render;
	ds_code code;
	ds_catalog *cat;
	ds_error cat_err;   /* why there is no catalog */
	ds_trace_opts trace;
	ds_lookup_opts lookup;
	ds_verdict verdict;
	const char *symbology;
	int bad_input, alert, not_valid, io_error;
} check_run;

static void report_bad_input(check_run *run, const char *where)
{
	size_t i;
	char msg[256];

	for (i = 0; i < run->code.nissues; i++) {
		const ds_issue *is = &run->code.issues[i];
		if (strncmp(is->id, "input.", 6))
			continue;
		fprintf(run->cli->err, "%s: %s: %s\n", run->cli->prog, where,
		        ds_issue_message(is, run->cli->lang, msg, sizeof(msg)));
		if (strcmp(is->id, "input.empty"))
			run->bad_input = 1;
		return;
	}
}

static int check_one(check_run *run, const char *data, size_t len, const char *where)
{
	ds_error err;

	if (ds_trace_parse(&run->code, data, len, run->symbology, NULL, &run->trace) < 0) {
		fprintf(run->cli->err, _("%s: %s: out of memory\n"), run->cli->prog, where);
		run->io_error = 1;
		return -1;
	}
	report_bad_input(run, where);
	if (ds_catalog_judge(run->cat, &run->code, &run->lookup, &run->verdict, &err) == DS_OK) {
		if (!run->cat) /* it could not be opened: said once, and on every code */
			ds_verdict_catalog_error(&run->verdict, run->cat_err.message, run->cli->lang);
	} else {
		/* shown in the output as catalog.error; the exit status says so too */
		fprintf(run->cli->err, "%s: %s: %s\n", run->cli->prog, where, err.message);
		run->io_error = 1;
	}
	run->alert |= ds_verdict_has_alert(&run->verdict);
	run->not_valid |= !ds_verdict_names_box(&run->verdict); /* invalid, or a product without a serial */
	if (ds_render_check(run->render, data, len > DS_TRACE_MAX_INPUT ? 0 : len, &run->verdict) < 0) {
		fprintf(run->cli->err, _("%s: cannot write output: %s\n"), run->cli->prog, strerror(errno));
		run->io_error = run->cli->out_failed = 1;
		return -1;
	}
	return 0;
}

static int blank(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (s[i] != ' ' && s[i] != '\t')
			return 0;
	return 1;
}

static int check_stdin(check_run *run)
{
	ds_lines *lines = ds_lines_open(run->cli->in, run->cli->out);
	ds_line line;
	char where[48];
	int rc, rest = isatty(fileno(run->cli->in)); /* a person scanning, not a file */

	if (!lines)
		return -1;
	while ((rc = ds_lines_next(lines, &line)) > 0) {
		snprintf(where, sizeof(where), _("line %lu"), line.no);
		if (line.full_len <= DS_TRACE_MAX_INPUT && blank(line.data, line.len)) {
			fprintf(run->cli->err, "%s: %s: %s\n", run->cli->prog, where, _("empty line, skipped"));
			continue;
		}
		/* A too-long line: only its length is passed on (the parser does not read data). */
		if (check_one(run, line.data, line.full_len, where) < 0)
			break;
		if (rest)
			ds_catalog_rest(run->cat); /* the next scan may be minutes away: let catalog.db be written */
	}
	if (rc < 0) {
		fprintf(run->cli->err, _("%s: cannot read stdin: %s\n"), run->cli->prog, strerror(errno));
		run->io_error = 1;
	}
	ds_lines_free(lines);
	return 0;
}

int ds_cmd_check(ds_cli *cli, int argc, char **argv)
{
	ds_optvals v;
	ds_format fmt;
	check_run run;
	const char *days;
	int i, rc, use_stdin;

	rc = ds_cli_begin(cli, &check_spec, "check", &v, argc, argv);
	if (rc >= 0)
		goto done;
	memset(&run, 0, sizeof(run));
	run.cli = cli;
	run.symbology = ds_opts_get(&v, &check_spec, "symbology");
	ds_trace_opts_default(&run.trace);
	run.lookup.lang = cli->lang;
	run.lookup.trace = &run.trace;
	ds_insurance_parse(&run.lookup.insurance, ds_opts_get(&v, &check_spec, "insurance"));
	if (ds_catalog_open_default(&run.cat, ds_opts_get(&v, &check_spec, "data-dir"), &run.cat_err) < 0) {
		/* the codes are still checked, each with catalog.error; the exit status says so too */
		fprintf(cli->err, _("%s: %s; codes are checked without the catalog\n"), cli->prog, run.cat_err.message);
		run.io_error = 1;
	}
	days = ds_opts_get(&v, &check_spec, "expiring-days");
	if (days) {
		long d = 0;
		if (ds_opt_long(&d, days, 0, 3650) < 0) {
			rc = ds_cli_usage_error(cli, "check", _("--expiring-days needs a number of days (0-3650)"));
			ds_catalog_close(run.cat);
			goto done;
		}
		run.trace.expiring_days = (int)d;
	}
	ds_format_parse(&fmt, ds_opts_get(&v, &check_spec, "format"));
	use_stdin = (v.nrest == 1 && !strcmp(v.rest[0], "-")) || (v.nrest == 0 && !isatty(fileno(cli->in)));
	if (v.nrest == 0 && !use_stdin) {
		rc = ds_cli_usage_error(cli, "check", _("no code given: pass CODE... or '-' to read lines from stdin"));
		ds_catalog_close(run.cat);
		goto done;
	}
	run.render = ds_renderer_new(cli->out, fmt, cli->lang);
	if (!run.render) {
		rc = DS_EXIT_ERROR;
		ds_catalog_close(run.cat);
		goto done;
	}
	if (use_stdin) {
		check_stdin(&run);
	} else {
		for (i = 0; i < v.nrest; i++) {
			char where[48];
			snprintf(where, sizeof(where), _("argument %d"), i + 1);
			if (check_one(&run, v.rest[i], strlen(v.rest[i]), where) < 0)
				break;
		}
	}
	if (ds_renderer_finish(run.render) < 0 && !run.io_error) {
		fprintf(cli->err, _("%s: cannot write output: %s\n"), cli->prog, strerror(errno));
		run.io_error = cli->out_failed = 1;
	}
	ds_renderer_free(run.render);
	ds_code_free(&run.code);
	ds_catalog_close(run.cat);
	rc = run.io_error || run.bad_input ? DS_EXIT_ERROR
	     : run.alert                   ? DS_EXIT_ALERT
	     : run.not_valid               ? DS_EXIT_NO_CODE
	                                   : DS_EXIT_OK;
done:
	free(v.rest);
	return rc;
}
