/* internal.h - shared between the trace/ source files; not a public API. */
#ifndef DS_TRACE_INTERNAL_H
#define DS_TRACE_INTERNAL_H

#include <stdint.h>

#include "trace.h"

#define DS_GS 0x1D
/* Rewrites may grow the text a little (a Digital Link GTIN-8 padded to 14
 * digits adds 6 per element): room for that beyond the input's length. */
#define DS_SCRATCH_SLACK (6 * DS_TRACE_MAX_ELEMENTS + 64)

/*
 * The working text during a parse. s[0..n) is the current normalised text;
 * for every byte i, ms[i]..me[i] is the span of input bytes it came from, so
 * issues found late still point into the input as received.
 */
typedef struct tctx {
	ds_code *c;
	const ds_trace_opts *opts;
	size_t in_len;
	char *s;
	size_t n;
	size_t cap;      /* bytes s and s2 can hold (without the terminator) */
	uint32_t *ms, *me;
	/* second buffer for rewriting steps */
	char *s2;
	uint32_t *ms2, *me2;
	int oom;
} tctx;

/* trace.c */
void tc_issue(tctx *t, const char *id, ds_severity sev, size_t pos, size_t len, const char *arg);
void tc_span(const tctx *t, size_t i, size_t n, size_t *pos, size_t *len);
void tc_issue_raw(ds_code *c, const char *id, ds_severity sev, size_t pos, size_t len,
                  const char *arg);
const char *tc_strdup(tctx *t, const char *s, size_t n);
void tc_field(tctx *t, const char *name, const char *value, size_t n);
void tc_field_date(tctx *t, const char *name, int ymd);
int tc_is_digits(const char *s, size_t n);
void tc_parse_nmpa20(tctx *t, size_t off, size_t n, int embedded);
int tc_days_between(int ymd_from, int ymd_to);

/* normalize.c */
int tn_prepare(tctx *t, const unsigned char *in, size_t len);
void tn_trim(tctx *t);
void tn_strip_aim(tctx *t);
int tn_gs1_context(tctx *t);
void tn_standins(tctx *t);
void tn_leading_fnc1(tctx *t);
void tn_invert_case(tctx *t, size_t from);
void tn_drop_separators(tctx *t);
void tn_swap(tctx *t, size_t n2);

/* gs1_ai.c */
typedef enum { AIC_N = 0, AIC_X, AIC_Y } aic_type;
typedef enum { LINT_NONE = 0, LINT_CSUM, LINT_YYMMD0, LINT_YYMMDD, LINT_HHMM } aic_lint;

typedef struct ai_comp {
	uint8_t type; /* aic_type */
	uint8_t min, max;
	uint8_t lint; /* aic_lint */
	uint8_t optional;
} ai_comp;

typedef struct ai_def {
	const char *ai;     /* "01", "3103", ... (ranges are expanded by lookup) */
	uint8_t fixed;      /* 1: pre-defined length, no FNC1 needed after it */
	ai_comp comp[3];
	const char *field;  /* name in fields, e.g. "gtin" */
	const char *title;  /* GS1 data title */
	const char *req;    /* comma list of AIs one of which must be present, or NULL */
} ai_def;

/* Find the AI at s[0..n); on success *ai_len is 2, 3 or 4. */
const ai_def *gs1_ai_lookup(const char *s, size_t n, size_t *ai_len);
const ai_def *gs1_ai_find(const char *ai);
size_t gs1_ai_total_max(const ai_def *d);
int gs1_cset82(unsigned char ch);
int gs1_csum_ok(const char *digits, size_t n);
/* YYMMDD with the GS1 century rule; allow_dd00 for yymmd0. Returns YYYYMMDD or 0. */
int gs1_date(const char *s, int today_ymd, int allow_dd00, int *out_day00);

/* gs1.c */
/* Parse an element string at t->s[off..off+n). Returns 1 when it looked like GS1 at all. */
int gs1_parse(tctx *t, size_t off, size_t n, int bracketed);
/* Record and validate one element: AI at s[a..a+alen), value at s[v..v+vlen). */
void gs1_add_element(tctx *t, const ai_def *d, size_t a, size_t alen, size_t v, size_t vlen);
/* Validate a set of (ai, value) elements already in the code (used by Digital Link). */
void gs1_check_elements(tctx *t);
int gs1_looks_like(const tctx *t);
void gs1_fields(tctx *t);

/* ma.c */
int ma_looks_like(const tctx *t, size_t off, size_t n);
void ma_parse(tctx *t, size_t off, size_t n, int embedded);

/* url.c */
int url_looks_like(const tctx *t);
void url_parse(tctx *t);

#endif
