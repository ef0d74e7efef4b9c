/*
 * cmd_ledger.c - drugscan ledger history|stock|export|sync: read the counter's
 * ledger, export what an NHSA sales upload needs, and empty the outbox.
 */
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "audit.h"
#include "cli.h"
#include "ledger.h"
#include "render.h"

static const ds_optspec ledger_opts[] = {
	{"format", 'f', "FMT", "text|jsonl|json|csv|receipt", N_("output format (export: jsonl, csv or receipt)")},
	{"since", 0, "WHEN", NULL, N_("export: events from this date (YYYY-MM-DD), or from this time in milliseconds since 1970 (12 digits or more)")},
	{"url", 0, "URL", NULL, N_("sync: the receiver (https://, or http:// to this machine)")},
	{"batch", 0, "N", NULL, N_("sync: events per request (default 100)")},
	{"attempts", 0, "N", NULL, N_("sync: failed tries in a row before giving up, 1 to 100 (default 8)")},
	{"status", 0, NULL, NULL, N_("sync: show the queue depth and the oldest waiting event, send nothing")},
	{"data-dir", 0, "DIR", NULL, N_("where ledger.db lives")},
	{"ledger", 0, "FILE|URL", NULL, N_("ledger.db, or a chain ledger postgresql://... (default $DRUGSCAN_LEDGER, DIR/ledger.db)")},
	{"store", 0, "ID", NULL, N_("chain ledger: this store's id (default: the host name)")},
	{"ledger-timeout", 0, "SECONDS", NULL, N_("chain ledger: how long to wait for an answer (default 1.5)")},
	{"lang", 0, "LANG", "zh|en", N_("language of messages (default from $LANG)")},
	{"help", 'h', NULL, NULL, N_("show this help")},
	{NULL, 0, NULL, NULL, NULL},
};

static const ds_cmdspec ledger_spec = {
	N_("ledger history CODE | ledger stock | ledger export [--since WHEN] [--format jsonl|csv|receipt] |"
	" ledger sync --url URL [--status] | ledger init --ledger postgresql://..."),
	N_("Read the counter's ledger. `history` lists every event of one code; `stock` the\n"
	"boxes in stock per product; `export` the sales and returns with the fields an NHSA\n"
	"sales upload needs (drug_trac_codg, trdn_flag, med_list_codg, manu_lotnum, expy_end,\n"
	"sel_retn_time, sel_retn_cnt), or receipt lines that show the trace codes; `sync`\n"
	"POSTs the events the receiver has not acknowledged (docs/sync-protocol.md); with a chain\n"
	"ledger it pushes the events recorded offline. `init` creates or migrates a chain ledger's\n"
	"schema (docs/chain-ledger.md)."),
	ledger_opts,
	N_("exit status: 0 done, 1 error (a damaged, unreadable or read-only ledger, output that cannot be\n"
	"written; sync: events are still queued), 2 usage error, 4 history: not the trace code of one box.\n"),
};

static void iso(long long ms, char *out, size_t size)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	localtime_r(&t, &tm);
	strftime(out, size, "%Y-%m-%d %H:%M:%S", &tm);
}

typedef struct out_ctx {
	ds_cli *cli;
	ds_format fmt;
	int receipt, csv_header, cat_failed; /* cat_failed: a lookup failed, said once; the export ends in 1 */
	long rows;          /* events or lines printed */
	int write_error;    /* stdout failed (its errno): stop, say so once */
	int encode_error;   /* an event's text could not be written as JSON */
	ds_catalog *cat;
	ds_verdict verdict; /* the receipt line's drug */
	ds_buf esc[2];      /* text from the ledger with its control characters made visible */
} out_ctx;

/* After each row: stop at the first failed write (a full disk, a closed pipe). */
static int wrote(out_ctx *o)
{
	o->rows++;
	if (ferror(o->cli->out)) {
		o->write_error = errno ? errno : EIO;
		return -1;
	}
	return 0;
}

/* A JSON object as one line; NULL (a text that is not UTF-8: a damaged row) stops the run. */
static int put_json(out_ctx *o, json_t *j)
{
	if (!j) {
		o->encode_error = 1;
		return -1;
	}
	json_dumpf(j, o->cli->out, JSON_COMPACT);
	fputc('\n', o->cli->out);
	json_decref(j);
	return wrote(o);
}

/* s for a terminal, in scratch buffer i (0 or 1): control characters made visible */
static const char *shown(out_ctx *o, int i, const char *s)
{
	ds_buf_clear(&o->esc[i]);
	return ds_cli_escape(&o->esc[i], s, strlen(s)) == DS_OK && o->esc[i].ptr ? o->esc[i].ptr : "";
}

static int print_event(void *ctx, const ds_event *e)
{
	out_ctx *o = ctx;
	char when[32], a[64], b[64], c[64];

	if (o->fmt == DS_FMT_JSON)
		return put_json(o, ds_event_json(e));
	iso(e->time_ms, when, sizeof(when));
	/* the columns padded by display width: 已售出 takes 6 of the 9 */
	fprintf(o->cli->out, "%s  %s %s -> %s %s%s%s  [%s%s%s%s%s]%s%s\n", when, ds_pad(a, sizeof(a), ds_cli_word(e->action), 9),
	        ds_pad(b, sizeof(b), ds_cli_word(e->state_before), 9), ds_pad(c, sizeof(c), ds_cli_word(e->state_after), 9),
	        e->refused ? _("REFUSED ") : "", e->outcome == 2 ? _("ALERT ") : e->outcome == 1 ? _("warn ") : "", e->uuid,
	        e->store, e->store[0] ? "/" : "", shown(o, 0, e->station), e->operator_[0] ? " / " : "", shown(o, 1, e->operator_),
	        e->split ? _(" split") : "", e->undoes[0] ? _(" (undo)") : "");
	return wrote(o);
}

/* An offline action the chain ledger forbids (ledger history, sync --status): an alert. */
static int print_conflict(void *ctx, const ds_conflict *c)
{
	out_ctx *o = ctx;
	char when[32];

	iso(c->time_ms, when, sizeof(when));
	if (o->fmt == DS_FMT_JSON)
		return put_json(o, json_pack("{s:i, s:s, s:s, s:b, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:I}", "format_version", 1,
		                             "conflict", c->label_id, "outcome", "alert", "refused", 1, "event_id", c->uuid, "code", c->code,
		                             "action", c->action, "store", c->store, "station", c->station, "text", c->text,
		                             "first_store", c->first_store, "time_ms", (json_int_t)c->time_ms));
	fprintf(o->cli->out, _("%s  ALERT CONFLICT %s %s offline at store %s [%s] %s: %s\n"), when, c->action, c->code,
	        shown(o, 0, c->store), shown(o, 1, c->station), c->uuid, c->text);
	return wrote(o);
}

/* The NHSA sales-upload fields, one row per effective sale or return. */
static int export_event(void *ctx, const ds_event *e)
{
	out_ctx *o = ctx;
	char when[32], qty[16];
	int sale = !strcmp(e->action, "sell"), ret = !strcmp(e->action, "return");
	int undo = !strcmp(e->action, "undo");
	int count;

	/* sales and returns count; an undo counts only when it takes one of them back */
	if (undo && strcmp(e->undone_action, "sell") && strcmp(e->undone_action, "return"))
		return 0;
	if (!sale && !ret && !undo)
		return 0;
	iso(e->time_ms, when, sizeof(when));
	count = ret ? -e->qty : sale ? e->qty : !strcmp(e->undone_action, "sell") ? -e->qty : e->qty;
	snprintf(qty, sizeof(qty), "%d", count);
	if (o->receipt) {
		/* receipt lines: the drug, the quantity and the trace code (required on 2026 receipts), in Chinese whatever --lang says */
		const char *name = e->nhsa_code[0] ? e->nhsa_code : e->product_key;
		if (o->cat && !o->cat_failed && e->product_key[0]) {
			ds_code c;
			ds_trace_opts to = {0, 0, 0};
			ds_lookup_opts lo = {DS_INS_ANY, o->cli->lang, &to};
			ds_error err;
			ds_code_init(&c);
			ds_trace_parse(&c, e->code, strlen(e->code), NULL, NULL, &to);
			if ((o->cat_failed = ds_catalog_judge(o->cat, &c, &lo, &o->verdict, &err) < 0))
				fprintf(o->cli->err, "%s: %s: %s\n", o->cli->prog, e->code, err.message);
			else if (o->verdict.drug)
				name = o->verdict.drug->generic_name;
			ds_code_free(&c);
		}
		fprintf(o->cli->out, "%s  %s%s  %s %d  追溯码 %s\n", when, shown(o, 0, name), e->split ? "（拆零）" : "",
		        undo ? "撤销" : ret ? "退" : "×", e->qty, shown(o, 1, e->code));
		return wrote(o);
	}
	if (o->fmt == DS_FMT_CSV) {
		const char *cells[] = {e->uuid, e->action, e->code, e->split ? "1" : "0", e->nhsa_code, e->batch, e->expiry,
		                       when, qty, e->station, e->operator_, e->undoes};
		size_t i, n = sizeof(cells) / sizeof(cells[0]);
		if (!o->csv_header) {
			static const char *head[] = {"event_id", "action", "drug_trac_codg", "trdn_flag", "med_list_codg",
			                             "manu_lotnum", "expy_end", "sel_retn_time", "sel_retn_cnt", "station", "operator",
			                             "undoes"};
			for (i = 0; i < n; i++)
				ds_csv_cell(o->cli->out, head[i], strlen(head[i]), i + 1 == n);
			o->csv_header = 1;
		}
		for (i = 0; i < n; i++)
			ds_csv_cell(o->cli->out, cells[i], strlen(cells[i]), i + 1 == n);
		return wrote(o);
	}
	{
		json_t *j = json_pack("{s:i, s:s, s:s, s:s, s:i, s:s, s:s, s:s, s:s, s:i, s:s, s:s, s:s}", "format_version", 1,
		                      "event_id", e->uuid,
		                      "action", e->action, "drug_trac_codg", e->code, "trdn_flag", e->split, "med_list_codg",
		                      e->nhsa_code, "manu_lotnum", e->batch, "expy_end", e->expiry, "sel_retn_time", when,
		                      "sel_retn_cnt", count, "station", e->station, "operator", e->operator_,
		                      "undoes", e->undoes);
		return put_json(o, j);
	}
}

static int print_stock(void *ctx, const char *product, const char *nhsa, long boxes, long open_units)
{
	out_ctx *o = ctx;
	char a[64], b[96];

	if (o->fmt == DS_FMT_JSON)
		return put_json(o, json_pack("{s:s, s:s, s:I, s:I}", "product_key", product, "nhsa_code", nhsa, "boxes",
		                             (json_int_t)boxes, "opened", (json_int_t)open_units));
	fprintf(o->cli->out, "%s %s %6ld%s\n", ds_pad(a, sizeof(a), product, 16), ds_pad(b, sizeof(b), nhsa, 26), boxes,
	        open_units ? _(" (some opened)") : "");
	return wrote(o);
}

/* ledger sync --status: the queue depth and the oldest waiting event */
static int sync_status(ds_cli *cli, out_ctx *o, ds_ledger *l, ds_error *err)
{
	long depth;
	long long oldest;
	char when[32] = "-";

	if (ds_ledger_outbox(l, &depth, &oldest, err) < 0)
		return DS_EXIT_ERROR;
	if (oldest) {
		long long age = (long long)time(NULL) - oldest / 1000;
		iso(oldest, when, sizeof(when));
		fprintf(cli->out, ngettext("queued %ld event; oldest %s (%lld h %02lld min ago)\n",
		                           "queued %ld events; oldest %s (%lld h %02lld min ago)\n", depth), depth, when,
		        age / 3600, age / 60 % 60);
	} else {
		fprintf(cli->out, ngettext("queued %ld event; oldest %s\n", "queued %ld events; oldest %s\n", depth), depth, when);
	}
	return ds_ledger_conflicts(l, NULL, print_conflict, o, err) < 0 ? DS_EXIT_ERROR : DS_EXIT_OK;
}

/* ledger sync [--status]: an exit code; err is left empty when the message is printed */
static int do_sync(ds_cli *cli, out_ctx *o, const ds_optvals *v, ds_ledger *l, ds_error *err)
{
	ds_sync_opts so;
	ds_sync_result sr;
	long batch = 100, attempts = 8; /* a batch below 1 also means 100, as documented */

	if (ds_opts_has(v, &ledger_spec, "status"))
		return sync_status(cli, o, l, err);
	memset(&so, 0, sizeof(so));
	so.url = ds_opts_get(v, &ledger_spec, "url");
	if (ds_opt_long(&batch, ds_opts_get(v, &ledger_spec, "batch"), INT_MIN, INT_MAX) < 0)
		return ds_cli_usage_error(cli, "ledger", _("--batch needs a whole number (events per request)"));
	if (ds_opt_long(&attempts, ds_opts_get(v, &ledger_spec, "attempts"), 1, 100) < 0)
		return ds_cli_usage_error(cli, "ledger", _("--attempts needs a whole number from 1 to 100"));
	so.batch = (int)batch;
	so.max_attempts = (int)attempts;
	so.note = ds_cli_note; /* each failed try and the wait before the next, as they happen */
	so.note_ctx = cli;
	if (!so.url && !ds_ledger_is_chain(ds_opts_get(v, &ledger_spec, "ledger")) && !ds_ledger_is_chain(getenv("DRUGSCAN_LEDGER")))
		return ds_cli_usage_error(cli, "ledger", _("sync needs --url"));
	if (ds_ledger_sync(l, &so, &sr, err) < 0) {
		if (sr.remaining >= 0)
			fprintf(cli->err, ngettext("%s: sync: %s; %ld event still queued, run sync again\n",
			                           "%s: sync: %s; %ld events still queued, run sync again\n", sr.remaining),
			        cli->prog, err->message, sr.remaining);
		else
			fprintf(cli->err, _("%s: sync: %s; the queue could not be counted\n"), cli->prog, err->message);
		err->message[0] = '\0'; /* reported above, with the queue */
		return DS_EXIT_ERROR;
	}
	fprintf(cli->out, ngettext("sent %ld event, %ld acknowledged, %ld still queued\n",
	                           "sent %ld events, %ld acknowledged, %ld still queued\n", sr.sent), sr.sent, sr.acked, sr.remaining);
	return DS_EXIT_OK;
}

/* The code as typed, keyed the way the counter keyed it: 0, or the exit code
 * after saying why it is not the code of one box. */
static int history_key(ds_cli *cli, const char *arg, ds_unit_key *unit)
{
	ds_code code;
	ds_trace_opts to;
	char msg[256] = "";
	size_t i;
	int ok;

	ds_code_init(&code);
	ds_trace_opts_default(&to);
	ds_trace_parse(&code, arg, strlen(arg), NULL, NULL, &to);
	ok = ds_code_unit_key(&code, unit);
	for (i = 0; !ok && i < code.nissues && !msg[0]; i++)
		if (code.issues[i].severity == DS_SEV_ERROR)
			ds_issue_message(&code.issues[i], cli->lang, msg, sizeof(msg));
	ds_code_free(&code);
	if (ok)
		return 0;
	fprintf(cli->err, _("%s ledger: history: not the trace code of one box (%s)\n"), cli->prog, msg[0] ? msg : _("no serial"));
	return DS_EXIT_NO_CODE;
}

static int history(out_ctx *o, ds_ledger *l, const ds_unit_key *unit, ds_error *err)
{
	int rc = ds_ledger_history(l, unit->key, print_event, o, err);

	if (rc == DS_OK)
		rc = ds_ledger_conflicts(l, unit->key, print_conflict, o, err);
	if (rc == DS_OK && o->rows == 0 && o->fmt != DS_FMT_JSON)
		fprintf(o->cli->out, _("no events for this code (%s): never scanned here\n"), unit->key);
	return rc;
}

static int export_events(out_ctx *o, ds_ledger *l, const ds_optvals *v, long long since, ds_error *err)
{
	int rc;

	if (o->fmt == DS_FMT_TEXT && !o->receipt)
		o->fmt = DS_FMT_JSON;
	if (o->receipt && ds_catalog_open_default(&o->cat, ds_opts_get(v, &ledger_spec, "data-dir"), err) < 0)
		return DS_EXIT_ERROR; /* receipt lines name the drug: no catalog, no receipt (finish() says why) */
	rc = ds_ledger_events(l, since, 1, export_event, o, err) < 0 || o->cat_failed ? DS_EXIT_ERROR : DS_EXIT_OK;
	ds_catalog_close(o->cat);
	return rc;
}

/* The ledger: read-only for everything but sync and init. */
static int open_ledger(ds_cli *cli, const ds_optvals *v, int readonly, ds_ledger **l, ds_error *err)
{
	double secs = DS_LEDGER_TIMEOUT_MS / 1000.0;
	ds_ledger_open_opts lo = {readonly, ds_cli_note, cli, ds_opts_get(v, &ledger_spec, "store"), 0, NULL};

	if (ds_opt_double(&secs, ds_opts_get(v, &ledger_spec, "ledger-timeout"), 0.05, 600) < 0)
		return ds_error_set(err, DS_EINVAL, _("--ledger-timeout needs seconds from 0.05 to 600"));
	lo.timeout_ms = (long)(secs * 1000);
	return ds_ledger_open_at(l, ds_opts_get(v, &ledger_spec, "ledger"), ds_opts_get(v, &ledger_spec, "data-dir"), &lo, err);
}

/* The last word: a ledger error, a row that could not be written as JSON, or the output. */
static int finish(ds_cli *cli, const out_ctx *o, int rc, const ds_error *err)
{
	int out_failed = fflush(cli->out) != 0 || ferror(cli->out) || o->write_error;
	int e = o->write_error ? o->write_error : errno ? errno : EIO;

	if (rc == DS_EXIT_ERROR && err->message[0]) {
		fprintf(cli->err, "%s: %s\n", cli->prog, err->message);
	} else if (o->encode_error) {
		fprintf(cli->err, _("%s: an event holds text that is not UTF-8 (a damaged ledger?); stopped after %ld\n"),
		        cli->prog, o->rows);
		rc = DS_EXIT_ERROR;
	} else if (out_failed && rc != DS_EXIT_USAGE) {
		fprintf(cli->err, _("%s: cannot write output: %s\n"), cli->prog, strerror(e));
		rc = cli->out_failed = DS_EXIT_ERROR;
	}
	return rc;
}

int ds_cmd_ledger(ds_cli *cli, int argc, char **argv)
{
	ds_optvals v;
	ds_error err;
	ds_ledger *l = NULL;
	ds_unit_key unit;
	out_ctx o;
	const char *sub, *fmt;
	char msg[400];
	long long since = 0;
	int rc;

	ds_error_clear(&err);
	rc = ds_cli_begin(cli, &ledger_spec, "ledger", &v, argc, argv);
	if (rc >= 0)
		goto out;
	sub = v.nrest ? v.rest[0] : "";
	memset(&o, 0, sizeof(o));
	o.cli = cli;
	fmt = ds_opts_get(&v, &ledger_spec, "format");
	o.receipt = fmt && !strcmp(fmt, "receipt");
	o.fmt = fmt && (!strcmp(fmt, "jsonl") || !strcmp(fmt, "json")) ? DS_FMT_JSON
	        : fmt && !strcmp(fmt, "csv")                             ? DS_FMT_CSV
	                                                                 : DS_FMT_TEXT;
	if (strcmp(sub, "history") && strcmp(sub, "stock") && strcmp(sub, "export") && strcmp(sub, "sync") && strcmp(sub, "init")) {
		rc = ds_cli_usage_error(cli, "ledger", _("use history CODE, stock, export, sync or init"));
		goto out;
	}
	if (!strcmp(sub, "history") && v.nrest != 2) {
		rc = ds_cli_usage_error(cli, "ledger", _("history needs one CODE"));
		goto out;
	}
	if (!strcmp(sub, "history") && (rc = history_key(cli, v.rest[1], &unit)) != 0)
		goto out;
	if (!strcmp(sub, "export") && (since = ds_ledger_since(ds_opts_get(&v, &ledger_spec, "since"), msg, sizeof(msg))) < 0) {
		rc = ds_cli_usage_error(cli, "ledger", msg);
		goto out;
	}
	errno = 0;
	if (open_ledger(cli, &v, (strcmp(sub, "sync") || ds_opts_has(&v, &ledger_spec, "status")) && strcmp(sub, "init"), &l,
	                &err) < 0) {
		fprintf(cli->err, "%s: %s\n", cli->prog, err.message);
		rc = DS_EXIT_ERROR;
		goto out;
	}
	rc = DS_EXIT_OK;
	if (!strcmp(sub, "history"))
		rc = history(&o, l, &unit, &err) < 0 ? DS_EXIT_ERROR : DS_EXIT_OK;
	else if (!strcmp(sub, "stock"))
		rc = ds_ledger_stock(l, print_stock, &o, &err) < 0 ? DS_EXIT_ERROR : DS_EXIT_OK;
	else if (!strcmp(sub, "export"))
		rc = export_events(&o, l, &v, since, &err);
	else if (!strcmp(sub, "init")) {
		if ((rc = ds_ledger_init(l, msg, sizeof(msg), &err) < 0 ? DS_EXIT_ERROR : DS_EXIT_OK) == DS_EXIT_OK)
			fprintf(cli->out, _("%s: ready\n"), msg);
	} else
		rc = do_sync(cli, &o, &v, l, &err);
	rc = finish(cli, &o, rc, &err);
	ds_buf_free(&o.esc[0]);
	ds_buf_free(&o.esc[1]);
	ds_ledger_close(l);
out:
	free(v.rest);
	return rc;
}
