/*
 * fuzz_csv.c - libFuzzer harness for the catalog CSV import.
 *
 * The input is imported as one file into an in-memory catalog that already
 * holds a small bundle. Invariants: no crash; the import either succeeds or
 * fails with a one-line message; a failed import (without --skip-bad)
 * changes nothing, whatever the bytes were.
 */
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../catalog/internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                    \
	do {                                                                               \
		if (!(cond)) {                                                                 \
			fprintf(stderr, "fuzz_csv: invariant failed: %s (%s:%d)\n", #cond, __FILE__, \
			        __LINE__);                                                         \
			abort();                                                                   \
		}                                                                              \
	} while (0)

static long total_rows(ds_catalog *cat)
{
	sqlite3_stmt *st;
	long n = -1;

	if (sqlite3_prepare_v2(cat->db,
	                       "SELECT (SELECT count(*) FROM drugs) + (SELECT count(*) FROM identifiers) +"
	                       " (SELECT count(*) FROM lists) + (SELECT count(*) FROM list_members) +"
	                       " (SELECT count(*) FROM policies) + (SELECT count(*) FROM recalls) +"
	                       " (SELECT count(*) FROM meta)",
	                       -1, &st, NULL) == SQLITE_OK) {
		if (sqlite3_step(st) == SQLITE_ROW)
			n = (long)sqlite3_column_int64(st, 0);
		sqlite3_finalize(st);
	}
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char seed[] = "nhsa_code,generic_name,category\nX1,one,A\nX2,two,B\n";
	const char *names[1] = {"fuzz.csv"};
	const unsigned char *bufs[1];
	size_t lens[1];
	ds_catalog *cat = NULL;
	ds_import_report rep;
	ds_import_opts io = {0, 0, 0, 0};
	ds_error err;
	long before;
	int rc;

	if (ds_catalog_open(&cat, ":memory:", 1, &err) != DS_OK)
		return 0;
	bufs[0] = (const unsigned char *)seed;
	lens[0] = sizeof(seed) - 1;
	memset(&rep, 0, sizeof(rep));
	CHECK(cat_import_memory(cat, names, bufs, lens, 1, &io, &rep, "seed", &err) == DS_OK);
	ds_import_report_free(&rep);
	before = total_rows(cat);

	bufs[0] = data;
	lens[0] = size;
	memset(&rep, 0, sizeof(rep));
	ds_error_clear(&err);
	io.skip_bad = size > 0 && data[0] & 1;
	rc = cat_import_memory(cat, names, bufs, lens, 1, &io, &rep, "fuzz", &err);
	if (rc != DS_OK) {
		CHECK(err.message[0] != '\0');
		CHECK(total_rows(cat) == before);
	}
	ds_import_report_free(&rep);
	ds_catalog_close(cat);
	return 0;
}
