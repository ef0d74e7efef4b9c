/*
 * json.c - request bodies, parsed with jansson, every field checked. The
 * answers are the command line's objects, built in audit/ (ds_code_json_put,
 * ds_counter_json_put, ds_event_json, ds_stock_json).
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
