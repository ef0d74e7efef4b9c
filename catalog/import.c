/*
 * import.c - CSV into catalog.db, all or nothing.
 *
 * Files are parsed with libcsv (quoted fields, embedded commas and newlines),
 * after conversion to UTF-8 (a BOM is dropped; GB18030/GBK goes through
 * iconv). A file is recognised by its header row, so names do not matter:
 * the bundle of docs/catalog-format.md, the national list's fact tables
 * (data/nrdl-2025), a 对照 (mapping) file, or an NHSA drug-code export with
 * its Chinese headers. Every bad field is reported as FILE:LINE:COLUMN. The
 * rows of each table are read in import_rows.c, import_list.c and mapping.c.
 */
#include <csv.h>
#include <errno.h>
#include <iconv.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* ---- column names per table ---- */

typedef struct colspec {
	const char *names[4]; /* accepted header names */
} colspec;

static const colspec drugs_cols[] = {
	{{"nhsa_code"}}, {{"generic_name"}}, {{"brand_name"}}, {{"dosage_form"}}, {{"spec"}}, {{"manufacturer"}},
	{{"approval_no"}}, {{"standard_code"}}, {{"nrdl_no"}}, {{"category"}}, {{"negotiated"}}, {{"agreement_end"}},
	{{"payment_standard"}}, {{"restriction"}}, {{"remarks"}}, {{"pack"}}, {{"list_name"}}, {{"list_form"}},
};

/* NHSA drug-code export (医保药品分类与代码) headers */
static const colspec nhsa_cols[] = {
	{{"药品代码", "医保药品代码", "国家医保药品代码"}}, {{"注册名称", "通用名", "药品通用名"}}, {{"商品名称", "商品名"}},
	{{"注册剂型"}}, {{"注册规格", "规格"}}, {{"药品企业", "生产企业", "上市许可持有人"}}, {{"批准文号"}},
	{{"药品本位码", "本位码"}}, {{"编号", "目录编号"}}, {{"甲乙类", "医保类别"}}, {{"药品名称"}}, {{"剂型"}},
	{{"备注", "限定支付范围"}}, {{"包装材质"}}, {{"最小包装数量"}}, {{"协议有效期", "协议期"}},
	{{"医保支付标准", "支付标准"}}, {{"最小包装单位"}},
};

static const colspec ident_cols[] = {{{"type"}}, {{"value"}}, {{"nhsa_code"}}, {{"package_level"}}, {{"units"}}};
static const colspec list_cols[] = {{{"list_id"}}, {{"name_zh"}}, {{"name_en"}}, {{"source"}}, {{"label_id"}}, {{"severity"}}};
static const colspec member_cols[] = {{{"list_id"}}, {{"nhsa_code"}}};
static const colspec policy_cols[] = {{{"scope"}}, {{"insurance"}}, {{"setting"}}, {{"label_id"}}, {{"ratio"}},
                                      {{"text_zh"}}, {{"text_en"}}, {{"source"}}};
static const colspec recall_cols[] = {{{"type"}}, {{"value"}}, {{"batch"}}, {{"reason"}}, {{"date"}}};
static const colspec meta_cols[] = {{{"key"}}, {{"value"}}};
static const colspec nrdl_cols[] = {
	{{"section"}}, {{"no"}}, {{"primary_no"}}, {{"name_zh"}}, {{"dosage_form"}}, {{"class"}}, {{"restriction"}},
	{{"payment_standard"}}, {{"agreement_period"}}, {{"category_code"}}, {{"new_2025"}}, {{"pdf_page"}},
};
static const colspec cidl_cols[] = {
	{{"no"}}, {{"name_zh"}}, {{"brand_name_zh"}}, {{"indication"}}, {{"marketing_authorization_holder"}},
	{{"authorized_company"}}, {{"validity"}}, {{"category_code"}}, {{"pdf_page"}},
};
static const colspec category_cols[] = {{{"code"}}, {{"name"}}};
static const colspec mapping_cols[] = {{{"id_type"}}, {{"identifier"}}, {{"target"}}, {{"package_level"}},
                                       {{"units"}}, {{"demo"}}, {{"note"}}, {{"added_at"}}};

typedef struct tabledef {
	const colspec *cols;
	size_t ncols;
	const char *required[3]; /* header names that identify the table */
	const char *name;        /* in messages */
	void (*row)(importer *im);
} tabledef;

#define NCOLS(a) (sizeof(a) / sizeof((a)[0]))

/* The order of detection: the first table whose names are all in the header. */
static const tabledef tables[T_NTABLES] = {
	[T_META] = {meta_cols, NCOLS(meta_cols), {"key", "value", NULL}, "meta", imp_meta},
	[T_DRUGS] = {drugs_cols, NCOLS(drugs_cols), {"nhsa_code", "generic_name", NULL}, "drugs", imp_drug},
	[T_NHSA] = {nhsa_cols, NCOLS(nhsa_cols), {"药品代码", NULL, NULL}, "NHSA export", imp_nhsa},
	[T_LISTS] = {list_cols, NCOLS(list_cols), {"list_id", "name_zh", NULL}, "lists", imp_list},
	[T_IDENTIFIERS] = {ident_cols, NCOLS(ident_cols), {"type", "value", "nhsa_code"}, "identifiers", imp_identifier},
	[T_MEMBERS] = {member_cols, NCOLS(member_cols), {"list_id", "nhsa_code", NULL}, "list_members", imp_member},
	[T_POLICIES] = {policy_cols, NCOLS(policy_cols), {"scope", "label_id", NULL}, "policies", imp_policy},
	[T_RECALLS] = {recall_cols, NCOLS(recall_cols), {"type", "value", "batch"}, "recalls", imp_recall},
	[T_NRDL] = {nrdl_cols, NCOLS(nrdl_cols), {"section", "primary_no", "name_zh"}, "list rows", imp_nrdl},
	[T_CIDL] = {cidl_cols, NCOLS(cidl_cols), {"name_zh", "indication", "marketing_authorization_holder"},
	            "commercial list", imp_cidl},
	[T_CATEGORIES] = {category_cols, NCOLS(category_cols), {"code", "name", NULL}, "categories", imp_category},
	[T_MAPPING] = {mapping_cols, NCOLS(mapping_cols), {"identifier", "target", NULL}, "mapping", imp_mapping},
};

/* ---- reporting ---- */

void imp_bad(importer *im, int column, const char *fmt, ...)
{
	va_list ap;
	char msg[512];

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

const char *imp_fld(const importer *im, int idx)
{
	int c = im->col[idx];
	return c >= 0 && (size_t)c < im->nfield && im->field[c] ? im->field[c] : "";
}

int imp_colno(const importer *im, int idx)
{
	return im->col[idx] + 1;
}

int imp_all_digits(const char *s, size_t n)
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

int imp_valid_date(const char *s)
{
	int ymd;

	return ds_date_parse(&ymd, s) == DS_OK && ymd >= 19000101 && ymd <= 22001231;
}

/* "甲", "甲类", "A" -> "A"; "乙"... -> "B"; "" -> NULL; else -1 */
int imp_parse_category(const char *s, const char **out)
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

int imp_parse_bool(const char *s)
{
	if (!*s || !strcmp(s, "0") || !strcmp(s, "否") || !strcasecmp(s, "false") || !strcasecmp(s, "no"))
		return 0;
	if (!strcmp(s, "1") || !strcmp(s, "是") || !strcasecmp(s, "true") || !strcasecmp(s, "yes"))
		return 1;
	return -1;
}

int imp_parse_number(const char *s, double *out)
{
	char *end;

	if (!*s)
		return 0;
	errno = 0;
	*out = strtod(s, &end);
	return errno || *end ? -1 : 1;
}

int imp_exists(importer *im, sqlite3_stmt *st, const char *key)
{
	int rc;

	sqlite3_reset(st);
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		imp_db_fail(im, rc); /* the import stops: no row is refused for what the database failed to say */
	return rc != SQLITE_DONE;
}

void imp_db_fail(importer *im, int rc)
{
	if (im->fatal)
		return;
	if ((rc & 0xff) == SQLITE_CONSTRAINT)
		ds_error_set(im->err, DS_ERR, "%s:%lu: catalog database: %s", im->file, im->record_line, sqlite3_errmsg(im->db));
	else
		cat_sql_error(im->db, rc, im->err);
	im->fatal = 1;
}

void imp_bind_text_or_null(sqlite3_stmt *st, int i, const char *v)
{
	if (v)
		sqlite3_bind_text(st, i, v, -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(st, i);
}

int imp_step(importer *im, sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);

	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		imp_db_fail(im, rc);
		return -1;
	}
	im->report->rows++;
	return 0;
}

long imp_parse_int(const char *s, long dflt, long lo, long hi, int *ok)
{
	char *end;
	long v;

	*ok = 1;
	if (!*s)
		return dflt;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi)
		*ok = 0;
	return v;
}

static const char *const ident_types[] = {"trace_prefix", "gtin", "ean13", "standard_code", "ma_di"};

int imp_known_ident_type(const char *t)
{
	size_t i;

	for (i = 0; i < sizeof(ident_types) / sizeof(ident_types[0]); i++)
		if (!strcmp(ident_types[i], t))
			return 1;
	return 0;
}

/* Check an identifier value; normalise a GTIN to 14 digits into out. */
const char *imp_check_ident(importer *im, const char *type, const char *value, int col, char *out, size_t size)
{
	snprintf(out, size, "%s", value);
	if (!strcmp(type, "trace_prefix") && !imp_all_digits(value, 7))
		return imp_bad(im, col, "trace_prefix '%s' is not 7 digits", value), NULL;
	if (!strcmp(type, "gtin")) {
		size_t n = strlen(value);
		if (!(n == 8 || n == 12 || n == 13 || n == 14) || !imp_all_digits(value, n))
			return imp_bad(im, col, "gtin '%s' is not 8, 12, 13 or 14 digits", value), NULL;
		snprintf(out, size, "%0*d%s", (int)(14 - n), 0, value);
		if (n == 14)
			snprintf(out, size, "%s", value);
		if (!csum_ok(out))
			return imp_bad(im, col, "gtin '%s' has a wrong check digit", value), NULL;
	}
	if (!strcmp(type, "ean13") && (!imp_all_digits(value, 13) || !csum_ok(value)) && !imp_all_digits(value, 8) &&
	    !imp_all_digits(value, 12))
		return imp_bad(im, col, "ean13 '%s' is not a valid EAN-13", value), NULL;
	if (!strcmp(type, "standard_code") && !imp_all_digits(value, 14))
		return imp_bad(im, col, "standard_code '%s' is not 14 digits", value), NULL;
	if (!value[0])
		return imp_bad(im, col, "value is empty"), NULL;
	return out;
}

/* ---- header and statements ---- */

static int header_has(const importer *im, const char *name)
{
	size_t h;

	for (h = 0; h < im->nheader; h++)
		if (!strcmp(im->header[h], name))
			return 1;
	return 0;
}

static table detect(importer *im)
{
	table t;
	size_t k;

	/* an NHSA export names its code column in one of a few ways */
	for (k = 0; k < 4 && nhsa_cols[N_CODE].names[k]; k++)
		if (header_has(im, nhsa_cols[N_CODE].names[k]))
			return T_NHSA;
	for (t = T_META; t < T_NTABLES; t++) {
		int ok = t != T_NHSA;
		for (k = 0; ok && k < 3 && tables[t].required[k]; k++)
			ok = header_has(im, tables[t].required[k]);
		/* list_members has no name_zh; identifiers and recalls differ by batch */
		if (ok && t == T_MEMBERS)
			ok = !header_has(im, "name_zh");
		if (ok && t == T_IDENTIFIERS)
			ok = !header_has(im, "batch");
		if (ok)
			return t;
	}
	return T_UNKNOWN;
}

/* Each table's insert; [1] is the same row into the pharmacy's own tables. */
static const char *const insert_sql[T_NTABLES][2] = {
	[T_META] = {"INSERT OR REPLACE INTO meta (key, value) VALUES (?1, ?2)", NULL},
	[T_DRUGS] = {("INSERT OR REPLACE INTO drugs (nhsa_code, generic_name, brand_name, dosage_form, spec, manufacturer,"
	              " approval_no, standard_code, nrdl_no, category, negotiated, agreement_end, payment_standard,"
	              " restriction, remarks, pack, list_name, list_form) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10,"
	              " ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)"), NULL},
	[T_LISTS] = {("INSERT OR REPLACE INTO lists (list_id, name_zh, name_en, source, label_id, severity)"
	              " VALUES (?1, ?2, ?3, ?4, ?5, ?6)"),
	             ("INSERT OR REPLACE INTO local_lists (list_id, name_zh, name_en, source, label_id, severity)"
	              " VALUES (?1, ?2, ?3, ?4, ?5, ?6)")},
	[T_IDENTIFIERS] = {("INSERT OR REPLACE INTO identifiers (type, value, nhsa_code, package_level, units)"
	                    " VALUES (?1, ?2, ?3, ?4, ?5)"),
	                   ("INSERT OR REPLACE INTO local_identifiers (type, value, nhsa_code, package_level, units,"
	                    " demo, note, added_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7,"
	                    " coalesce(nullif(?8, ''), strftime('%Y-%m-%dT%H:%M:%SZ', 'now')))")},
	[T_MEMBERS] = {"INSERT OR REPLACE INTO list_members (list_id, nhsa_code) VALUES (?1, ?2)",
	               "INSERT OR REPLACE INTO local_list_members (list_id, nhsa_code) VALUES (?1, ?2)"},
	[T_POLICIES] = {("INSERT OR REPLACE INTO policies (scope, insurance, setting, label_id, ratio, text_zh, text_en,"
	                 " source) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"),
	                ("INSERT OR REPLACE INTO local_policies (scope, insurance, setting, label_id, ratio, text_zh,"
	                 " text_en, source) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)")},
	[T_RECALLS] = {"INSERT OR REPLACE INTO recalls (type, value, batch, reason, date) VALUES (?1, ?2, ?3, ?4, ?5)",
	               NULL},
	[T_CATEGORIES] = {"INSERT OR REPLACE INTO categories (code, name) VALUES (?1, ?2)", NULL},
};

static int prepare(importer *im)
{
	const char *sql, *sql2 = insert_sql[T_IDENTIFIERS][0], *sql3 = "SELECT 1";
	table t = im->t == T_NHSA ? T_DRUGS : im->t;

	if (t == T_NRDL || t == T_CIDL) {
		sql = cat_nrdl_sql[0];
		sql2 = cat_nrdl_sql[1];
		sql3 = cat_nrdl_sql[2];
	} else if (t == T_MAPPING) {
		sql = insert_sql[T_IDENTIFIERS][1]; /* a 对照 file is the pharmacy's own data */
	} else {
		sql = insert_sql[t][im->local];
	}
	if (!sql) {
		im->fatal = 1;
		return ds_error_set(im->err, DS_EINVAL,
		                    "%s: a %s file is national data, not the pharmacy's own: import it without --local",
		                    im->file, tables[im->t].name);
	}
	if (sqlite3_prepare_v2(im->db, sql, -1, &im->ins, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(im->db, sql2, -1, &im->ins2, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(im->db, sql3, -1, &im->ins3, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(im->db, "SELECT 1 FROM drugs WHERE nhsa_code = ?1", -1, &im->exists_drug, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(im->db,
	                       "SELECT 1 FROM lists WHERE list_id = ?1 UNION ALL SELECT 1 FROM local_lists WHERE list_id = ?1",
	                       -1, &im->exists_list, NULL) != SQLITE_OK)
		return cat_sql_error(im->db, 0, im->err);
	return DS_OK;
}

static void take_header(importer *im)
{
	size_t i, k, n;
	const tabledef *td;

	im->nheader = im->nfield;
	for (i = 0; i < im->nfield; i++) {
		char *h = im->field[i] ? im->field[i] : strdup("");
		if (!h) {
			im->nheader = i;
			im->fatal = 1;
			ds_error_set(im->err, DS_ENOMEM, "out of memory");
			return;
		}
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
		             " list_members, policies, recalls, meta), a list file (section/primary_no/name_zh,"
		             " cidl, categories), a mapping (identifier, target) or an NHSA export with 药品代码",
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
	} else if (im->t > T_UNKNOWN && im->t < T_NTABLES) {
		tables[im->t].row(im);
	}
	for (i = 0; i < im->nfield; i++) {
		free(im->field[i]);
		im->field[i] = NULL;
	}
	im->nfield = 0;
	im->in_record = 0;
}

int cat_import_buffer(sqlite3 *db, const char *name, const unsigned char *data, size_t len,
                      const ds_import_opts *opts, ds_import_report *report, ds_error *err)
{
	importer im;
	struct csv_parser p;
	char *text = NULL;
	size_t tlen = 0, pos = 0, i;
	int rc;

	memset(&im, 0, sizeof(im));
	im.db = db;
	im.file = name;
	im.report = report;
	im.err = err;
	im.line = 1;
	im.skip_bad = opts && opts->skip_bad;
	im.local = opts && opts->local;
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
	sqlite3_finalize(im.ins3);
	sqlite3_finalize(im.exists_drug);
	sqlite3_finalize(im.exists_list);
	free(im.aux);
	free(text);
	report->files++;
	return im.fatal ? (err && err->code ? err->code : DS_EINVAL) : DS_OK;
}
