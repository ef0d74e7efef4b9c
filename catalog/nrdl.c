/*
 * nrdl.c - the national list as a whole: its sections and the keys of its
 * rows, its period of validity (catalog.outdated), and its stated totals
 * checked against the rows in the catalog (`drugscan catalog info`).
 *
 * Row keys (docs/catalog-format.md, "The national list"): the list has no
 * drug codes, so each printed row gets NRDL<year>-<section>-<number>, with
 * the section letters below and the number zero-padded to 4 digits. A
 * "★(n)" row, which repeats number n for another form, adds -S1, -S2, ... in
 * the order the list prints them. 商保创新药目录 rows are CIDL<year>-<nn>.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static const cat_section sections[] = {
	{"西药部分", "W", {"西药", "western", NULL, NULL}, 1, 0},
	{"中成药部分", "Z", {"中成药", "tcm", NULL, NULL}, 0, 0},
	{"协议期内谈判药品部分-西药", "NW", {"谈判西药", "谈判药品西药", NULL, NULL}, 1, 1},
	{"协议期内谈判药品部分-中成药", "NZ", {"谈判中成药", "谈判药品中成药", NULL, NULL}, 0, 1},
	{"竞价药品部分", "B", {"竞价", "竞价药品", NULL, NULL}, 1, 1},
	{"商保创新药目录", "C", {"CIDL", "商保", "商保创新药", "商业健康保险创新药品目录"}, 1, 0},
};

const cat_section *cat_section_by_name(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(sections) / sizeof(sections[0]); i++)
		if (!strcmp(sections[i].name, name))
			return &sections[i];
	return NULL;
}

const cat_section *cat_section_by_alias(const char *alias)
{
	size_t i, k;

	for (i = 0; i < sizeof(sections) / sizeof(sections[0]); i++) {
		if (!strcmp(sections[i].name, alias) || !strcasecmp(sections[i].code, alias))
			return &sections[i];
		for (k = 0; k < 4 && sections[i].aliases[k]; k++)
			if (!strcasecmp(sections[i].aliases[k], alias))
				return &sections[i];
	}
	return NULL;
}

/* ---- the period ---- */

static int ymd_of(const char *s)
{
	int y = 0, m = 0, d = 0, i;

	if (strlen(s) != 10 || s[4] != '-' || s[7] != '-')
		return 0;
	for (i = 0; i < 10; i++) {
		if (i == 4 || i == 7)
			continue;
		if (s[i] < '0' || s[i] > '9')
			return 0;
		if (i < 4)
			y = y * 10 + (s[i] - '0');
		else if (i < 7)
			m = m * 10 + (s[i] - '0');
		else
			d = d * 10 + (s[i] - '0');
	}
	return y * 10000 + m * 100 + d;
}

int cat_load_period(ds_catalog *cat, ds_error *err)
{
	static const char *const has_rows[] = {"SELECT EXISTS (SELECT 1 FROM local_identifiers)",
	                                       "SELECT EXISTS (SELECT 1 FROM local_lists)",
	                                       "SELECT EXISTS (SELECT 1 FROM local_list_members)",
	                                       "SELECT EXISTS (SELECT 1 FROM local_policies)"};
	int *const flags[] = {&cat->local_idents, &cat->local_lists, &cat->local_members, &cat->local_policies};
	char from[16], doc[64], name[192], name_en[192], synthetic[8], seed[64];
	long n;
	size_t i;

	if (cat_meta(cat->db, "list_superseded_from", from, sizeof(from), err) < 0 ||
	    cat_meta(cat->db, "list_document", doc, sizeof(doc), err) < 0 ||
	    cat_meta(cat->db, "list_name", name, sizeof(name), err) < 0 ||
	    cat_meta(cat->db, "list_name_en", name_en, sizeof(name_en), err) < 0 ||
	    cat_meta(cat->db, "synthetic", synthetic, sizeof(synthetic), err) < 0 ||
	    cat_meta(cat->db, "seed", seed, sizeof(seed), err) < 0)
		return DS_EIO;
	cat->superseded_ymd = ymd_of(from);
	cat->unannounced_demo = synthetic[0] == '1' && strcmp(seed, "demo") != 0;
	for (i = 0; i < sizeof(has_rows) / sizeof(has_rows[0]); i++) {
		if ((n = cat_count(cat->db, has_rows[i], err)) < 0)
			return DS_EIO;
		*flags[i] = n > 0;
	}
	snprintf(cat->outdated_zh, sizeof(cat->outdated_zh),
	         "目录可能已过期：本地目录是%s（%s），自 %s 起应已由新版目录取代；请运行 drugscan catalog update，"
	         "或安装带新版目录的 drugscan，或用 drugscan catalog import --replace 导入新版目录",
	         name, doc, from);
	snprintf(cat->outdated_en, sizeof(cat->outdated_en),
	         "the catalog may be out of date: it holds %s (%s), which a newer list replaces from %s; run `drugscan "
	         "catalog update`, install a drugscan that carries the new list, or import it with `drugscan catalog "
	         "import --replace DIR`",
	         name_en[0] ? name_en : name, doc, from);
	return DS_OK;
}

int ds_catalog_outdated(ds_catalog *cat, int today_ymd)
{
	if (!cat || !cat->superseded_ymd)
		return 0;
	if (today_ymd <= 0)
		today_ymd = ds_today_ymd();
	return today_ymd >= cat->superseded_ymd;
}

/* ---- stated totals ---- */

/* Numbers are counted once per section however many ★ rows repeat them;
 * only the list's own rows count, not products joined to them. */
#define ROWS "FROM drugs WHERE list_key = nhsa_code AND "
#define NUMBERS(where) "SELECT count(*) FROM (SELECT DISTINCT section, primary_no " ROWS where ")"

static const struct check_def {
	const char *id, *name_zh, *name_en;
	const char *rows_sql;    /* NULL: no row count */
	const char *count_sql;
} checks[] = {
	{"section_w", "西药部分", "Western medicines (西药部分)", "SELECT count(*) " ROWS "section = '西药部分'",
	 NUMBERS("section = '西药部分'")},
	{"section_z", "中成药部分", "Chinese patent medicines (中成药部分)", "SELECT count(*) " ROWS "section = '中成药部分'",
	 NUMBERS("section = '中成药部分'")},
	{"section_nw_b", "谈判药品西药 + 竞价药品", "negotiated Western + bidding (谈判西药 + 竞价)",
	 "SELECT count(*) " ROWS "section IN ('协议期内谈判药品部分-西药', '竞价药品部分')",
	 NUMBERS("section IN ('协议期内谈判药品部分-西药', '竞价药品部分')")},
	{"section_nz", "谈判药品中成药", "negotiated Chinese patent medicines (谈判中成药)",
	 "SELECT count(*) " ROWS "section = '协议期内谈判药品部分-中成药'", NUMBERS("section = '协议期内谈判药品部分-中成药'")},
	{"western", "西药（编号）", "Western medicines, numbers (西药)", NULL,
	 NUMBERS("section IN ('西药部分', '协议期内谈判药品部分-西药', '竞价药品部分')")},
	{"tcm", "中成药（编号）", "Chinese patent medicines, numbers (中成药)", NULL,
	 NUMBERS("section IN ('中成药部分', '协议期内谈判药品部分-中成药')")},
	{"negotiated", "协议期内谈判药品（含竞价）", "negotiated, incl. bidding (谈判)", NULL,
	 NUMBERS("section IN ('协议期内谈判药品部分-西药', '协议期内谈判药品部分-中成药', '竞价药品部分')")},
	{"class_a_western", "西药甲类（编号）", "Western class A, numbers (西药甲类)", NULL,
	 NUMBERS("section = '西药部分' AND category = 'A'")},
	{"class_a_tcm", "中成药甲类（编号）", "Chinese patent class A, numbers (中成药甲类)", NULL,
	 NUMBERS("section = '中成药部分' AND category = 'A'")},
	{"total", "合计（编号）", "total numbers", NULL,
	 NUMBERS("section IN ('西药部分', '中成药部分', '协议期内谈判药品部分-西药', '协议期内谈判药品部分-中成药',"
	         " '竞价药品部分')")},
	{"new_2025", "2025年新增（推导）", "added in 2025 (derived)", NULL,
	 "SELECT count(*) FROM drugs d WHERE list_key = nhsa_code AND EXISTS (SELECT 1 FROM list_members m"
	 " JOIN lists l USING (list_id) WHERE m.nhsa_code = d.nhsa_code AND l.label_id = 'nrdl.new_2025')"},
	{"cidl", "商保创新药目录", "commercial innovative list (商保创新药目录)", NULL,
	 "SELECT count(*) " ROWS "section = '商保创新药目录'"},
};

int cat_list_info(sqlite3 *db, ds_catalog_info *info, ds_error *err)
{
	size_t i;

	if (cat_meta(db, "list_name", info->list_name, sizeof(info->list_name), err) < 0 ||
	    cat_meta(db, "list_name_en", info->list_name_en, sizeof(info->list_name_en), err) < 0 ||
	    cat_meta(db, "list_document", info->list_document, sizeof(info->list_document), err) < 0 ||
	    cat_meta(db, "list_valid_from", info->list_valid_from, sizeof(info->list_valid_from), err) < 0 ||
	    cat_meta(db, "list_superseded_from", info->list_superseded_from, sizeof(info->list_superseded_from), err) < 0 ||
	    cat_meta(db, "credit", info->credit, sizeof(info->credit), err) < 0 ||
	    (info->list_rows = cat_count(db, "SELECT count(*) FROM drugs WHERE list_key = nhsa_code AND section !="
	                                     " '商保创新药目录'", err)) < 0)
		return DS_EIO;
	info->nchecks = 0;
	info->checks_ok = 1;
	if (info->list_rows == 0)
		return DS_OK;
	for (i = 0; i < sizeof(checks) / sizeof(checks[0]) && info->nchecks < DS_MAX_LIST_CHECKS; i++) {
		ds_list_check *c = &info->checks[info->nchecks];
		char key[64], stated[32];
		char *end;
		snprintf(key, sizeof(key), "stated_%s", checks[i].id);
		if (cat_meta(db, key, stated, sizeof(stated), err) < 0)
			return DS_EIO;
		c->id = checks[i].id;
		c->name_zh = checks[i].name_zh;
		c->name_en = checks[i].name_en;
		c->rows = checks[i].rows_sql ? cat_count(db, checks[i].rows_sql, err) : 0;
		c->actual = c->rows < 0 ? -1 : cat_count(db, checks[i].count_sql, err);
		if (c->actual < 0)
			return DS_EIO;
		if (!checks[i].rows_sql)
			c->rows = -1;
		c->stated = stated[0] ? strtol(stated, &end, 10) : -1;
		if (stated[0] && *end)
			c->stated = -1;
		if (c->actual == 0 && c->stated < 0)
			continue; /* nothing of this kind and nothing stated: not shown */
		c->ok = c->stated < 0 || c->stated == c->actual;
		info->checks_ok &= c->ok;
		info->nchecks++;
	}
	return DS_OK;
}
