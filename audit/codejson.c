/*
 * codejson.c - the code object of DESIGN.md as JSON (jansson), shared by
 * check, scan, the counter and the audit; a ledger event and a stock line,
 * shared by the command line and `drugscan serve` (a field means the same
 * in both; the counter's answer is in jsonout.c); and the CSV cell the
 * renderers and codes.csv write with (libcsv).
 *
 * JSON is the stable interface of DESIGN.md ("Stable outputs", format_version
 * 1): fields are only ever added.
 */
#include <csv.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "audit.h"
#include "ledger.h"

const char *ds_note_text(ds_lang lang)
{
	return lang == DS_LANG_ZH
	           ? "本地检查，不是医保销售结算记录；请在国家医保服务平台 App 或国家医保局公众号的“药品追溯信息查询”中核实（数据约有 2 天延迟）"
	           : "a local check, not the national medical-insurance sales record: confirm in the 国家医保服务平台 app "
	             "or the NHSA WeChat account under 药品追溯信息查询 (data lags about 2 days)";
}

static json_t *issues_json(const ds_code *c, ds_lang lang)
{
	json_t *arr = json_array();
	char msg[256];
	size_t i;

	for (i = 0; i < c->nissues; i++) {
		const ds_issue *is = &c->issues[i];
		json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:I, s:I}", "id", is->id, "severity",
		                                     ds_severity_name(is->severity), "message",
		                                     ds_issue_message(is, lang, msg, sizeof(msg)), "pos",
		                                     (json_int_t)is->pos, "len", (json_int_t)is->len));
	}
	return arr;
}

static json_t *str_or_null(const char *s)
{
	return s && *s ? json_string(s) : json_null();
}

json_t *ds_drug_json(const ds_drug *d)
{
	json_t *o = json_object(), *lists = json_array();
	size_t i;

	json_object_set_new(o, "nhsa_code", json_string(d->nhsa_code));
	json_object_set_new(o, "generic_name", json_string(d->generic_name));
	json_object_set_new(o, "brand_name", str_or_null(d->brand_name));
	json_object_set_new(o, "dosage_form", str_or_null(d->dosage_form));
	json_object_set_new(o, "spec", str_or_null(d->spec));
	json_object_set_new(o, "pack", str_or_null(d->pack));
	json_object_set_new(o, "manufacturer", str_or_null(d->manufacturer));
	json_object_set_new(o, "approval_no", str_or_null(d->approval_no));
	json_object_set_new(o, "standard_code", str_or_null(d->standard_code));
	json_object_set_new(o, "nrdl_no", str_or_null(d->nrdl_no));
	json_object_set_new(o, "category", str_or_null(d->category));
	json_object_set_new(o, "negotiated", json_boolean(d->negotiated));
	json_object_set_new(o, "agreement_end", str_or_null(d->agreement_end));
	json_object_set_new(o, "payment_standard", str_or_null(d->payment_standard));
	json_object_set_new(o, "restriction", str_or_null(d->restriction));
	json_object_set_new(o, "remarks", str_or_null(d->remarks));
	for (i = 0; i < d->nlists; i++)
		json_array_append_new(lists, json_string(d->lists[i]));
	json_object_set_new(o, "lists", lists);
	json_object_set_new(o, "matched_by", json_string(d->matched_by));
	json_object_set_new(o, "package_level", json_integer(d->package_level));
	json_object_set_new(o, "units", d->units ? json_integer(d->units) : json_null());
	/* the national list's row (format_version 1, added) */
	json_object_set_new(o, "list_key", str_or_null(d->list_key));
	json_object_set_new(o, "section", str_or_null(d->section));
	json_object_set_new(o, "list_no", str_or_null(d->list_no));
	json_object_set_new(o, "agreement_period", str_or_null(d->agreement_period));
	json_object_set_new(o, "category_code", str_or_null(d->category_code));
	json_object_set_new(o, "local_mapping", json_boolean(d->local_mapping));
	json_object_set_new(o, "demo_mapping", json_boolean(d->demo_mapping));
	return o;
}

json_t *ds_label_json(const ds_label *l)
{
	json_t *o = json_pack("{s:s, s:s, s:s}", "id", l->id, "severity", ds_level_name(l->level), "text", l->text);

	if (o && l->ratio > 0) /* a reimbursement ratio for the chosen insurance (format_version 1, added) */
		json_object_set_new(o, "ratio", json_real(l->ratio));
	return o;
}

/* The code object of DESIGN.md, without "input" and "position" (jsonout.c writes the same as text). */
json_t *ds_code_json(const ds_verdict *v, ds_lang lang)
{
	const ds_code *c = v->code;
	const ds_label *labels = v->labels;
	size_t nlabels = v->nlabels;
	json_t *o = json_object(), *fields = json_object(), *arr;
	size_t i;

	json_object_set_new(o, "text", json_stringn(c->text, c->text_len));
	json_object_set_new(o, "symbology", str_or_null(c->symbology));
	json_object_set_new(o, "aim", str_or_null(c->aim));
	json_object_set_new(o, "kind", json_string(ds_kind_name(c->kind)));
	json_object_set_new(o, "valid", json_boolean(c->valid));
	json_object_set_new(o, "issues", issues_json(c, lang));
	/* the pack's identity (format_version 1, added): one box, one key, whatever carrier */
	json_object_set_new(o, "unit_key", str_or_null(v->unit.key));
	for (i = 0; i < c->nfields; i++)
		json_object_set_new(fields, c->fields[i].name, json_string(c->fields[i].value));
	json_object_set_new(o, "fields", fields);
	if (c->nelements) {
		arr = json_array();
		for (i = 0; i < c->nelements; i++)
			json_array_append_new(arr, json_pack("{s:s, s:s}", "ai", c->elements[i].ai, "value",
			                                     c->elements[i].value));
		json_object_set_new(o, "elements", arr);
	}
	json_object_set_new(o, "drug", v->drug ? ds_drug_json(v->drug) : json_null());
	arr = json_array();
	for (i = 0; i < nlabels; i++)
		json_array_append_new(arr, ds_label_json(&labels[i]));
	json_object_set_new(o, "labels", arr);
	json_object_set_new(o, "note", json_string(ds_note_text(lang)));
	return o;
}

/* ---- the counter's objects ---- */

static const char *outcome_name(int outcome)
{
	return outcome == 2 ? "alert" : outcome == 1 ? "warn" : "ok";
}

json_t *ds_event_json(const ds_event *e)
{
	char when[32];
	time_t t = (time_t)(e->time_ms / 1000);
	struct tm tm;

	localtime_r(&t, &tm);
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
	json_t *j = json_pack("{s:i, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:b, s:b, s:i, s:s, s:s, s:s, s:I, s:s, s:s, s:s, s:s}",
	                 "format_version", 1, "event_id", e->uuid, "code", e->code, "action", e->action, "state_before",
	                 e->state_before, "state_after", e->state_after, "outcome", outcome_name(e->outcome), "product_key",
	                 e->product_key, "serial", e->serial, "nhsa_code", e->nhsa_code, "refused", e->refused, "split",
	                 e->split, "qty", e->qty, "station", e->station, "operator", e->operator_, "time", when, "time_ms",
	                 (json_int_t)e->time_ms, "undoes", e->undoes, "batch", e->batch, "note", e->note, "expiry", e->expiry);
	if (j && e->store[0]) /* the chain ledger's store */
		json_object_set_new(j, "store", json_string(e->store));
	return j;
}

json_t *ds_stock_json(const char *product_key, const char *nhsa_code, long boxes, long opened)
{
	return json_pack("{s:s, s:s, s:I, s:I}", "product_key", product_key, "nhsa_code", nhsa_code, "boxes",
	                 (json_int_t)boxes, "opened", (json_int_t)opened);
}

/* ---- CSV ---- */

/*
 * One quoted CSV cell. A cell that a spreadsheet would run as a formula
 * (starting with = + - @, tab or CR) gets a leading apostrophe, the usual
 * guard; a GS1 serial may legally be "=HYPERLINK(...)". JSONL is unchanged.
 */
/* "-1", "+3", "-0.5": a number, which no spreadsheet runs as a formula */
static int plain_number(const char *s, size_t len)
{
	size_t i = 1;

	if (len < 2 || (s[0] != '-' && s[0] != '+'))
		return 0;
	for (; i < len; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || s[i] == '.'))
			return 0;
	return 1;
}

int ds_csv_cell(FILE *f, const char *s, size_t len, int last)
{
	int rc;

	if (len > 0 && memchr("=+-@\t\r", s[0], 6) && !plain_number(s, len)) {
		char *guarded = malloc(len + 1);
		if (!guarded)
			return DS_ENOMEM;
		guarded[0] = '\'';
		memcpy(guarded + 1, s, len);
		rc = csv_fwrite(f, guarded, len + 1);
		free(guarded);
	} else {
		rc = csv_fwrite(f, s, len);
	}
	if (rc != 0)
		return DS_EIO;
	return fputc(last ? '\n' : ',', f) == EOF ? DS_EIO : DS_OK;
}

void ds_put_visible(ds_buf *b, const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if ((unsigned char)s[i] == 0x1D)
			ds_buf_puts(b, "<GS>");
		else
			ds_buf_putc(b, s[i]);
	}
}

/* The catalog info object of `drugscan catalog info --format json`. */
json_t *ds_catalog_info_json(const ds_catalog_info *info, int outdated)
{
	json_t *o = json_pack("{s:i, s:s, s:s, s:s, s:b, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "schema_version",
	                      info->schema_version, "source", info->source, "version", info->version, "imported_at",
	                      info->imported_at, "synthetic", info->synthetic, "drugs", (json_int_t)info->drugs, "listed",
	                      (json_int_t)info->listed, "negotiated", (json_int_t)info->negotiated, "identifiers",
	                      (json_int_t)info->identifiers, "lists", (json_int_t)info->lists, "policies",
	                      (json_int_t)info->policies, "recalls", (json_int_t)info->recalls);
	json_t *checks = json_array();
	size_t i;

	for (i = 0; i < info->nchecks; i++) {
		const ds_list_check *c = &info->checks[i];
		json_array_append_new(checks, json_pack("{s:s, s:s, s:s, s:o, s:I, s:o, s:b}", "id", c->id, "name_zh",
		                                        c->name_zh, "name_en", c->name_en, "rows",
		                                        c->rows >= 0 ? json_integer(c->rows) : json_null(), "actual",
		                                        (json_int_t)c->actual, "stated",
		                                        c->stated >= 0 ? json_integer(c->stated) : json_null(), "ok", c->ok));
	}
	json_object_set_new(o, "list",
	                    info->list_rows > 0
	                        ? json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:b, s:o, s:b, s:s}", "name", info->list_name,
	                                    "name_en", info->list_name_en, "document", info->list_document, "valid_from",
	                                    info->list_valid_from, "superseded_from", info->list_superseded_from, "rows",
	                                    (json_int_t)info->list_rows, "outdated", outdated, "checks", checks,
	                                    "checks_ok", info->checks_ok, "credit", info->credit)
	                        : json_null());
	if (info->list_rows <= 0)
		json_decref(checks);
	json_object_set_new(o, "local",
	                    json_pack("{s:I, s:I, s:I, s:I, s:I}", "mappings", (json_int_t)info->local_mappings,
	                              "demo_mappings", (json_int_t)info->local_demo_mappings, "unresolved",
	                              (json_int_t)info->local_unresolved, "lists", (json_int_t)info->local_lists,
	                              "policies", (json_int_t)info->local_policies));
	return o;
}
