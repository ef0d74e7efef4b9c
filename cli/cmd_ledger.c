/*
 * cmd_ledger.c - drugscan ledger history|stock|export|sync: read the counter's
 * ledger, export what an NHSA sales upload needs, and empty the outbox.
 */
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
	{"format", 'f', "FMT", "text|jsonl|json|csv|receipt", "output format (export: jsonl, csv or receipt)"},
	{"since", 0, "WHEN", NULL, "export: events from this date (YYYY-MM-DD) or time in ms since 1970"},
	{"url", 0, "URL", NULL, "sync: the receiver (https://, or http:// to this machine)"},
	{"batch", 0, "N", NULL, "sync: events per request (default 100)"},
	{"status", 0, NULL, NULL, "sync: show the queue depth and the oldest waiting event, send nothing"},
	{"data-dir", 0, "DIR", NULL, "where ledger.db lives"},
	{"ledger", 0, "FILE", NULL, "the ledger file (default DIR/ledger.db)"},
	{"lang", 0, "LANG", "zh|en", "language of messages (default from $LANG)"},
	{"help", 'h', NULL, NULL, "show this help"},
	{NULL, 0, NULL, NULL, NULL},
};

static const ds_cmdspec ledger_spec = {
	"ledger history CODE | ledger stock | ledger export [--since WHEN] [--format jsonl|csv|receipt] |"
	" ledger sync --url URL [--status]",
	"Read the counter's ledger. `history` lists every event of one code; `stock` the\n"
	"boxes in stock per product; `export` the sales and returns with the fields an NHSA\n"
	"sales upload needs (drug_trac_codg, trdn_flag, med_list_codg, manu_lotnum, expy_end,\n"
	"sel_retn_time, sel_retn_cnt), or receipt lines that show the trace codes; `sync`\n"
	"POSTs the events the receiver has not acknowledged (docs/sync-protocol.md).",
	ledger_opts,
	"exit status: 0 done, 1 error (sync: events are still queued), 2 usage error.\n",
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
	int receipt, csv_header;
	ds_catalog *cat;
	ds_verdict verdict; /* the receipt line's drug */
} out_ctx;

static json_t *event_json(const ds_event *e)
{
	char when[32];

	iso(e->time_ms, when, sizeof(when));
	return json_pack("{s:i, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:b, s:b, s:i, s:s, s:s, s:s, s:I, s:s, s:s, s:s, s:s}",
	                 "format_version", 1, "event_id", e->uuid, "code", e->code, "action", e->action, "state_before", e->state_before,
	                 "state_after", e->state_after, "outcome", e->outcome == 2 ? "alert" : e->outcome == 1 ? "warn" : "ok",
	                 "product_key", e->product_key, "serial", e->serial, "nhsa_code", e->nhsa_code, "refused", e->refused,
	                 "split", e->split, "qty", e->qty, "station", e->station, "operator", e->operator_, "time", when,
	                 "time_ms", (json_int_t)e->time_ms, "undoes", e->undoes, "batch", e->batch, "note", e->note, "expiry", e->expiry);
}

static int print_event(void *ctx, const ds_event *e)
{
	out_ctx *o = ctx;
	char when[32];

	if (o->fmt == DS_FMT_JSON) {
		json_t *j = event_json(e);
		json_dumpf(j, o->cli->out, JSON_COMPACT);
		fputc('\n', o->cli->out);
		json_decref(j);
		return 0;
	}
	iso(e->time_ms, when, sizeof(when));
	fprintf(o->cli->out, "%s  %-9s %-9s -> %-9s %s%s%s  [%s%s%s]%s%s\n", when, e->action, e->state_before, e->state_after,
	        e->refused ? "REFUSED " : "", e->outcome == 2 ? "ALERT " : e->outcome == 1 ? "warn " : "", e->uuid,
	        e->station, e->operator_[0] ? " / " : "", e->operator_, e->split ? " 拆零" : "",
	        e->undoes[0] ? " (undo)" : "");
	return 0;
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
		/* receipt lines: the drug, the quantity and the trace code (required on 2026 receipts) */
		const char *name = e->nhsa_code[0] ? e->nhsa_code : e->product_key;
		if (o->cat && e->product_key[0]) {
			ds_code c;
			ds_trace_opts to = {0, 0, 0};
			ds_lookup_opts lo = {DS_INS_ANY, o->cli->lang, &to};
			ds_error err;
			ds_code_init(&c);
			ds_trace_parse(&c, e->code, strlen(e->code), NULL, NULL, &to);
			if (ds_catalog_judge(o->cat, &c, &lo, &o->verdict, &err) < 0)
				fprintf(o->cli->err, "%s: %s: %s\n", o->cli->prog, e->code, err.message);
			else if (o->verdict.drug)
				name = o->verdict.drug->generic_name;
			ds_code_free(&c);
		}
		fprintf(o->cli->out, "%s  %s%s  %s %d  追溯码 %s\n", when, name, e->split ? "（拆零）" : "",
		        undo ? "撤销" : ret ? "退" : "×", e->qty, e->code);
		return 0;
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
		return 0;
	}
	{
		json_t *j = json_pack("{s:i, s:s, s:s, s:s, s:i, s:s, s:s, s:s, s:s, s:i, s:s, s:s, s:s}", "format_version", 1,
		                      "event_id", e->uuid,
		                      "action", e->action, "drug_trac_codg", e->code, "trdn_flag", e->split, "med_list_codg",
		                      e->nhsa_code, "manu_lotnum", e->batch, "expy_end", e->expiry, "sel_retn_time", when,
		                      "sel_retn_cnt", count, "station", e->station, "operator", e->operator_,
		                      "undoes", e->undoes);
		json_dumpf(j, o->cli->out, JSON_COMPACT);
		fputc('\n', o->cli->out);
		json_decref(j);
	}
	return 0;
}

static int print_stock(void *ctx, const char *product, const char *nhsa, long boxes, long open_units)
{
	out_ctx *o = ctx;

	if (o->fmt == DS_FMT_JSON) {
		json_t *j = json_pack("{s:s, s:s, s:I, s:I}", "product_key", product, "nhsa_code", nhsa, "boxes",
		                      (json_int_t)boxes, "opened", (json_int_t)open_units);
		json_dumpf(j, o->cli->out, JSON_COMPACT);
		fputc('\n', o->cli->out);
		json_decref(j);
	} else {
		fprintf(o->cli->out, "%-16s %-26s %6ld%s\n", product, nhsa, boxes,
		        open_units ? (o->cli->lang == DS_LANG_ZH ? "（含拆零中）" : " (some opened)") : "");
	}
	return 0;
}

static long long parse_since(const char *s)
{
	struct tm tm;
	long v = 0;
	int ymd;

	if (!s)
		return 0;
	memset(&tm, 0, sizeof(tm));
	if (strlen(s) == 10 && s[4] == '-' && s[7] == '-') {
		if (ds_date_parse(&ymd, s) < 0)
			return -1;
		tm.tm_year = ymd / 10000 - 1900;
		tm.tm_mon = ymd / 100 % 100 - 1;
		tm.tm_mday = ymd % 100;
		tm.tm_isdst = -1;
		return (long long)mktime(&tm) * 1000;
	}
	return ds_opt_long(&v, s, 0, LONG_MAX) < 0 ? -1 : v;
}

/* ledger sync [--status]: an exit code; err is left empty when the message is printed */
static int do_sync(ds_cli *cli, const ds_optvals *v, ds_ledger *l, ds_error *err)
{
	ds_sync_opts so;
	ds_sync_result sr;
	long batch = 100; /* below 1 also means 100, as documented */
	int rc = DS_EXIT_OK;

	if (ds_opts_has(v, &ledger_spec, "status")) {
		long depth;
		long long oldest;
		char when[32] = "-";
		if (ds_ledger_outbox(l, &depth, &oldest, err) < 0) {
			rc = DS_EXIT_ERROR;
		} else if (oldest) {
			long long age = (long long)time(NULL) - oldest / 1000;
			iso(oldest, when, sizeof(when));
			fprintf(cli->out, "queued %ld event%s; oldest %s (%lld h %02lld min ago)\n", depth, depth == 1 ? "" : "s",
			        when, age / 3600, age / 60 % 60);
		} else {
			fprintf(cli->out, "queued %ld event%s; oldest %s\n", depth, depth == 1 ? "" : "s", when);
		}
		return rc;
	}
	memset(&so, 0, sizeof(so));
	so.url = ds_opts_get(v, &ledger_spec, "url");
	if (ds_opt_long(&batch, ds_opts_get(v, &ledger_spec, "batch"), INT_MIN, INT_MAX) < 0)
		return ds_cli_usage_error(cli, "ledger", "--batch needs a whole number (events per request)");
	so.batch = (int)batch;
	if (!so.url)
		return ds_cli_usage_error(cli, "ledger", "sync needs --url");
	if (ds_ledger_sync(l, &so, &sr, err) < 0) {
		fprintf(cli->err, "%s: sync: %s; %ld event%s still queued, run sync again\n", cli->prog, err->message,
		        sr.remaining, sr.remaining == 1 ? "" : "s");
		err->message[0] = '\0'; /* reported above, with the queue */
		return DS_EXIT_ERROR;
	}
	fprintf(cli->out, "sent %ld events, %ld acknowledged, %ld still queued\n", sr.sent, sr.acked, sr.remaining);
	return DS_EXIT_OK;
}

int ds_cmd_ledger(ds_cli *cli, int argc, char **argv)
{
	ds_optvals v;
	ds_error err;
	ds_ledger *l = NULL;
	ds_buf path = DS_BUF_INIT, dir = DS_BUF_INIT;
	out_ctx o;
	const char *sub, *fmt;
	int rc;

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
	if (strcmp(sub, "history") && strcmp(sub, "stock") && strcmp(sub, "export") && strcmp(sub, "sync")) {
		rc = ds_cli_usage_error(cli, "ledger", "use history CODE, stock, export or sync");
		goto out;
	}
	if (!strcmp(sub, "history") && v.nrest != 2) {
		rc = ds_cli_usage_error(cli, "ledger", "history needs one CODE");
		goto out;
	}
	if (ds_opts_get(&v, &ledger_spec, "ledger"))
		ds_buf_puts(&path, ds_opts_get(&v, &ledger_spec, "ledger"));
	else if (ds_data_dir(&dir, ds_opts_get(&v, &ledger_spec, "data-dir"), &err) == DS_OK)
		ds_buf_printf(&path, "%s/ledger.db", dir.ptr);
	if (!path.ptr || ds_ledger_open(&l, path.ptr, &err) < 0) {
		fprintf(cli->err, "%s: %s\n", cli->prog, err.message);
		rc = DS_EXIT_ERROR;
		goto out;
	}
	rc = DS_EXIT_OK;
	if (!strcmp(sub, "history")) {
		/* the code as typed: normalise it the way the counter keyed it */
		ds_code code;
		ds_trace_opts to;
		ds_unit_key unit;
		ds_code_init(&code);
		ds_trace_opts_default(&to);
		ds_trace_parse(&code, v.rest[1], strlen(v.rest[1]), NULL, NULL, &to);
		if (!ds_code_unit_key(&code, &unit))
			snprintf(unit.key, sizeof(unit.key), "%.*s", (int)code.text_len, code.text);
		ds_code_free(&code);
		if (ds_ledger_history(l, unit.key, print_event, &o, &err) < 0)
			rc = DS_EXIT_ERROR;
	} else if (!strcmp(sub, "stock")) {
		if (ds_ledger_stock(l, print_stock, &o, &err) < 0)
			rc = DS_EXIT_ERROR;
	} else if (!strcmp(sub, "export")) {
		long long since = parse_since(ds_opts_get(&v, &ledger_spec, "since"));
		if (since < 0) {
			rc = ds_cli_usage_error(cli, "ledger", "--since needs YYYY-MM-DD or milliseconds since 1970");
		} else {
			if (o.fmt == DS_FMT_TEXT && !o.receipt)
				o.fmt = DS_FMT_JSON;
			if (o.receipt && ds_catalog_open_default(&o.cat, ds_opts_get(&v, &ledger_spec, "data-dir"), &err) < 0)
				o.cat = NULL; /* names fall back to the NHSA code */
			if (ds_ledger_events(l, since, 1, export_event, &o, &err) < 0)
				rc = DS_EXIT_ERROR;
			ds_catalog_close(o.cat);
		}
	} else {
		rc = do_sync(cli, &v, l, &err);
	}
	if (rc == DS_EXIT_ERROR && err.message[0])
		fprintf(cli->err, "%s: %s\n", cli->prog, err.message);
	ds_ledger_close(l);
out:
	ds_buf_free(&path);
	ds_buf_free(&dir);
	free(v.rest);
	return rc;
}
