/* common.c - error, buffer and UTF-8 helpers shared by the modules. */
#include "ds_common.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

int ds_error_set(ds_error *err, int code, const char *fmt, ...)
{
	if (err) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err->message, sizeof(err->message), fmt, ap);
		va_end(ap);
		err->code = code;
	}
	return code;
}

void ds_error_clear(ds_error *err)
{
	if (err) {
		err->code = 0;
		err->message[0] = '\0';
	}
}

int ds_buf_grow(ds_buf *b, size_t extra)
{
	size_t need, cap;
	char *p;

	if (extra > SIZE_MAX - b->len - 1)
		return DS_ENOMEM;
	need = b->len + extra + 1;
	if (need <= b->cap)
		return DS_OK;
	cap = b->cap ? b->cap : 64;
	while (cap < need)
		cap = cap > SIZE_MAX / 2 ? need : cap * 2;
	p = realloc(b->ptr, cap);
	if (!p)
		return DS_ENOMEM;
	if (!b->ptr)
		p[0] = '\0';
	b->ptr = p;
	b->cap = cap;
	return DS_OK;
}

int ds_buf_put(ds_buf *b, const void *data, size_t len)
{
	if (ds_buf_grow(b, len) < 0)
		return DS_ENOMEM;
	if (len)
		memcpy(b->ptr + b->len, data, len);
	b->len += len;
	b->ptr[b->len] = '\0';
	return DS_OK;
}

int ds_buf_puts(ds_buf *b, const char *s)
{
	return ds_buf_put(b, s, strlen(s));
}

int ds_buf_putc(ds_buf *b, char c)
{
	return ds_buf_put(b, &c, 1);
}

int ds_buf_printf(ds_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return DS_EINVAL;
	if (ds_buf_grow(b, (size_t)n) < 0)
		return DS_ENOMEM;
	va_start(ap, fmt);
	vsnprintf(b->ptr + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return DS_OK;
}

void ds_buf_clear(ds_buf *b)
{
	b->len = 0;
	if (b->ptr)
		b->ptr[0] = '\0';
}

void ds_buf_free(ds_buf *b)
{
	if (!b)
		return;
	free(b->ptr);
	b->ptr = NULL;
	b->len = b->cap = 0;
}

size_t ds_utf8_decode(uint32_t *out_cp, const unsigned char *s, size_t len)
{
	uint32_t cp;
	size_t n, i;
	unsigned char c;

	if (len == 0)
		return 0;
	c = s[0];
	if (c < 0x80) {
		*out_cp = c;
		return 1;
	} else if (c >= 0xC2 && c <= 0xDF) {
		n = 2;
		cp = c & 0x1F;
	} else if (c >= 0xE0 && c <= 0xEF) {
		n = 3;
		cp = c & 0x0F;
	} else if (c >= 0xF0 && c <= 0xF4) {
		n = 4;
		cp = c & 0x07;
	} else {
		return 0;
	}
	if (len < n)
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3F);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
	    (cp >= 0xD800 && cp <= 0xDFFF))
		return 0;
	*out_cp = cp;
	return n;
}

size_t ds_utf8_encode(char *out, uint32_t cp)
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	} else if (cp < 0x800) {
		out[0] = (char)(0xC0 | (cp >> 6));
		out[1] = (char)(0x80 | (cp & 0x3F));
		return 2;
	} else if (cp < 0x10000) {
		out[0] = (char)(0xE0 | (cp >> 12));
		out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
		out[2] = (char)(0x80 | (cp & 0x3F));
		return 3;
	}
	out[0] = (char)(0xF0 | (cp >> 18));
	out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
	out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
	out[3] = (char)(0x80 | (cp & 0x3F));
	return 4;
}

size_t ds_utf8_check(const unsigned char *s, size_t len)
{
	size_t i = 0, n;
	uint32_t cp;

	while (i < len) {
		if (s[i] < 0x80) {
			i++;
			continue;
		}
		n = ds_utf8_decode(&cp, s + i, len - i);
		if (n == 0)
			return i;
		i += n;
	}
	return len;
}

int ds_days_in_month(int year, int month)
{
	static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int leap;

	if (month < 1 || month > 12)
		return 0;
	leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
	return days[month - 1] + (month == 2 && leap);
}

int ds_today_ymd(void)
{
	const char *env = getenv("DRUGSCAN_TODAY");
	time_t now;
	struct tm tm;

	if (env && strlen(env) == 10 && env[4] == '-' && env[7] == '-') {
		int y = 0, m = 0, d = 0, i;
		for (i = 0; i < 4; i++)
			y = y * 10 + (env[i] - '0');
		m = (env[5] - '0') * 10 + (env[6] - '0');
		d = (env[8] - '0') * 10 + (env[9] - '0');
		if (y > 1900 && m >= 1 && m <= 12 && d >= 1 && d <= ds_days_in_month(y, m))
			return y * 10000 + m * 100 + d;
	}
	now = time(NULL);
	if (!localtime_r(&now, &tm))
		return 20260101;
	return (tm.tm_year + 1900) * 10000 + (tm.tm_mon + 1) * 100 + tm.tm_mday;
}

int ds_host_is_loopback(const char *h)
{
	int dots = 0;

	if (!h)
		return 0;
	if (!strcmp(h, "localhost") || !strcmp(h, "[::1]") || !strcmp(h, "::1"))
		return 1;
	if (strncmp(h, "127.", 4))
		return 0;
	for (; *h; h++) {
		if (*h == '.')
			dots++;
		else if (*h < '0' || *h > '9')
			return 0;
	}
	return dots == 3;
}

int ds_mkdir_p(const char *path, unsigned mode)
{
	char tmp[4096];
	size_t i, n = strlen(path);

	if (n >= sizeof(tmp))
		return -1;
	memcpy(tmp, path, n + 1);
	for (i = 1; i <= n; i++) {
		if (tmp[i] == '/' || tmp[i] == '\0') {
			char c = tmp[i];
			tmp[i] = '\0';
			if (mkdir(tmp, (mode_t)mode) != 0 && errno != EEXIST)
				return -1;
			tmp[i] = c;
		}
	}
	return 0;
}
