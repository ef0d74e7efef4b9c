/*
 * cmd_counter.c - drugscan counter ACTION: the pharmacy counter. Each code
 * (an argument, or a line from a USB handheld scanner on stdin) is parsed,
 * looked up in the catalog, applied to the ledger and committed before its
 * answer is printed and the bell rings.
 */
#include <errno.h>
#include <jansson.h>
#include <stdint.h>
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
	{"station", 's', "ID", NULL, "this counter's id (default: the host name)"},
	{"operator", 'o', "NAME", NULL, "who is at the counter"},
	{"split", 0, NULL, NULL, "sell: a 拆零 sale of --qty units of the pack"},
	{"qty", 0, "N", NULL, "units in a 拆零 sale or return (default 1)"},
	{"units", 0, "N", NULL, "units in the pack when the catalog does not say"},
	{"strict", 0, NULL, NULL, "sell: refuse codes never received here"},
	{"note", 0, "TEXT", NULL, "a note stored with each event"},
	{"format", 'f', "FMT", "text|jsonl|json", "output format (default text)"},
	{"quiet", 'q', NULL, NULL, "no bell"},
	{"lang", 0, "LANG", "zh|en", "language of messages (default from $LANG)"},
	{"insurance", 0, "TYPE", "employee|resident", "show the reimbursement policy for this insurance type"},
	{"data-dir", 0, "DIR", NULL, "where catalog.db and ledger.db live"},
	{"ledger", 0, "FILE", NULL, "the ledger file (default DIR/ledger.db)"},
	{"help", 'h', NULL, NULL, "show this help"},
	{NULL, 0, NULL, NULL, NULL},
};

static const ds_cmdspec counter_spec = {
	"counter receive|sell|return|destroy|stocktake|undo|scan [OPTIONS] CODE... | -",
	"Record what happens to each box at the counter: 入库 (receive), 销售 (sell, or a\n"
	"拆零 sale with --split), 退货 (return), 销毁 (destroy), 盘点 (stocktake), 撤销 (undo the\n"
	"last action on a code, within 10 days at the same station) or just a look (scan).\n"
	"A code already sold raises ledger.already_sold (an alert: possible 回流药); a code\n"
	"received twice, ledger.duplicate_receive; repeated looks escalate from a warning to\n"
	"an alert. Every answer is committed to ledger.db before it is printed, and the bell\n"
	"rings once for ok, twice for a warning, three times for an alert.\n"
	"With '-' (or a pipe) it reads one code per line, as a USB handheld scanner types them.",
	counter_opts,
	"A code that cannot be committed (a full disk, a read-only or damaged ledger) is answered\n"
	"'NOT recorded: REASON' with the alert bell, and counted as not recorded.\n"
	"exit status: 0 all ok, 1 ledger or I/O error (something was not recorded), 2 usage error,\n"
	"3 an alert was raised, 4 some input was not a valid trace code.\n",
};

typedef struct counter {
	ds_cli *cli;
	ds_ledger *ledger;
	ds_catalog *cat;
	ds_trace_opts trace;
	ds_counter_opts opts;      /* the action, its options and the lookup (ledger/counter.c) */
	ds_counter_answer a;       /* the answer to the code at hand, reused */
	ds_format fmt;
	int quiet, tty;
	unsigned long n, ok, warn, alert, bad, not_recorded, unconfirmed, recorded;
	int io_error;
	int out_errno;             /* stdout failed: the session stops */
	char last_error[DS_ERROR_MAX]; /* the last failure told on stderr, not repeated */
	ds_buf esc;                /* scratch for escaped text */
	ds_buf json;               /* an answer as JSON */
	ds_json_cache *cache;      /* the JSON of the drugs already answered */
} counter;

static void bell(counter *k, int outcome)
{
	if (k->quiet)
		return;
	fputs(outcome == 2 ? "\a\a\a" : outcome == 1 ? "\a\a" : "\a", k->cli->err);
	fflush(k->cli->err);
}

static const char *state_text(ds_state s, ds_lang lang)
{
	static const char *zh[] = {"未登记", "在库", "已售出", "已退回", "已销毁"};
	return lang == DS_LANG_ZH ? zh[s] : ds_state_name(s);
}

/* s, with its control characters made visible (a crafted code must not drive the terminal) */
static const char *esc(counter *k, const char *s)
{
	ds_buf_clear(&k->esc);
	if (ds_cli_escape(&k->esc, s, strlen(s)) < 0 || !k->esc.ptr)
		return "?";
	return k->esc.ptr;
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
	int zh = k->cli->lang == DS_LANG_ZH;
	size_t i;

	for (i = 0; i < k->a.verdict.nlabels; i++) {
		const ds_label *l = &k->a.verdict.labels[i];
		if (l->level == DS_LEVEL_INFO && strncmp(l->id, "ledger.", 7))
			continue; /* the counter shows what needs attention; info labels are in JSON */
		fprintf(k->cli->out, "  %s %s\n",
		        l->level == DS_LEVEL_ALERT ? (zh ? "[警报]" : "[ALERT]") : (zh ? "[注意]" : "[warn]"), esc(k, l->text));
	}
}

static void print_text(counter *k, const char *input, const ds_ledger_result *r)
{
	FILE *out = k->cli->out;
	int zh = k->cli->lang == DS_LANG_ZH;
	static const char *verbs_zh[] = {"入库", "销售", "退货", "销毁", "盘点", "撤销", "扫描"};

	/* ✗ only for what was refused; an action carried out despite an alert is ⚠ and says so */
	fprintf(out, "%s %s %s",
	        r->outcome == 2 ? (r->refused ? "\xe2\x9c\x97" : "\xe2\x9a\xa0") : r->outcome == 1 ? "!" : "\xe2\x9c\x93",
	        zh ? verbs_zh[k->opts.action] : ds_action_name(k->opts.action), esc(k, input));
	if (k->a.verdict.drug)
		fprintf(out, "  %s", esc(k, k->a.verdict.drug->generic_name));
	fprintf(out, "  %s %s %s%s", state_text(r->before, k->cli->lang), "\xe2\x86\x92", state_text(r->after, k->cli->lang),
	        r->refused                ? (zh ? "（未执行）" : " (refused)")
	        : r->outcome == 2         ? (zh ? "（有警报，仍已执行）" : " (done despite ALERT)")
	                                  : "");
	if (r->units_left >= 0 && (k->opts.split || r->after == DS_ST_IN_STOCK))
		fprintf(out, zh ? "  剩 %d" : "  %d left", r->units_left);
	info_labels(k);
	fputc('\n', out);
	attention_labels(k);
}

/* The answer as JSON (audit/jsonout.c: the object POST /v1/counter/ACTION answers). */
static void print_json(counter *k, const char *data, size_t len, const ds_error *err)
{
	ds_buf_clear(&k->json);
	if (ds_buf_putc(&k->json, '{') == DS_OK &&
	    ds_counter_json_put(&k->json, &k->a, data, len, k->cli->lang, err, k->cache) == DS_OK &&
	    ds_buf_puts(&k->json, "}\n") == DS_OK)
		fwrite(k->json.ptr, 1, k->json.len, k->cli->out);
}

/* A code that could not be committed is answered too: NOT recorded, and why
 * (or NOT CONFIRMED when the ledger could not be re-read to tell). */
static void not_recorded(counter *k, const char *input, const char *data, size_t len, const ds_error *err)
{
	const ds_ledger_result *r = &k->a.ledger;
	int zh = k->cli->lang == DS_LANG_ZH, unknown = r->recorded < 0;
	static const char *verbs_zh[] = {"入库", "销售", "退货", "销毁", "盘点", "撤销", "扫描"};

	if (strcmp(k->last_error, err->message)) {
		fprintf(k->cli->err, "%s: %s: %s (%s)\n", k->cli->prog, esc(k, input), err->message,
		        unknown ? "not confirmed: check with 'drugscan ledger history'" : "not recorded");
		snprintf(k->last_error, sizeof(k->last_error), "%s", err->message);
	}
	if (k->fmt == DS_FMT_JSON) {
		print_json(k, data, len, err);
	} else {
		fprintf(k->cli->out, "\xe2\x9c\x97 %s %s", zh ? verbs_zh[k->opts.action] : ds_action_name(k->opts.action),
		        esc(k, input));
		if (k->a.verdict.drug)
			fprintf(k->cli->out, "  %s", esc(k, k->a.verdict.drug->generic_name));
		if (unknown)
			fprintf(k->cli->out, zh ? "  未确认是否已记录：%s，请用 drugscan ledger history 核对\n"
			                        : "  NOT CONFIRMED: %s; check with 'drugscan ledger history'\n",
			        zh ? ds_ledger_fault_zh(r->fault) : err->message);
		else
			fprintf(k->cli->out, zh ? "  未记录：%s\n" : "  NOT recorded: %s\n", zh ? ds_ledger_fault_zh(r->fault) : err->message);
		attention_labels(k);
	}
	if (unknown)
		k->unconfirmed++;
	else
		k->not_recorded++;
	k->io_error = 1;
	bell(k, 2);
}

static void bad_input(counter *k, const char *input, const char *why)
{
	k->bad++;
	if (k->fmt == DS_FMT_JSON) {
		json_t *o = json_pack("{s:i, s:s, s:s, s:n}", "format_version", 1, "input", input, "error", why, "ledger");
		json_dumpf(o, k->cli->out, JSON_COMPACT);
		fputc('\n', k->cli->out);
		json_decref(o);
	} else {
		fprintf(k->cli->out, "\xe2\x9c\x97 %s  %s\n", esc(k, input), why);
	}
	bell(k, 2);
}

/* The input as an answer shows it: the first 200 bytes, cut at a character; "(binary)" when not UTF-8. */
static const char *shown_input(ds_buf *in, const char *data, size_t len)
{
	if (len > 200)
		for (len = 200; len && ((unsigned char)data[len] & 0xC0) == 0x80; len--)
			;
	ds_buf_put(in, data, len);
	if (!in->ptr || ds_utf8_check((const unsigned char *)in->ptr, in->len) != in->len)
		ds_buf_clear(in), ds_buf_puts(in, "(binary)");
	return in->ptr ? in->ptr : "";
}

/* After an answer: stdout must take it, or the session stops (nobody would see the next one). */
static void flushed(counter *k)
{
	if ((fflush(k->cli->out) != 0 || ferror(k->cli->out)) && !k->out_errno)
		k->out_errno = errno ? errno : EIO;
}

/* One code: judged and recorded by ds_counter_do (as `drugscan serve` does), then answered. */
static void one(counter *k, const char *data, size_t len)
{
	const ds_ledger_result *r = &k->a.ledger;
	ds_error err;
	ds_buf in = DS_BUF_INIT;
	const char *input = shown_input(&in, data, len);
	int zh = k->cli->lang == DS_LANG_ZH, rc;

	k->n++;
	ds_error_clear(&err);
	rc = ds_counter_do(k->ledger, k->cat, &k->opts, data, len, &k->a, &err);
	if (k->a.lookup_failed) {
		/* the answer carries catalog.error; the exit status says so */
		fprintf(k->cli->err, "%s: %s: %s\n", k->cli->prog, esc(k, input), k->a.lookup_error.message);
		k->io_error = 1;
	}
	if (k->a.refusal_id)
		bad_input(k, input, k->a.refusal);
	else if (rc < 0 && !r->event_id[0]) /* the parser ran out of memory */
		fprintf(k->cli->err, "%s: %s: %s\n", k->cli->prog, esc(k, input), err.message), k->io_error = 1;
	else if (rc < 0)
		not_recorded(k, input, data, len, &err);
	if (k->a.refusal_id || rc < 0) {
		flushed(k);
		ds_buf_free(&in);
		return;
	}
	k->recorded++;
	if (r->fault != DS_LEDGER_OK) {
		/* the commit failed, yet the ledger holds the event: it stands, and the run ends in 1 */
		fprintf(k->cli->err, "%s: %s: %s (at commit; the event is in the ledger all the same)\n", k->cli->prog,
		        esc(k, input), err.message);
		k->io_error = 1;
	}
	if (k->fmt == DS_FMT_JSON)
		print_json(k, data, len, NULL);
	else
		print_text(k, input, r);
	flushed(k);
	bell(k, r->outcome);
	if (r->outcome == 2)
		k->alert++;
	else if (r->outcome == 1)
		k->warn++;
	else
		k->ok++;
	if (k->tty)
		fprintf(k->cli->err, zh ? "\r[%lu 次：%lu 正常 · %lu 注意 · %lu 警报]  " : "\r[%lu scans: %lu ok · %lu warn · %lu alert]  ",
		        k->n, k->ok, k->warn, k->alert);
	ds_buf_free(&in);
}

/* The session in one line; its counts add up to the codes read. */
static void summary(counter *k)
{
	int zh = k->cli->lang == DS_LANG_ZH;
	char extra[64] = "";

	if (k->out_errno) {
		fprintf(k->cli->err, "%s%s: cannot write output: %s; stopped after %lu code%s (%lu recorded, %lu not recorded)\n",
		        k->tty ? "\n" : "", k->cli->prog, strerror(k->out_errno), k->n, k->n == 1 ? "" : "s", k->recorded,
		        k->not_recorded + k->unconfirmed);
		return;
	}
	if (k->unconfirmed)
		snprintf(extra, sizeof(extra), zh ? "，%lu 未确认" : ", %lu not confirmed", k->unconfirmed);
	if (zh)
		fprintf(k->cli->err, "%s%s：本次 %lu 个码，%lu 正常，%lu 注意，%lu 警报，%lu 无法识别，%lu 未记录%s\n",
		        k->tty ? "\n" : "", k->cli->prog, k->n, k->ok, k->warn, k->alert, k->bad, k->not_recorded, extra);
	else
		fprintf(k->cli->err,
		        "%s%s: %lu code%s this session, %lu ok, %lu warn, %lu alert, %lu not a trace code, %lu not recorded%s\n",
		        k->tty ? "\n" : "", k->cli->prog, k->n, k->n == 1 ? "" : "s", k->ok, k->warn, k->alert, k->bad,
		        k->not_recorded, extra);
}

/* Lines from a handheld scanner until the input ends, Ctrl-C or stdout fails. */
static void read_lines(counter *k)
{
	ds_lines *lines = ds_lines_open(k->cli->in, k->cli->out);
	ds_line line;
	int rest = isatty(fileno(k->cli->in)); /* a person scanning, not a file */

	while (lines && !ds_sig_pending() && !k->out_errno && ds_lines_next(lines, &line) > 0) {
		size_t a = 0, b = line.len;
		if (!line.terminated && ds_sig_pending()) {
			/* only EOF may complete a last line: this one was cut short by the interrupt */
			fprintf(k->cli->err, "%s: line %lu: interrupted before its end: not recorded\n", k->cli->prog, line.no);
			break;
		}
		while (a < b && (line.data[a] == ' ' || line.data[a] == '\t'))
			a++;
		if (a == b && line.full_len <= DS_TRACE_MAX_INPUT)
			continue; /* an empty line: a double Enter from the scanner */
		if (line.full_len > DS_TRACE_MAX_INPUT) {
			k->n++;
			bad_input(k, "(too long)", k->cli->lang == DS_LANG_ZH ? "输入过长" : "input too long");
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
	if (!ds_cli_printable(k->opts.station, 1, 64))
		return ds_cli_usage_error(cli, "counter", "--station needs a name of 1 to 64 bytes of printable text (no control characters or line breaks)");
	if (k->opts.operator_ && !ds_cli_printable(k->opts.operator_, 0, 64))
		return ds_cli_usage_error(cli, "counter", "--operator needs up to 64 bytes of printable text (no control characters or line breaks)");
	if (k->opts.note && !ds_cli_printable(k->opts.note, 0, 1000))
		return ds_cli_usage_error(cli, "counter", "--note needs up to 1000 bytes of printable text (no control characters or line breaks)");
	return 0;
}

/* The options into k: 0, or the usage error's exit code. */
static int options(ds_cli *cli, const ds_optvals *v, counter *k, char *host, size_t host_size)
{
	long qty = 0, units = 0;

	k->opts.split = ds_opts_has(v, &counter_spec, "split");
	if (ds_opt_long(&qty, ds_opts_get(v, &counter_spec, "qty"), 1, 100000) < 0 ||
	    ds_opt_long(&units, ds_opts_get(v, &counter_spec, "units"), 1, 100000) < 0)
		return ds_cli_usage_error(cli, "counter", "--qty and --units need a whole number from 1");
	k->opts.qty = (int)qty;
	k->opts.units = (int)units;
	k->opts.strict = ds_opts_has(v, &counter_spec, "strict");
	k->quiet = ds_opts_has(v, &counter_spec, "quiet");
	k->opts.note = ds_opts_get(v, &counter_spec, "note");
	k->opts.now_ms = getenv("DRUGSCAN_NOW_MS") ? strtoll(getenv("DRUGSCAN_NOW_MS"), NULL, 10) : 0;
	k->opts.operator_ = ds_opts_get(v, &counter_spec, "operator");
	if (gethostname(host, host_size - 1) != 0 || !ds_cli_printable(host, 1, 64))
		snprintf(host, host_size, "counter");
	k->opts.station = ds_opts_get(v, &counter_spec, "station") ? ds_opts_get(v, &counter_spec, "station") : host;
	ds_format_parse(&k->fmt, ds_opts_get(v, &counter_spec, "format"));
	k->tty = isatty(fileno(cli->err)) && k->fmt == DS_FMT_TEXT;
	return check_names(cli, k);
}

/* Open the ledger; a read-only one is said once, and every code is then answered NOT recorded. */
static int open_ledger(ds_cli *cli, const ds_optvals *v, counter *k)
{
	ds_buf path = DS_BUF_INIT, dir = DS_BUF_INIT;
	ds_ledger_open_opts lo = {0, ds_cli_note, cli};
	ds_error err;
	int rc = DS_ERR;

	if (ds_opts_get(v, &counter_spec, "ledger"))
		ds_buf_puts(&path, ds_opts_get(v, &counter_spec, "ledger"));
	else if (ds_data_dir(&dir, ds_opts_get(v, &counter_spec, "data-dir"), &err) == DS_OK)
		ds_buf_printf(&path, "%s/ledger.db", dir.ptr);
	if (path.ptr)
		rc = ds_ledger_open(&k->ledger, path.ptr, &lo, &err);
	if (rc < 0) {
		fprintf(cli->err, "%s: %s\n", cli->prog, err.message);
	} else if (ds_ledger_writable(k->ledger, &err) < 0) {
		fprintf(cli->err, "%s: %s: nothing will be recorded\n", cli->prog, err.message);
		snprintf(k->last_error, sizeof(k->last_error), "%s", err.message);
	}
	ds_buf_free(&path);
	ds_buf_free(&dir);
	return rc;
}

int ds_cmd_counter(ds_cli *cli, int argc, char **argv)
{
	ds_optvals v;
	ds_error err;
	counter k;
	char host[65] = "counter";
	ds_sigcatch sig;
	int rc, i, use_stdin;

	rc = ds_cli_begin(cli, &counter_spec, "counter", &v, argc, argv);
	if (rc >= 0)
		goto out;
	memset(&k, 0, sizeof(k));
	k.cli = cli;
	if (v.nrest < 1 || ds_action_parse(&k.opts.action, v.rest[0]) < 0) {
		rc = ds_cli_usage_error(cli, "counter", v.nrest ? "unknown action: receive, sell, return, destroy, stocktake, undo or scan"
		                                                : "missing action: receive, sell, return, destroy, stocktake, undo or scan");
		goto out;
	}
	if ((rc = options(cli, &v, &k, host, sizeof(host))) != 0)
		goto out;
	use_stdin = (v.nrest == 2 && !strcmp(v.rest[1], "-")) || (v.nrest == 1 && !isatty(fileno(cli->in)));
	if (v.nrest == 1 && !use_stdin) {
		rc = ds_cli_usage_error(cli, "counter", "no code given: pass CODE... or '-' for a handheld scanner");
		goto out;
	}
	if (open_ledger(cli, &v, &k) < 0) {
		rc = DS_EXIT_ERROR;
		goto out;
	}
	ds_trace_opts_default(&k.trace);
	k.opts.lookup.lang = cli->lang;
	k.opts.lookup.trace = &k.trace;
	ds_insurance_parse(&k.opts.lookup.insurance, ds_opts_get(&v, &counter_spec, "insurance"));
	if (ds_catalog_open_default(&k.cat, ds_opts_get(&v, &counter_spec, "data-dir"), &err) < 0)
		fprintf(cli->err, "%s: %s; the counter works without drug names and labels\n", cli->prog, err.message);
	ds_counter_answer_init(&k.a);
	k.cache = ds_json_cache_new();
	ds_sig_catch(&sig, 0); /* Ctrl-C: a blocked read returns, the summary prints */
	if (use_stdin)
		read_lines(&k);
	for (i = 1; !use_stdin && i < v.nrest && !ds_sig_pending() && !k.out_errno; i++)
		one(&k, v.rest[i], strlen(v.rest[i]));
	ds_sig_restore(&sig);
	summary(&k);
	ds_counter_answer_free(&k.a);
	ds_catalog_close(k.cat);
	ds_ledger_close(k.ledger);
	ds_buf_free(&k.esc);
	ds_buf_free(&k.json);
	ds_json_cache_free(k.cache);
	rc = k.io_error || k.out_errno ? DS_EXIT_ERROR : k.alert ? DS_EXIT_ALERT : k.bad ? DS_EXIT_NO_CODE : DS_EXIT_OK;
out:
	free(v.rest);
	return rc;
}
