/*
 * torture_trace.c - table-driven tests of the trace parser.
 *
 * Every line of the fixtures/trace .jsonl files is one cmocka test named FILE:LINE. A
 * case gives the payload ("in", or "in_hex" for bytes JSON cannot hold), the
 * optional decoder hints ("sym", "aim"), the reference date ("today",
 * default 2026-06-01), and what must come out:
 *   kind, valid        always checked
 *   text               exact normalised payload, when given
 *   fields             exact set of fields and values, when given
 *   issues             exact multiset of issue ids, when given
 *   spans              {"issue.id": [pos, len]}: where an issue points in the input
 *   labels             exact set of code-level label ids, when given
 *   aim, symbology     when given
 *   exact              true: parse as a decoder payload (no typed-input normalisation)
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "trace.h"

typedef struct tcase {
	char name[320];
	json_t *json; /* owned */
} tcase;

static int parse_date(const char *s)
{
	int y, m, d;

	if (!s || strlen(s) != 10)
		return 0;
	y = atoi(s);
	m = atoi(s + 5);
	d = atoi(s + 8);
	return y * 10000 + m * 100 + d;
}

static size_t unhex(unsigned char *out, size_t max, const char *hex)
{
	size_t n = 0;
	unsigned int byte;

	while (hex[0] && hex[1] && n < max) {
		if (sscanf(hex, "%2x", &byte) != 1)
			break;
		out[n++] = (unsigned char)byte;
		hex += 2;
	}
	return n;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Compare a JSON array of strings with a list, order-insensitively. */
static int same_ids(json_t *want, const char **got, size_t ngot, char *why, size_t whysize)
{
	const char *w[64];
	size_t nw = json_array_size(want), i;

	if (nw > 64)
		nw = 64;
	for (i = 0; i < nw; i++)
		w[i] = json_string_value(json_array_get(want, i));
	qsort(w, nw, sizeof(w[0]), cmp_str);
	qsort((void *)got, ngot, sizeof(got[0]), cmp_str);
	if (nw == ngot) {
		for (i = 0; i < nw; i++)
			if (!w[i] || strcmp(w[i], got[i]))
				break;
		if (i == nw)
			return 1;
	}
	why[0] = '\0';
	for (i = 0; i < ngot; i++)
		snprintf(why + strlen(why), whysize - strlen(why), "%s%s", i ? "," : "", got[i]);
	return 0;
}

static void describe(const ds_code *c)
{
	size_t i;

	print_message("    got kind=%s valid=%d text=", ds_kind_name(c->kind), c->valid);
	for (i = 0; i < c->text_len; i++)
		print_message((unsigned char)c->text[i] == 0x1D ? "<GS>" : "%c", c->text[i]);
	print_message("\n");
	for (i = 0; i < c->nfields; i++)
		print_message("    field %s=%s\n", c->fields[i].name, c->fields[i].value);
	for (i = 0; i < c->nissues; i++)
		print_message("    issue %s (%s) pos=%zu len=%zu arg=%s\n", c->issues[i].id,
		              ds_severity_name(c->issues[i].severity), c->issues[i].pos, c->issues[i].len,
		              c->issues[i].arg);
}

static void run_case(void **state)
{
	tcase *tc = *state;
	json_t *j = tc->json, *v;
	unsigned char buf[DS_TRACE_MAX_INPUT * 2];
	const char *in;
	size_t len, i;
	ds_code code;
	ds_trace_opts opts = {parse_date("2026-06-01"), 90, 0};
	char why[1024];
	int ok = 1;

	if ((v = json_object_get(j, "in_hex"))) {
		len = unhex(buf, sizeof(buf), json_string_value(v));
		in = (const char *)buf;
	} else {
		v = json_object_get(j, "in");
		in = json_string_value(v);
		len = json_string_length(v);
	}
	if ((v = json_object_get(j, "today")))
		opts.today_ymd = parse_date(json_string_value(v));
	opts.exact = json_is_true(json_object_get(j, "exact"));

	ds_code_init(&code);
	assert_int_equal(ds_trace_parse(&code, in, len, json_string_value(json_object_get(j, "sym")),
	                                json_string_value(json_object_get(j, "aim")), &opts), 0);

	if (strcmp(ds_kind_name(code.kind), json_string_value(json_object_get(j, "kind")))) {
		print_message("  kind: want %s\n", json_string_value(json_object_get(j, "kind")));
		ok = 0;
	}
	if (code.valid != json_is_true(json_object_get(j, "valid"))) {
		print_message("  valid: want %d\n", json_is_true(json_object_get(j, "valid")));
		ok = 0;
	}
	if ((v = json_object_get(j, "text")) &&
	    (json_string_length(v) != code.text_len || memcmp(json_string_value(v), code.text, code.text_len))) {
		print_message("  text: want %s\n", json_string_value(v));
		ok = 0;
	}
	if ((v = json_object_get(j, "fields"))) {
		const char *key;
		json_t *val;
		if (json_object_size(v) != code.nfields) {
			print_message("  fields: want %zu fields\n", json_object_size(v));
			ok = 0;
		}
		json_object_foreach(v, key, val) {
			const char *got = ds_code_field(&code, key);
			if (!got || strcmp(got, json_string_value(val))) {
				print_message("  field %s: want %s\n", key, json_string_value(val));
				ok = 0;
			}
		}
	}
	if ((v = json_object_get(j, "issues"))) {
		const char *ids[DS_TRACE_MAX_ISSUES];
		for (i = 0; i < code.nissues; i++)
			ids[i] = code.issues[i].id;
		if (!same_ids(v, ids, code.nissues, why, sizeof(why))) {
			char *w = json_dumps(v, JSON_COMPACT);
			print_message("  issues: want %s got %s\n", w, why);
			free(w);
			ok = 0;
		}
	}
	if ((v = json_object_get(j, "spans"))) {
		const char *key;
		json_t *val;
		json_object_foreach(v, key, val) {
			size_t pos = (size_t)json_integer_value(json_array_get(val, 0));
			size_t n = (size_t)json_integer_value(json_array_get(val, 1));
			int found = 0;
			for (i = 0; i < code.nissues; i++)
				if (!strcmp(code.issues[i].id, key) && code.issues[i].pos == pos && code.issues[i].len == n)
					found = 1;
			if (!found) {
				print_message("  span %s: want pos=%zu len=%zu\n", key, pos, n);
				ok = 0;
			}
		}
	}
	if ((v = json_object_get(j, "labels"))) {
		ds_label labels[16];
		const char *ids[16];
		size_t n = ds_trace_labels(labels, 16, &code, &opts, DS_LANG_EN);
		for (i = 0; i < n; i++)
			ids[i] = labels[i].id;
		if (!same_ids(v, ids, n, why, sizeof(why))) {
			char *w = json_dumps(v, JSON_COMPACT);
			print_message("  labels: want %s got %s\n", w, why);
			free(w);
			ok = 0;
		}
	}
	if ((v = json_object_get(j, "aim_out")) && strcmp(code.aim, json_string_value(v))) {
		print_message("  aim: want %s got %s\n", json_string_value(v), code.aim);
		ok = 0;
	}
	if ((v = json_object_get(j, "symbology_out")) && strcmp(code.symbology, json_string_value(v))) {
		print_message("  symbology: want %s got %s\n", json_string_value(v), code.symbology);
		ok = 0;
	}
	if ((v = json_object_get(j, "unit_key"))) {
		/* the pack's identity: a string, or null for a code that names no pack */
		ds_unit_key unit;
		int has = ds_code_unit_key(&code, &unit);
		if (json_is_null(v) ? has : !has || strcmp(unit.key, json_string_value(v))) {
			print_message("  unit_key: want %s got %s\n", json_is_null(v) ? "null" : json_string_value(v),
			              has ? unit.key : "null");
			ok = 0;
		}
	}
	if (!ok) {
		print_message("  case %s\n", tc->name);
		describe(&code);
	}
	ds_code_free(&code);
	assert_true(ok);
}

static int load(const char *dir, tcase **cases, size_t *ncases)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char *names[256];
	size_t nnames = 0, k;

	if (!d) {
		fprintf(stderr, "cannot open '%s'\n", dir);
		return -1;
	}
	while ((e = readdir(d)) && nnames < 256) {
		size_t n = strlen(e->d_name);
		if (n > 6 && !strcmp(e->d_name + n - 6, ".jsonl"))
			names[nnames++] = strdup(e->d_name);
	}
	closedir(d);
	qsort(names, nnames, sizeof(names[0]), cmp_str);
	for (k = 0; k < nnames; k++) {
		char path[1024], line[65536];
		FILE *f;
		unsigned long no = 0;
		snprintf(path, sizeof(path), "%s/%s", dir, names[k]);
		f = fopen(path, "r");
		if (!f)
			return -1;
		while (fgets(line, sizeof(line), f)) {
			json_error_t jerr;
			json_t *j;
			no++;
			if (line[0] == '\n' || line[0] == '#')
				continue;
			j = json_loads(line, 0, &jerr);
			if (!j || !json_object_get(j, "kind")) {
				fprintf(stderr, "%s:%lu: bad case: %s\n", path, no, j ? "no kind" : jerr.text);
				fclose(f);
				return -1;
			}
			*cases = realloc(*cases, (*ncases + 1) * sizeof(**cases));
			snprintf((*cases)[*ncases].name, sizeof((*cases)[*ncases].name), "%s:%lu %.200s", names[k], no,
			         json_string_value(json_object_get(j, "in")) ? json_string_value(json_object_get(j, "in"))
			                                                     : "(hex)");
			(*cases)[*ncases].json = j;
			(*ncases)++;
		}
		fclose(f);
		free(names[k]);
	}
	return 0;
}

static void test_gs1_check_digit(void **state)
{
	(void)state;
	assert_int_equal(ds_gs1_check_digit("0695123456789", 13), 7); /* GTIN-14 06951234567897 */
	assert_int_equal(ds_gs1_check_digit("690123456789", 12), 2);  /* EAN-13 6901234567892 */
	assert_int_equal(ds_gs1_check_digit("9638507", 7), 4);        /* EAN-8 96385074 */
	assert_int_equal(ds_gs1_check_digit("03600029145", 11), 2);   /* UPC-A 036000291452 */
	assert_int_equal(ds_gs1_check_digit("00000000000", 11), 0);
	assert_int_equal(ds_gs1_check_digit("1", 1), 7);
	assert_int_equal(ds_gs1_check_digit("12a4", 4), -1);
	assert_int_equal(ds_gs1_check_digit("", 0), -1);
}

int main(int argc, char **argv)
{
	const char *dir = argc > 1 ? argv[1] : "fixtures/trace";
	tcase *cases = NULL;
	size_t ncases = 0, i;
	struct CMUnitTest *tests;
	int rc;

	if (load(dir, &cases, &ncases) < 0 || ncases == 0) {
		fprintf(stderr, "no trace cases loaded from '%s'\n", dir);
		return 1;
	}
	tests = calloc(ncases + 1, sizeof(*tests));
	for (i = 0; i < ncases; i++) {
		tests[i].name = cases[i].name;
		tests[i].test_func = run_case;
		tests[i].initial_state = &cases[i];
	}
	tests[ncases].name = "ds_gs1_check_digit";
	tests[ncases].test_func = test_gs1_check_digit;
	rc = _cmocka_run_group_tests("trace fixtures", tests, ncases + 1, NULL, NULL);
	for (i = 0; i < ncases; i++)
		json_decref(cases[i].json);
	free(cases);
	free(tests);
	return rc;
}
