/*
 * json.c - request bodies (parsed with jansson, every field checked) and
 * the answers that are the CLI's objects: the counter answer and the
 * ledger event, field for field as `counter --format json` and `ledger
 * history --format jsonl` print them (format_version 1).
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "internal.h"

int req_json(sreq *r, json_t **obj, reply *out)
{
	json_error_t e;
	json_t *o;

	*obj = NULL;
	if (!r->body.len)
		return rep_error(out, MHD_HTTP_BAD_REQUEST, "request.bad_json", "the body is empty: send a JSON object") + 1;
	o = json_loadb(r->body.ptr, r->body.len, JSON_REJECT_DUPLICATES, &e);
	if (!o)
		return rep_error(out, MHD_HTTP_BAD_REQUEST, "request.bad_json", "the body is not valid JSON: %s (line %d, column %d)",
		                 e.text, e.line, e.column) + 1;
	if (!json_is_object(o)) {
		json_decref(o);
		return rep_error(out, MHD_HTTP_BAD_REQUEST, "request.bad_json", "the body must be a JSON object") + 1;
	}
	*obj = o;
	return 0;
}

static const char *type_name(int type)
{
	return type == JSON_STRING ? "a string" : type == JSON_INTEGER ? "a whole number" : type == JSON_TRUE ? "true or false"
	                                                                                  : "an array";
}

int fields_check(json_t *o, const field *spec, reply *out)
{
	const char *key;
	json_t *v;

	json_object_foreach(o, key, v) {
		const field *f;
		int ok;
		for (f = spec; f->name && strcmp(f->name, key); f++)
			;
		if (!f->name) {
			char q[64];
			size_t n = strlen(key) > 40 ? 40 : strlen(key);
			while (n && ((unsigned char)key[n] & 0xC0) == 0x80)
				n--; /* not inside a UTF-8 sequence */
			snprintf(q, sizeof(q), "%.*s", (int)n, key);
			return rep_error(out, MHD_HTTP_BAD_REQUEST, "request.unknown_field", "unknown field '%s'", q) + 1;
		}
		if (json_is_null(v) && f->nullable)
			continue;
		ok = f->type == JSON_TRUE ? json_is_boolean(v) : (int)json_typeof(v) == f->type;
		if (ok && f->type == JSON_INTEGER)
			ok = json_integer_value(v) >= f->min && json_integer_value(v) <= f->max;
		if (ok && f->type == JSON_STRING && f->max)
			ok = json_string_length(v) <= (size_t)f->max;
		if (!ok) {
			if (f->type == JSON_INTEGER)
				return rep_error(out, MHD_HTTP_BAD_REQUEST, "request.invalid", "'%s' must be a whole number from %ld to %ld",
				                 f->name, f->min, f->max) + 1;
			if (f->type == JSON_STRING && f->max && json_is_string(v))
				return rep_error(out, MHD_HTTP_BAD_REQUEST, "request.invalid", "'%s' is longer than %ld bytes", f->name,
				                 f->max) + 1;
			return rep_error(out, MHD_HTTP_BAD_REQUEST, "request.invalid", "'%s' must be %s%s", f->name,
			                 type_name(f->type), f->nullable ? " (or null)" : "") + 1;
		}
	}
	return 0;
}

const char *field_str(json_t *o, const char *name)
{
	return json_string_value(json_object_get(o, name));
}

long field_int(json_t *o, const char *name, long deflt)
{
	json_t *v = json_object_get(o, name);

	return json_is_integer(v) ? (long)json_integer_value(v) : deflt;
}

ds_lang req_lang(ds_server *s, struct MHD_Connection *c, json_t *body)
{
	const char *l = body ? field_str(body, "lang") : NULL;

	if (!l)
		l = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "lang");
	if (l && !strcmp(l, "en"))
		return DS_LANG_EN;
	if (l && !strcmp(l, "zh"))
		return DS_LANG_ZH;
	return s->o.lang;
}

/* The input as the answer quotes it: up to 200 bytes, cut at a character. */
static json_t *input_json(const char *s, size_t len)
{
	if (len > 200) {
		len = 200;
		while (len && ((unsigned char)s[len] & 0xC0) == 0x80)
			len--;
	}
	return json_stringn(s, len);
}

json_t *counter_json(const ds_counter_answer *a, const char *input, size_t len, ds_lang lang, const ds_error *err)
{
	json_t *o = json_object(), *code = ds_code_json(&a->verdict, lang);
	const ds_ledger_result *r = &a->ledger;

	json_object_set_new(o, "format_version", json_integer(1));
	json_object_set_new(o, "input", input_json(input, len));
	json_object_update(o, code);
	json_decref(code);
	if (a->refusal_id) {
		json_object_set_new(o, "ledger", json_null());
	} else if (r->recorded != 1) {
		/* NOT recorded (or not confirmed), as the command line says it */
		json_object_set_new(o, "ledger",
		                    json_pack("{s:s, s:o, s:s, s:s}", "action", ds_action_name(a->opts_.action), "recorded",
		                              r->recorded < 0 ? json_null() : json_false(), "fault", ds_ledger_fault_id(r->fault),
		                              "error", err && err->message[0] ? err->message : "not recorded"));
	} else {
		json_object_set_new(o, "ledger",
		                    json_pack("{s:s, s:s, s:s, s:s, s:s, s:b, s:o, s:b}", "action", ds_action_name(a->opts_.action),
		                              "state_before", ds_state_name(r->before), "state_after", ds_state_name(r->after),
		                              "event_id", r->event_id, "outcome",
		                              r->outcome == 2 ? "alert" : r->outcome == 1 ? "warn" : "ok", "refused", r->refused,
		                              "units_left", r->units_left >= 0 ? json_integer(r->units_left) : json_null(),
		                              "recorded", 1));
	}
	return o;
}

json_t *event_json(const ds_event *e)
{
	char when[32];
	time_t t = (time_t)(e->time_ms / 1000);
	struct tm tm;

	localtime_r(&t, &tm);
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
	return json_pack("{s:i, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:b, s:b, s:i, s:s, s:s, s:s, s:I, s:s, s:s, s:s, s:s}",
	                 "format_version", 1, "event_id", e->uuid, "code", e->code, "action", e->action, "state_before",
	                 e->state_before, "state_after", e->state_after, "outcome",
	                 e->outcome == 2 ? "alert" : e->outcome == 1 ? "warn" : "ok", "product_key", e->product_key, "serial",
	                 e->serial, "nhsa_code", e->nhsa_code, "refused", e->refused, "split", e->split, "qty", e->qty,
	                 "station", e->station, "operator", e->operator_, "time", when, "time_ms", (json_int_t)e->time_ms,
	                 "undoes", e->undoes, "batch", e->batch, "note", e->note, "expiry", e->expiry);
}
