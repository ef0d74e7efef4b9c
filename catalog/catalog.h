/*
 * catalog.h - the local SQLite 医保目录 catalog: schema and migrations, the
 * national list (国家医保药品目录 2025, compiled in from data/nrdl-2025), CSV
 * import (the bundle of docs/catalog-format.md, the list's fact tables, 对照
 * mapping files and NHSA exports with Chinese headers, UTF-8 or GB18030),
 * name search, the pharmacy's own 对照 and policies, lookups from a trace
 * code to a drug, the eligibility labels, and updates over HTTPS.
 *
 * Mapping a code to a drug is a table lookup, never arithmetic: the 7-digit
 * 药品标识码 prefix of a 20-digit code, the GTIN of a GS1 code, the EAN-13 of a
 * product barcode, the DI of an MA code. Policies (which lists get which
 * label, ratios per insurance type) are rows of data, not code.
 */
#ifndef DS_CATALOG_H
#define DS_CATALOG_H

#include <stddef.h>
#include <stdio.h>

#include "ds_common.h"
#include "trace.h"

#ifdef __cplusplus
extern "C" {
#endif

#define DS_CATALOG_SCHEMA_VERSION 2

typedef struct ds_catalog ds_catalog;

/* Open catalog.db. create = 1 makes an empty, migrated database if missing. A
 * file that is not a drugscan catalog is refused, never overwritten. */
int ds_catalog_open(ds_catalog **out, const char *path, int create, ds_error *err);
void ds_catalog_close(ds_catalog *cat); /* NULL-safe */
/* Lookups share a read transaction for up to 0.2 s (or 512 lookups); while it
 * is open, no other process can write catalog.db (`catalog map`, an import).
 * A long-lived caller ends it when the connection goes idle: the next lookup
 * starts a new one. NULL-safe. */
void ds_catalog_rest(ds_catalog *cat);

/*
 * The data directory: dir if given, else $DRUGSCAN_HOME, else
 * $XDG_DATA_HOME/drugscan, else ~/.local/share/drugscan. Created if missing
 * when create is 1 (the commands that write a file there); a command that only
 * reads leaves the file system as it is.
 */
int ds_data_dir(ds_buf *out, const char *dir, int create, ds_error *err);

/*
 * Open <data_dir>/catalog.db. The first time, it is built from the national
 * list compiled into drugscan (so drugscan works offline out of the box), or,
 * when $DRUGSCAN_CATALOG_SEED is "demo", from the synthetic demo bundle (for
 * `make demo` and the tests only; it says so in `catalog info`). A catalog
 * built from an older compiled-in list is rebuilt from the newer one, keeping
 * the pharmacy's own 对照 and policies.
 */
int ds_catalog_open_default(ds_catalog **out, const char *data_dir, ds_error *err);

/* ---- import ---- */

typedef struct ds_import_opts {
	int replace;   /* drop the national data first (same transaction); local 对照 and policies stay */
	int skip_bad;  /* import the good rows, report the bad ones */
	int max_errors_listed;
	int local;     /* lists, list_members, policies and identifiers are the pharmacy's own (local_*) */
} ds_import_opts;

typedef struct ds_import_report {
	long rows;      /* rows imported */
	long bad;       /* rows rejected */
	long files;
	ds_buf errors;  /* one line per problem: "FILE:LINE:COLUMN: message" */
} ds_import_report;

void ds_import_report_free(ds_import_report *r);

/*
 * Import bundle directories and/or CSV files in one transaction. A file is
 * recognised by its header row (drugs, identifiers, lists, list_members,
 * policies, recalls, meta, the list's rows, cidl and categories, a 对照
 * mapping, or an NHSA export with Chinese headers). With bad rows and no
 * skip_bad nothing changes and DS_EINVAL is returned. Afterwards NHSA export
 * rows are joined to the list rows (by 编号 and name) and the search index is
 * rebuilt.
 */
int ds_catalog_import(ds_catalog *cat, const char *const *paths, size_t npaths, const ds_import_opts *opts,
                      ds_import_report *report, ds_error *err);

/* Import the bundle embedded in the binary (the synthetic demo). */
int ds_catalog_import_demo(ds_catalog *cat, ds_error *err);

/* Import the national list embedded in the binary (data/nrdl-2025), instead
 * of the national data there (local 对照 and policies stay). */
int ds_catalog_import_nrdl(ds_catalog *cat, ds_error *err);

/* The version of the compiled-in national list, e.g. "nrdl-2025". */
const char *ds_catalog_builtin_version(void);

/* ---- lookup and labels ---- */

typedef enum ds_insurance { DS_INS_ANY = 0, DS_INS_EMPLOYEE, DS_INS_RESIDENT } ds_insurance;

#define DS_MAX_LISTS 16

typedef struct ds_drug {
	char nhsa_code[64];
	char generic_name[192];
	char brand_name[128];
	char dosage_form[64];
	char spec[128];
	char pack[96];
	char manufacturer[192];
	char approval_no[64];
	char standard_code[32];
	char nrdl_no[32];
	char category[2];        /* "A", "B" or "" */
	int negotiated;          /* 谈判 or 竞价 */
	char agreement_end[16];
	char payment_standard[320]; /* as the list prints it; "*" = confidential */
	char restriction[2304];  /* 备注 / 限定支付范围, verbatim */
	char remarks[1024];
	char lists[DS_MAX_LISTS][48];
	size_t nlists;
	/* the national list's row (empty for a drug that is not from the list) */
	char section[48];        /* "西药部分", "中成药部分", "协议期内谈判药品部分-西药", ... */
	char list_no[16];        /* the number as printed: "693", "★(693)" */
	char list_key[32];       /* the row's key, NRDL2025-W-0693 (a product joined to a row: that row's) */
	char agreement_period[64]; /* as printed: "2026年1月1日至2027年12月31日" */
	char category_code[16];  /* the heading the row sits under, e.g. XJ01DD */
	/* from the identifier that matched */
	char matched_by[16];     /* "trace_prefix", "gtin", "ean13", ... */
	int package_level;       /* 1 = the box, 2 = middle pack, 3 = case; 0 unknown */
	int units;               /* units in this package, 0 unknown */
	int local_mapping;       /* matched through the pharmacy's own 对照 */
	int demo_mapping;        /* ... one marked as demo data (catalog.demo_mapping) */
} ds_drug;

typedef struct ds_lookup_opts {
	ds_insurance insurance;
	ds_lang lang;
	const ds_trace_opts *trace; /* for the verdict's code-level labels; NULL = defaults */
} ds_lookup_opts;

/* "employee", "resident" or NULL (any). DS_EINVAL for another name. */
int ds_insurance_parse(ds_insurance *out, const char *name);

/*
 * Find the drug for a parsed code and append the catalog labels to labels[]
 * (which already holds *nlabels code-level labels; max is its size).
 * found is set to 1 with the drug filled when the code maps to one. From the
 * date a newer list is in force (opts->trace->today_ymd, else today), every
 * lookup adds catalog.outdated.
 */
int ds_catalog_lookup(ds_catalog *cat, const ds_code *code, const ds_lookup_opts *opts, ds_drug *drug,
                      int *found, ds_label *labels, size_t *nlabels, size_t max, ds_error *err);

/* ---- the verdict on one code (verdict.c) ---- */

#define DS_MAX_LABELS 32

typedef struct ds_verdict {
	const ds_code *code;
	const ds_drug *drug;           /* NULL when the code maps to no drug; points into the verdict */
	ds_label labels[DS_MAX_LABELS]; /* trace labels, then catalog labels (then the ledger's) */
	size_t nlabels;
	int catalog;                   /* 1: judged against a catalog; 0: trace labels only */
	int failed;                    /* 1: the catalog lookup failed (catalog.error label) */
	ds_unit_key unit;              /* the pack's identity; unit.key is "" when none */
	/* private: storage for drug; a verdict is not copied by value */
	ds_drug drug_;
} ds_verdict;

/*
 * The one verdict call: the trace parser's code-level labels, the unit key,
 * then (with a catalog) the drug and its eligibility labels. cat may be NULL:
 * the "no catalog" mode gives the trace labels only and sets catalog = 0.
 * When the lookup fails (a damaged or unreadable catalog) the verdict holds
 * the trace labels plus a catalog.error warning, failed = 1, and the error is
 * returned: callers must tell the user, never show a silent "no drug".
 */
int ds_catalog_judge(ds_catalog *cat, const ds_code *code, const ds_lookup_opts *opts, ds_verdict *out,
                     ds_error *err);
/* The catalog could not be asked (why: a damaged or unreadable catalog, also
 * one that could not be opened): the verdict gets a catalog.error warning and
 * failed = 1, so that no answer passes for "no drug". */
void ds_verdict_catalog_error(ds_verdict *v, const char *why, ds_lang lang);
/* Does the verdict carry an alert label? */
int ds_verdict_has_alert(const ds_verdict *v);
/* The highest label level of the verdict (DS_LEVEL_INFO when none). */
ds_level ds_verdict_level(const ds_verdict *v);
/* The strongest label (the first of the highest level), or NULL when there are none. */
const ds_label *ds_verdict_top(const ds_verdict *v);
/* Does the code name one box (a unit key), not just a product or a batch? */
int ds_verdict_names_box(const ds_verdict *v);

/* Is the catalog's list past its period on this date (YYYYMMDD; 0 = today)? */
int ds_catalog_outdated(ds_catalog *cat, int today_ymd);

/* ---- name search (search.c) ---- */

typedef struct ds_search_hit {
	const ds_drug *drug;     /* the list row, with its lists */
	int rank;                /* 0 the name itself, 1 an alias or stacked name, 2 the row's name inside
	                            the text (a salt: 阿托伐他汀钙片), 3 the text inside the row's name */
	int form_match;          /* the text's dosage form (片, 注射液, ...) is the row's */
	int new_2025;            /* one of the 2025 additions (a derived flag: docs/catalog-format.md) */
	int commercial;          /* 商保创新药目录: not paid by basic insurance */
	const char *category_name; /* the heading the row sits under, "" when unknown */
	const ds_label *labels;  /* the labels a code of this drug gets (insurance and language of opts) */
	size_t nlabels;
} ds_search_hit;

/* Return non-zero to stop. The hit and what it points to live during the call only. */
typedef int (*ds_search_fn)(void *ctx, const ds_search_hit *hit);

/*
 * Search the list's rows by name. Matching ignores full-width/half-width,
 * Roman numeral forms (Ⅱ/II), brackets and a dosage-form suffix (片,
 * 胶囊, 注射液, ...); exact names rank first, then names agreeing in form.
 * fn gets at most limit hits (0: 20) in rank order; *total (may be NULL) is
 * the number of rows that match. FTS5 trigram for 3 or more characters,
 * LIKE for fewer. DS_EINVAL when text has nothing to search for.
 */
int ds_catalog_search(ds_catalog *cat, const char *text, const ds_lookup_opts *opts, size_t limit,
                      ds_search_fn fn, void *ctx, size_t *total, ds_error *err);

/* ---- 对照: the pharmacy's own mapping of codes to drugs (mapping.c) ---- */

typedef struct ds_mapping {
	char type[16];           /* trace_prefix, gtin, ean13, ma_di */
	char value[64];
	char target[64];         /* an NHSA drug code or a list-row key (NRDL2025-W-0693) */
	int package_level;
	int units;
	int demo;                /* a demo mapping: made-up, says so on every code */
	char note[256];
	char added_at[32];
	int resolved;            /* the target is in the catalog now; then: */
	char name[192];
	char section[48];
	char list_no[16];
} ds_mapping;

typedef struct ds_map_opts {
	int package_level;       /* 0 = 1 (the box) */
	int units;
	int demo;
	const char *note;
} ds_map_opts;

/* The identifier a code names: a whole trace code (20-digit, GS1, MA, URL), a
 * 7-digit prefix, a GTIN/EAN-13 or an MA DI. DS_EINVAL when it names none. */
int ds_catalog_identifier(char *type, size_t tsize, char *value, size_t vsize, const char *code, ds_error *err);

/*
 * A target to the key of a drug: an NHSA drug code, a list-row key, a
 * SECTION:NUMBER (W:693, 西药:693, Z:★(14), C:3) or a name, resolved by
 * search. A name whose best matches are several rows is refused (DS_EINVAL)
 * and each candidate goes to fn; DS_ENOTFOUND when nothing matches.
 */
int ds_catalog_resolve(ds_catalog *cat, const char *target, char *key, size_t size, ds_search_fn fn, void *ctx,
                       ds_error *err);

/* Map code (see ds_catalog_identifier) to target (see ds_catalog_resolve) in
 * the local table, replacing its earlier mapping; out (may be NULL) gets it. */
int ds_catalog_map(ds_catalog *cat, const char *code, const char *target, const ds_map_opts *opts,
                   ds_mapping *out, ds_search_fn candidates, void *ctx, ds_error *err);
/* Remove the local mapping of code; *removed says whether there was one. */
int ds_catalog_unmap(ds_catalog *cat, const char *code, int *removed, ds_error *err);
/* The local mapping of code; *found 0 when none. */
int ds_catalog_get_mapping(ds_catalog *cat, const char *code, ds_mapping *out, int *found, ds_error *err);

/* Call fn for each local mapping, by type and identifier; a non-zero return
 * stops the walk and is returned. */
typedef int (*ds_mapping_fn)(void *ctx, const ds_mapping *m);
int ds_catalog_each_mapping(ds_catalog *cat, ds_mapping_fn fn, void *ctx, ds_error *err);
/* The local mappings as a mapping CSV (docs/catalog-format.md) that imports
 * back to the same rows. */
int ds_catalog_export_map(ds_catalog *cat, FILE *out, ds_error *err);

/* ---- information ---- */

/* A figure the list states, and what the catalog holds. */
typedef struct ds_list_check {
	const char *id;          /* "western", "section_w", ... (static) */
	const char *name_zh, *name_en;
	long rows;               /* rows printed (★ rows included); -1 when not counted */
	long actual;             /* numbers (or rows, for cidl and new_2025) in the catalog */
	long stated;             /* the list's own figure; -1 when it states none */
	int ok;                  /* stated < 0 or stated == actual */
} ds_list_check;

#define DS_MAX_LIST_CHECKS 16

typedef struct ds_catalog_info {
	long drugs, listed, negotiated, identifiers, lists, policies, recalls;
	char source[512];
	char version[64];
	char imported_at[32];
	int synthetic;
	int schema_version;
	/* the national list, when the catalog holds one */
	char list_name[192], list_name_en[192], list_document[64];
	char list_valid_from[16], list_superseded_from[16];
	char credit[512];
	long list_rows;          /* 0: no national list */
	ds_list_check checks[DS_MAX_LIST_CHECKS];
	size_t nchecks;
	int checks_ok;
	/* the pharmacy's own data */
	long local_mappings, local_demo_mappings, local_unresolved, local_lists, local_policies;
} ds_catalog_info;

int ds_catalog_get_info(ds_catalog *cat, ds_catalog_info *info, ds_error *err);

/* One value of the catalog's metadata ("" when absent). */
int ds_catalog_meta(ds_catalog *cat, const char *key, char *out, size_t size, ds_error *err);

/* Call fn for each list: id, names, source, label id and member count. */
typedef int (*ds_list_fn)(void *ctx, const char *id, const char *name_zh, const char *name_en,
                          const char *source, const char *label_id, long members);
int ds_catalog_each_list(ds_catalog *cat, ds_list_fn fn, void *ctx, ds_error *err);

/* ---- update over HTTPS (update.c) ---- */

typedef struct ds_update_opts {
	const char *url;         /* the manifest; https://, or http:// to a loopback address */
	long timeout_s;          /* whole transfer; default 60 */
	long connect_timeout_s;  /* default 10 */
	long long max_bytes;     /* per file; default 512 MB */
	int progress;            /* print progress to stderr */
	const char *ca_file;     /* extra CA bundle (tests); NULL = system */
} ds_update_opts;

typedef struct ds_update_result {
	int not_modified;        /* the server said 304: nothing changed */
	char version[64];
	long files;
	long long bytes;
} ds_update_result;

/*
 * Fetch the manifest and its files, check every sha256, import them into a
 * new database next to db_path and rename it over db_path. On any failure
 * the old catalog is left exactly as it was.
 */
int ds_catalog_update(const char *db_path, const ds_update_opts *opts, ds_update_result *res, ds_error *err);

#ifdef __cplusplus
}
#endif

#endif
