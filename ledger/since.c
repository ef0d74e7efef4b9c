/*
 * since.c - the moment `ledger export --since` starts from, for both ledgers.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ledger.h"

/*
 * --since: a date, YYYY-MM-DD (a real day, from 1970), from local midnight;
 * or a time in milliseconds since 1970, written with 12 digits or more (from
 * 1973-03-03 on), or 0 for everything. A shorter number is refused rather than
 * read as a moment in January 1970: 20261130 is a date without its dashes.
 * -1 with msg filled when it is neither.
 */
long long ds_ledger_since(const char *s, char *msg, size_t size)
{
	struct tm tm;
	long long v = 0;
	int ymd;
	size_t n = s ? strlen(s) : 0, digits = s ? strspn(s, "0123456789") : 0;
	time_t t;

	if (!s)
		return 0;
	memset(&tm, 0, sizeof(tm));
	if (n == 10 && s[4] == '-' && s[7] == '-') {
		if (ds_date_parse(&ymd, s) < 0 || ymd < 19700101) {
			snprintf(msg, size, "--since '%s' is not a date from 1970-01-01 on (YYYY-MM-DD)", s);
			return -1;
		}
		tm.tm_year = ymd / 10000 - 1900;
		tm.tm_mon = ymd / 100 % 100 - 1;
		tm.tm_mday = ymd % 100;
		tm.tm_isdst = -1;
		t = mktime(&tm);
		return t == (time_t)-1 ? 0 : (long long)t * 1000;
	}
	if (n > 0 && digits == n && (n >= 12 || !strcmp(s, "0"))) {
		errno = 0;
		v = strtoll(s, NULL, 10);
		if (errno == 0)
			return v;
	}
	if (n == 8 && digits == 8) {
		char dashed[11];
		snprintf(dashed, sizeof(dashed), "%.4s-%.2s-%.2s", s, s + 4, s + 6);
		if (ds_date_parse(&ymd, dashed) == DS_OK) {
			snprintf(msg, size, "--since '%s' looks like a date: write it as %s (milliseconds since 1970 have 12 digits or more)",
			         s, dashed);
			return -1;
		}
	}
	snprintf(msg, size, "--since needs a date (YYYY-MM-DD) or milliseconds since 1970 (12 digits or more), not '%.40s'", s);
	return -1;
}

