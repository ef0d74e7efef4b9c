/*
 * jsonout.c - the code object written straight into a buffer, byte for byte
 * as json_dumps(ds_code_json(v), JSON_COMPACT | JSON_REAL_PRECISION(9))
 * writes it, for the streams that print one per code (`check -f jsonl`,
 * POST /v1/check), and the counter's answer around it (`counter -f json`,
 * POST /v1/counter/ACTION). Building jansson objects and dumping them cost more than
 * judging the code; a stream repeats the same few hundred drugs and labels,
 * so their JSON is made once by jansson and kept in a ds_json_cache.
 *
 * jansson's rules are kept: a string that is not UTF-8 cannot be a JSON
 * string, and jansson leaves out the member (or the array element) that
 * would hold it; a field name given twice keeps its first place and its
 * last value; '"', '\' and the control characters are escaped, as \uXXXX
 * in upper case where there is no short form.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "ledger.h"

#define FRAGS 8192 /* the distinct drugs of a busy stream, and their labels */

struct ds_json_cache {
	struct frag {
		uint64_t hash;
		char *json; /* owned, NUL-terminated */
	} f[FRAGS];
};

ds_json_cache *ds_json_cache_new(void)
{
	return calloc(1, sizeof(ds_json_cache));
}

void ds_json_cache_free(ds_json_cache *c)
{
	size_t i;

	if (!c)
		return;
	for (i = 0; i < FRAGS; i++)
		free(c->f[i].json);
	free(c);
}

static int utf8(const char *s, size_t len)
{
	return s && ds_utf8_check((const unsigned char *)s, len) == len;
}

/* One pass: the escapes, and UTF-8 checked as it goes (nothing kept when it is not). */
int ds_json_put_string(ds_buf *out, const char *s, size_t len)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t mark = out->len, i = 0, run = 0;
	int rc = s ? ds_buf_putc(out, '"') : DS_EINVAL;

	while (i < len && rc == DS_OK) {
		unsigned char c = (unsigned char)s[i];
		const char *e;
		uint32_t cp;
		size_t n;
		if (c >= 0x80) {
			if ((n = ds_utf8_decode(&cp, (const unsigned char *)s + i, len - i)) == 0)
				rc = DS_EINVAL;
			i += n;
			continue;
		}
		if (c >= 0x20 && c != '"' && c != '\\') {
			i++;
			continue;
		}
		e = c == '"' ? "\\\"" : c == '\\' ? "\\\\" : c == '\b' ? "\\b" : c == '\f' ? "\\f" : c == '\n' ? "\\n"
		    : c == '\r' ? "\\r" : c == '\t' ? "\\t" : NULL;
		if (i > run)
			rc = ds_buf_put(out, s + run, i - run);
		if (rc == DS_OK && e) {
			rc = ds_buf_puts(out, e);
		} else if (rc == DS_OK) {
			char esc[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
			rc = ds_buf_put(out, esc, sizeof(esc));
		}
		run = ++i;
	}
	if (rc == DS_OK && len > run)
		rc = ds_buf_put(out, s + run, len - run);
	if (rc == DS_OK)
		rc = ds_buf_putc(out, '"');
	if (rc < 0 && out->ptr) { /* not UTF-8 (or no memory): nothing of it stays */
		out->len = mark;
		out->ptr[mark] = '\0';
	}
	return rc;
}

/* ,"key": before a member (no comma before the first). */
static int key(ds_buf *out, int *first, const char *k)
{
	int rc = *first ? DS_OK : ds_buf_putc(out, ',');

	*first = 0;
	if (rc == DS_OK && (rc = ds_buf_putc(out, '"')) == DS_OK && (rc = ds_buf_puts(out, k)) == DS_OK)
		rc = ds_buf_puts(out, "\":");
	return rc;
}

/* A string member; left out when s is not UTF-8. or_null: "" and NULL are null. */
static int str_member(ds_buf *out, int *first, const char *k, const char *s, size_t len, int or_null)
{
	size_t mark = out->len;
	int was = *first, rc;

	if (or_null && (!s || !*s)) {
		rc = key(out, first, k);
		return rc == DS_OK ? ds_buf_puts(out, "null") : rc;
	}
	if (!s)
		return DS_OK;
	rc = key(out, first, k);
	if (rc == DS_OK)
		rc = ds_json_put_string(out, s, len);
	if (rc == DS_EINVAL) { /* as jansson: no member */
		out->len = mark;
		out->ptr[mark] = '\0';
		*first = was;
		rc = DS_OK;
	}
	return rc;
}

static int cstr_member(ds_buf *out, int *first, const char *k, const char *s, int or_null)
{
	return str_member(out, first, k, s, s ? strlen(s) : 0, or_null);
}

static int issues(ds_buf *out, const ds_code *c, ds_lang lang)
{
	char msg[256];
	size_t i;
	int rc = ds_buf_puts(out, "\"issues\":["), any = 0;

	for (i = 0; i < c->nissues && rc == DS_OK; i++) {
		const ds_issue *is = &c->issues[i];
		const char *m = ds_issue_message(is, lang, msg, sizeof(msg));
		int first = 1;
		if (!is->id || !utf8(is->id, strlen(is->id)) || !utf8(m, strlen(m)))
			continue; /* json_pack would fail: jansson leaves the issue out */
		rc = ds_buf_puts(out, any ? ",{" : "{");
		any = 1;
		if (rc == DS_OK)
			rc = cstr_member(out, &first, "id", is->id, 0);
		if (rc == DS_OK)
			rc = cstr_member(out, &first, "severity", ds_severity_name(is->severity), 0);
		if (rc == DS_OK)
			rc = cstr_member(out, &first, "message", m, 0);
		if (rc == DS_OK)
			rc = ds_buf_printf(out, ",\"pos\":%lld,\"len\":%lld}", (long long)is->pos, (long long)is->len);
	}
	return rc == DS_OK ? ds_buf_putc(out, ']') : rc;
}

/* "fields": as json_object_set_new builds it, one member per name. */
static int fields(ds_buf *out, const ds_code *c)
{
	size_t i, j;
	int rc = ds_buf_puts(out, ",\"fields\":{"), first = 1;

	for (i = 0; i < c->nfields && rc == DS_OK; i++) {
		const ds_field *f = &c->fields[i];
		const char *value = NULL;
		int seen = 0;
		if (!f->name || !f->value || !utf8(f->name, strlen(f->name)) || !utf8(f->value, strlen(f->value)))
			continue;
		for (j = 0; j < c->nfields; j++) {
			const ds_field *g = &c->fields[j];
			if (!g->name || !g->value || strcmp(g->name, f->name) || !utf8(g->value, strlen(g->value)))
				continue;
			if (j < i)
				seen = 1;
			value = g->value; /* the last one */
		}
		if (seen)
			continue;
		if (!first)
			rc = ds_buf_putc(out, ',');
		first = 0;
		if (rc == DS_OK) /* a name is escaped as jansson escapes it (they are plain today) */
			rc = ds_json_put_string(out, f->name, strlen(f->name));
		if (rc == DS_OK)
			rc = ds_buf_putc(out, ':');
		if (rc == DS_OK)
			rc = ds_json_put_string(out, value, strlen(value));
	}
	return rc == DS_OK ? ds_buf_putc(out, '}') : rc;
}

static int elements(ds_buf *out, const ds_code *c)
{
	size_t i;
	int rc = ds_buf_puts(out, ",\"elements\":["), any = 0;

	for (i = 0; i < c->nelements && rc == DS_OK; i++) {
		const char *ai = c->elements[i].ai, *v = c->elements[i].value;
		int first = 1;
		if (!ai || !v || !utf8(ai, strlen(ai)) || !utf8(v, strlen(v)))
			continue;
		rc = ds_buf_puts(out, any ? ",{" : "{");
		any = 1;
		if (rc == DS_OK)
			rc = cstr_member(out, &first, "ai", ai, 0);
		if (rc == DS_OK)
			rc = cstr_member(out, &first, "value", v, 0);
		if (rc == DS_OK)
			rc = ds_buf_putc(out, '}');
	}
	return rc == DS_OK ? ds_buf_putc(out, ']') : rc;
}

static uint64_t fnv(uint64_t h, const void *data, size_t n)
{
	const unsigned char *p = data;
	size_t i;

	for (i = 0; i < n; i++)
		h = (h ^ p[i]) * 0x100000001b3ULL;
	return h;
}

/* Everything of the drug that its JSON shows: a drug whose row changed (an import,
 * an update) is another drug here, never the JSON kept from before. */
static uint64_t drug_hash(const ds_drug *d)
{
	const char *const s[] = {d->nhsa_code, d->generic_name, d->brand_name, d->dosage_form, d->spec, d->pack,
	                         d->manufacturer, d->approval_no, d->standard_code, d->nrdl_no, d->category,
	                         d->agreement_end, d->payment_standard, d->restriction, d->remarks, d->matched_by,
	                         d->list_key, d->section, d->list_no, d->agreement_period, d->category_code};
	const int n[] = {d->negotiated, d->package_level, d->units, d->local_mapping, d->demo_mapping, (int)d->nlists};
	uint64_t h = fnv(0xcbf29ce484222325ULL, "drug", 4);
	size_t i;

	for (i = 0; i < sizeof(s) / sizeof(s[0]); i++)
		h = fnv(h, s[i], strlen(s[i]) + 1);
	for (i = 0; i < d->nlists && i < DS_MAX_LISTS; i++)
		h = fnv(h, d->lists[i], strlen(d->lists[i]) + 1);
	return fnv(h, n, sizeof(n));
}

/* The JSON of o (stolen), cached under hash when c is given; 1 appended, 0 o was NULL. */
static int frag(ds_buf *out, ds_json_cache *c, uint64_t hash, json_t *(*make)(const void *), const void *arg)
{
	uint64_t m = (hash ^ hash >> 33) * 0xff51afd7ed558ccdULL; /* FNV's low bits alone are poorly spread */
	struct frag *f = c ? &c->f[(m ^ m >> 33) % FRAGS] : NULL;
	json_t *j;
	char *s;

	if (f && f->json && f->hash == hash)
		return ds_buf_puts(out, f->json) == DS_OK ? 1 : DS_ENOMEM;
	j = make(arg);
	if (!j)
		return 0;
	s = json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(9));
	json_decref(j);
	if (!s)
		return DS_ENOMEM;
	if (ds_buf_puts(out, s) < 0) {
		free(s);
		return DS_ENOMEM;
	}
	if (f) {
		free(f->json);
		f->json = s;
		f->hash = hash;
	} else {
		free(s);
	}
	return 1;
}

static json_t *make_drug(const void *d)
{
	return ds_drug_json(d);
}

static json_t *make_label(const void *l)
{
	return ds_label_json(l);
}

/* ds_label_json's object without a ratio: 1 appended, 0 not UTF-8 (nothing appended), or DS_ENOMEM. */
static int label(ds_buf *out, const ds_label *l)
{
	size_t mark = out->len;
	int rc = ds_buf_puts(out, "{\"id\":");

	if (rc == DS_OK)
		rc = ds_json_put_string(out, l->id, strlen(l->id));
	if (rc == DS_OK && (rc = ds_buf_puts(out, ",\"severity\":\"")) == DS_OK && (rc = ds_buf_puts(out, ds_level_name(l->level))) == DS_OK)
		rc = ds_buf_puts(out, "\",\"text\":");
	if (rc == DS_OK)
		rc = ds_json_put_string(out, l->text, strlen(l->text));
	if (rc == DS_OK)
		rc = ds_buf_putc(out, '}');
	if (rc == DS_EINVAL) {
		out->len = mark;
		out->ptr[mark] = '\0';
		return 0;
	}
	return rc == DS_OK ? 1 : DS_ENOMEM;
}

static int tail(ds_buf *out, const ds_verdict *v, ds_lang lang, ds_json_cache *c)
{
	size_t i;
	int rc = ds_buf_puts(out, ",\"drug\":"), any = 0;

	if (rc == DS_OK && v->drug)
		rc = frag(out, c, drug_hash(v->drug), make_drug, v->drug) < 0 ? DS_ENOMEM : DS_OK;
	else if (rc == DS_OK)
		rc = ds_buf_puts(out, "null");
	if (rc == DS_OK)
		rc = ds_buf_puts(out, ",\"labels\":[");
	for (i = 0; i < v->nlabels && rc == DS_OK; i++) {
		const ds_label *l = &v->labels[i];
		size_t mark = out->len;
		int put;
		if (any)
			rc = ds_buf_putc(out, ',');
		if (rc < 0)
			break;
		if (l->ratio > 0) { /* a real number: jansson's own, kept */
			uint64_t h = fnv(0xcbf29ce484222325ULL, l->id, strlen(l->id));
			h = fnv(h, &l->level, sizeof(l->level));
			h = fnv(h, &l->ratio, sizeof(l->ratio));
			h = fnv(h, l->text, strlen(l->text));
			put = frag(out, c, h, make_label, l);
		} else {
			put = label(out, l);
		}
		if (put == 0)
			out->len = mark; /* not UTF-8: jansson leaves the label out */
		else if (put < 0)
			rc = put;
		any |= put == 1;
	}
	if (rc == DS_OK)
		rc = ds_buf_puts(out, "],\"note\":");
	return rc == DS_OK ? ds_json_put_string(out, ds_note_text(lang), strlen(ds_note_text(lang))) : rc;
}

int ds_code_json_put(ds_buf *out, const ds_verdict *v, ds_lang lang, ds_json_cache *c)
{
	const ds_code *code = v->code;
	int first = 1, rc;

	rc = str_member(out, &first, "text", code->text, code->text_len, 0);
	if (rc == DS_OK)
		rc = cstr_member(out, &first, "symbology", code->symbology, 1);
	if (rc == DS_OK)
		rc = cstr_member(out, &first, "aim", code->aim, 1);
	if (rc == DS_OK)
		rc = cstr_member(out, &first, "kind", ds_kind_name(code->kind), 0);
	if (rc == DS_OK)
		rc = ds_buf_puts(out, code->valid ? ",\"valid\":true," : ",\"valid\":false,");
	if (rc == DS_OK)
		rc = issues(out, code, lang);
	first = 0;
	if (rc == DS_OK)
		rc = cstr_member(out, &first, "unit_key", v->unit.key, 1);
	if (rc == DS_OK)
		rc = fields(out, code);
	if (rc == DS_OK && code->nelements)
		rc = elements(out, code);
	if (rc == DS_OK)
		rc = tail(out, v, lang, c);
	if (out->ptr)
		out->ptr[out->len] = '\0';
	return rc < 0 ? DS_ENOMEM : DS_OK;
}

/* ---- the counter's answer ---- */

/* The input as the answer quotes it: up to 200 bytes, cut at a character; "(binary)" when not UTF-8. */
static int input_member(ds_buf *out, const void *data, size_t len)
{
	const unsigned char *s = data;
	int rc = ds_buf_puts(out, "\"format_version\":1,\"input\":");

	if (len > 200)
		for (len = 200; len && (s[len] & 0xC0) == 0x80; len--)
			;
	if (rc == DS_OK && (rc = s ? ds_json_put_string(out, data, len) : DS_EINVAL) == DS_EINVAL)
		rc = ds_buf_puts(out, "\"(binary)\"");
	return rc;
}

static int ledger_member(ds_buf *out, const ds_counter_answer *a, const ds_error *err)
{
	const ds_ledger_result *r = &a->ledger;
	const char *why = err && err->message[0] ? err->message : "not recorded";
	int rc;

	if (a->refusal_id)
		return ds_buf_puts(out, ",\"ledger\":null");
	rc = ds_buf_printf(out, ",\"ledger\":{\"action\":\"%s\",", ds_action_name(a->opts_.action));
	if (rc == DS_OK && r->recorded != 1) { /* NOT recorded (or not confirmed), and why */
		rc = ds_buf_printf(out, "\"recorded\":%s,\"fault\":\"%s\",\"error\":", r->recorded < 0 ? "null" : "false",
		                   ds_ledger_fault_id(r->fault));
		if (rc == DS_OK && (rc = ds_json_put_string(out, why, strlen(why))) == DS_EINVAL)
			rc = ds_buf_puts(out, "\"(the reason names a path that is not UTF-8)\"");
		return rc == DS_OK ? ds_buf_putc(out, '}') : rc;
	}
	if (rc == DS_OK)
		rc = ds_buf_printf(out, "\"state_before\":\"%s\",\"state_after\":\"%s\",\"event_id\":", ds_state_name(r->before),
		                   ds_state_name(r->after));
	if (rc == DS_OK)
		rc = ds_json_put_string(out, r->event_id, strlen(r->event_id));
	if (rc == DS_OK)
		rc = ds_buf_printf(out, ",\"outcome\":\"%s\",\"refused\":%s,\"units_left\":", r->outcome == 2 ? "alert"
		                   : r->outcome == 1 ? "warn" : "ok", r->refused ? "true" : "false");
	if (rc == DS_OK)
		rc = r->units_left >= 0 ? ds_buf_printf(out, "%d", r->units_left) : ds_buf_puts(out, "null");
	return rc == DS_OK ? ds_buf_puts(out, ",\"recorded\":true}") : rc;
}

int ds_counter_json_put(ds_buf *out, const ds_counter_answer *a, const void *input, size_t len, ds_lang lang,
                        const ds_error *err, ds_json_cache *c)
{
	int rc = input_member(out, input, len);

	if (rc == DS_OK)
		rc = ds_buf_putc(out, ',');
	if (rc == DS_OK)
		rc = ds_code_json_put(out, &a->verdict, lang, c);
	if (rc == DS_OK)
		rc = ledger_member(out, a, err);
	return rc < 0 ? DS_ENOMEM : DS_OK;
}
