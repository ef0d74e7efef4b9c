/* torture_cli.c - the option table parser, numeric option values and the stdin line reader. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cli.h"
#include "lines.h"

static const ds_optspec opts[] = {
	{"format", 'f', "FMT", "text|json|csv", "output format"},
	{"quiet", 'q', NULL, NULL, "no bell"},
	{"jobs", 'j', "N", NULL, "threads"},
	{"help", 'h', NULL, NULL, "help"},
	{NULL, 0, NULL, NULL, NULL},
};
static const ds_cmdspec spec = {"t [OPTIONS] ARG...", "test command", opts, NULL};

static int parse(ds_optvals *v, ds_error *err, int argc, const char **argv)
{
	return ds_opts_parse(v, &spec, argc, (char **)argv, err);
}

static void test_opts_forms(void **state)
{
	const char *argv[] = {"t", "--format=json", "-qj4", "a", "-", "-8123", "--", "--quiet", NULL};
	ds_optvals v;
	ds_error err;

	(void)state;
	assert_int_equal(parse(&v, &err, 8, argv), 0);
	assert_string_equal(ds_opts_get(&v, &spec, "format"), "json");
	assert_int_equal(ds_opts_has(&v, &spec, "quiet"), 1);
	assert_string_equal(ds_opts_get(&v, &spec, "jobs"), "4");
	assert_int_equal(v.nrest, 4);
	assert_string_equal(v.rest[0], "a");
	assert_string_equal(v.rest[1], "-");
	assert_string_equal(v.rest[2], "-8123");
	assert_string_equal(v.rest[3], "--quiet");
	free(v.rest);
}

static void test_opts_errors(void **state)
{
	const char *bad_choice[] = {"t", "--format", "xml", NULL};
	const char *unknown[] = {"t", "--colour", NULL};
	const char *missing[] = {"t", "-j", NULL};
	const char *flag_value[] = {"t", "--quiet=yes", NULL};
	ds_optvals v;
	ds_error err;

	(void)state;
	assert_int_equal(parse(&v, &err, 3, bad_choice), DS_EINVAL);
	assert_string_equal(err.message, "invalid value 'xml' for --format (expected text|json|csv)");
	free(v.rest);
	assert_int_equal(parse(&v, &err, 2, unknown), DS_EINVAL);
	assert_string_equal(err.message, "unknown option '--colour'");
	free(v.rest);
	assert_int_equal(parse(&v, &err, 2, missing), DS_EINVAL);
	assert_string_equal(err.message, "option '-j' needs a value (N)");
	free(v.rest);
	assert_int_equal(parse(&v, &err, 2, flag_value), DS_EINVAL);
	free(v.rest);
}

static void test_numeric_values(void **state)
{
	long n = 7, k = 9;
	double d = 2.5;

	(void)state;
	assert_int_equal(ds_opt_long(&n, NULL, 1, 10), DS_OK); /* not given: the default stays */
	assert_int_equal(n, 7);
	assert_int_equal(ds_opt_long(&n, "10", 1, 10), DS_OK);
	assert_int_equal(n, 10);
	assert_int_equal(ds_opt_long(&n, "1", 1, 10), DS_OK);
	assert_int_equal(n, 1);
	assert_int_equal(ds_opt_long(&n, "11", 1, 10), DS_EINVAL);
	assert_int_equal(ds_opt_long(&n, "0", 1, 10), DS_EINVAL);
	assert_int_equal(ds_opt_long(&n, "", 1, 10), DS_EINVAL);
	assert_int_equal(ds_opt_long(&n, "abc", 1, 10), DS_EINVAL);
	assert_int_equal(ds_opt_long(&n, "5x", 1, 10), DS_EINVAL);
	assert_int_equal(ds_opt_long(&n, "5.0", 1, 10), DS_EINVAL);
	assert_int_equal(ds_opt_long(&n, "99999999999999999999999", 1, 10), DS_EINVAL);
	assert_int_equal(n, 1); /* untouched by the failures */
	assert_int_equal(ds_opt_long(&n, "-3", -5, 5), DS_OK);
	assert_int_equal(n, -3);

	assert_int_equal(ds_opt_double(&d, NULL, 0, 10), DS_OK);
	assert_true(d == 2.5);
	assert_int_equal(ds_opt_double(&d, "0.5", 0, 10), DS_OK);
	assert_true(d == 0.5);
	assert_int_equal(ds_opt_double(&d, "0", 0, 10), DS_OK);
	assert_int_equal(ds_opt_double(&d, "10.5", 0, 10), DS_EINVAL);
	assert_int_equal(ds_opt_double(&d, "-1", 0, 10), DS_EINVAL);
	assert_int_equal(ds_opt_double(&d, "nan", 0, 10), DS_EINVAL);
	assert_int_equal(ds_opt_double(&d, "inf", 0, 1e300), DS_EINVAL);
	assert_int_equal(ds_opt_double(&d, "1e999", 0, 10), DS_EINVAL);
	assert_int_equal(ds_opt_double(&d, "3s", 0, 10), DS_EINVAL);
	assert_int_equal(ds_opt_double(&d, "", 0, 10), DS_EINVAL);
	assert_true(d == 0);

	n = 1;
	k = 0;
	assert_int_equal(ds_opt_shard(&k, &n, NULL, 100), DS_OK);
	assert_int_equal(ds_opt_shard(&k, &n, "", 100), DS_OK);
	assert_int_equal(k, 0);
	assert_int_equal(n, 1);
	assert_int_equal(ds_opt_shard(&k, &n, "2/4", 100), DS_OK);
	assert_int_equal(k, 2);
	assert_int_equal(n, 4);
	assert_int_equal(ds_opt_shard(&k, &n, "0/1", 100), DS_OK);
	assert_int_equal(ds_opt_shard(&k, &n, "4/4", 100), DS_EINVAL);
	assert_int_equal(ds_opt_shard(&k, &n, "a/b", 100), DS_EINVAL);
	assert_int_equal(ds_opt_shard(&k, &n, "-1/4", 100), DS_EINVAL);
	assert_int_equal(ds_opt_shard(&k, &n, "1/-4", 100), DS_EINVAL);
	assert_int_equal(ds_opt_shard(&k, &n, "1/0", 100), DS_EINVAL);
	assert_int_equal(ds_opt_shard(&k, &n, "1/101", 100), DS_EINVAL);
	assert_int_equal(ds_opt_shard(&k, &n, "1/4x", 100), DS_EINVAL);
	assert_int_equal(ds_opt_shard(&k, &n, "14", 100), DS_EINVAL);
	assert_int_equal(k, 0);
	assert_int_equal(n, 1);
}

static void test_help_lists_every_option(void **state)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	size_t i;

	(void)state;
	ds_opts_help(f, "drugscan", &spec);
	fclose(f);
	for (i = 0; opts[i].name; i++)
		assert_non_null(strstr(buf, opts[i].name));
	assert_non_null(strstr(buf, "usage: drugscan t [OPTIONS] ARG..."));
	free(buf);
}

static void test_lines_terminators(void **state)
{
	static const char in[] = "one\r\ntwo\rthree\n\nfour";
	FILE *f = fmemopen((void *)in, sizeof(in) - 1, "r");
	ds_lines *r = ds_lines_open(f, NULL);
	ds_line l;
	const char *want[] = {"one", "two", "three", "", "four"};
	size_t i;

	(void)state;
	for (i = 0; i < 5; i++) {
		assert_int_equal(ds_lines_next(r, &l), 1);
		assert_int_equal(l.len, strlen(want[i]));
		assert_memory_equal(l.data, want[i], l.len);
		assert_int_equal(l.no, i + 1);
		/* only the last line ends at EOF rather than at its terminator */
		assert_int_equal(l.terminated, i < 4);
	}
	assert_int_equal(ds_lines_next(r, &l), 0);
	ds_lines_free(r);
	fclose(f);
}

/* Text for a terminal: control bytes made visible, GS as <GS>, the rest kept. */
static void test_escape(void **state)
{
	static const struct {
		const char *in, *want;
	} cases[] = {
		{"81234567890123456789", "81234567890123456789"},
		{"\x1b]0;x\x07\x1b[2J8123", "\\x1b]0;x\\x07\\x1b[2J8123"},
		{"]d2010690123456789221AB\x1dXY", "]d2010690123456789221AB<GS>XY"},
		{"\xc2\x9b" "31m \x7f", "\\u009b31m \\x7f"},
		{"\xff\xfeok", "\\xff\\xfeok"},
		{"阿莫西林", "阿莫西林"},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ds_buf b = DS_BUF_INIT;
		assert_int_equal(ds_cli_escape(&b, cases[i].in, strlen(cases[i].in)), DS_OK);
		assert_string_equal(b.ptr, cases[i].want);
		ds_buf_free(&b);
	}
	assert_true(ds_cli_printable("A", 1, 64));
	assert_true(ds_cli_printable("收银台 1", 1, 64));
	assert_false(ds_cli_printable("", 1, 64));
	assert_true(ds_cli_printable("", 0, 64));
	assert_false(ds_cli_printable("a\nb", 1, 64));
	assert_false(ds_cli_printable("a\x1b[2J", 1, 64));
	assert_false(ds_cli_printable("\xff", 1, 64));
	assert_false(ds_cli_printable("0123456789", 1, 9));
}

static void test_lines_too_long(void **state)
{
	size_t big = 3 * 1024 * 1024, i;
	char *in = malloc(big + 8);
	FILE *f;
	ds_lines *r;
	ds_line l;

	(void)state;
	for (i = 0; i < big; i++)
		in[i] = 'x';
	memcpy(in + big, "\nok\n", 4);
	f = fmemopen(in, big + 4, "r");
	r = ds_lines_open(f, NULL);
	assert_int_equal(ds_lines_next(r, &l), 1);
	assert_int_equal(l.full_len, big);
	assert_int_equal(l.len, DS_TRACE_MAX_INPUT);
	assert_int_equal(ds_lines_next(r, &l), 1);
	assert_int_equal(l.len, 2);
	assert_memory_equal(l.data, "ok", 2);
	assert_int_equal(l.no, 2);
	assert_int_equal(ds_lines_next(r, &l), 0);
	ds_lines_free(r);
	fclose(f);
	free(in);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_opts_forms),
		cmocka_unit_test(test_opts_errors),
		cmocka_unit_test(test_numeric_values),
		cmocka_unit_test(test_help_lists_every_option),
		cmocka_unit_test(test_lines_terminators),
		cmocka_unit_test(test_lines_too_long),
		cmocka_unit_test(test_escape),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
