/* common.c - error, buffer, UTF-8, date and file helpers shared by the modules. */
#include "ds_common.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

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

int ds_date_parse(int *out, const char *s)
{
	int v[3] = {0, 0, 0}, part = 0, i;

	if (!s || strlen(s) != 10 || s[4] != '-' || s[7] != '-')
		return DS_EINVAL;
	for (i = 0; i < 10; i++) {
		if (i == 4 || i == 7) {
			part++;
			continue;
		}
		if (s[i] < '0' || s[i] > '9')
			return DS_EINVAL;
		v[part] = v[part] * 10 + (s[i] - '0');
	}
	if (v[2] < 1 || v[2] > ds_days_in_month(v[0], v[1]))
		return DS_EINVAL;
	*out = v[0] * 10000 + v[1] * 100 + v[2];
	return DS_OK;
}

int ds_today_ymd(void)
{
	const char *env = getenv("DRUGSCAN_TODAY");
	time_t now;
	struct tm tm;
	int ymd;

	if (ds_date_parse(&ymd, env) == DS_OK && ymd > 19010000)
		return ymd;
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

/* ---- replacing a file whole ---- */

/* fsync the folder that holds path, so that a rename in it is on disk. */
static int sync_folder(const char *path, ds_error *err)
{
	const char *slash = strrchr(path, '/');
	char *dir;
	int fd, rc = DS_OK;

	if (!slash)
		dir = strdup(".");
	else if (slash == path)
		dir = strdup("/");
	else
		dir = strndup(path, (size_t)(slash - path));
	if (!dir)
		return ds_error_set(err, DS_ENOMEM, "out of memory");
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	/* EINVAL: a file system that cannot sync a folder; the rename is all it offers */
	if (fd < 0 || (fsync(fd) != 0 && errno != EINVAL)) {
		int e = errno;
		rc = ds_error_set(err, DS_EIO, "cannot sync the folder of '%s': %s", path, strerror(e));
		errno = e;
	}
	if (fd >= 0)
		close(fd);
	free(dir);
	return rc;
}

/* rename tmp over path, then sync the folder; tmp is removed when the rename fails */
static int rename_synced(const char *tmp, const char *path, ds_error *err)
{
	if (rename(tmp, path) != 0) {
		int e = errno;
		unlink(tmp);
		errno = e;
		return ds_error_set(err, DS_EIO, "cannot rename '%s' to '%s': %s", tmp, path, strerror(e));
	}
	return sync_folder(path, err);
}

int ds_atomic_open(ds_atomic *a, const char *path, ds_error *err)
{
	size_t size = strlen(path) + 64;
	int fd = -1, i, e;

	a->f = NULL;
	a->path = strdup(path);
	a->tmp = malloc(size);
	if (!a->path || !a->tmp) {
		ds_atomic_abort(a);
		return ds_error_set(err, DS_ENOMEM, "out of memory");
	}
	/* the pid and this struct's address tell apart concurrent writers, O_EXCL a leftover */
	for (i = 0; i < 100 && fd < 0; i++) {
		snprintf(a->tmp, size, "%s.%ld-%lx-%d.tmp", path, (long)getpid(), (unsigned long)(uintptr_t)a, i);
		fd = open(a->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
		if (fd < 0 && errno != EEXIST)
			break;
	}
	if (fd >= 0 && !(a->f = fdopen(fd, "wb"))) {
		e = errno;
		close(fd);
		unlink(a->tmp);
		errno = e;
		fd = -1;
	}
	if (fd < 0) {
		e = errno;
		free(a->tmp);
		a->tmp = NULL; /* nothing to remove */
		ds_atomic_abort(a);
		errno = e;
		return ds_error_set(err, DS_EIO, "cannot write '%s': %s", path, strerror(e));
	}
	return DS_OK;
}

int ds_atomic_commit(ds_atomic *a, ds_error *err)
{
	int rc, e;

	if (!a->f || !a->tmp || !a->path) {
		ds_atomic_abort(a);
		return ds_error_set(err, DS_EINVAL, "no file open to commit");
	}
	errno = 0;
	rc = fflush(a->f) != 0 || ferror(a->f) || fsync(fileno(a->f)) != 0;
	e = errno ? errno : EIO;
	if (fclose(a->f) != 0 && !rc) {
		rc = 1;
		e = errno;
	}
	a->f = NULL;
	if (rc) {
		ds_error_set(err, DS_EIO, "cannot write '%s': %s", a->path, strerror(e));
		ds_atomic_abort(a);
		errno = e;
		return DS_EIO;
	}
	rc = rename_synced(a->tmp, a->path, err);
	e = errno;
	free(a->tmp);
	free(a->path);
	a->tmp = a->path = NULL;
	errno = e;
	return rc;
}

void ds_atomic_abort(ds_atomic *a)
{
	int e = errno;

	if (!a)
		return;
	if (a->f)
		fclose(a->f);
	if (a->tmp)
		unlink(a->tmp);
	free(a->tmp);
	free(a->path);
	a->f = NULL;
	a->tmp = a->path = NULL;
	errno = e;
}

int ds_atomic_rename(const char *tmp, const char *path, ds_error *err)
{
	int fd = open(tmp, O_RDONLY | O_CLOEXEC);

	if (fd < 0 || fsync(fd) != 0) {
		int e = errno;
		if (fd >= 0)
			close(fd);
		unlink(tmp);
		errno = e;
		return ds_error_set(err, DS_EIO, "cannot write '%s': %s", tmp, strerror(e));
	}
	close(fd);
	return rename_synced(tmp, path, err);
}
