/*
 * trace.h - parse and validate drug trace-code payloads (pure C, no I/O).
 *
 * A payload is the bytes a decoder, a camera or a USB handheld scanner gave
 * us, plus the symbology and AIM identifier when they are known. The parser
 * normalises what people and scanners really send (whitespace, full-width
 * characters, FNC1 stand-ins, AIM prefixes, Caps Lock), recognises the code
 * family and splits it into fields, and records every problem and every
 * change it made as an issue with a byte position in the input.
 *
 * Families: the 20-digit NMPA code (码上放心), GS1 element strings (GS1-128,
 * GS1 DataMatrix, GS1 QR, bracketed HRI), MA codes (MA.156.…), URLs (GS1
 * Digital Link, or a URL carrying a 20-digit code) and EAN/UPC product
 * barcodes, which are recognised as *not* trace codes.
 *
 * The 4 check characters of a 20-digit code have no public algorithm; this
 * module never claims to verify them.
 */
#ifndef DS_TRACE_H
#define DS_TRACE_H

#include <stddef.h>

#include "ds_common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Longest payload accepted (bytes). Longer input gets the input.too_long issue. */
#define DS_TRACE_MAX_INPUT 8192
#define DS_TRACE_MAX_ISSUES 24
#define DS_TRACE_MAX_FIELDS 40
#define DS_TRACE_MAX_ELEMENTS 32

typedef enum ds_kind {
	DS_KIND_UNKNOWN = 0,
	DS_KIND_NMPA20,          /* "nmpa20" */
	DS_KIND_GS1,             /* "gs1" */
	DS_KIND_MA,              /* "ma" */
	DS_KIND_URL,             /* "url" */
	DS_KIND_PRODUCT_BARCODE  /* "product-barcode": EAN-13/EAN-8/UPC-A, not a trace code */
} ds_kind;

typedef enum ds_lang { DS_LANG_ZH = 0, DS_LANG_EN = 1 } ds_lang;

/* Severity of a parse issue. Any DS_SEV_ERROR makes the code invalid. */
typedef enum ds_severity { DS_SEV_INFO = 0, DS_SEV_WARN, DS_SEV_ERROR } ds_severity;

/* Severity of a label shown to the user (DESIGN.md "Labels"). */
typedef enum ds_level { DS_LEVEL_INFO = 0, DS_LEVEL_WARN, DS_LEVEL_ALERT } ds_level;

typedef struct ds_issue {
	const char *id;       /* static string, e.g. "gs1.check_digit" */
	ds_severity severity;
	size_t pos;           /* byte offset in the input as received */
	size_t len;           /* bytes covered in the input, >= 1 unless the input is empty */
	char arg[48];         /* detail for the message (an AI, a value), may be "" */
} ds_issue;

typedef struct ds_field {
	const char *name;  /* static string, e.g. "product_code" */
	const char *value; /* points into the code's arena */
} ds_field;

/* One GS1 element string: AI and raw value (dates stay as YYMMDD here). */
typedef struct ds_gs1_element {
	char ai[5];
	const char *value; /* points into the code's arena */
	size_t pos;        /* of the AI in the input */
	size_t len;        /* AI plus value, in the input */
} ds_gs1_element;

typedef struct ds_code {
	ds_kind kind;
	int valid;               /* 1: a well-formed trace code (no error issue) */
	const char *text;        /* normalised payload: no AIM prefix, FNC1 = 0x1D, no leading FNC1 */
	size_t text_len;
	char symbology[24];      /* as given, or inferred ("" when unknown) */
	char aim[4];             /* "]C1", ... as given or found in the payload; "" when unknown */
	int expiry_ymd;          /* YYYYMMDD from GS1 (17) or MA (.E/.V); 0 when none */
	size_t nfields;
	ds_field fields[DS_TRACE_MAX_FIELDS];
	size_t nelements;        /* GS1 elements (also for Digital Link URLs) */
	ds_gs1_element elements[DS_TRACE_MAX_ELEMENTS];
	size_t nissues;
	ds_issue issues[DS_TRACE_MAX_ISSUES];

	/* private: storage the pointers above point into; reused across parses */
	char *arena_;            /* owned, from malloc() */
	size_t arena_len_, arena_cap_;
	void *scratch_;          /* owned, from malloc() */
	size_t scratch_cap_;
} ds_code;

typedef struct ds_trace_opts {
	int today_ymd;     /* reference date YYYYMMDD for the GS1 century rule and expiry; 0 = none */
	int expiring_days; /* trace.expiring when expiry is within this many days; default 90 */
	int exact;         /* the payload came from a decoder: keep its bytes exactly, apply none of
	                      the normalisation meant for typed input (whitespace, full-width,
	                      separators, stand-ins, Caps Lock, AIM prefixes) */
} ds_trace_opts;

/* Prepare a ds_code for use. A zeroed struct is also a valid initial state. */
void ds_code_init(ds_code *code);

/* Release what the code owns. NULL-safe; the code may be reused after init. */
void ds_code_free(ds_code *code);

/*
 * Parse one payload into out (previous contents are replaced; its storage is
 * reused). symbology and aim are optional hints from the decoder (NULL or
 * ""): symbology names as in DESIGN.md ("code128", "gs1-datamatrix", ...),
 * aim as "]C1". Bad input (invalid UTF-8, control bytes, too long) is not an
 * error of the call: it yields kind unknown with an issue. Returns 0, or
 * DS_ENOMEM.
 */
int ds_trace_parse(ds_code *out, const void *data, size_t len, const char *symbology,
                   const char *aim, const ds_trace_opts *opts);

/* Field lookup by name; NULL when absent. */
const char *ds_code_field(const ds_code *code, const char *name);

/* Does the code carry an issue with this id? */
int ds_code_has_issue(const ds_code *code, const char *id);

const char *ds_kind_name(ds_kind kind);
const char *ds_severity_name(ds_severity sev);
const char *ds_level_name(ds_level level);

/* Human message for an issue, written into buf (always terminated). Returns buf. */
const char *ds_issue_message(const ds_issue *issue, ds_lang lang, char *buf, size_t size);

/*
 * Code-level labels (DESIGN.md "Labels"): code.invalid, code.product_barcode,
 * code.gs1_check_failed, code.bad_date, trace.expired, trace.expiring.
 * Catalog and ledger labels are added by those modules.
 */
typedef struct ds_label {
	const char *id;    /* static string */
	ds_level level;
	char text[2560];   /* in the requested language (a list's 备注 may run to 2,200 bytes) */
	double ratio;      /* a reimbursement ratio (0.95) for the chosen insurance; <= 0 = none */
} ds_label;

size_t ds_trace_labels(ds_label *out, size_t max, const ds_code *code, const ds_trace_opts *opts,
                       ds_lang lang);

/* Short one-line summary of what the code is, e.g. "20位药品追溯码（码上放心）". */
const char *ds_code_summary(const ds_code *code, ds_lang lang);

/*
 * GS1 formatting: write the code's elements as an element string (0x1D after
 * every variable-length element that is not last) or, with bracketed = 1, as
 * "(01)...(17)...". Returns DS_OK, DS_EINVAL when the code has no elements, or
 * DS_ENOMEM.
 */
int ds_gs1_format(ds_buf *out, const ds_code *code, int bracketed);

/*
 * The unit key: the identity of one physical pack, the same whichever carrier
 * brought it. 20 digits for an NMPA code (also inside a URL), "01" GTIN "21"
 * serial for GS1 (element string, DataMatrix, bracketed, Digital Link), and
 * DI ".S" serial for an MA code. A code without one (a product barcode, a GS1
 * code without a serial, an invalid code) names a product, not a pack.
 * Returns 1 with out filled, or 0 (out->key is then "").
 */
#define DS_UNIT_KEY_MAX 128

typedef struct ds_unit_key {
	char key[DS_UNIT_KEY_MAX];
	const char *product; /* trace prefix / GTIN / MA DI: points into the code */
	const char *serial;  /* points into the code */
} ds_unit_key;

int ds_code_unit_key(const ds_code *code, ds_unit_key *out);

/*
 * The GS1 mod-10 check digit (0-9) of the n data digits at digits[0..n),
 * without the check digit itself: GTIN-8/12/13/14 (EAN/UPC), SSCC, GLN. -1
 * when n is 0 or a byte is not an ASCII digit. The one implementation; the
 * parser and the catalog import both use it.
 */
int ds_gs1_check_digit(const char *digits, size_t n);

/* Fill opts with defaults (today from the clock or $DRUGSCAN_TODAY, 90 days). */
void ds_trace_opts_default(ds_trace_opts *opts);

#ifdef __cplusplus
}
#endif

#endif
