/* torture_common.c - ds_buf, UTF-8 and date helpers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_buf_grows_and_terminates),
		cmocka_unit_test(test_utf8_decode),
		cmocka_unit_test(test_utf8_encode_roundtrip),
		cmocka_unit_test(test_days_in_month),
		cmocka_unit_test(test_today_env),
		cmocka_unit_test(test_error_set),
		cmocka_unit_test(test_loopback_hosts),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
