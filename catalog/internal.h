/* internal.h - shared between the catalog/ source files; not a public API. */
#ifndef DS_CATALOG_INTERNAL_H
#define DS_CATALOG_INTERNAL_H

#include <sqlite3.h>

#include "catalog.h"

#define DS_CATALOG_APP_ID 0x44534341 /* "DSCA" */

enum {
	ST_IDENT = 0, /* identifier -> drug */
	ST_LISTS,     /* lists of a drug */
	ST_POLICY,    /* policies of a scope */
	ST_RECALL,    /* recalls of an identifier */
	ST_LISTLABEL, /* label of a list */
	ST_COUNT
};

struct ds_catalog {
	sqlite3 *db;
	sqlite3_stmt *st[ST_COUNT]; /* prepared once, reset after each use */
	/* Lookups share a read transaction for a while: one lock and one hot-journal
	 * check per batch instead of per statement (a 4x speedup). It is released
	 * often enough that an import in another process gets its turn. */
	int in_read;
	unsigned reads;
	double read_since;
	/* Drugs already looked up, by identifier; emptied whenever another
	 * connection commits (PRAGMA data_version changes). */
	struct drug_slot {
		uint64_t hash;   /* 0 = empty */
		char key[96];    /* "type:value" */
		int found;
		ds_drug drug;
	} *cache;            /* owned, DRUG_CACHE slots, from calloc() */
	long data_version;
};

#define DRUG_CACHE 2048

void cat_read_begin(ds_catalog *cat);
void cat_read_end(ds_catalog *cat);

int cat_exec(sqlite3 *db, const char *sql, ds_error *err);
int cat_migrate(sqlite3 *db, ds_error *err);
int cat_set_meta(sqlite3 *db, const char *key, const char *value, ds_error *err);

/* demo.c: the embedded bundle, generated at build time from fixtures/catalog */
typedef struct demo_file {
	const char *name;
	const unsigned char *data;
	size_t len;
} demo_file;
extern const demo_file ds_demo_files[];
extern const size_t ds_demo_nfiles;

/* import.c */
int cat_import_buffer(sqlite3 *db, const char *name, const unsigned char *data, size_t len, int skip_bad,
                      ds_import_report *report, ds_error *err);
int cat_clear(sqlite3 *db, ds_error *err);
/* bundle.c: import buffers (names are used in messages) in one transaction */
int cat_import_memory(ds_catalog *cat, const char *const *names, const unsigned char *const *data,
                      const size_t *lens, size_t n, const ds_import_opts *opts, ds_import_report *report,
                      const char *source, ds_error *err);

#endif
