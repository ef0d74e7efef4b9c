/*
 * api.c - the routes, and every endpoint but the counter's (writer.c):
 * check, scan, ledger history and stock, catalog search, version, healthz
 * and the embedded page. Each borrows a context (its thread's catalog,
 * ledger reader and scanner) from the pool for the length of the call.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* ---- POST /v1/check ---- */

static const field check_fields[] = {
	{"codes", JSON_ARRAY, 0, 0, 0},
	{"insurance", JSON_STRING, 0, 16, 1},
	{"lang", JSON_STRING, 0, 8, 1},
	{"symbology", JSON_STRING, 0, 23, 1},
	{"expiring_days", JSON_INTEGER, 0, 3650, 1},
	{NULL, 0, 0, 0, 0},
};

/* One code: the CLI's `check --format json` object, appended to out (audit/jsonout.c). */
static int check_one(srv_ctx *ctx, const ds_lookup_opts *lo, const char *sym, json_t *v, ds_lang lang, ds_server *s,
                     ds_buf *out)
{
	const char *text = json_string_value(v);
	size_t len = json_string_length(v);
	ds_error err;
	int rc;

	if (ds_trace_parse(&ctx->code, text, len, sym, NULL, &ctx->trace) < 0)
		return DS_ENOMEM;
	if (ds_catalog_judge(ctx->cat, &ctx->code, lo, &ctx->verdict, &err) < 0)
		srv_log(s, "catalog: %s", err.message); /* the answer carries catalog.error */
	rc = ds_buf_puts(out, "{\"format_version\":1,\"input\":");
	if (rc == DS_OK)
		rc = ds_json_put_string(out, len > DS_TRACE_MAX_INPUT ? "" : text, len > DS_TRACE_MAX_INPUT ? 0 : len);
	if (rc == DS_OK)
		rc = ds_buf_putc(out, ',');
	if (rc == DS_OK)
		rc = ds_code_json_put(out, &ctx->verdict, lang, ctx->json);
	return rc == DS_OK ? ds_buf_putc(out, '}') : DS_ENOMEM;
}

static int api_check(ds_server *s, sreq *r, reply *out)
{
	json_t *body, *codes, *v;
	ds_buf results = DS_BUF_INIT;
	ds_lookup_opts lo;
	ds_error err;
	srv_ctx *ctx;
	size_t i;
	int days = -1;

	if (req_json(r, &body, out))
		return 0;
	if (fields_check(body, check_fields, out))
		goto done;
	codes = json_object_get(body, "codes");
	if (!codes || !json_array_size(codes) || json_array_size(codes) > DS_SERVE_MAX_CODES) {
		rep_error(out, MHD_HTTP_BAD_REQUEST, "request.invalid", "'codes' must be an array of 1 to %d codes",
		          DS_SERVE_MAX_CODES);
		goto done;
	}
	json_array_foreach(codes, i, v) {
		if (!json_is_string(v)) {
			rep_error(out, MHD_HTTP_BAD_REQUEST, "request.invalid", "'codes[%zu]' must be a string", i);
			goto done;
		}
	}
	memset(&lo, 0, sizeof(lo));
	lo.lang = req_lang(s, r->conn, body);
	if (ds_insurance_parse(&lo.insurance, field_str(body, "insurance")) < 0) {
		rep_error(out, MHD_HTTP_BAD_REQUEST, "request.invalid", "'insurance' must be \"employee\", \"resident\" or null");
		goto done;
	}
	days = (int)field_int(body, "expiring_days", -1);
	ctx = ctx_get(s, &err);
	if (!ctx) {
		rep_error(out, MHD_HTTP_SERVICE_UNAVAILABLE, "catalog.unavailable", "%s", err.message);
		goto done;
	}
	ds_trace_opts_default(&ctx->trace); /* today's date, for a server that runs for days */
	if (days >= 0)
		ctx->trace.expiring_days = days;
	lo.trace = &ctx->trace;
	ds_buf_puts(&results, "{\"format_version\":1,\"results\":[");
	json_array_foreach(codes, i, v) {
		if ((i && ds_buf_putc(&results, ',') < 0) ||
		    check_one(ctx, &lo, field_str(body, "symbology"), v, lo.lang, s, &results) < 0) {
			ctx_put(s, ctx);
			ds_buf_free(&results);
			rep_error(out, MHD_HTTP_INTERNAL_SERVER_ERROR, "server.out_of_memory", "out of memory");
			goto done;
		}
	}
	ctx_put(s, ctx);
	if (ds_buf_puts(&results, "]}") < 0)
		rep_error(out, MHD_HTTP_INTERNAL_SERVER_ERROR, "server.out_of_memory", "out of memory");
	else
		rep_buf(out, MHD_HTTP_OK, &results);
done:
	json_decref(body);
	return 0;
}

/* ---- POST /v1/scan ---- */

static int api_scan(ds_server *s, sreq *r, reply *out)
{
	const char *eff = MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, "effort");
	const char *ins = MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, "insurance");
	ds_scan_result res;
	ds_scan_opts so;
	ds_trace_opts today;
	ds_image_worker *w;
	ds_error err;
	srv_ctx *ctx;
	json_t *o;
	int flags, rc;

	memset(&so, 0, sizeof(so));
	if (ds_effort_parse(&so.effort, eff ? eff : "normal") < 0)
		return rep_error(out, MHD_HTTP_BAD_REQUEST, "request.invalid", "'effort' must be fast, normal or thorough");
	if (!r->body.len)
		return rep_error(out, MHD_HTTP_BAD_REQUEST, "image.empty", "the body is empty: send the image's bytes");
	so.max_pixels = s->o.max_pixels;
	ctx = ctx_get(s, &err);
	if (!ctx)
		return rep_error(out, MHD_HTTP_SERVICE_UNAVAILABLE, "catalog.unavailable", "%s", err.message);
	if (!ctx->img[so.effort])
		ctx->img[so.effort] = ds_image_worker_new(&so, s->data_dir, NULL, s->o.lang, 0);
	w = ctx->img[so.effort];
	if (!w) {
		ctx_put(s, ctx);
		return rep_error(out, MHD_HTTP_SERVICE_UNAVAILABLE, "catalog.unavailable", "cannot open the catalog for the scanner");
	}
	w->lookup.lang = req_lang(s, r->conn, NULL);
	if (ds_insurance_parse(&w->lookup.insurance, ins) < 0) {
		ctx_put(s, ctx);
		return rep_error(out, MHD_HTTP_BAD_REQUEST, "request.invalid", "'insurance' must be employee or resident");
	}
	ds_trace_opts_default(&today);
	w->trace.today_ymd = today.today_ymd;
	memset(&res, 0, sizeof(res));
	rc = ds_scanner_scan_data(w->scanner, r->body.ptr, r->body.len, "upload", NULL, &res, &err);
	if (rc == DS_ELIMIT)
		rep_error(out, MHD_HTTP_CONTENT_TOO_LARGE, "image.too_large", "%s", err.message);
	else if (rc < 0)
		rep_error(out, rc == DS_ENOMEM ? MHD_HTTP_INTERNAL_SERVER_ERROR : MHD_HTTP_BAD_REQUEST,
		          rc == DS_ENOMEM ? "server.out_of_memory" : "image.unreadable", "%s", err.message);
	else if (!(o = ds_scan_json("upload", &res, NULL, w, w->lookup.lang, &flags)))
		rep_error(out, MHD_HTTP_INTERNAL_SERVER_ERROR, "server.out_of_memory", "out of memory");
	else
		rep_json(out, MHD_HTTP_OK, o);
	ds_scan_result_free(&res);
	ctx_put(s, ctx);
	return 0;
}

/* ---- GET /v1/ledger/history and /v1/ledger/stock ---- */

static ds_ledger *reader(ds_server *s, srv_ctx *ctx, reply *out)
{
	ds_error err;

	/* history and stock never write */
	ds_ledger_open_opts ro = {1, NULL, NULL, s->o.store, s->o.ledger_timeout_ms, NULL};

	if (!ctx->reader && ds_ledger_open_at(&ctx->reader, s->ledger_path, s->data_dir, &ro, &err) < 0) {
		rep_error(out, MHD_HTTP_SERVICE_UNAVAILABLE, "ledger.unavailable", "%s", err.message);
		return NULL;
	}
	return ctx->reader;
}

static int add_event(void *arr, const ds_event *e)
{
	return json_array_append_new(arr, ds_event_json(e)) < 0 ? DS_ENOMEM : 0;
}

static int add_stock(void *arr, const char *product, const char *nhsa, long boxes, long open_units)
{
	return json_array_append_new(arr, ds_stock_json(product, nhsa, boxes, open_units)) < 0 ? DS_ENOMEM : 0;
}

static int api_ledger(ds_server *s, sreq *r, reply *out)
{
	const char *code = MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, "code");
	json_t *arr;
	ds_error err;
	ds_ledger *l;
	srv_ctx *ctx;
	ds_unit_key unit;
	int rc;

	if (r->rt->arg == 0 && (!code || !*code))
		return rep_error(out, MHD_HTTP_BAD_REQUEST, "request.invalid", "give the code: /v1/ledger/history?code=CODE");
	ctx = ctx_get(s, &err);
	if (!ctx)
		return rep_error(out, MHD_HTTP_SERVICE_UNAVAILABLE, "catalog.unavailable", "%s", err.message);
	l = reader(s, ctx, out);
	if (!l) {
		ctx_put(s, ctx);
		return 0;
	}
	arr = json_array();
	ds_error_clear(&err);
	if (r->rt->arg == 0) {
		/* the code as typed or scanned: keyed the way the counter keys it */
		ds_trace_opts_default(&ctx->trace);
		ds_trace_parse(&ctx->code, code, strlen(code), NULL, NULL, &ctx->trace);
		if (!ds_code_unit_key(&ctx->code, &unit)) {
			/* as `ledger history`: only the code of one box has a history */
			char msg[256] = "";
			size_t i;
			for (i = 0; i < ctx->code.nissues && !msg[0]; i++)
				if (ctx->code.issues[i].severity == DS_SEV_ERROR)
					ds_issue_message(&ctx->code.issues[i], req_lang(s, r->conn, NULL), msg, sizeof(msg));
			ctx_put(s, ctx);
			json_decref(arr);
			return rep_error(out, MHD_HTTP_UNPROCESSABLE_CONTENT, "code.not_a_pack", "not the trace code of one box (%s)",
			                 msg[0] ? msg : "no serial");
		}
		rc = ds_ledger_history(l, unit.key, add_event, arr, &err);
	} else {
		rc = ds_ledger_stock(l, add_stock, arr, &err);
	}
	ctx_put(s, ctx);
	if (rc < 0) {
		json_decref(arr);
		return rep_error(out, MHD_HTTP_SERVICE_UNAVAILABLE, "ledger.unavailable", "%s",
		                 err.message[0] ? err.message : "cannot read the ledger");
	}
	if (r->rt->arg == 0)
		rep_json(out, MHD_HTTP_OK, json_pack("{s:i, s:s, s:o}", "format_version", 1, "code", unit.key, "events", arr));
	else
		rep_json(out, MHD_HTTP_OK, json_pack("{s:i, s:o}", "format_version", 1, "stock", arr));
	return 0;
}

/* ---- GET /v1/catalog/search ---- */

/* One hit as `catalog search --format json` writes it. */
static int add_hit(void *arr, const ds_search_hit *h)
{
	json_t *o = json_pack("{s:s, s:i, s:b, s:b, s:b, s:s}", "key", h->drug->nhsa_code, "rank", h->rank, "form_match",
	                      h->form_match, "new_2025", h->new_2025, "commercial_innovative", h->commercial,
	                      "category_name", h->category_name);
	json_t *labels = json_array();
	size_t i;

	if (!o || !labels) {
		json_decref(o);
		json_decref(labels);
		return DS_ENOMEM;
	}
	json_object_set_new(o, "drug", ds_drug_json(h->drug));
	for (i = 0; i < h->nlabels; i++)
		json_array_append_new(labels, ds_label_json(&h->labels[i]));
	json_object_set_new(o, "labels", labels);
	return json_array_append_new(arr, o) < 0 ? DS_ENOMEM : 0;
}

static int api_search(ds_server *s, sreq *r, reply *out)
{
	const char *q = MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, "q");
	const char *lim = MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, "limit");
	const char *ins = MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, "insurance");
	ds_lookup_opts lo = {DS_INS_ANY, req_lang(s, r->conn, NULL), NULL};
	size_t total = 0;
	json_t *hits;
	ds_error err;
	srv_ctx *ctx;
	char *end = NULL;
	long limit = lim ? strtol(lim, &end, 10) : 20;
	int rc;

	if (!q || !*q)
		return rep_error(out, MHD_HTTP_BAD_REQUEST, "request.invalid", "give the name to search: /v1/catalog/search?q=NAME");
	if (ds_utf8_check((const unsigned char *)q, strlen(q)) != strlen(q))
		return rep_error(out, MHD_HTTP_BAD_REQUEST, "request.invalid", "'q' is not UTF-8");
	if ((lim && (!*lim || *end || limit < 1 || limit > 1000)) || ds_insurance_parse(&lo.insurance, ins) < 0)
		return rep_error(out, MHD_HTTP_BAD_REQUEST, "request.invalid",
		                 "'limit' must be a whole number from 1 to 1000, 'insurance' employee or resident");
	ctx = ctx_get(s, &err);
	if (!ctx)
		return rep_error(out, MHD_HTTP_SERVICE_UNAVAILABLE, "catalog.unavailable", "%s", err.message);
	hits = json_array();
	rc = hits ? ds_catalog_search(ctx->cat, q, &lo, (size_t)limit, add_hit, hits, &total, &err) : DS_ENOMEM;
	ctx_put(s, ctx);
	if (rc == DS_EINVAL) {
		json_decref(hits);
		return rep_error(out, MHD_HTTP_BAD_REQUEST, "request.invalid", "%s", err.message);
	}
	if (rc < 0) {
		json_decref(hits);
		return rep_error(out, MHD_HTTP_SERVICE_UNAVAILABLE, "catalog.unavailable", "catalog search: %s",
		                 rc == DS_ENOMEM ? "out of memory" : err.message);
	}
	return rep_json(out, MHD_HTTP_OK, json_pack("{s:i, s:s, s:I, s:o}", "format_version", 1, "query", q, "total",
	                                            (json_int_t)total, "hits", hits));
}

/* ---- GET /v1/version and /healthz ---- */

static int api_version(ds_server *s, sreq *r, reply *out)
{
	ds_catalog_info info;
	ds_error err;
	srv_ctx *ctx = ctx_get(s, &err);
	int rc, outdated;

	(void)r;
	if (!ctx)
		return rep_error(out, MHD_HTTP_SERVICE_UNAVAILABLE, "catalog.unavailable", "%s", err.message);
	rc = ds_catalog_get_info(ctx->cat, &info, &err);
	outdated = rc < 0 ? 0 : ds_catalog_outdated(ctx->cat, 0);
	ctx_put(s, ctx);
	if (rc < 0)
		return rep_error(out, MHD_HTTP_SERVICE_UNAVAILABLE, "catalog.unavailable", "%s", err.message);
	/* the catalog as `catalog info --format json` shows it */
	return rep_json(out, MHD_HTTP_OK, json_pack("{s:i, s:s, s:s, s:i, s:o}", "format_version", 1, "name", "drugscan",
	                                            "version", s->version, "api", 1, "catalog",
	                                            ds_catalog_info_json(&info, outdated)));
}

static int api_health(ds_server *s, sreq *r, reply *out)
{
	(void)r;
	if (atomic_load(&s->stopping))
		return rep_json(out, MHD_HTTP_SERVICE_UNAVAILABLE, json_pack("{s:s}", "status", "stopping"));
	return rep_json(out, MHD_HTTP_OK, json_pack("{s:s}", "status", "ok"));
}

/* ---- the page ---- */

static int page(ds_server *s, sreq *r, reply *out)
{
	const char *name = strcmp(r->rt->path, "/") ? r->rt->path + 1 : "index.html", *dot = strrchr(name, '.');
	const page_file *f = NULL;
	size_t i;

	(void)s;
	for (i = 0; i < ds_page_nfiles && !f; i++)
		if (!strcmp(ds_page_files[i].name, name))
			f = &ds_page_files[i];
	if (!f)
		return rep_error(out, MHD_HTTP_NOT_FOUND, "http.not_found", "no such resource: '%s'", r->rt->path);
	memset(out, 0, sizeof(*out));
	out->status = MHD_HTTP_OK;
	out->page = f->data;
	out->len = f->len;
	out->ctype = !dot                  ? "application/octet-stream"
	             : !strcmp(dot, ".js")  ? "text/javascript; charset=utf-8"
	             : !strcmp(dot, ".css") ? "text/css; charset=utf-8"
	             : !strcmp(dot, ".svg") ? "image/svg+xml"
	                                    : "text/html; charset=utf-8";
	out->page_headers = 1;
	return 0;
}

/* ---- the routes: nothing else is served ---- */

static const route routes[] = {
	{"/v1/check", "POST", BODY_JSON, 1, api_check, 0},
	{"/v1/scan", "POST", BODY_IMAGE, 1, api_scan, 0},
	{"/v1/counter/receive", "POST", BODY_JSON, 1, api_counter, DS_ACT_RECEIVE},
	{"/v1/counter/sell", "POST", BODY_JSON, 1, api_counter, DS_ACT_SELL},
	{"/v1/counter/return", "POST", BODY_JSON, 1, api_counter, DS_ACT_RETURN},
	{"/v1/counter/destroy", "POST", BODY_JSON, 1, api_counter, DS_ACT_DESTROY},
	{"/v1/counter/stocktake", "POST", BODY_JSON, 1, api_counter, DS_ACT_STOCKTAKE},
	{"/v1/counter/undo", "POST", BODY_JSON, 1, api_counter, DS_ACT_UNDO},
	{"/v1/counter/scan", "POST", BODY_JSON, 1, api_counter, DS_ACT_SCAN},
	{"/v1/ledger/history", "GET", BODY_NONE, 1, api_ledger, 0},
	{"/v1/ledger/stock", "GET", BODY_NONE, 1, api_ledger, 1},
	{"/v1/catalog/search", "GET", BODY_NONE, 1, api_search, 0},
	{"/v1/version", "GET", BODY_NONE, 1, api_version, 0},
	{"/healthz", "GET", BODY_NONE, 0, api_health, 0},
	/* the counter page, embedded (serve/page/) */
	{"/", "GET", BODY_NONE, 0, page, 0},
	{"/app.js", "GET", BODY_NONE, 0, page, 0},
	{"/style.css", "GET", BODY_NONE, 0, page, 0},
	{"/icon.svg", "GET", BODY_NONE, 0, page, 0},
};

const route *route_find(const char *path)
{
	size_t i;

	for (i = 0; i < sizeof(routes) / sizeof(routes[0]); i++)
		if (!strcmp(routes[i].path, path))
			return &routes[i];
	return NULL;
}
