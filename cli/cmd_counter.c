/*
 * cmd_counter.c - drugscan counter ACTION: the pharmacy counter. Each code
 * (an argument, or a line from a USB handheld scanner on stdin) is judged and
 * recorded by the library's counter action (ledger/counter.c, as the server's
 * counter is) and committed before its answer is printed and the bell rings.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audit.h"
#include "cli.h"
#include "ledger.h"
#include "lines.h"
#include "render.h"
#include "signals.h"

static const ds_optspec counter_opts[] = {
	{"station", 's', "ID", NULL, N_("this counter's id (default: the host name)")},
	{"operator", 'o', "NAME", NULL, N_("who is at the counter")},
	{"split", 0, NULL, NULL, N_("sell: a split sale of --qty units of the pack")},
	{"qty", 0, "N", NULL, N_("units in a split sale or return (default 1)")},
	{"units", 0, "N", NULL, N_("units in the pack when the catalog does not say")},
	{"strict", 0, NULL, NULL, N_("sell: refuse codes never received here")},
	{"note", 0, "TEXT", NULL, N_("a note stored with each event")},
	{"format", 'f', "FMT", "text|jsonl|json", N_("output format (default text)")},
	{"quiet", 'q', NULL, NULL, N_("no bell")},
	{"lang", 0, "LANG", "zh|en", N_("language of messages (default from $LANG)")},
	{"insurance", 0, "TYPE", "employee|resident", N_("show the reimbursement policy for this insurance type")},
	{"data-dir", 0, "DIR", NULL, N_("where catalog.db and ledger.db live")},
	{"ledger", 0, "FILE|URL", NULL, N_("ledger.db, or a chain ledger postgresql://... (default $DRUGSCAN_LEDGER, DIR/ledger.db)")},
	{"store", 0, "ID", NULL, N_("chain ledger: this store's id (default: the host name)")},
	{"ledger-timeout", 0, "SECONDS", NULL, N_("chain ledger: go offline after this long without an answer (default 1.5)")},
	{"help", 'h', NULL, NULL, N_("show this help")},
	{NULL, 0, NULL, NULL, NULL},
};

static const ds_cmdspec counter_spec = {
	N_("counter receive|sell|return|destroy|stocktake|undo|scan [OPTIONS] CODE... | -"),
	N_("Record what happens to each box at the counter: receive, sell (or a split sale of a\n"
	"part of the pack with --split), return, destroy, stocktake, undo (the last action on a\n"
	"code, within 10 days at the same station) or just a look (scan).\n"
	"A code already sold raises ledger.already_sold (an alert: possibly a resold drug); a code\n"
	"received twice, ledger.duplicate_receive; repeated looks escalate from a warning to\n"
	"an alert. Every answer is committed to ledger.db before it is printed, and the bell\n"
	"rings once for ok, twice for a warning, three times for an alert.\n"
	"With '-' (or a pipe) it reads one code per line, as a USB handheld scanner types them."),
	counter_opts,
	N_("A code that cannot be committed (a full disk, a read-only or damaged ledger) is answered\n"
	"'NOT recorded: REASON' with the alert bell, and counted as not recorded.\n"
	"exit status: 0 all ok, 1 ledger or I/O error (something was not recorded), 2 usage error,\n"
	"3 an alert was raised, 4 some input was not a valid trace code.\n"),
};

typedef struct counter {
	ds_cli *cli;
	ds_ledger *ledger;
	ds_catalog *cat;
	ds_error cat_err;          /* why there is no catalog */
	ds_counter_opts o;         /* the action and its options, for ds_counter_judge */
	ds_counter_answer a;       /* the answer to the code at hand */
	ds_json_cache *cache;      /* --format json: the drugs and labels already written */
	ds_format fmt;
	int quiet, tty;
	long timeout_ms;           /* --ledger-timeout */
	unsigned long n, ok, warn, alert, bad, not_recorded, unconfirmed, recorded;
	int io_error;
	int out_errno;             /* stdout failed: the session stops */
	char last_error[DS_ERROR_MAX]; /* the last failure told on stderr, not repeated */
	ds_buf esc;                /* scratch for escaped text */
	ds_buf in;                 /* the input as the text answer and stderr show it */
	ds_buf json;               /* one JSON answer */
} counter;

static void bell(counter *k, int outcome)
{
	if (k->quiet)
		return;
	fputs(outcome == 2 ? "\a\a\a" : outcome == 1 ? "\a\a" : "\a", k->cli->err);
	fflush(k->cli->err);
}

/* s, with its control characters made visible (a crafted code must not drive the terminal) */
static const char *esc(counter *k, const char *s)
{
	ds_buf_clear(&k->esc);
	if (ds_cli_escape(&k->esc, s, strlen(s)) < 0 || !k->esc.ptr)
		return "?";
	return k->esc.ptr;
}

/* The input as shown, into k->in: as JSON's "input" (at most 200 bytes, cut at a character;
 * "(binary)" when it is not UTF-8, not translated), escaped. */
static void shown(counter *k, const char *data, size_t len)
{
	if (len > 200)
		for (len = 200; len && ((unsigned char)data[len] & 0xC0) == 0x80; len--)
			;
	ds_buf_clear(&k->in);
	if (ds_utf8_check((const unsigned char *)data, len) != len || ds_cli_escape(&k->in, data, len) < 0)
		ds_buf_clear(&k->in), ds_buf_puts(&k->in, "(binary)");
	if (!k->in.ptr)
		ds_buf_puts(&k->in, "");
}

/* The verdict's labels: the catalog's info labels in one bracket (甲类 · 双通道 · ...) */
static void info_labels(counter *k)
{
	FILE *out = k->cli->out;
	int first = 1;
	size_t i;

	for (i = 0; i < k->a.verdict.nlabels; i++) {
		const ds_label *l = &k->a.verdict.labels[i];
		const char *t = l->text, *cut;
		/* the short form: up to the first bracket, colon or comma */
		static const char *stops[] = {"（", "：", "，", " (", ": ", ", "};
		size_t n = strlen(t), j;
		if (l->level != DS_LEVEL_INFO || !strncmp(l->id, "ledger.", 7))
			continue;
		for (j = 0; j < 6; j++)
			if ((cut = strstr(t, stops[j])) && (size_t)(cut - t) < n)
				n = (size_t)(cut - t);
		ds_buf_clear(&k->esc);
		ds_cli_escape(&k->esc, t, n);
		fprintf(out, "%s%s", first ? "  [" : " · ", k->esc.ptr ? k->esc.ptr : "");
		first = 0;
	}
	if (!first)
		fputc(']', out);
}

/* ... and the ones that need attention, one per line */
static void attention_labels(counter *k)
{
	size_t i;

	for (i = 0; i < k->a.verdict.nlabels; i++) {
		const ds_label *l = &k->a.verdict.labels[i];
		if (l->level == DS_LEVEL_INFO && strncmp(l->id, "ledger.", 7))
			continue; /* the counter shows what needs attention; info labels are in JSON */
		fprintf(k->cli->out, "  %s %s\n", l->level == DS_LEVEL_ALERT ? _("[ALERT]") : _("[warn]"), esc(k, l->text));
	}
}

static void print_text(counter *k)
{
	FILE *out = k->cli->out;
	const ds_ledger_result *r = &k->a.ledger;

	/* ✗ only for what was refused; an action carried out despite an alert is ⚠ and says so */
	fprintf(out, "%s %s %s",
	        r->outcome == 2 ? (r->refused ? "\xe2\x9c\x97" : "\xe2\x9a\xa0") : r->outcome == 1 ? "!" : "\xe2\x9c\x93",
	        ds_cli_word(ds_action_name(k->o.action)), k->in.ptr);
	if (k->a.verdict.drug)
		fprintf(out, "  %s", esc(k, k->a.verdict.drug->generic_name));
	fprintf(out, "  %s %s %s%s", ds_cli_word(ds_state_name(r->before)), "\xe2\x86\x92", ds_cli_word(ds_state_name(r->after)),
	        r->refused ? _(" (refused)") : r->outcome == 2 ? _(" (done despite ALERT)") : "");
	if (r->units_left >= 0 && (k->o.split || r->after == DS_ST_IN_STOCK))
		fprintf(out, _("  %d left"), r->units_left);
	info_labels(k);
	fputc('\n', out);
	attention_labels(k);
}

/* The JSON answer, as POST /v1/counter answers it (audit/jsonout.c); a refusal adds "error":
 * why, a string as the command line has always had it. a NULL: an input too long to read. */
static void print_json(counter *k, const ds_counter_answer *a, const char *data, size_t len, const ds_error *err,
                       const char *why)
{
	ds_buf *b = &k->json;
	int rc;

	ds_buf_clear(b);
	rc = ds_buf_putc(b, '{');
	if (rc == DS_OK)
		rc = a ? ds_counter_json_put(b, a, data, len, k->cli->lang, err, k->cache)
		       : ds_buf_puts(b, "\"format_version\":1,\"input\":\"(too long)\",\"ledger\":null");
	if (rc == DS_OK && why && (rc = ds_buf_puts(b, ",\"error\":")) == DS_OK)
		rc = ds_json_put_string(b, why, ds_utf8_check((const unsigned char *)why, strlen(why)));
	if (rc == DS_OK)
		rc = ds_buf_puts(b, "}\n");
	if (rc == DS_OK)
		fwrite(b->ptr, 1, b->len, k->cli->out);
	else
		fprintf(k->cli->err, "%s: %s: %s\n", k->cli->prog, k->in.ptr, _("out of memory")), k->io_error = 1;
}

/* A code that could not be committed is answered too: NOT recorded, and why
 * (or NOT CONFIRMED when the ledger could not be re-read to tell). */
static void not_recorded(counter *k, const char *data, size_t len, const ds_error *err)
{
	const ds_ledger_result *r = &k->a.ledger;
	int zh = k->cli->lang == DS_LANG_ZH, unknown = r->recorded < 0;

	if (strcmp(k->last_error, err->message)) {
		fprintf(k->cli->err, "%s: %s: %s (%s)\n", k->cli->prog, k->in.ptr, err->message,
		        unknown ? _("not confirmed: check with 'drugscan ledger history'") : _("not recorded"));
		snprintf(k->last_error, sizeof(k->last_error), "%s", err->message);
	}
	if (k->fmt == DS_FMT_JSON) {
		print_json(k, &k->a, data, len, err, NULL);
	} else {
		fprintf(k->cli->out, "\xe2\x9c\x97 %s %s", ds_cli_word(ds_action_name(k->o.action)), k->in.ptr);
		if (k->a.verdict.drug)
			fprintf(k->cli->out, "  %s", esc(k, k->a.verdict.drug->generic_name));
		if (unknown)
			fprintf(k->cli->out, _("  NOT CONFIRMED: %s; check with 'drugscan ledger history'\n"),
			        zh ? ds_ledger_fault_zh(r->fault) : err->message);
		else
			fprintf(k->cli->out, _("  NOT recorded: %s\n"), zh ? ds_ledger_fault_zh(r->fault) : err->message);
		attention_labels(k);
	}
	if (unknown)
		k->unconfirmed++;
	else
		k->not_recorded++;
	k->io_error = 1;
	bell(k, 2);
}

/* Not the code of one box (a NULL: too long to read): why, and nothing recorded. */
static void bad_input(counter *k, const ds_counter_answer *a, const char *data, size_t len, const char *why)
{
	k->bad++;
	if (k->fmt == DS_FMT_JSON)
		print_json(k, a, data, len, NULL, why);
	else
		fprintf(k->cli->out, "\xe2\x9c\x97 %s  %s\n", k->in.ptr, esc(k, why));
	bell(k, 2);
}

/* After an answer: stdout must take it, or the session stops (nobody would see the next one). */
static void flushed(counter *k)
{
	if ((fflush(k->cli->out) != 0 || ferror(k->cli->out)) && !k->out_errno)
		k->out_errno = k->cli->out_failed = errno ? errno : EIO; /* summary() says so */
}

/* Judged by the library (ds_counter_judge), then recorded (ds_counter_apply) and answered. */
static void one(counter *k, const char *data, size_t len)
{
	ds_counter_answer *a = &k->a;
	ds_error err;

	k->n++;
	shown(k, data, len);
	if (ds_counter_judge(k->cat, &k->o, data, len, a, &err) < 0) {
		fprintf(k->cli->err, "%s: %s: %s\n", k->cli->prog, k->in.ptr, _("out of memory"));
		k->not_recorded++;
		k->io_error = 1;
		return;
	}
	if (!k->cat) /* it could not be opened: said once, and on every code */
		ds_verdict_catalog_error(&a->verdict, k->cat_err.message, k->cli->lang);
	else if (a->lookup_failed) /* the answer carries catalog.error; the exit status says so */
		fprintf(k->cli->err, "%s: %s: %s\n", k->cli->prog, k->in.ptr, a->lookup_error.message), k->io_error = 1;
	if (a->refusal_id) {
		bad_input(k, a, data, len, a->refusal);
		flushed(k);
		return;
	}
	ds_error_clear(&err);
	if (ds_counter_apply(k->ledger, &a, 1, &err) < 0) {
		not_recorded(k, data, len, &err);
		flushed(k);
		return;
	}
	k->recorded++;
	if (a->ledger.fault != DS_LEDGER_OK) {
		/* the commit failed, yet the ledger holds the event: it stands, and the run ends in 1 */
		fprintf(k->cli->err, _("%s: %s: %s (at commit; the event is in the ledger all the same)\n"), k->cli->prog,
		        k->in.ptr, err.message);
		k->io_error = 1;
	}
	if (k->fmt == DS_FMT_JSON)
		print_json(k, a, data, len, NULL, NULL);
	else
		print_text(k);
	flushed(k);
	bell(k, a->ledger.outcome);
	if (a->ledger.outcome == 2)
		k->alert++;
	else if (a->ledger.outcome == 1)
		k->warn++;
	else
		k->ok++;
	if (k->tty && fputc('\r', k->cli->err) != EOF)
		fprintf(k->cli->err, ngettext("[%lu scan: %lu ok · %lu warn · %lu alert]  ", "[%lu scans: %lu ok · %lu warn · %lu alert]  ",
		                              k->n), k->n, k->ok, k->warn, k->alert);
}

/* The session in one line; its counts add up to the codes read. */
static void summary(counter *k)
{
	char extra[64] = "";

	if (k->out_errno) {
		fprintf(k->cli->err, ngettext("%s%s: cannot write output: %s; stopped after %lu code (%lu recorded, %lu not recorded)\n",
		                              "%s%s: cannot write output: %s; stopped after %lu codes (%lu recorded, %lu not recorded)\n",
		                              k->n), k->tty ? "\n" : "", k->cli->prog, strerror(k->out_errno), k->n, k->recorded,
		        k->not_recorded + k->unconfirmed);
		return;
	}
	if (k->unconfirmed)
		snprintf(extra, sizeof(extra), _(", %lu not confirmed"), k->unconfirmed);
	fprintf(k->cli->err, ngettext("%s%s: %lu code this session, %lu ok, %lu warn, %lu alert, %lu not a trace code, %lu not recorded%s\n",
	                              "%s%s: %lu codes this session, %lu ok, %lu warn, %lu alert, %lu not a trace code, %lu not recorded%s\n",
	                              k->n), k->tty ? "\n" : "", k->cli->prog, k->n, k->ok, k->warn, k->alert, k->bad,
	        k->not_recorded, extra);
}

/* Lines from a handheld scanner until the input ends, Ctrl-C or stdout fails. */
static void read_lines(counter *k)
{
	ds_lines *lines = ds_lines_open(k->cli->in, k->cli->out);
	ds_line line;
	int rest = isatty(fileno(k->cli->in)); /* a person scanning: idle between boxes */

	while (lines && !ds_sig_pending() && !k->out_errno && ds_lines_next(lines, &line) > 0) {
		size_t a = 0, b = line.len;
		if (!line.terminated && ds_sig_pending()) {
			/* only EOF may complete a last line: this one was cut short by the interrupt */
			fprintf(k->cli->err, _("%s: line %lu: interrupted before its end: not recorded\n"), k->cli->prog, line.no);
			break;
		}
		while (a < b && (line.data[a] == ' ' || line.data[a] == '\t'))
			a++;
		if (a == b && line.full_len <= DS_TRACE_MAX_INPUT)
			continue; /* an empty line: a double Enter from the scanner */
		if (line.full_len > DS_TRACE_MAX_INPUT) {
			k->n++;
			ds_buf_clear(&k->in), ds_buf_puts(&k->in, "(too long)");
			bad_input(k, NULL, NULL, 0, _("input too long"));
			flushed(k);
		} else {
			one(k, line.data, line.len);
		}
		if (rest)
			ds_catalog_rest(k->cat); /* the next box may be minutes away: let catalog.db be written */
	}
	ds_lines_free(lines);
}

/* --station, --operator and --note: printable text, one line; 0 or the usage error's exit code. */
static int check_names(ds_cli *cli, counter *k)
{
	if (!ds_cli_printable(k->o.station, 1, 64))
		return ds_cli_usage_error(cli, "counter", _("--station needs a name of 1 to 64 bytes of printable text (no control characters or line breaks)"));
	if (k->o.operator_ && !ds_cli_printable(k->o.operator_, 0, 64))
		return ds_cli_usage_error(cli, "counter", _("--operator needs up to 64 bytes of printable text (no control characters or line breaks)"));
	if (k->o.note && !ds_cli_printable(k->o.note, 0, 1000))
		return ds_cli_usage_error(cli, "counter", _("--note needs up to 1000 bytes of printable text (no control characters or line breaks)"));
	return 0;
}

/* The options into k: 0, or the usage error's exit code. */
static int options(ds_cli *cli, const ds_optvals *v, counter *k, char *host, size_t host_size)
{
	long qty = 0, units = 0;
	double secs = DS_LEDGER_TIMEOUT_MS / 1000.0;

	if (ds_opt_double(&secs, ds_opts_get(v, &counter_spec, "ledger-timeout"), 0.05, 600) < 0)
		return ds_cli_usage_error(cli, "counter", _("--ledger-timeout needs seconds from 0.05 to 600"));
	k->timeout_ms = (long)(secs * 1000);
	k->o.split = ds_opts_has(v, &counter_spec, "split");
	if (ds_opt_long(&qty, ds_opts_get(v, &counter_spec, "qty"), 1, 100000) < 0 ||
	    ds_opt_long(&units, ds_opts_get(v, &counter_spec, "units"), 1, 100000) < 0)
		return ds_cli_usage_error(cli, "counter", _("--qty and --units need a whole number from 1"));
	k->o.qty = (int)qty;
	k->o.units = (int)units;
	k->o.strict = ds_opts_has(v, &counter_spec, "strict");
	k->quiet = ds_opts_has(v, &counter_spec, "quiet");
	k->o.note = ds_opts_get(v, &counter_spec, "note");
	k->o.now_ms = getenv("DRUGSCAN_NOW_MS") ? strtoll(getenv("DRUGSCAN_NOW_MS"), NULL, 10) : 0;
	k->o.operator_ = ds_opts_get(v, &counter_spec, "operator");
	if (gethostname(host, host_size - 1) != 0 || !ds_cli_printable(host, 1, 64))
		snprintf(host, host_size, "counter");
	k->o.station = ds_opts_get(v, &counter_spec, "station") ? ds_opts_get(v, &counter_spec, "station") : host;
	k->o.lookup.lang = cli->lang; /* lookup.trace NULL: the defaults, with today's date */
	ds_insurance_parse(&k->o.lookup.insurance, ds_opts_get(v, &counter_spec, "insurance"));
	ds_format_parse(&k->fmt, ds_opts_get(v, &counter_spec, "format"));
	k->tty = isatty(fileno(cli->err)) && k->fmt == DS_FMT_TEXT;
	return check_names(cli, k);
}

/* Open the ledger; a read-only one is said once, and every code is then answered NOT recorded. */
static int open_ledger(ds_cli *cli, const ds_optvals *v, counter *k)
{
	ds_ledger_open_opts lo = {0, ds_cli_note, cli, ds_opts_get(v, &counter_spec, "store"), k->timeout_ms, NULL};
	ds_error err;
	int rc = ds_ledger_open_at(&k->ledger, ds_opts_get(v, &counter_spec, "ledger"),
	                           ds_opts_get(v, &counter_spec, "data-dir"), &lo, &err);

	if (rc < 0) {
		fprintf(cli->err, "%s: %s\n", cli->prog, err.message);
	} else if (ds_ledger_writable(k->ledger, &err) < 0) {
		fprintf(cli->err, _("%s: %s: nothing will be recorded\n"), cli->prog, err.message);
		snprintf(k->last_error, sizeof(k->last_error), "%s", err.message);
	}
	return rc;
}

int ds_cmd_counter(ds_cli *cli, int argc, char **argv)
{
	ds_optvals v;
	counter k;
	char host[65] = "counter";
	ds_sigcatch sig;
	int rc, i, use_stdin;

	rc = ds_cli_begin(cli, &counter_spec, "counter", &v, argc, argv);
	if (rc >= 0)
		goto out;
	memset(&k, 0, sizeof(k));
	k.cli = cli;
	if (v.nrest < 1 || ds_action_parse(&k.o.action, v.rest[0]) < 0) {
		rc = ds_cli_usage_error(cli, "counter", v.nrest ? _("unknown action: receive, sell, return, destroy, stocktake, undo or scan")
		                                                : _("missing action: receive, sell, return, destroy, stocktake, undo or scan"));
		goto out;
	}
	if ((rc = options(cli, &v, &k, host, sizeof(host))) != 0)
		goto out;
	use_stdin = (v.nrest == 2 && !strcmp(v.rest[1], "-")) || (v.nrest == 1 && !isatty(fileno(cli->in)));
	if (v.nrest == 1 && !use_stdin) {
		rc = ds_cli_usage_error(cli, "counter", _("no code given: pass CODE... or '-' for a handheld scanner"));
		goto out;
	}
	if (open_ledger(cli, &v, &k) < 0) {
		rc = DS_EXIT_ERROR;
		goto out;
	}
	if ((k.io_error = ds_catalog_open_default(&k.cat, ds_opts_get(&v, &counter_spec, "data-dir"), &k.cat_err) < 0))
		fprintf(cli->err, _("%s: %s; the counter works without drug names and labels\n"), cli->prog, k.cat_err.message);
	ds_counter_answer_init(&k.a);
	k.cache = k.fmt == DS_FMT_JSON ? ds_json_cache_new() : NULL; /* NULL: nothing kept */
	ds_sig_catch(&sig, 0); /* Ctrl-C: a blocked read returns, the summary prints */
	if (use_stdin)
		read_lines(&k);
	for (i = 1; !use_stdin && i < v.nrest && !ds_sig_pending() && !k.out_errno; i++)
		one(&k, v.rest[i], strlen(v.rest[i]));
	ds_sig_restore(&sig);
	summary(&k);
	ds_counter_answer_free(&k.a);
	ds_json_cache_free(k.cache);
	ds_catalog_close(k.cat);
	ds_ledger_close(k.ledger);
	ds_buf_free(&k.esc), ds_buf_free(&k.in), ds_buf_free(&k.json);
	rc = k.io_error || k.out_errno ? DS_EXIT_ERROR : k.alert ? DS_EXIT_ALERT : k.bad ? DS_EXIT_NO_CODE : DS_EXIT_OK;
out:
	free(v.rest);
	return rc;
}
