/*
 * import_list.c - the national list's fact tables (data/nrdl-2025: drugs.csv
 * with one row per printed list row, cidl.csv, categories.csv), and what an
 * import does once its files are read: NHSA export rows are joined to the
 * list rows by 编号 and name, and the name-search index is rebuilt.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

const char *const cat_nrdl_sql[3] = {
	("INSERT OR REPLACE INTO drugs (nhsa_code, generic_name, brand_name, dosage_form, manufacturer, nrdl_no, category,"
	 " negotiated, agreement_end, payment_standard, restriction, remarks, section, list_no, primary_no,"
	 " agreement_period, category_code, list_key) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13,"
	 " ?14, ?15, ?16, ?17, ?1)"),
	"INSERT OR IGNORE INTO list_members (list_id, nhsa_code) VALUES (?1, ?2)",
	"INSERT OR IGNORE INTO lists (list_id, name_zh, name_en, label_id, severity) VALUES (?1, ?2, ?3, ?4, ?5)",
};

#define MAX_NO 4096

typedef struct list_state {
	char year[8];                    /* meta list_year, read at the first row */
	unsigned char stars[6][MAX_NO];  /* ★ rows seen per section and number */
} list_state;

static list_state *state(importer *im)
{
	list_state *s = im->aux;

	if (!s) {
		s = im->aux = calloc(1, sizeof(*s));
		if (!s) {
			ds_error_set(im->err, DS_ENOMEM, "out of memory");
			im->fatal = 1;
			return NULL;
		}
		if (cat_meta(im->db, "list_year", s->year, sizeof(s->year), im->err) < 0)
			im->fatal = 1;
	}
	return s;
}

/* "2026年1月1日" at *s: the date as YYYY-MM-DD into out, *s moved past it. */
static int cn_date(const char **s, char *out, size_t size)
{
	int part[3] = {0, 0, 0}, i;
	static const char *const units[3] = {"年", "月", "日"};

	for (i = 0; i < 3; i++) {
		const char *p = *s;
		if (*p < '0' || *p > '9')
			return -1;
		while (*p >= '0' && *p <= '9' && part[i] < 10000)
			part[i] = part[i] * 10 + (*p++ - '0');
		if (strncmp(p, units[i], strlen(units[i])))
			return -1;
		*s = p + strlen(units[i]);
	}
	snprintf(out, size, "%04d-%02d-%02d", part[0], part[1], part[2]);
	return 0;
}

/* "2026年1月1日至2027年12月31日" -> the end date; "" -> ""; -1 when neither. */
static int period_end(const char *period, char *end, size_t size)
{
	char start[16];
	const char *p = period;

	end[0] = '\0';
	if (!*p)
		return 0;
	if (cn_date(&p, start, sizeof(start)) < 0 || strncmp(p, "至", strlen("至")))
		return -1;
	p += strlen("至");
	if (cn_date(&p, end, size) < 0 || *p || !imp_valid_date(end) || strcmp(start, end) > 0)
		return -1;
	return 0;
}

/* "693" or "★(693)" / "★（693）": the number, and whether it is a ★ row. */
static long row_number(const char *no, int *star)
{
	static const char *const opens[] = {"★(", "★（"}, *const closes[] = {")", "）"};
	size_t i;

	*star = 0;
	for (i = 0; i < 2; i++) {
		size_t o = strlen(opens[i]), n = strlen(no), c = strlen(closes[i]);
		if (n > o + c && !strncmp(no, opens[i], o) && !strcmp(no + n - c, closes[i])) {
			char digits[16];
			if (n - o - c >= sizeof(digits))
				return -1;
			memcpy(digits, no + o, n - o - c);
			digits[n - o - c] = '\0';
			*star = 1;
			return imp_all_digits(digits, strlen(digits)) && strlen(digits) <= 4 ? strtol(digits, NULL, 10) : -1;
		}
	}
	return imp_all_digits(no, strlen(no)) && strlen(no) <= 4 ? strtol(no, NULL, 10) : -1;
}

static void quiet_step(importer *im, sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);

	if (rc != SQLITE_DONE)
		imp_db_fail(im, rc);
	sqlite3_reset(st);
}

/* Put a row on a list, making the list when it does not exist yet
 * (lists.csv, read later, gives it its names). */
static void member(importer *im, const char *list_id, const char *key, const char *label, const char *severity)
{
	sqlite3_bind_text(im->ins3, 1, list_id, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(im->ins3, 2, list_id, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(im->ins3, 3, list_id, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(im->ins3, 4, label, -1, SQLITE_STATIC);
	sqlite3_bind_text(im->ins3, 5, severity, -1, SQLITE_STATIC);
	quiet_step(im, im->ins3);
	sqlite3_bind_text(im->ins2, 1, list_id, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(im->ins2, 2, key, -1, SQLITE_TRANSIENT);
	quiet_step(im, im->ins2);
}

/* Bind the drugs insert of cat_nrdl_sql[0]: texts by position, then category and negotiated. */
static void insert_row(importer *im, const char *const v[17], const char *category, int negotiated, long no)
{
	sqlite3_stmt *st = im->ins;
	int i;

	for (i = 0; i < 17; i++)
		if (i != 6 && i != 7 && i != 14)
			sqlite3_bind_text(st, i + 1, v[i], -1, SQLITE_TRANSIENT);
	imp_bind_text_or_null(st, 7, category);
	sqlite3_bind_int(st, 8, negotiated);
	sqlite3_bind_int64(st, 15, no);
	imp_step(im, st);
}

void imp_nrdl(importer *im)
{
	list_state *s = state(im);
	const cat_section *sec = cat_section_by_name(imp_fld(im, R_SECTION));
	const char *category = NULL, *restr = imp_fld(im, R_RESTR);
	const char *v[17];
	char key[48], end[16], list_id[32];
	int star, ok, isnew;
	long no = row_number(imp_fld(im, R_NO), &star), primary;

	if (!s)
		return;
	primary = imp_parse_int(imp_fld(im, R_PRIMARY), -1, 1, MAX_NO - 1, &ok);
	isnew = imp_parse_bool(imp_fld(im, R_NEW));
	if (!s->year[0] || !imp_all_digits(s->year, 4))
		return imp_bad(im, 0, "the list's year is unknown: import the list with its meta.csv (key list_year)");
	if (!sec || sec->code[0] == 'C')
		return imp_bad(im, imp_colno(im, R_SECTION), "section '%s' is not a section of the list",
		               imp_fld(im, R_SECTION));
	if (no < 1 || no >= MAX_NO)
		return imp_bad(im, imp_colno(im, R_NO), "no '%s' is not a number or ★(number)", imp_fld(im, R_NO));
	if (!ok || primary != no)
		return imp_bad(im, imp_colno(im, R_PRIMARY), "primary_no '%s' does not match no '%s'",
		               imp_fld(im, R_PRIMARY), imp_fld(im, R_NO));
	if (!imp_fld(im, R_NAME)[0])
		return imp_bad(im, imp_colno(im, R_NAME), "name_zh is empty");
	if (imp_parse_category(imp_fld(im, R_CLASS), &category) < 0 || !category)
		return imp_bad(im, imp_colno(im, R_CLASS), "class '%s' is not 甲 or 乙", imp_fld(im, R_CLASS));
	if (isnew < 0)
		return imp_bad(im, imp_colno(im, R_NEW), "new_2025 '%s' is not 0 or 1", imp_fld(im, R_NEW));
	if (period_end(imp_fld(im, R_PERIOD), end, sizeof(end)) < 0)
		return imp_bad(im, imp_colno(im, R_PERIOD), "agreement_period '%s' is not YYYY年M月D日至YYYY年M月D日",
		               imp_fld(im, R_PERIOD));
	if (star && ++s->stars[sec - cat_section_by_name("西药部分")][no] == 0)
		return imp_bad(im, imp_colno(im, R_NO), "too many ★ rows for number %ld", no);
	if (star) /* the k-th ★ row of a number, in the order the list prints them */
		snprintf(key, sizeof(key), "NRDL%s-%s-%04ld-S%d", s->year, sec->code, no,
		         s->stars[sec - cat_section_by_name("西药部分")][no]);
	else
		snprintf(key, sizeof(key), "NRDL%s-%s-%04ld", s->year, sec->code, no);
	v[0] = key, v[1] = imp_fld(im, R_NAME), v[2] = "", v[3] = imp_fld(im, R_FORM), v[4] = "";
	v[5] = imp_fld(im, R_NO), v[8] = end, v[9] = imp_fld(im, R_PAY), v[10] = restr;
	/* ◇ marks a class entry (凡例), which is not a payment restriction */
	v[11] = strcmp(restr, "◇") ? "" : "◇ 类别条目：一组药品而非单一品种，所含品种见目录凡例";
	v[12] = sec->name, v[13] = imp_fld(im, R_NO), v[15] = imp_fld(im, R_PERIOD), v[16] = imp_fld(im, R_CATCODE);
	v[6] = v[7] = v[14] = "";
	insert_row(im, v, category, sec->negotiated, no);
	if (im->fatal)
		return;
	snprintf(list_id, sizeof(list_id), "nrdl-%s", s->year);
	member(im, list_id, key, "", "info");
	if (isnew) {
		snprintf(list_id, sizeof(list_id), "nrdl-%s-new", s->year);
		member(im, list_id, key, strcmp(s->year, "2025") ? "" : "nrdl.new_2025", "info");
	}
}

void imp_cidl(importer *im)
{
	list_state *s = state(im);
	const char *v[17];
	char key[48], end[16];
	int ok;
	long no;

	if (!s)
		return;
	no = imp_parse_int(imp_fld(im, C_NO), -1, 1, 999, &ok);
	if (!s->year[0] || !imp_all_digits(s->year, 4))
		return imp_bad(im, 0, "the list's year is unknown: import the list with its meta.csv (key list_year)");
	if (!ok || no < 1)
		return imp_bad(im, imp_colno(im, C_NO), "no '%s' is not a number", imp_fld(im, C_NO));
	if (!imp_fld(im, C_NAME)[0])
		return imp_bad(im, imp_colno(im, C_NAME), "name_zh is empty");
	if (period_end(imp_fld(im, C_VALID), end, sizeof(end)) < 0)
		return imp_bad(im, imp_colno(im, C_VALID), "validity '%s' is not YYYY年M月D日至YYYY年M月D日",
		               imp_fld(im, C_VALID));
	snprintf(key, sizeof(key), "CIDL%s-%02ld", s->year, no);
	v[0] = key, v[1] = imp_fld(im, C_NAME), v[2] = imp_fld(im, C_BRAND), v[3] = "", v[4] = imp_fld(im, C_MAH);
	v[5] = imp_fld(im, C_NO), v[8] = end, v[9] = "", v[10] = "", v[11] = imp_fld(im, C_IND);
	v[12] = "商保创新药目录", v[13] = imp_fld(im, C_NO), v[15] = imp_fld(im, C_VALID), v[16] = imp_fld(im, C_CATCODE);
	v[6] = v[7] = v[14] = "";
	insert_row(im, v, NULL, 0, no);
	if (!im->fatal)
		member(im, "commercial-innovative", key, "list.commercial_innovative", "warn");
}

void imp_category(importer *im)
{
	if (!imp_fld(im, 0)[0])
		return imp_bad(im, imp_colno(im, 0), "code is empty");
	sqlite3_bind_text(im->ins, 1, imp_fld(im, 0), -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(im->ins, 2, imp_fld(im, 1), -1, SQLITE_TRANSIENT);
	imp_step(im, im->ins);
}

/* ---- NHSA products joined to list rows ---- */


/*
 * How well a list row (name, form, number as printed) fits a product's name
 * keys, form and 编号: 0 not at all; else twice 3 (same name and form), 2
 * (same name) or 1 (the row's name inside the product's), plus 1 when both
 * are or both are not a ★ row.
 */
static int fit(const char *name, const char *form, const char *list_no, const cat_name_key *q, size_t nq,
               const char *pform, const char *pfull, int star)
{
	cat_name_key keys[CAT_MAX_KEYS];
	size_t nk = cat_name_keys(keys, CAT_MAX_KEYS, name, form), i, j;
	int score = 0;

	for (i = 0; i < nk; i++) {
		for (j = 0; j < nq; j++)
			if (!strcmp(keys[i].key, q[j].key))
				score = score > 2 ? score : 2 + cat_form_agrees(pform, keys[i].form);
		if (!score && keys[i].quality < 2 && strlen(keys[i].key) >= 6 && strstr(pfull, keys[i].key))
			score = 1 + cat_form_agrees(pform, keys[i].form);
	}
	return score ? score * 2 + (star == (strstr(list_no, "★") != NULL)) : 0;
}

/* The one list row that fits a product best, or none. */
static int best_row(sqlite3_stmt *rows, const char *code, const char *name, const char *form, const char *nrdl_no,
                    char *key, size_t size)
{
	cat_name_key q[CAT_MAX_KEYS];
	char full[CAT_NAME_MAX];
	const char *pform;
	size_t nq;
	int star = strstr(nrdl_no, "★") != NULL, best = 0, nbest = 0, rc;
	long no = 0;
	const char *p;

	for (p = nrdl_no; *p; p++)
		if (*p >= '0' && *p <= '9' && no < MAX_NO)
			no = no * 10 + (*p - '0');
	if (no <= 0 || no >= MAX_NO)
		return 0;
	nq = cat_name_keys(q, CAT_MAX_KEYS, name, NULL);
	cat_name_norm(full, sizeof(full), name, strlen(name));
	pform = form && *form ? form : (nq ? q[0].form : NULL);
	sqlite3_bind_int64(rows, 1, no);
	while ((rc = sqlite3_step(rows)) == SQLITE_ROW) {
		const cat_section *sec = cat_section_by_name((const char *)sqlite3_column_text(rows, 2));
		int s;
		/* a 药品代码 starting X is Western, Z a Chinese patent medicine */
		if (!sec || ((code[0] == 'X' || code[0] == 'Z') && sec->western != (code[0] == 'X')))
			continue;
		s = fit((const char *)sqlite3_column_text(rows, 1), (const char *)sqlite3_column_text(rows, 3),
		        (const char *)sqlite3_column_text(rows, 4), q, nq, pform, full, star);
		if (s > best) {
			best = s, nbest = 1;
			snprintf(key, size, "%s", (const char *)sqlite3_column_text(rows, 0));
		} else if (s == best && s > 0) {
			nbest++;
		}
	}
	sqlite3_reset(rows);
	return rc != SQLITE_DONE ? -1 : nbest == 1;
}

static int join_products(sqlite3 *db, ds_error *err)
{
	sqlite3_stmt *todo = NULL, *rows = NULL, *upd = NULL, *mem = NULL;
	int rc = DS_OK, step = SQLITE_DONE, best;
	long listed = cat_count(db, "SELECT count(*) FROM drugs WHERE list_key = nhsa_code AND section != '商保创新药目录'", err);

	if (listed <= 0)
		return listed < 0 ? DS_EIO : DS_OK;
	if (sqlite3_prepare_v2(db,
	                       "SELECT nhsa_code, CASE WHEN list_name != '' THEN list_name ELSE generic_name END,"
	                       " CASE WHEN list_form != '' THEN list_form ELSE dosage_form END, nrdl_no FROM drugs"
	                       " WHERE list_key = '' AND nrdl_no != ''",
	                       -1, &todo, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db,
	                       "SELECT nhsa_code, generic_name, section, dosage_form, list_no FROM drugs"
	                       " WHERE list_key = nhsa_code AND primary_no = ?1 ORDER BY nhsa_code",
	                       -1, &rows, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db,
	                       "UPDATE drugs SET list_key = r.nhsa_code, section = r.section, list_no = r.list_no,"
	                       " primary_no = r.primary_no, category = r.category, negotiated = r.negotiated,"
	                       " agreement_end = r.agreement_end, agreement_period = r.agreement_period,"
	                       " payment_standard = r.payment_standard, restriction = r.restriction,"
	                       " category_code = r.category_code FROM (SELECT * FROM drugs WHERE nhsa_code = ?2) AS r"
	                       " WHERE drugs.nhsa_code = ?1",
	                       -1, &upd, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db,
	                       "INSERT OR IGNORE INTO list_members (list_id, nhsa_code) SELECT list_id, ?1 FROM"
	                       " list_members WHERE nhsa_code = ?2",
	                       -1, &mem, NULL) != SQLITE_OK)
		rc = cat_sql_error(db, 0, err);
	while (rc == DS_OK && (step = sqlite3_step(todo)) == SQLITE_ROW) {
		const char *code = (const char *)sqlite3_column_text(todo, 0);
		char key[48];
		best = best_row(rows, code, (const char *)sqlite3_column_text(todo, 1), (const char *)sqlite3_column_text(todo, 2),
		                (const char *)sqlite3_column_text(todo, 3), key, sizeof(key));
		if (best < 0)
			rc = cat_sql_error(db, 0, err);
		if (best <= 0)
			continue;
		sqlite3_bind_text(upd, 1, code, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(upd, 2, key, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(mem, 1, code, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(mem, 2, key, -1, SQLITE_TRANSIENT);
		if ((step = sqlite3_step(upd)) != SQLITE_DONE || (step = sqlite3_step(mem)) != SQLITE_DONE)
			rc = cat_sql_error(db, step, err);
		sqlite3_reset(upd);
		sqlite3_reset(mem);
	}
	if (rc == DS_OK && step != SQLITE_DONE)
		rc = cat_sql_error(db, step, err);
	sqlite3_finalize(todo);
	sqlite3_finalize(rows);
	sqlite3_finalize(upd);
	sqlite3_finalize(mem);
	return rc;
}

int cat_after_import(sqlite3 *db, ds_error *err)
{
	int rc = join_products(db, err);

	return rc == DS_OK ? cat_search_rebuild(db, err) : rc;
}
