/*
 * i18n.c - the command line's messages in the user's language (GNU gettext,
 * text domain "drugscan"), and text padded by display width.
 *
 * The language is one of two: the English msgids, or the zh_CN catalogue
 * (po/zh_CN.po, compiled by msgfmt). It is chosen by drugscan, not by
 * whether a locale happens to be generated: a fresh Debian has no zh_CN.UTF-8
 * locale, and glibc's gettext ignores $LANGUAGE under the "C" locale. So the
 * chosen catalogue is named in $LANGUAGE and LC_MESSAGES is set to C.UTF-8
 * (which every Debian has), where glibc honours it. LC_CTYPE and LC_NUMERIC
 * stay "C": JSON numbers, parsing and case mapping do not change with the
 * locale, and the catalogue is asked for UTF-8, which is what drugscan
 * prints. glibc's own messages (strerror) stay English, like the library
 * messages they are part of.
 */
#define _XOPEN_SOURCE 700 /* wcwidth() */
#include <libintl.h>
#include <stdarg.h>
#include <limits.h>
#include <locale.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <wchar.h>

#include "ds_common.h"

#ifndef DS_LOCALEDIR
#define DS_LOCALEDIR "/usr/local/share/locale"
#endif

#define DOMAIN "drugscan"

/* "C", "POSIX" and "C.<codeset>": the locales whose messages are the untranslated ones */
static int c_locale(const char *v)
{
	return !strcmp(v, "C") || !strcmp(v, "POSIX") || !strncmp(v, "C.", 2);
}

int ds_i18n_env_zh(void)
{
	static const char *vars[] = {"LC_ALL", "LC_MESSAGES", "LANG"};
	const char *locale = NULL, *language = getenv("LANGUAGE");
	size_t i;

	for (i = 0; i < 3 && !locale; i++)
		if (getenv(vars[i]) && *getenv(vars[i]))
			locale = getenv(vars[i]);
	/* $LANGUAGE, a list like "zh_CN:en", as gettext reads it: not under the C locale;
	 * its first entry in a language drugscan speaks wins, and a list without one
	 * means the msgids (English), as in gettext */
	if (language && *language && locale && !c_locale(locale)) {
		while (*language) {
			size_t n = strcspn(language, ":");
			if (n >= 2 && (!strncmp(language, "zh", 2) || !strncmp(language, "en", 2)))
				return language[0] == 'z';
			language += n + (language[n] == ':');
		}
		return 0;
	}
	return locale && !strncmp(locale, "zh", 2);
}

/* The folder of the catalogues: locale/ beside the executable (the build tree,
 * or tests/ in it), else the installed one. */
static void bind_domain(void)
{
	char exe[PATH_MAX], dir[PATH_MAX + 64];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	const char *const up[] = {"", "/.."};
	size_t i;

	for (i = 0; n > 0 && i < 2; i++) {
		char *slash;
		exe[n] = '\0';
		slash = strrchr(exe, '/');
		if (!slash)
			break;
		*slash = '\0';
		snprintf(dir, sizeof(dir), "%s%s/locale/zh_CN/LC_MESSAGES/" DOMAIN ".mo", exe, up[i]);
		if (access(dir, R_OK) == 0) {
			snprintf(dir, sizeof(dir), "%s%s/locale", exe, up[i]);
			bindtextdomain(DOMAIN, dir);
			return;
		}
		*slash = '/';
	}
	bindtextdomain(DOMAIN, DS_LOCALEDIR);
}

void ds_i18n_use(int zh)
{
	static int bound;
	const char *m;

	if (!bound) {
		bind_domain();
		bind_textdomain_codeset(DOMAIN, "UTF-8");
		bindtextdomain("libc", "/dev/null"); /* strerror() stays English, as before */
		bound = 1;
		m = setlocale(LC_MESSAGES, "C.UTF-8");
		if (!m)
			setlocale(LC_MESSAGES, ""); /* no C.UTF-8: the user's locale, if it is not C */
	}
	setenv("LANGUAGE", zh ? "zh_CN" : "en", 1);
	textdomain(DOMAIN); /* also drops the translations gettext cached for the other language */
}

/* ---- display width ---- */

static locale_t utf8_ctype;
static pthread_once_t utf8_once = PTHREAD_ONCE_INIT;

static void utf8_init(void)
{
	utf8_ctype = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
}

size_t ds_utf8_width(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, cols = 0, n;
	locale_t old = (locale_t)0;
	uint32_t cp;

	pthread_once(&utf8_once, utf8_init);
	if (utf8_ctype)
		old = uselocale(utf8_ctype);
	while (i < len) {
		int w;
		n = ds_utf8_decode(&cp, p + i, len - i);
		if (n == 0) {
			cols++, i++; /* an invalid byte: one column, as a replacement mark */
			continue;
		}
		w = utf8_ctype ? wcwidth((wchar_t)cp) : (cp >= 0x20);
		cols += w > 0 ? (size_t)w : 0;
		i += n;
	}
	if (utf8_ctype)
		uselocale(old);
	return cols;
}

int ds_buf_pad(ds_buf *out, const char *s, size_t width)
{
	size_t w = ds_utf8_width(s, strlen(s));
	int rc = ds_buf_puts(out, s);

	while (rc == DS_OK && w++ < width)
		rc = ds_buf_putc(out, ' ');
	return rc;
}

int ds_fprint_field(FILE *f, const char *label, size_t width, const char *fmt, ...)
{
	ds_buf b = DS_BUF_INIT;
	va_list ap;
	int rc;

	if (ds_buf_pad(&b, label, width) == DS_OK && b.ptr)
		fputs(b.ptr, f);
	ds_buf_free(&b);
	fputc(' ', f);
	va_start(ap, fmt);
	rc = vfprintf(f, fmt, ap);
	va_end(ap);
	return rc;
}

const char *ds_pad(char *buf, size_t size, const char *s, size_t width)
{
	size_t len = strlen(s), w = ds_utf8_width(s, len);

	if (size == 0)
		return "";
	snprintf(buf, size, "%s", s);
	len = len < size - 1 ? len : size - 1;
	for (; w < width && len + 1 < size; w++)
		buf[len++] = ' ';
	buf[len] = '\0';
	return buf;
}
