/*
 * catalog.h - the local SQLite 医保目录 catalog: schema and migrations, CSV
 * import (the bundle of docs/catalog-format.md and NHSA exports with Chinese
 * headers, UTF-8 or GB18030), lookups from a trace code to a drug, the
 * eligibility labels, and updates over HTTPS.
 *
 * Mapping a code to a drug is a table lookup, never arithmetic: the 7-digit
 * 药品标识码 prefix of a 20-digit code, the GTIN of a GS1 code, the EAN-13 of a
 * product barcode. Policies (which lists get which label, ratios per
 * insurance type) are rows of data, not code.
 */
#ifndef DS_CATALOG_H
#define DS_CATALOG_H

#include <stddef.h>

#include "ds_common.h"
#include "trace.h"

#ifdef __cplusplus
extern "C" {
#endif

#define DS_CATALOG_SCHEMA_VERSION 1

typedef struct ds_catalog ds_catalog;

/* Open catalog.db. create = 1 makes an empty, migrated database if missing. A
 * file that is not a drugscan catalog is refused, never overwritten. */
int ds_catalog_open(ds_catalog **out, const char *path, int create, ds_error *err);
void ds_catalog_close(ds_catalog *cat); /* NULL-safe */

/*
 * The data directory: dir if given, else $DRUGSCAN_HOME, else
 * $XDG_DATA_HOME/drugscan, else ~/.local/share/drugscan. Created if missing.
 */
int ds_data_dir(ds_buf *out, const char *dir, ds_error *err);

/* Open <data_dir>/catalog.db, building it from the embedded demo bundle the
 * first time (so drugscan works offline out of the box). */
int ds_catalog_open_default(ds_catalog **out, const char *data_dir, ds_error *err);

/* ---- import ---- */

typedef struct ds_import_opts {
	int replace;   /* drop all catalog data first (same transaction) */
	int skip_bad;  /* import the good rows, report the bad ones */
	int max_errors_listed;
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
 * policies, recalls, meta, or an NHSA export with Chinese headers). With bad
 * rows and no skip_bad nothing changes and DS_EINVAL is returned.
 */
int ds_catalog_import(ds_catalog *cat, const char *const *paths, size_t npaths, const ds_import_opts *opts,
                      ds_import_report *report, ds_error *err);

/* Import the bundle embedded in the binary (the synthetic demo). */
int ds_catalog_import_demo(ds_catalog *cat, ds_error *err);

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
	int negotiated;
	char agreement_end[16];
	char payment_standard[32];
	char restriction[512];
	char remarks[256];
	char lists[DS_MAX_LISTS][48];
	size_t nlists;
	/* from the identifier that matched */
	char matched_by[16];     /* "trace_prefix", "gtin", "ean13", ... */
	int package_level;       /* 1 = the box, 2 = middle pack, 3 = case; 0 unknown */
	int units;               /* units in this package, 0 unknown */
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
 * found is set to 1 with the drug filled when the code maps to one.
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
/* Does the verdict carry an alert label? */
int ds_verdict_has_alert(const ds_verdict *v);
/* The highest label level of the verdict (DS_LEVEL_INFO when none). */
ds_level ds_verdict_level(const ds_verdict *v);
/* The strongest label (the first of the highest level), or NULL when there are none. */
const ds_label *ds_verdict_top(const ds_verdict *v);
/* Does the code name one box (a unit key), not just a product or a batch? */
int ds_verdict_names_box(const ds_verdict *v);

/* ---- information ---- */

typedef struct ds_catalog_info {
	long drugs, listed, negotiated, identifiers, lists, policies, recalls;
	char source[256];
	char version[64];
	char imported_at[32];
	int synthetic;
	int schema_version;
} ds_catalog_info;

int ds_catalog_get_info(ds_catalog *cat, ds_catalog_info *info, ds_error *err);

/* One value of the catalog's metadata ("" when absent). */
int ds_catalog_meta(ds_catalog *cat, const char *key, char *out, size_t size);

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
