/* torture_common.c - ds_buf, UTF-8, date and atomic-file helpers. */
#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "ds_common.h"

static void test_buf_grows_and_terminates(void **state)
{
	ds_buf b = DS_BUF_INIT;
	int i;

	(void)state;
	for (i = 0; i < 1000; i++)
		assert_int_equal(ds_buf_printf(&b, "%d,", i), 0);
	assert_int_equal(b.len, strlen(b.ptr));
	assert_memory_equal(b.ptr, "0,1,2,", 6);
	ds_buf_clear(&b);
	assert_int_equal(b.len, 0);
	assert_string_equal(b.ptr, "");
	assert_int_equal(ds_buf_put(&b, "a\0b", 3), 0);
	assert_int_equal(b.len, 3);
	ds_buf_free(&b);
	ds_buf_free(&b); /* NULL-safe twice */
	ds_buf_free(NULL);
}

static void test_utf8_decode(void **state)
{
	uint32_t cp = 0;

	(void)state;
	assert_int_equal(ds_utf8_decode(&cp, (const unsigned char *)"A", 1), 1);
	assert_int_equal(cp, 'A');
	assert_int_equal(ds_utf8_decode(&cp, (const unsigned char *)"\xef\xbc\x98", 3), 3); /* ８ */
	assert_int_equal(cp, 0xFF18);
	assert_int_equal(ds_utf8_decode(&cp, (const unsigned char *)"\xf0\x9f\x92\x8a", 4), 4);
	assert_int_equal(cp, 0x1F48A);
	/* overlong, surrogate, truncated, out of range, stray continuation */
	assert_int_equal(ds_utf8_decode(&cp, (const unsigned char *)"\xc0\xaf", 2), 0);
	assert_int_equal(ds_utf8_decode(&cp, (const unsigned char *)"\xe0\x80\xaf", 3), 0);
	assert_int_equal(ds_utf8_decode(&cp, (const unsigned char *)"\xed\xa0\x80", 3), 0);
	assert_int_equal(ds_utf8_decode(&cp, (const unsigned char *)"\xe2\x82", 2), 0);
	assert_int_equal(ds_utf8_decode(&cp, (const unsigned char *)"\xf4\x90\x80\x80", 4), 0);
	assert_int_equal(ds_utf8_decode(&cp, (const unsigned char *)"\x80", 1), 0);
	assert_int_equal(ds_utf8_check((const unsigned char *)"ab\xff", 3), 2);
	assert_int_equal(ds_utf8_check((const unsigned char *)"\xe8\x8d\xaf", 3), 3);
}

static void test_utf8_encode_roundtrip(void **state)
{
	static const uint32_t cps[] = {0x24, 0xA2, 0x20AC, 0xFF10, 0x10348, 0x10FFFF};
	char out[4];
	uint32_t back;
	size_t i, n;

	(void)state;
	for (i = 0; i < sizeof(cps) / sizeof(cps[0]); i++) {
		n = ds_utf8_encode(out, cps[i]);
		assert_int_equal(ds_utf8_decode(&back, (const unsigned char *)out, n), n);
		assert_int_equal(back, cps[i]);
	}
}

static void test_days_in_month(void **state)
{
	(void)state;
	assert_int_equal(ds_days_in_month(2028, 2), 29);
	assert_int_equal(ds_days_in_month(2100, 2), 28);
	assert_int_equal(ds_days_in_month(2000, 2), 29);
	assert_int_equal(ds_days_in_month(2027, 4), 30);
	assert_int_equal(ds_days_in_month(2027, 13), 0);
	assert_int_equal(ds_days_in_month(2027, 0), 0);
}

static void test_date_parse(void **state)
{
	int ymd = 7;

	(void)state;
	assert_int_equal(ds_date_parse(&ymd, "2026-02-28"), DS_OK);
	assert_int_equal(ymd, 20260228);
	assert_int_equal(ds_date_parse(&ymd, "2024-02-29"), DS_OK);
	assert_int_equal(ymd, 20240229);
	ymd = 7;
	assert_int_equal(ds_date_parse(&ymd, "2026-02-29"), DS_EINVAL);
	assert_int_equal(ds_date_parse(&ymd, "2026-13-01"), DS_EINVAL);
	assert_int_equal(ds_date_parse(&ymd, "2026-00-01"), DS_EINVAL);
	assert_int_equal(ds_date_parse(&ymd, "2026-01-00"), DS_EINVAL);
	assert_int_equal(ds_date_parse(&ymd, "2026-1x-01"), DS_EINVAL);
	assert_int_equal(ds_date_parse(&ymd, " 2026-01-01"), DS_EINVAL);
	assert_int_equal(ds_date_parse(&ymd, "2026-01-011"), DS_EINVAL);
	assert_int_equal(ds_date_parse(&ymd, "2026/01/01"), DS_EINVAL);
	assert_int_equal(ds_date_parse(&ymd, ""), DS_EINVAL);
	assert_int_equal(ds_date_parse(&ymd, NULL), DS_EINVAL);
	assert_int_equal(ymd, 7);
}

static void test_today_env(void **state)
{
	(void)state;
	setenv("DRUGSCAN_TODAY", "2026-02-28", 1);
	assert_int_equal(ds_today_ymd(), 20260228);
	setenv("DRUGSCAN_TODAY", "2026-02-30", 1); /* invalid: falls back to the clock */
	assert_true(ds_today_ymd() > 20250000);
	unsetenv("DRUGSCAN_TODAY");
}

static void test_error_set(void **state)
{
	ds_error err;

	(void)state;
	assert_int_equal(ds_error_set(&err, DS_EIO, "cannot open '%s'", "box.jpg"), DS_EIO);
	assert_string_equal(err.message, "cannot open 'box.jpg'");
	assert_int_equal(err.code, DS_EIO);
	ds_error_clear(&err);
	assert_string_equal(err.message, "");
	assert_int_equal(ds_error_set(NULL, DS_EINVAL, "x"), DS_EINVAL);
}

static void test_loopback_hosts(void **state)
{
	(void)state;
	assert_true(ds_host_is_loopback("127.0.0.1"));
	assert_true(ds_host_is_loopback("127.1.2.3"));
	assert_true(ds_host_is_loopback("localhost"));
	assert_true(ds_host_is_loopback("[::1]"));
	assert_false(ds_host_is_loopback("127.example.com"));
	assert_false(ds_host_is_loopback("127.0.0.1.evil.com"));
	assert_false(ds_host_is_loopback("10.0.0.1"));
	assert_false(ds_host_is_loopback(NULL));
}

static void test_url_policy(void **state)
{
	static const char *const allowed[] = {
		"https://example.com/manifest.json", "HTTPS://example.com/", "http://127.0.0.1:8080/m.json",
		"http://localhost/", "http://[::1]:9/x", "http://user@127.0.0.1/", "http://127.1.2.3/",
	};
	static const char *const refused[] = {
		"http://example.com/", "http://127.example.com/", "http://127.0.0.1.evil.test/",
		"http://127.0.0.1@evil.test/", "ftp://127.0.0.1/", "file:///etc/passwd", "gopher://localhost/",
	};
	ds_error err;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++)
		assert_int_equal(ds_url_policy_check(allowed[i], &err), DS_OK);
	for (i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		char want[256];
		assert_int_equal(ds_url_policy_check(refused[i], &err), DS_EINVAL);
		snprintf(want, sizeof(want), "refusing '%s': only https:// (or http:// to this machine) is allowed",
		         refused[i]);
		assert_string_equal(err.message, want);
	}
	assert_int_equal(ds_url_policy_check("not a url", &err), DS_EINVAL);
	assert_string_equal(err.message, "refusing 'not a url': not a valid URL");
	assert_int_equal(ds_url_policy_check(NULL, &err), DS_EINVAL);
}

/* ---- ds_atomic: state is a fresh temp folder ---- */

static int make_dir(void **state)
{
	char *dir = strdup("/tmp/torture_common-XXXXXX");

	if (!dir || !mkdtemp(dir)) {
		free(dir);
		return -1;
	}
	*state = dir;
	return 0;
}

static void remove_tree(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;
	char sub[4096];

	if (!d) {
		unlink(path);
		return;
	}
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
			snprintf(sub, sizeof(sub), "%s/%s", path, e->d_name);
			remove_tree(sub);
		}
	closedir(d);
	rmdir(path);
}

static int remove_dir(void **state)
{
	chmod(*state, 0700);
	remove_tree(*state);
	free(*state);
	return 0;
}

/* how many entries the folder has, other than . and .. */
static int entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d)))
		n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
	closedir(d);
	return n;
}

static void read_whole(const char *path, char *out, size_t size)
{
	FILE *f = fopen(path, "rb");
	size_t n;

	assert_non_null(f);
	n = fread(out, 1, size - 1, f);
	out[n] = '\0';
	fclose(f);
}

static void write_whole(const char *path, const char *text)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void test_atomic_commit(void **state)
{
	const char *dir = *state;
	char path[4200], got[64];
	ds_atomic a = DS_ATOMIC_INIT, b = DS_ATOMIC_INIT;
	ds_error err;

	snprintf(path, sizeof(path), "%s/out.txt", dir);
	assert_int_equal(ds_atomic_open(&a, path, &err), DS_OK);
	assert_non_null(a.f);
	assert_int_equal(entries(dir), 1); /* the temp file, in the same folder */
	assert_int_equal(access(path, F_OK), -1);
	assert_int_equal(ds_atomic_open(&b, path, &err), DS_OK); /* a second writer gets its own */
	assert_string_not_equal(a.tmp, b.tmp);
	ds_atomic_abort(&b);
	fputs("first\n", a.f);
	assert_int_equal(ds_atomic_commit(&a, &err), DS_OK);
	assert_null(a.f);
	assert_null(a.tmp);
	read_whole(path, got, sizeof(got));
	assert_string_equal(got, "first\n");
	assert_int_equal(entries(dir), 1);
	ds_atomic_abort(&a); /* a no-op after the commit */
	assert_int_equal(entries(dir), 1);

	/* replacing a file that exists */
	assert_int_equal(ds_atomic_open(&a, path, &err), DS_OK);
	fputs("second\n", a.f);
	assert_int_equal(ds_atomic_commit(&a, &err), DS_OK);
	read_whole(path, got, sizeof(got));
	assert_string_equal(got, "second\n");
	assert_int_equal(entries(dir), 1);
}

static void test_atomic_abort_leaves_nothing(void **state)
{
	const char *dir = *state;
	char path[4200], got[64];
	ds_atomic a = DS_ATOMIC_INIT;
	ds_error err;

	ds_atomic_abort(NULL);
	ds_atomic_abort(&a); /* never opened */
	snprintf(path, sizeof(path), "%s/keep.txt", dir);
	write_whole(path, "old\n");
	assert_int_equal(ds_atomic_open(&a, path, &err), DS_OK);
	fputs("half-written", a.f);
	assert_int_equal(entries(dir), 2);
	errno = EPIPE;
	ds_atomic_abort(&a);
	assert_int_equal(errno, EPIPE); /* kept for the caller's message */
	assert_null(a.f);
	assert_int_equal(entries(dir), 1);
	read_whole(path, got, sizeof(got));
	assert_string_equal(got, "old\n");
}

static void test_atomic_failures_leave_nothing(void **state)
{
	const char *dir = *state;
	char path[4200];
	ds_atomic a = DS_ATOMIC_INIT;
	ds_error err;

	/* the target is a folder: the rename fails, the temp file goes */
	snprintf(path, sizeof(path), "%s/sub", dir);
	assert_int_equal(mkdir(path, 0700), 0);
	assert_int_equal(ds_atomic_open(&a, path, &err), DS_OK);
	fputs("data", a.f);
	assert_int_equal(ds_atomic_commit(&a, &err), DS_EIO);
	assert_non_null(strstr(err.message, path));
	assert_null(strchr(err.message, '\n'));
	assert_null(a.tmp);
	assert_int_equal(entries(dir), 1);
	assert_int_equal(entries(path), 0);

	/* no such folder: nothing can be created */
	snprintf(path, sizeof(path), "%s/missing/out.txt", dir);
	assert_int_equal(ds_atomic_open(&a, path, &err), DS_EIO);
	assert_string_equal(strstr(err.message, "cannot write '"), err.message);
	assert_non_null(strstr(err.message, "missing/out.txt"));
	assert_null(a.f);
	assert_null(a.tmp);
	assert_null(a.path);
	assert_int_equal(entries(dir), 1);

	/* commit without an open file */
	assert_int_equal(ds_atomic_commit(&a, &err), DS_EINVAL);
}

static void test_atomic_unwritable_folder(void **state)
{
	const char *dir = *state;
	char path[4200];
	ds_atomic a = DS_ATOMIC_INIT;
	ds_error err;

	if (geteuid() == 0)
		skip(); /* root writes anyway */
	snprintf(path, sizeof(path), "%s/out.txt", dir);
	assert_int_equal(chmod(dir, 0500), 0);
	assert_int_equal(ds_atomic_open(&a, path, &err), DS_EIO);
	assert_non_null(strstr(err.message, path));
	assert_int_equal(chmod(dir, 0700), 0);
	assert_int_equal(entries(dir), 0);
}

static void test_atomic_rename(void **state)
{
	const char *dir = *state;
	char tmp[4200], path[4200], got[64];
	ds_error err;

	snprintf(tmp, sizeof(tmp), "%s/db.new", dir);
	snprintf(path, sizeof(path), "%s/db", dir);
	write_whole(tmp, "built\n");
	assert_int_equal(ds_atomic_rename(tmp, path, &err), DS_OK);
	read_whole(path, got, sizeof(got));
	assert_string_equal(got, "built\n");
	assert_int_equal(entries(dir), 1);

	/* over a folder: refused, and the built file is removed */
	write_whole(tmp, "again\n");
	assert_int_equal(unlink(path), 0);
	assert_int_equal(mkdir(path, 0700), 0);
	assert_int_equal(ds_atomic_rename(tmp, path, &err), DS_EIO);
	assert_non_null(strstr(err.message, path));
	assert_int_equal(access(tmp, F_OK), -1);
	assert_int_equal(entries(dir), 1);
	/* a temp file that is not there */
	assert_int_equal(ds_atomic_rename(tmp, path, &err), DS_EIO);
	assert_non_null(strstr(err.message, tmp));
}

/* Display width: a CJK or full-width character takes two columns, whatever the process locale. */
static void test_display_width(void **state)
{
	char buf[64];
	ds_buf b = DS_BUF_INIT;
	FILE *f;
	char *text = NULL;
	size_t len = 0;

	(void)state;
	assert_int_equal(ds_utf8_width("abc", 3), 3);
	assert_int_equal(ds_utf8_width("已售出", strlen("已售出")), 6);
	assert_int_equal(ds_utf8_width("（A）", strlen("（A）")), 5);
	assert_int_equal(ds_utf8_width("e\xcc\x81", 3), 1);  /* e + combining acute */
	assert_int_equal(ds_utf8_width("\xff" "a", 2), 2); /* an invalid byte: one column */
	assert_string_equal(ds_pad(buf, sizeof(buf), "在库", 9), "在库     ");
	assert_string_equal(ds_pad(buf, sizeof(buf), "in_stock", 9), "in_stock ");
	assert_string_equal(ds_pad(buf, sizeof(buf), "destroyed!", 9), "destroyed!");
	assert_string_equal(ds_pad(buf, 4, "abcdef", 9), "abc");
	assert_int_equal(ds_buf_pad(&b, "来源", 12), DS_OK);
	assert_string_equal(b.ptr, "来源        ");
	ds_buf_free(&b);
	f = open_memstream(&text, &len);
	assert_non_null(f);
	ds_fprint_field(f, "导入时间", 12, "%d\n", 7);
	ds_fprint_field(f, "source", 12, "%s\n", "x");
	fclose(f);
	assert_string_equal(text, "导入时间     7\nsource       x\n");
	free(text);
}

/* The language from the environment, as gettext reads it. */
static void test_env_language(void **state)
{
	static const struct {
		const char *language, *lc_all, *lc_messages, *lang;
		int zh;
	} cases[] = {
		{NULL, NULL, NULL, NULL, 0},
		{NULL, NULL, NULL, "zh_CN.UTF-8", 1},
		{NULL, NULL, NULL, "C.UTF-8", 0},
		{NULL, "en_US.UTF-8", NULL, "zh_CN.UTF-8", 0},
		{NULL, "", "zh_TW.UTF-8", "en_US.UTF-8", 1},
		{"zh_CN:en", NULL, NULL, "en_US.UTF-8", 1},
		{"fr:de:zh", NULL, NULL, "en_US.UTF-8", 1},
		{"en:zh_CN", NULL, NULL, "zh_CN.UTF-8", 0},
		{"zh_CN", NULL, NULL, "C", 0},
		{"zh_CN", NULL, NULL, "POSIX", 0},
		{"zh_CN", NULL, NULL, NULL, 0},
		{"fr", NULL, NULL, "zh_CN.UTF-8", 0}, /* a list without zh or en: the msgids */
		{"", NULL, NULL, "zh_CN.UTF-8", 1},
		{"zh_TW", "C", NULL, "zh_CN.UTF-8", 0},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *v[4] = {cases[i].language, cases[i].lc_all, cases[i].lc_messages, cases[i].lang};
		const char *names[4] = {"LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"};
		int k;
		for (k = 0; k < 4; k++)
			if (v[k])
				setenv(names[k], v[k], 1);
			else
				unsetenv(names[k]);
		if (ds_i18n_env_zh() != cases[i].zh)
			fail_msg("case %zu: want %d", i, cases[i].zh);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_buf_grows_and_terminates),
		cmocka_unit_test(test_utf8_decode),
		cmocka_unit_test(test_utf8_encode_roundtrip),
		cmocka_unit_test(test_days_in_month),
		cmocka_unit_test(test_date_parse),
		cmocka_unit_test(test_today_env),
		cmocka_unit_test(test_error_set),
		cmocka_unit_test(test_loopback_hosts),
		cmocka_unit_test(test_url_policy),
		cmocka_unit_test(test_display_width),
		cmocka_unit_test(test_env_language),
		cmocka_unit_test_setup_teardown(test_atomic_commit, make_dir, remove_dir),
		cmocka_unit_test_setup_teardown(test_atomic_abort_leaves_nothing, make_dir, remove_dir),
		cmocka_unit_test_setup_teardown(test_atomic_failures_leave_nothing, make_dir, remove_dir),
		cmocka_unit_test_setup_teardown(test_atomic_unwritable_folder, make_dir, remove_dir),
		cmocka_unit_test_setup_teardown(test_atomic_rename, make_dir, remove_dir),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
