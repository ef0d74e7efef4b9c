/* internal.h - shared between the catalog/ source files; not a public API. */
#ifndef DS_CATALOG_INTERNAL_H
#define DS_CATALOG_INTERNAL_H

#include <sqlite3.h>

#include "catalog.h"

#define DS_CATALOG_APP_ID 0x44534341 /* "DSCA" */

/* Prepared lookups. Each reads one table: a compound SELECT (UNION, or an
 * ORDER BY over a subquery) would open an ephemeral table per lookup, whose
 * page cache costs more than the lookup. The local_* tables come first. */
enum {
	ST_IDENT_LOCAL = 0, /* identifier -> drug through the pharmacy's own 对照 */
	ST_IDENT,           /* identifier -> drug */
	ST_LISTS,           /* lists of a drug */
	ST_LISTS_LOCAL,
	ST_POLICY,          /* policies of a scope */
	ST_POLICY_LOCAL,
	ST_RECALL,          /* recalls of an identifier */
	ST_LISTLABEL,       /* label of a list */
	ST_LISTLABEL_LOCAL,
	ST_DRUG,            /* a drug by its key */
	ST_DANGLING,        /* a local mapping whose target is not in the catalog */
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
		unsigned long used; /* the tick of its last use */
		char key[96];    /* "type:value" */
		int found;
		int recalls;     /* the identifier has recall rows: 1, 0, or -1 not looked yet */
		ds_drug drug;
		struct cat_labels *labels; /* the drug's catalog labels, for one language and insurance type */
	} *cache;            /* owned, DRUG_CACHE slots, from calloc(); emptied by cat_cache_clear */
	unsigned long tick;
	ds_label *scratch;
	/* the hashes of every identifier (lookup.c), once lookups miss often: misses are answered without a query */
	uint64_t *idents;        /* open addressing, 0 = empty; NULL until loaded */
	size_t idents_mask;
	int idents_state;        /* 0 not loaded, 1 loaded, -1 not to be (too many, or it failed) */
	unsigned long misses;    /* lookups that found nothing since the cache was emptied */   /* DS_MAX_LABELS labels, where a slot's labels are made (from malloc()) */
	long data_version;
	/* the list's period, read from meta when the data changes */
	int superseded_ymd;      /* YYYYMMDD from which a newer list is in force; 0 = none known */
	char outdated_zh[512];   /* the catalog.outdated texts */
	char outdated_en[512];
	int unannounced_demo;    /* synthetic data nobody asked for (an older drugscan's first run): say so */
	/* which of the pharmacy's own tables have rows: lookups skip the empty ones */
	int local_idents, local_lists, local_members, local_policies;
	/* the first failure a lookup met (fault.c), until the call that met it reports it */
	int fail_rc, fail_sys;
	char fail_msg[160];
};

#define DRUG_CACHE 2048
#define DRUG_WAYS 8

int cat_read_begin(ds_catalog *cat, ds_error *err);
/* Forget every cached drug and its labels (the data changed). */
void cat_cache_clear(ds_catalog *cat);
void cat_read_end(ds_catalog *cat);

int cat_exec(sqlite3 *db, const char *sql, ds_error *err);
int cat_migrate(sqlite3 *db, ds_error *err);
int cat_set_meta(sqlite3 *db, const char *key, const char *value, ds_error *err);
/* A meta value ("" when the key is not there). */
int cat_meta(sqlite3 *db, const char *key, char *out, size_t size, ds_error *err);
/* The one number a query gives; -1 with err set when it fails. */
long cat_count(sqlite3 *db, const char *sql, ds_error *err);

/* ---- fault.c: what went wrong, in words the person can act on ---- */

/* err from a failed SQLite call on db (rc its result code; SQLITE_OK: the
 * connection's last): "catalog 'PATH' is damaged: ...; left untouched",
 * "... is read-only: ...", "...: the disk is full (...)", the file size limit,
 * busy, out of memory, or "...: I/O error (...)". Returns DS_EIO or DS_ENOMEM. */
int cat_sql_error(sqlite3 *db, int rc, ds_error *err);
/* The same for a database that could not be opened at path. */
int cat_path_error(const char *path, sqlite3 *db, int rc, ds_error *err);
/* The same for damage found another way (detail says how). */
int cat_damaged(sqlite3 *db, const char *detail, ds_error *err);
/* sqlite3_step() that keeps the first failure in cat, for cat_failed() to report. */
int cat_step(ds_catalog *cat, sqlite3_stmt *st);
/* A text column: "" (and damage kept) when it is not UTF-8 or holds a NUL. */
const char *cat_text(ds_catalog *cat, sqlite3_stmt *st, int col);
int cat_text_ok(sqlite3_stmt *st, int col);
/* The failure kept since the last report into err (then forgotten); DS_OK when none. */
int cat_failed(ds_catalog *cat, ds_error *err);
/* PRAGMA integrity_check over the whole file: DS_OK, or the damage it finds. */
int cat_verify(sqlite3 *db, ds_error *err);

/* Bundles compiled into the binary (catalog/embed.cmake): the synthetic demo
 * (fixtures/catalog) and the national list (data/nrdl-2025). */
typedef struct demo_file {
	const char *name;
	const unsigned char *data;
	size_t len;
} demo_file;
extern const demo_file ds_demo_files[];
extern const size_t ds_demo_nfiles;
extern const demo_file ds_nrdl_files[];
extern const size_t ds_nrdl_nfiles;

/* ---- import.c: the CSV reader and the rows of each table ---- */

#define MAX_COLS 64

typedef enum table {
	T_UNKNOWN = 0,
	T_META,
	T_DRUGS,
	T_NHSA,
	T_LISTS,
	T_IDENTIFIERS,
	T_MEMBERS,
	T_POLICIES,
	T_RECALLS,
	T_NRDL,       /* data/nrdl-2025/drugs.csv: one row per printed list row */
	T_CIDL,       /* data/nrdl-2025/cidl.csv: the 商保创新药目录 */
	T_CATEGORIES, /* data/nrdl-2025/categories.csv: code, name */
	T_MAPPING,    /* a 对照 file: identifier -> NHSA code or list row (always local) */
	T_NTABLES
} table;

/* column positions of the tables read in more than one file */
enum { D_CODE, D_GENERIC, D_BRAND, D_FORM, D_SPEC, D_MAKER, D_APPROVAL, D_STD, D_NRDL, D_CAT, D_NEG, D_END,
       D_PAY, D_RESTR, D_REMARKS, D_PACK, D_LNAME, D_LFORM, D_NCOLS };
enum { N_CODE, N_REGNAME, N_BRAND, N_REGFORM, N_SPEC, N_MAKER, N_APPROVAL, N_STD, N_NRDL, N_CAT, N_NAME,
       N_FORM, N_REMARKS, N_PACKMAT, N_PACKQTY, N_END, N_PAY, N_PACKUNIT, N_NCOLS };
enum { R_SECTION, R_NO, R_PRIMARY, R_NAME, R_FORM, R_CLASS, R_RESTR, R_PAY, R_PERIOD, R_CATCODE, R_NEW, R_PAGE,
       R_NCOLS };
enum { C_NO, C_NAME, C_BRAND, C_IND, C_MAH, C_AUTH, C_VALID, C_CATCODE, C_PAGE, C_NCOLS };
enum { M_TYPE, M_ID, M_TARGET, M_LEVEL, M_UNITS, M_DEMO, M_NOTE, M_ADDED, M_NCOLS };

typedef struct importer {
	sqlite3 *db;
	const char *file;
	table t;
	int skip_bad;
	int local;               /* lists, members, policies, identifiers go to the local tables */
	ds_import_report *report;
	/* the record being read */
	char *field[MAX_COLS];
	size_t nfield;
	unsigned long line, record_line;
	int in_record;
	/* header: column index of each known name, -1 when absent */
	int col[32];
	char *header[MAX_COLS];
	size_t nheader;
	int header_done;
	sqlite3_stmt *ins, *ins2, *ins3, *exists_drug, *exists_list;
	void *aux;               /* a table's own state (list rows: the ★ counters), freed with free() */
	int fatal;
	ds_error *err;
} importer;

void imp_bad(importer *im, int column, const char *fmt, ...) DS_PRINTF(3, 4);
const char *imp_fld(const importer *im, int idx);
int imp_colno(const importer *im, int idx);
int imp_all_digits(const char *s, size_t n);
int imp_valid_date(const char *s);
int imp_exists(importer *im, sqlite3_stmt *st, const char *key); /* 1 also when the query failed (then fatal) */
int imp_step(importer *im, sqlite3_stmt *st);
void imp_db_fail(importer *im, int rc); /* a failed SQLite call stops the import, its cause named */
long imp_parse_int(const char *s, long dflt, long lo, long hi, int *ok);
int imp_known_ident_type(const char *t);
const char *imp_check_ident(importer *im, const char *type, const char *value, int col, char *out, size_t size);
int imp_parse_category(const char *s, const char **out);
int imp_parse_bool(const char *s);
int imp_parse_number(const char *s, double *out);
void imp_bind_text_or_null(sqlite3_stmt *st, int i, const char *v);

/* import_rows.c: the bundle's tables */
void imp_drug(importer *im);
void imp_nhsa(importer *im);
void imp_identifier(importer *im);
void imp_list(importer *im);
void imp_member(importer *im);
void imp_policy(importer *im);
void imp_recall(importer *im);
void imp_meta(importer *im);

/* import_list.c: the national list's tables, and what an import does after its files */
extern const char *const cat_nrdl_sql[3]; /* insert statements: drugs, members, lists */
void imp_nrdl(importer *im);
void imp_cidl(importer *im);
void imp_category(importer *im);
int cat_after_import(sqlite3 *db, ds_error *err); /* NHSA rows joined to list rows, the search index */

/* mapping.c: the 对照 file and the pharmacy's own tables */
void imp_mapping(importer *im);
int cat_copy_local(sqlite3 *db, const char *old_path, ds_error *err);
/* A target (NHSA code, list-row key, SECTION:NUMBER) to a drug key; 1 found, 0 not, -1 ambiguous. */
int cat_resolve_key(sqlite3 *db, const char *target, char *key, size_t size, char *why, size_t wsize,
                    ds_error *err); /* ... or DS_EIO with err set */

int cat_import_buffer(sqlite3 *db, const char *name, const unsigned char *data, size_t len,
                      const ds_import_opts *opts, ds_import_report *report, ds_error *err);
int cat_clear(sqlite3 *db, ds_error *err);
/* bundle.c: import buffers (names are used in messages) in one transaction */
int cat_import_memory(ds_catalog *cat, const char *const *names, const unsigned char *const *data,
                      const size_t *lens, size_t n, const ds_import_opts *opts, ds_import_report *report,
                      const char *source, ds_error *err);

/* ---- names.c: matching names ---- */

#define CAT_NAME_MAX 384
#define CAT_MAX_KEYS 32

typedef struct cat_name_key {
	char key[CAT_NAME_MAX];
	const char *form; /* the list's dosage form, or the form class of a stripped suffix; NULL unknown */
	int quality;      /* 0: the name itself; 1: an alias, a stacked name or the name without its brackets;
	                     2: the family of a numbered name (布地奈德福莫特罗 for 布地奈德福莫特罗Ⅱ) */
} cat_name_key;

size_t cat_name_norm(char *out, size_t size, const char *in, size_t len);
const char *cat_name_strip_form(char *key);
int cat_form_agrees(const char *qform, const char *row_form);
size_t cat_name_keys(cat_name_key *out, size_t max, const char *name, const char *dosage_form);

/* ---- search.c ---- */
int cat_search_rebuild(sqlite3 *db, ds_error *err);
int cat_resolve_name(ds_catalog *cat, const char *name, char *key, size_t size, ds_search_fn fn, void *ctx,
                     ds_error *err);

/* ---- lookup.c ---- */
int cat_get_drug(ds_catalog *cat, const char *key, ds_drug *d); /* 1 found, 0 not, -1 error */
void cat_drug_labels(ds_catalog *cat, const ds_drug *d, const ds_lookup_opts *o, ds_label *labels, size_t *n,
                     size_t max);
/* The identifier of a parsed code (type and value); 0 when it names none. */
int cat_product_key(const ds_code *c, const char **type, char *value, size_t size);

/* ---- nrdl.c: the list's sections, keys, period and stated totals ---- */
typedef struct cat_section {
	const char *name;     /* as drugs.csv prints it */
	const char *code;     /* in keys: W, Z, NW, NZ, B */
	const char *aliases[4];
	int western;          /* counted with 西药 (1) or 中成药 (0) */
	int negotiated;       /* a 谈判 or 竞价 part */
} cat_section;
const cat_section *cat_section_by_name(const char *name);
const cat_section *cat_section_by_alias(const char *alias);
int cat_load_period(ds_catalog *cat, ds_error *err); /* and which local tables have rows */
int cat_list_info(sqlite3 *db, ds_catalog_info *info, ds_error *err);

#endif
