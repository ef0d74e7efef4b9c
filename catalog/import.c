/*
 * import.c - CSV into catalog.db, all or nothing.
 *
 * Files are parsed with libcsv (quoted fields, embedded commas and newlines),
 * after conversion to UTF-8 (a BOM is dropped; GB18030/GBK goes through
 * iconv). A file is recognised by its header row, so names do not matter:
 * the bundle of docs/catalog-format.md, or an NHSA drug-code export with its
 * Chinese headers. Every bad field is reported as FILE:LINE:COLUMN.
 */
#include <csv.h>
#include <errno.h>
#include <iconv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"

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
	T_RECALLS
} table;


typedef struct importer {
	sqlite3 *db;
	const char *file;
	table t;
	int skip_bad;
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
	sqlite3_stmt *ins, *ins2, *exists_drug, *exists_list;
	int fatal;
	ds_error *err;
} importer;

/* ---- column names per table ---- */

typedef struct colspec {
	const char *names[4]; /* accepted header names */
} colspec;

static const colspec drugs_cols[] = {
	{{"nhsa_code"}}, {{"generic_name"}}, {{"brand_name"}}, {{"dosage_form"}}, {{"spec"}}, {{"manufacturer"}},
	{{"approval_no"}}, {{"standard_code"}}, {{"nrdl_no"}}, {{"category"}}, {{"negotiated"}}, {{"agreement_end"}},
	{{"payment_standard"}}, {{"restriction"}}, {{"remarks"}}, {{"pack"}},
};
enum { D_CODE, D_GENERIC, D_BRAND, D_FORM, D_SPEC, D_MAKER, D_APPROVAL, D_STD, D_NRDL, D_CAT, D_NEG, D_END,
       D_PAY, D_RESTR, D_REMARKS, D_PACK, D_NCOLS };

/* NHSA drug-code export (医保药品分类与代码) headers */
static const colspec nhsa_cols[] = {
	{{"药品代码", "医保药品代码", "国家医保药品代码"}}, {{"注册名称", "通用名", "药品通用名"}}, {{"商品名称", "商品名"}},
	{{"注册剂型"}}, {{"注册规格", "规格"}}, {{"药品企业", "生产企业", "上市许可持有人"}}, {{"批准文号"}},
	{{"药品本位码", "本位码"}}, {{"编号", "目录编号"}}, {{"甲乙类", "医保类别"}}, {{"药品名称"}}, {{"剂型"}},
	{{"备注", "限定支付范围"}}, {{"包装材质"}}, {{"最小包装数量"}}, {{"协议有效期", "协议期"}},
	{{"医保支付标准", "支付标准"}}, {{"最小包装单位"}},
};
enum { N_CODE, N_REGNAME, N_BRAND, N_REGFORM, N_SPEC, N_MAKER, N_APPROVAL, N_STD, N_NRDL, N_CAT, N_NAME,
       N_FORM, N_REMARKS, N_PACKMAT, N_PACKQTY, N_END, N_PAY, N_PACKUNIT, N_NCOLS };

static const colspec ident_cols[] = {{{"type"}}, {{"value"}}, {{"nhsa_code"}}, {{"package_level"}}, {{"units"}}};
static const colspec list_cols[] = {{{"list_id"}}, {{"name_zh"}}, {{"name_en"}}, {{"source"}}, {{"label_id"}}, {{"severity"}}};
static const colspec member_cols[] = {{{"list_id"}}, {{"nhsa_code"}}};
static const colspec policy_cols[] = {{{"scope"}}, {{"insurance"}}, {{"setting"}}, {{"label_id"}}, {{"ratio"}},
                                      {{"text_zh"}}, {{"text_en"}}};
static const colspec recall_cols[] = {{{"type"}}, {{"value"}}, {{"batch"}}, {{"reason"}}, {{"date"}}};
static const colspec meta_cols[] = {{{"key"}}, {{"value"}}};

typedef struct tabledef {
	const colspec *cols;
	size_t ncols;
	const char *required[3]; /* header names that identify the table */
} tabledef;

static const tabledef tables[] = {
	[T_META] = {meta_cols, 2, {"key", "value", NULL}},
	[T_DRUGS] = {drugs_cols, D_NCOLS, {"nhsa_code", "generic_name", NULL}},
	[T_NHSA] = {nhsa_cols, N_NCOLS, {"药品代码", NULL, NULL}},
	[T_LISTS] = {list_cols, 6, {"list_id", "name_zh", NULL}},
	[T_IDENTIFIERS] = {ident_cols, 5, {"type", "value", "nhsa_code"}},
	[T_MEMBERS] = {member_cols, 2, {"list_id", "nhsa_code", NULL}},
	[T_POLICIES] = {policy_cols, 7, {"scope", "label_id", NULL}},
	[T_RECALLS] = {recall_cols, 5, {"type", "value", "batch"}},
};

/* ---- reporting ---- */

static void bad(importer *im, int column, const char *fmt, ...) DS_PRINTF(3, 4);

static void bad(importer *im, int column, const char *fmt, ...)
{
	va_list ap;
	char msg[256];

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	im->report->bad++;
	if (im->report->bad <= 200) {
		if (column > 0)
			ds_buf_printf(&im->report->errors, "%s:%lu:%d: %s\n", im->file, im->record_line, column, msg);
		else
			ds_buf_printf(&im->report->errors, "%s:%lu: %s\n", im->file, im->record_line, msg);
	}
}

/* ---- encoding ---- */

/* The buffer as UTF-8: BOM dropped, GB18030 converted. *out is malloc'd. */
static int to_utf8(const char *file, const unsigned char *in, size_t len, char **out, size_t *outlen, ds_error *err)
{
	iconv_t cd;
	char *src, *dst, *buf;
	size_t left, room, cap;

	if (len >= 3 && in[0] == 0xEF && in[1] == 0xBB && in[2] == 0xBF) {
		in += 3;
		len -= 3;
	}
	if (ds_utf8_check(in, len) == len) {
		buf = malloc(len + 1);
		if (!buf)
			return ds_error_set(err, DS_ENOMEM, "out of memory");
		memcpy(buf, in, len);
		buf[len] = '\0';
		*out = buf;
		*outlen = len;
		return DS_OK;
	}
	cd = iconv_open("UTF-8", "GB18030");
	if (cd == (iconv_t)-1)
		return ds_error_set(err, DS_EIO, "%s: cannot convert from GB18030: %s", file, strerror(errno));
	cap = len * 2 + 16;
	buf = malloc(cap);
	if (!buf) {
		iconv_close(cd);
		return ds_error_set(err, DS_ENOMEM, "out of memory");
	}
	src = (char *)(uintptr_t)in;
	left = len;
	dst = buf;
	room = cap - 1;
	if (iconv(cd, &src, &left, &dst, &room) == (size_t)-1) {
		size_t at = len - left;
		iconv_close(cd);
		free(buf);
		return ds_error_set(err, DS_EINVAL, "%s: byte %zu is neither UTF-8 nor GB18030 text", file, at);
	}
	iconv_close(cd);
	*dst = '\0';
	*out = buf;
	*outlen = (size_t)(dst - buf);
	return DS_OK;
}

/* ---- field helpers ---- */

static const char *fld(const importer *im, int idx)
{
	int c = im->col[idx];
	return c >= 0 && (size_t)c < im->nfield && im->field[c] ? im->field[c] : "";
}

static int colno(const importer *im, int idx)
{
	return im->col[idx] + 1;
}

static int all_digits(const char *s, size_t n)
{
	size_t i;

	if (strlen(s) != n)
		return 0;
	for (i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return 1;
}

static int csum_ok(const char *d)
{
	size_t n = strlen(d);
	int c = n >= 2 ? ds_gs1_check_digit(d, n - 1) : -1;

	return c >= 0 && c == d[n - 1] - '0';
}

static int valid_date(const char *s)
{
	int ymd;

	return ds_date_parse(&ymd, s) == DS_OK && ymd >= 19000101 && ymd <= 22001231;
}

/* "甲", "甲类", "A" -> "A"; "乙"... -> "B"; "" -> NULL; else -1 */
static int parse_category(const char *s, const char **out)
{
	if (!*s) {
		*out = NULL;
		return 0;
	}
	if (!strcmp(s, "甲") || !strcmp(s, "甲类") || !strcmp(s, "A") || !strcmp(s, "a")) {
		*out = "A";
		return 0;
	}
	if (!strcmp(s, "乙") || !strcmp(s, "乙类") || !strcmp(s, "B") || !strcmp(s, "b")) {
		*out = "B";
		return 0;
	}
	return -1;
}

static int parse_bool(const char *s)
{
	if (!*s || !strcmp(s, "0") || !strcmp(s, "否") || !strcasecmp(s, "false") || !strcasecmp(s, "no"))
		return 0;
	if (!strcmp(s, "1") || !strcmp(s, "是") || !strcasecmp(s, "true") || !strcasecmp(s, "yes"))
		return 1;
	return -1;
}

static int parse_number(const char *s, double *out)
{
	char *end;

	if (!*s)
		return 0;
	errno = 0;
	*out = strtod(s, &end);
	return errno || *end ? -1 : 1;
}

static int exists(sqlite3_stmt *st, const char *key)
{
	int found;

	sqlite3_reset(st);
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	found = sqlite3_step(st) == SQLITE_ROW;
	sqlite3_reset(st);
	return found;
}

static void bind_text_or_null(sqlite3_stmt *st, int i, const char *v)
{
	if (v)
		sqlite3_bind_text(st, i, v, -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(st, i);
}

static int step(importer *im, sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);

	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		ds_error_set(im->err, DS_ERR, "%s:%lu: catalog database: %s", im->file, im->record_line,
		             sqlite3_errmsg(im->db));
		im->fatal = 1;
		return -1;
	}
	im->report->rows++;
	return 0;
}

/* ---- one row per table ---- */

static void row_drug(importer *im, const char *const v[D_NCOLS], const int c[D_NCOLS])
{
	const char *cat = NULL;
	int neg = parse_bool(v[D_NEG]), i;
	double pay;
	sqlite3_stmt *st = im->ins;

	if (!v[D_CODE][0])
		return bad(im, c[D_CODE], "nhsa_code is empty");
	if (parse_category(v[D_CAT], &cat) < 0)
		return bad(im, c[D_CAT], "category '%s' is not 甲/乙/A/B or empty", v[D_CAT]);
	if (neg < 0)
		return bad(im, c[D_NEG], "negotiated '%s' is not 0 or 1", v[D_NEG]);
	if (v[D_END][0] && !valid_date(v[D_END]))
		return bad(im, c[D_END], "agreement_end '%s' is not a YYYY-MM-DD date", v[D_END]);
	if (parse_number(v[D_PAY], &pay) < 0)
		return bad(im, c[D_PAY], "payment_standard '%s' is not a number", v[D_PAY]);
	for (i = 0; i < D_NCOLS; i++)
		if (i != D_CAT && i != D_NEG)
			sqlite3_bind_text(st, i + 1, v[i], -1, SQLITE_TRANSIENT);
	bind_text_or_null(st, D_CAT + 1, cat);
	sqlite3_bind_int(st, D_NEG + 1, neg);
	step(im, st);
}

static void import_drug(importer *im)
{
	const char *v[D_NCOLS];
	int c[D_NCOLS], i;

	for (i = 0; i < D_NCOLS; i++) {
		v[i] = fld(im, i);
		c[i] = colno(im, i);
	}
	row_drug(im, v, c);
}

static void import_nhsa(importer *im)
{
	const char *v[D_NCOLS];
	int c[D_NCOLS], i;
	const char *remarks = fld(im, N_REMARKS);
	char pack[192];
	long units = 0;

	for (i = 0; i < D_NCOLS; i++) {
		v[i] = "";
		c[i] = 0;
	}
	v[D_CODE] = fld(im, N_CODE), c[D_CODE] = colno(im, N_CODE);
	v[D_GENERIC] = fld(im, N_REGNAME)[0] ? fld(im, N_REGNAME) : fld(im, N_NAME);
	v[D_BRAND] = fld(im, N_BRAND);
	v[D_FORM] = fld(im, N_REGFORM)[0] ? fld(im, N_REGFORM) : fld(im, N_FORM);
	v[D_SPEC] = fld(im, N_SPEC);
	v[D_MAKER] = fld(im, N_MAKER);
	v[D_APPROVAL] = fld(im, N_APPROVAL);
	v[D_STD] = fld(im, N_STD);
	v[D_NRDL] = fld(im, N_NRDL);
	v[D_CAT] = fld(im, N_CAT), c[D_CAT] = colno(im, N_CAT);
	v[D_END] = fld(im, N_END), c[D_END] = colno(im, N_END);
	v[D_PAY] = fld(im, N_PAY), c[D_PAY] = colno(im, N_PAY);
	v[D_NEG] = v[D_END][0] ? "1" : "0";
	/* 备注 holds the 限定支付范围 when it starts with 限 */
	v[D_RESTR] = !strncmp(remarks, "限", strlen("限")) ? remarks : "";
	v[D_REMARKS] = v[D_RESTR][0] ? "" : remarks;
	snprintf(pack, sizeof(pack), "%s%s%s%s", fld(im, N_PACKQTY), fld(im, N_PACKUNIT), fld(im, N_PACKMAT)[0] ? " " : "",
	         fld(im, N_PACKMAT));
	v[D_PACK] = pack;
	if (v[D_END][0] && !valid_date(v[D_END]))
		v[D_END] = ""; /* free-text agreement periods are kept out of the date column */
	if (fld(im, N_PACKQTY)[0]) {
		char *end;
		units = strtol(fld(im, N_PACKQTY), &end, 10);
		if (*end || units < 0)
			return bad(im, colno(im, N_PACKQTY), "最小包装数量 '%s' is not a whole number", fld(im, N_PACKQTY));
	}
	{
		long before = im->report->bad;
		row_drug(im, v, c);
		if (im->report->bad != before || im->fatal)
			return;
	}
	if (v[D_STD][0]) { /* the 本位码 is an identifier too */
		sqlite3_stmt *st = im->ins2;
		sqlite3_bind_text(st, 1, "standard_code", -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, v[D_STD], -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(st, 3, v[D_CODE], -1, SQLITE_TRANSIENT);
		sqlite3_bind_int(st, 4, 1);
		sqlite3_bind_int64(st, 5, units);
		if (sqlite3_step(st) != SQLITE_DONE) {
			ds_error_set(im->err, DS_ERR, "%s:%lu: catalog database: %s", im->file, im->record_line, sqlite3_errmsg(im->db));
			im->fatal = 1;
		}
		sqlite3_reset(st);
	}
}

static const char *const ident_types[] = {"trace_prefix", "gtin", "ean13", "standard_code", "ma_di"};

static int known_ident_type(const char *t)
{
	size_t i;

	for (i = 0; i < sizeof(ident_types) / sizeof(ident_types[0]); i++)
		if (!strcmp(ident_types[i], t))
			return 1;
	return 0;
}

/* Check an identifier value; normalise a GTIN to 14 digits into out. */
static const char *check_ident(importer *im, const char *type, const char *value, int col, char *out, size_t size)
{
	snprintf(out, size, "%s", value);
	if (!strcmp(type, "trace_prefix") && !all_digits(value, 7))
		return bad(im, col, "trace_prefix '%s' is not 7 digits", value), NULL;
	if (!strcmp(type, "gtin")) {
		size_t n = strlen(value);
		if (!(n == 8 || n == 12 || n == 13 || n == 14) || !all_digits(value, n))
			return bad(im, col, "gtin '%s' is not 8, 12, 13 or 14 digits", value), NULL;
		snprintf(out, size, "%0*d%s", (int)(14 - n), 0, value);
		if (n == 14)
			snprintf(out, size, "%s", value);
		if (!csum_ok(out))
			return bad(im, col, "gtin '%s' has a wrong check digit", value), NULL;
	}
	if (!strcmp(type, "ean13") && (!all_digits(value, 13) || !csum_ok(value)) && !all_digits(value, 8) &&
	    !all_digits(value, 12))
		return bad(im, col, "ean13 '%s' is not a valid EAN-13", value), NULL;
	if (!strcmp(type, "standard_code") && !all_digits(value, 14))
		return bad(im, col, "standard_code '%s' is not 14 digits", value), NULL;
	if (!value[0])
		return bad(im, col, "value is empty"), NULL;
	return out;
}

static long parse_int(const char *s, long dflt, long lo, long hi, int *ok)
{
	char *end;
	long v;

	*ok = 1;
	if (!*s)
		return dflt;
	v = strtol(s, &end, 10);
	if (*end || v < lo || v > hi)
		*ok = 0;
	return v;
}

static void import_identifier(importer *im)
{
	const char *type = fld(im, 0), *code = fld(im, 2);
	char value[64];
	int ok1, ok2;
	long level = parse_int(fld(im, 3), 1, 1, 9, &ok1), units = parse_int(fld(im, 4), 0, 0, 1000000, &ok2);
	sqlite3_stmt *st = im->ins;

	if (!known_ident_type(type))
		return bad(im, colno(im, 0), "type '%s' is not trace_prefix, gtin, ean13, standard_code or ma_di", type);
	if (!check_ident(im, type, fld(im, 1), colno(im, 1), value, sizeof(value)))
		return;
	if (!code[0] || !exists(im->exists_drug, code))
		return bad(im, colno(im, 2), "nhsa_code '%s' is not in the drugs", code);
	if (!ok1)
		return bad(im, colno(im, 3), "package_level '%s' is not 1-9", fld(im, 3));
	if (!ok2)
		return bad(im, colno(im, 4), "units '%s' is not a whole number", fld(im, 4));
	sqlite3_bind_text(st, 1, type, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, value, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 3, code, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 4, level);
	sqlite3_bind_int64(st, 5, units);
	step(im, st);
}

static void import_list(importer *im)
{
	const char *sev = fld(im, 5);
	int i;

	if (!fld(im, 0)[0])
		return bad(im, colno(im, 0), "list_id is empty");
	if (sev[0] && strcmp(sev, "info") && strcmp(sev, "warn") && strcmp(sev, "alert"))
		return bad(im, colno(im, 5), "severity '%s' is not info, warn or alert", sev);
	for (i = 0; i < 6; i++)
		sqlite3_bind_text(im->ins, i + 1, i == 5 && !sev[0] ? "info" : fld(im, i), -1, SQLITE_TRANSIENT);
	step(im, im->ins);
}

static void import_member(importer *im)
{
	if (!exists(im->exists_list, fld(im, 0)))
		return bad(im, colno(im, 0), "list_id '%s' is not in the lists", fld(im, 0));
	if (!exists(im->exists_drug, fld(im, 1)))
		return bad(im, colno(im, 1), "nhsa_code '%s' is not in the drugs", fld(im, 1));
	sqlite3_bind_text(im->ins, 1, fld(im, 0), -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(im->ins, 2, fld(im, 1), -1, SQLITE_TRANSIENT);
	step(im, im->ins);
}

static void import_policy(importer *im)
{
	const char *scope = fld(im, 0), *ins = fld(im, 1), *set = fld(im, 2);
	double ratio = 0;
	int has_ratio = parse_number(fld(im, 4), &ratio), i;

	if (strcmp(scope, "category:A") && strcmp(scope, "category:B") && !exists(im->exists_list, scope))
		return bad(im, colno(im, 0), "scope '%s' is not a list_id, category:A or category:B", scope);
	if (strcmp(ins, "employee") && strcmp(ins, "resident") && strcmp(ins, "*"))
		return bad(im, colno(im, 1), "insurance '%s' is not employee, resident or *", ins);
	if (strcmp(set, "outpatient") && strcmp(set, "inpatient") && strcmp(set, "*"))
		return bad(im, colno(im, 2), "setting '%s' is not outpatient, inpatient or *", set);
	if (!fld(im, 3)[0])
		return bad(im, colno(im, 3), "label_id is empty");
	if (has_ratio < 0 || (has_ratio && (ratio < 0 || ratio > 1)))
		return bad(im, colno(im, 4), "ratio '%s' is not a number from 0 to 1", fld(im, 4));
	for (i = 0; i < 7; i++)
		if (i != 4)
			sqlite3_bind_text(im->ins, i + 1, fld(im, i), -1, SQLITE_TRANSIENT);
	if (has_ratio)
		sqlite3_bind_double(im->ins, 5, ratio);
	else
		sqlite3_bind_null(im->ins, 5);
	step(im, im->ins);
}

static void import_recall(importer *im)
{
	char value[64];
	int i;

	if (!known_ident_type(fld(im, 0)))
		return bad(im, colno(im, 0), "type '%s' is not trace_prefix, gtin, ean13, standard_code or ma_di", fld(im, 0));
	if (!check_ident(im, fld(im, 0), fld(im, 1), colno(im, 1), value, sizeof(value)))
		return;
	if (fld(im, 4)[0] && !valid_date(fld(im, 4)))
		return bad(im, colno(im, 4), "date '%s' is not a YYYY-MM-DD date", fld(im, 4));
	for (i = 0; i < 5; i++)
		sqlite3_bind_text(im->ins, i + 1, i == 1 ? value : fld(im, i), -1, SQLITE_TRANSIENT);
	step(im, im->ins);
}

static void import_meta(importer *im)
{
	if (!fld(im, 0)[0])
		return bad(im, colno(im, 0), "key is empty");
	sqlite3_bind_text(im->ins, 1, fld(im, 0), -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(im->ins, 2, fld(im, 1), -1, SQLITE_TRANSIENT);
	step(im, im->ins);
}

/* ---- header and statements ---- */

static table detect(importer *im)
{
	table t;
	size_t k, h;

	/* an NHSA export names its code column in one of a few ways */
	for (h = 0; h < im->nheader; h++)
		for (k = 0; k < 4 && nhsa_cols[N_CODE].names[k]; k++)
			if (!strcmp(im->header[h], nhsa_cols[N_CODE].names[k]))
				return T_NHSA;
	for (t = T_META; t <= T_RECALLS; t++) {
		int ok = 1;
		for (k = 0; k < 3 && tables[t].required[k]; k++) {
			int found = 0;
			for (h = 0; h < im->nheader; h++)
				found |= !strcmp(im->header[h], tables[t].required[k]);
			ok &= found;
		}
		/* list_members has no name_zh; identifiers and recalls differ by batch */
		if (ok && t == T_MEMBERS) {
			for (h = 0; h < im->nheader; h++)
				ok &= strcmp(im->header[h], "name_zh") != 0;
		}
		if (ok && t == T_IDENTIFIERS) {
			for (h = 0; h < im->nheader; h++)
				ok &= strcmp(im->header[h], "batch") != 0;
		}
		if (ok)
			return t;
	}
	return T_UNKNOWN;
}

static const char *const insert_sql[] = {
	[T_META] = "INSERT OR REPLACE INTO meta (key, value) VALUES (?1, ?2)",
	[T_DRUGS] = ("INSERT OR REPLACE INTO drugs (nhsa_code, generic_name, brand_name, dosage_form, spec, manufacturer,"
	            " approval_no, standard_code, nrdl_no, category, negotiated, agreement_end, payment_standard,"
	            " restriction, remarks, pack) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14,"
	            " ?15, ?16)"),
	[T_NHSA] = NULL, /* = drugs */
	[T_LISTS] = ("INSERT OR REPLACE INTO lists (list_id, name_zh, name_en, source, label_id, severity)"
	            " VALUES (?1, ?2, ?3, ?4, ?5, ?6)"),
	[T_IDENTIFIERS] = ("INSERT OR REPLACE INTO identifiers (type, value, nhsa_code, package_level, units)"
	                  " VALUES (?1, ?2, ?3, ?4, ?5)"),
	[T_MEMBERS] = "INSERT OR REPLACE INTO list_members (list_id, nhsa_code) VALUES (?1, ?2)",
	[T_POLICIES] = ("INSERT OR REPLACE INTO policies (scope, insurance, setting, label_id, ratio, text_zh, text_en)"
	               " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"),
	[T_RECALLS] = "INSERT OR REPLACE INTO recalls (type, value, batch, reason, date) VALUES (?1, ?2, ?3, ?4, ?5)",
};

static int prepare(importer *im)
{
	const char *sql = insert_sql[im->t == T_NHSA ? T_DRUGS : im->t];

	if (sqlite3_prepare_v2(im->db, sql, -1, &im->ins, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(im->db, insert_sql[T_IDENTIFIERS], -1, &im->ins2, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(im->db, "SELECT 1 FROM drugs WHERE nhsa_code = ?1", -1, &im->exists_drug, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(im->db, "SELECT 1 FROM lists WHERE list_id = ?1", -1, &im->exists_list, NULL) != SQLITE_OK)
		return ds_error_set(im->err, DS_ERR, "catalog database: %s", sqlite3_errmsg(im->db));
	return DS_OK;
}

static void take_header(importer *im)
{
	size_t i, k, n;
	const tabledef *td;

	im->nheader = im->nfield;
	for (i = 0; i < im->nfield; i++) {
		char *h = im->field[i] ? im->field[i] : strdup("");
		/* trim spaces around a header name; ASCII names are case-insensitive */
		while (*h == ' ')
			memmove(h, h + 1, strlen(h));
		n = strlen(h);
		while (n && h[n - 1] == ' ')
			h[--n] = '\0';
		for (k = 0; k < n; k++)
			if (h[k] >= 'A' && h[k] <= 'Z')
				h[k] = (char)(h[k] - 'A' + 'a');
		im->header[i] = h;
		im->field[i] = NULL;
	}
	im->t = detect(im);
	im->header_done = 1;
	if (im->t == T_UNKNOWN) {
		ds_error_set(im->err, DS_EINVAL,
		             "%s:1: header not recognised: expected a bundle file (drugs, identifiers, lists,"
		             " list_members, policies, recalls, meta) or an NHSA export with 药品代码",
		             im->file);
		im->fatal = 1;
		return;
	}
	td = &tables[im->t];
	for (k = 0; k < td->ncols; k++) {
		size_t a;
		im->col[k] = -1;
		for (a = 0; a < 4 && td->cols[k].names[a]; a++)
			for (i = 0; i < im->nheader; i++)
				if (im->col[k] < 0 && !strcmp(im->header[i], td->cols[k].names[a]))
					im->col[k] = (int)i;
	}
	if (prepare(im) < 0)
		im->fatal = 1;
}

static void on_field(void *data, size_t len, void *ctx)
{
	importer *im = ctx;

	if (!im->in_record) {
		im->in_record = 1;
		im->record_line = im->line;
	}
	if (im->nfield < MAX_COLS) {
		char *s = malloc(len + 1);
		if (s) {
			memcpy(s, data, len);
			s[len] = '\0';
		}
		im->field[im->nfield++] = s;
	}
}

static void on_record(int c, void *ctx)
{
	importer *im = ctx;
	size_t i;
	int blank = 1;

	(void)c;
	if (!im->in_record)
		return;
	for (i = 0; i < im->nfield; i++)
		blank &= !im->field[i] || !im->field[i][0];
	if (im->fatal || blank) {
		/* nothing, or a blank line */
	} else if (!im->header_done) {
		take_header(im);
	} else {
		switch (im->t) {
		case T_META: import_meta(im); break;
		case T_DRUGS: import_drug(im); break;
		case T_NHSA: import_nhsa(im); break;
		case T_LISTS: import_list(im); break;
		case T_IDENTIFIERS: import_identifier(im); break;
		case T_MEMBERS: import_member(im); break;
		case T_POLICIES: import_policy(im); break;
		case T_RECALLS: import_recall(im); break;
		case T_UNKNOWN: break;
		}
	}
	for (i = 0; i < im->nfield; i++) {
		free(im->field[i]);
		im->field[i] = NULL;
	}
	im->nfield = 0;
	im->in_record = 0;
}

/* Which table a buffer's header names (for ordering files before import). */
int cat_import_buffer(sqlite3 *db, const char *name, const unsigned char *data, size_t len, int skip_bad,
                      ds_import_report *report, ds_error *err)
{
	importer im;
	struct csv_parser p;
	char *text = NULL;
	size_t tlen = 0, pos = 0, i;
	int rc;

	(void)skip_bad;
	memset(&im, 0, sizeof(im));
	im.db = db;
	im.file = name;
	im.report = report;
	im.err = err;
	im.line = 1;
	rc = to_utf8(name, data, len, &text, &tlen, err);
	if (rc < 0)
		return rc;
	if (csv_init(&p, CSV_STRICT | CSV_STRICT_FINI | CSV_APPEND_NULL) != 0) {
		free(text);
		return ds_error_set(err, DS_ENOMEM, "out of memory");
	}
	while (pos < tlen && !im.fatal) {
		const char *nl = memchr(text + pos, '\n', tlen - pos);
		size_t n = nl ? (size_t)(nl - (text + pos)) + 1 : tlen - pos;
		if (csv_parse(&p, text + pos, n, on_field, on_record, &im) != n) {
			ds_error_set(err, DS_EINVAL, "%s:%lu: malformed CSV: %s", name, im.line, csv_strerror(csv_error(&p)));
			im.fatal = 1;
			break;
		}
		pos += n;
		if (nl)
			im.line++;
	}
	if (!im.fatal && csv_fini(&p, on_field, on_record, &im) != 0) {
		ds_error_set(err, DS_EINVAL, "%s:%lu: malformed CSV: %s (a quote is not closed)", name, im.record_line,
		             csv_strerror(csv_error(&p)));
		im.fatal = 1;
	}
	if (!im.fatal && !im.header_done) {
		ds_error_set(err, DS_EINVAL, "%s: empty file (no header row)", name);
		im.fatal = 1;
	}
	csv_free(&p);
	for (i = 0; i < im.nfield; i++)
		free(im.field[i]);
	for (i = 0; i < im.nheader; i++)
		free(im.header[i]);
	sqlite3_finalize(im.ins);
	sqlite3_finalize(im.ins2);
	sqlite3_finalize(im.exists_drug);
	sqlite3_finalize(im.exists_list);
	free(text);
	report->files++;
	return im.fatal ? (err && err->code ? err->code : DS_EINVAL) : DS_OK;
}
