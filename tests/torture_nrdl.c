/*
 * torture_nrdl.c - the national list as the catalog: its import with every
 * stated total checked, the row keys, name search (full-width, Roman
 * numerals, brackets, dosage forms), resolving names, the pharmacy's 对照
 * (round trip through export-map, surviving --replace and a rebuild from a
 * newer compiled-in list), NHSA exports joined to list rows, local
 * policies, ratios and catalog.outdated.
 *
 * usage: torture_nrdl SOURCE_DIR (for data/nrdl-2025)
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "catalog.h"

static char tmpdir[256];
static const char *srcdir = ".";

static const char *path_of(const char *name)
{
	static char paths[32][512];
	static unsigned next;
	char *p = paths[next++ % 32];
	snprintf(p, 512, "%s/%s", tmpdir, name);
	return p;
}

static void write_text(const char *name, const char *text)
{
	FILE *f = fopen(path_of(name), "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, strlen(text), f), strlen(text));
	fclose(f);
}

static int setup(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/drugscan-nrdl-XXXXXX");
	assert_non_null(mkdtemp(tmpdir));
	unsetenv("DRUGSCAN_CATALOG_SEED");
	return 0;
}

static int teardown(void **state)
{
	char cmd[600];
	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

/* A catalog built from the compiled-in list, in its own file. */
static ds_catalog *nrdl_catalog(const char *name)
{
	ds_catalog *cat = NULL;
	ds_error err;

	unlink(path_of(name));
	assert_int_equal(ds_catalog_open(&cat, path_of(name), 1, &err), 0);
	assert_int_equal(ds_catalog_import_nrdl(cat, &err), 0);
	return cat;
}

static const ds_list_check *check_of(const ds_catalog_info *info, const char *id)
{
	size_t i;
	for (i = 0; i < info->nchecks; i++)
		if (!strcmp(info->checks[i].id, id))
			return &info->checks[i];
	fail_msg("no check %s", id);
	return NULL;
}

static void expect_total(const ds_catalog_info *info, const char *id, long actual, long rows)
{
	const ds_list_check *c = check_of(info, id);
	if (!c)
		return;
	assert_int_equal(c->actual, actual);
	assert_int_equal(c->stated, actual);
	assert_true(c->ok);
	assert_int_equal(c->rows, rows);
}

static void test_import_and_stated_totals(void **state)
{
	ds_catalog *cat = nrdl_catalog("totals.db");
	ds_catalog_info info;
	ds_error err;

	(void)state;
	assert_int_equal(ds_catalog_get_info(cat, &info, &err), 0);
	assert_false(info.synthetic);
	assert_string_equal(info.list_name, "国家基本医疗保险、生育保险和工伤保险药品目录（2025年）");
	assert_string_equal(info.list_document, "医保发〔2025〕33号");
	assert_string_equal(info.list_valid_from, "2026-01-01");
	assert_string_equal(info.list_superseded_from, "2027-01-01");
	assert_string_equal(info.version, ds_catalog_builtin_version());
	assert_int_equal(info.list_rows, 3915);
	assert_int_equal(info.drugs, 3915 + 19);
	assert_true(info.checks_ok);
	expect_total(&info, "section_w", 1446, 2000);
	expect_total(&info, "section_z", 1335, 1443);
	expect_total(&info, "section_nw_b", 411, 411);
	expect_total(&info, "section_nz", 61, 61);
	expect_total(&info, "western", 1857, -1);
	expect_total(&info, "tcm", 1396, -1);
	expect_total(&info, "negotiated", 472, -1);
	expect_total(&info, "class_a_western", 393, -1);
	expect_total(&info, "class_a_tcm", 246, -1);
	expect_total(&info, "total", 3253, -1);
	expect_total(&info, "new_2025", 114, -1);
	expect_total(&info, "cidl", 19, -1);
	assert_int_equal(info.local_mappings, 0);
	ds_catalog_close(cat);
}

/* ---- keys and targets ---- */

static void expect_resolves(ds_catalog *cat, const char *target, const char *key)
{
	char got[64] = "";
	ds_error err;

	if (ds_catalog_resolve(cat, target, got, sizeof(got), NULL, NULL, &err) != DS_OK)
		fail_msg("%s: %s", target, err.message);
	if (strcmp(got, key))
		fail_msg("%s resolved to %s, not %s", target, got, key);
}

static int count_hit(void *ctx, const ds_search_hit *h)
{
	(void)h;
	(*(int *)ctx)++;
	return 0;
}

static void test_keys_and_targets(void **state)
{
	ds_catalog *cat = nrdl_catalog("keys.db");
	char key[64];
	ds_error err;
	int n = 0;

	(void)state;
	/* keys, SECTION:NUMBER in its forms, ★ rows in the order printed (full-width ★（406） too) */
	expect_resolves(cat, "NRDL2025-W-0693", "NRDL2025-W-0693");
	expect_resolves(cat, "W:693", "NRDL2025-W-0693");
	expect_resolves(cat, "西药:693", "NRDL2025-W-0693");
	expect_resolves(cat, "西药部分：693", "NRDL2025-W-0693");
	expect_resolves(cat, "W:693-S2", "NRDL2025-W-0693-S2");
	expect_resolves(cat, "W:★(406)", "NRDL2025-W-0406-S1");
	expect_resolves(cat, "Z:1", "NRDL2025-Z-0001");
	expect_resolves(cat, "谈判西药:35", "NRDL2025-NW-0035");
	expect_resolves(cat, "竞价:2", "NRDL2025-B-0002");
	expect_resolves(cat, "C:19", "CIDL2025-19");
	/* names: the box's name picks the row of its form; a salt is ignored; an alias is found */
	expect_resolves(cat, "头孢克肟分散片", "NRDL2025-W-0693");
	expect_resolves(cat, "头孢克肟颗粒", "NRDL2025-W-0693-S2");
	expect_resolves(cat, "布洛芬缓释胶囊", "NRDL2025-W-1010-S2");
	expect_resolves(cat, "阿托伐他汀钙片", "NRDL2025-W-0474");
	expect_resolves(cat, "氯沙坦钾片", "NRDL2025-W-0457");
	expect_resolves(cat, "二甲双胍缓释片", "NRDL2025-W-0134-S1");
	expect_resolves(cat, "艾司奥美拉唑镁肠溶片", "NRDL2025-W-0016");
	expect_resolves(cat, "替尔泊肽注射液", "NRDL2025-NW-0035");
	/* a row in another form comes after the others; 中成药 names list their forms in brackets */
	expect_resolves(cat, "磷酸奥司他韦胶囊", "NRDL2025-W-0803");
	expect_resolves(cat, "盐酸二甲双胍片", "NRDL2025-W-0134");
	expect_resolves(cat, "连花清瘟胶囊", "NRDL2025-Z-0129");
	expect_resolves(cat, "六味地黄胶囊", "NRDL2025-Z-0372-S1");
	expect_resolves(cat, "六味地黄丸", "NRDL2025-Z-0372");
	expect_resolves(cat, "复方丹参滴丸", "NRDL2025-Z-0513");
	/* a numbered family by its name: 布地奈德福莫特罗Ⅰ、布地奈德福莫特罗Ⅱ */
	expect_resolves(cat, "布地奈德福莫特罗吸入粉雾剂", "NRDL2025-W-1269");
	/* an ambiguous name is refused, with its candidates */
	assert_int_equal(ds_catalog_resolve(cat, "头孢克肟", key, sizeof(key), count_hit, &n, &err), DS_EINVAL);
	assert_int_equal(n, 3);
	assert_non_null(strstr(err.message, "ambiguous"));
	n = 0;
	assert_int_equal(ds_catalog_resolve(cat, "W:★(693)", key, sizeof(key), count_hit, &n, &err), DS_EINVAL);
	assert_non_null(strstr(err.message, "NRDL2025-W-0693-S1"));
	assert_int_equal(ds_catalog_resolve(cat, "没有这种药", key, sizeof(key), NULL, NULL, &err), DS_ENOTFOUND);
	ds_catalog_close(cat);
}

/* ---- search ---- */

typedef struct seen {
	char keys[8][64];
	int rank[8], newly[8], commercial[8], negotiated[8];
	char restriction[8][128];
	int n;
} seen;

static int keep_hit(void *ctx, const ds_search_hit *h)
{
	seen *f = ctx;
	if (f->n < 8) {
		snprintf(f->keys[f->n], sizeof(f->keys[0]), "%s", h->drug->nhsa_code);
		snprintf(f->restriction[f->n], sizeof(f->restriction[0]), "%.100s", h->drug->restriction);
		f->rank[f->n] = h->rank;
		f->newly[f->n] = h->new_2025;
		f->commercial[f->n] = h->commercial;
		f->negotiated[f->n] = h->drug->negotiated;
		f->n++;
	}
	return 0;
}

static seen search(ds_catalog *cat, const char *text)
{
	seen f;
	ds_error err;
	size_t total = 0;

	memset(&f, 0, sizeof(f));
	if (ds_catalog_search(cat, text, NULL, 8, keep_hit, &f, &total, &err) != DS_OK)
		fail_msg("search %s: %s", text, err.message);
	return f;
}

static void expect_first(ds_catalog *cat, const char *text, const char *key, int rank)
{
	seen f = search(cat, text);
	if (f.n == 0 || strcmp(f.keys[0], key) || f.rank[0] != rank)
		fail_msg("'%s': first hit %s (rank %d), not %s (rank %d)", text, f.n ? f.keys[0] : "none", f.n ? f.rank[0] : -1,
		         key, rank);
}

static void test_search(void **state)
{
	ds_catalog *cat = nrdl_catalog("search.db");
	seen f;
	ds_error err;

	(void)state;
	/* the name on the box: dosage form, full-width and Roman numerals do not matter */
	expect_first(cat, "阿达木单抗注射液", "NRDL2025-W-0977", 0);
	expect_first(cat, "阿达木单抗", "NRDL2025-W-0977", 0);
	expect_first(cat, "人凝血因子Ⅷ", "NRDL2025-W-0255", 0);
	expect_first(cat, "人凝血因子VIII", "NRDL2025-W-0255", 0);
	expect_first(cat, "人凝血因子ⅷ", "NRDL2025-W-0255", 0);
	expect_first(cat, "人凝血因子ＶＩＩＩ", "NRDL2025-W-0255", 0);
	expect_first(cat, "人凝血因子 viii", "NRDL2025-W-0255", 0);
	expect_first(cat, "奥美拉唑碳酸氢钠干混悬剂（Ⅱ）", "NRDL2025-W-0023", 0);
	expect_first(cat, "奥美拉唑碳酸氢钠干混悬剂[II]", "NRDL2025-W-0023", 0);
	expect_first(cat, "奥美拉唑碳酸氢钠干混悬剂(Ⅰ)", "NRDL2025-W-0022", 0);
	expect_first(cat, "注射用重组人凝血因子Ⅶa", "NRDL2025-W-0269", 0);
	expect_first(cat, "重组人凝血因子VIIa", "NRDL2025-W-0269", 0);
	expect_first(cat, "凝血因子Ⅷ", "NRDL2025-W-0255", 3);
	/* exact names first: the row named so before rows that contain the name */
	f = search(cat, "人凝血因子Ⅷ");
	assert_true(f.n >= 2);
	assert_string_equal(f.keys[1], "NRDL2025-W-0270");
	assert_int_equal(f.rank[1], 3);
	/* what a hit says: negotiated, restriction verbatim, new in 2025, the commercial list */
	f = search(cat, "替尔泊肽");
	assert_string_equal(f.keys[0], "NRDL2025-NW-0035");
	assert_true(f.newly[0] && f.negotiated[0] && !f.commercial[0]);
	assert_non_null(strstr(f.restriction[0], "限成人2型糖尿病患者的血糖控制"));
	f = search(cat, "仑卡奈单抗注射液");
	assert_string_equal(f.keys[0], "CIDL2025-19");
	assert_true(f.commercial[0] && !f.newly[0]);
	f = search(cat, "阿莫西林胶囊");
	assert_string_equal(f.keys[0], "NRDL2025-W-0656");
	assert_false(f.newly[0] || f.commercial[0] || f.negotiated[0]);
	/* fewer than 3 characters: LIKE, not the trigram index */
	f = search(cat, "芦比");
	assert_true(f.n >= 2);
	assert_string_equal(f.keys[f.n - 1], "CIDL2025-17"); /* 注射用芦比替定, after the list's own rows */
	f = search(cat, "不存在的药名");
	assert_int_equal(f.n, 0);
	assert_int_equal(ds_catalog_search(cat, " （ ）", NULL, 5, keep_hit, &f, NULL, &err), DS_EINVAL);
	ds_catalog_close(cat);
}

/* ---- 对照 ---- */

static void lookup(ds_catalog *cat, const char *payload, ds_insurance ins, int today, ds_drug *d, int *found,
                   ds_label *labels, size_t *n)
{
	ds_trace_opts to = {today, 90, 0};
	ds_lookup_opts lo = {ins, DS_LANG_EN, &to};
	ds_code code;
	ds_error err;

	ds_code_init(&code);
	assert_int_equal(ds_trace_parse(&code, payload, strlen(payload), NULL, NULL, &to), 0);
	*n = 0;
	assert_int_equal(ds_catalog_lookup(cat, &code, &lo, d, found, labels, n, DS_MAX_LABELS, &err), 0);
	ds_code_free(&code);
}

static const ds_label *find_label(const ds_label *labels, size_t n, const char *id)
{
	size_t i;
	for (i = 0; i < n; i++)
		if (!strcmp(labels[i].id, id))
			return &labels[i];
	return NULL;
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf = calloc(1, 1 << 16);
	size_t n;

	assert_non_null(f);
	assert_non_null(buf);
	n = fread(buf, 1, (1 << 16) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static void export_to(ds_catalog *cat, const char *name)
{
	FILE *f = fopen(path_of(name), "wb");
	ds_error err;

	assert_non_null(f);
	assert_int_equal(ds_catalog_export_map(cat, f, &err), 0);
	fclose(f);
}

static void test_mapping_round_trip_and_survival(void **state)
{
	ds_catalog *cat = nrdl_catalog("map.db"), *other;
	ds_map_opts demo = {1, 24, 1, "演示, \"quoted\""}, pack = {2, 10, 0, NULL};
	ds_import_opts replace = {1, 0, 0, 0}, plain = {0, 0, 0, 0};
	ds_import_report rep;
	ds_mapping m;
	ds_drug *d = malloc(sizeof(*d));
	ds_label *labels = malloc(DS_MAX_LABELS * sizeof(*labels));
	const char *paths[1];
	char data[600], *a, *b;
	size_t n;
	int found;
	ds_error err;

	(void)state;
	assert_non_null(d);
	assert_non_null(labels);
	assert_int_equal(ds_catalog_map(cat, "81000460000000000001", "头孢克肟分散片", &demo, &m, NULL, NULL, &err), 0);
	assert_string_equal(m.type, "trace_prefix");
	assert_string_equal(m.value, "8100046");
	assert_string_equal(m.target, "NRDL2025-W-0693");
	assert_true(m.resolved && m.demo);
	assert_int_equal(ds_catalog_map(cat, "8100047", "W:693", &pack, NULL, NULL, NULL, &err), 0);
	assert_int_equal(ds_catalog_map(cat, "(01)06901234567892(21)X", "替尔泊肽注射液", NULL, NULL, NULL, NULL, &err), 0);
	assert_int_equal(ds_catalog_map(cat, "MA.156.M0.100204.13351764", "NW:35", NULL, NULL, NULL, NULL, &err), 0);
	assert_int_equal(ds_catalog_map(cat, "6901234567898", "C:19", NULL, &m, NULL, NULL, &err), DS_EINVAL);
	assert_int_equal(ds_catalog_map(cat, "8100048", "头孢克肟", NULL, &m, NULL, NULL, &err), DS_EINVAL);

	/* a mapped code shows the list row, its labels and that the mapping is a demo one */
	lookup(cat, "81000460000000000001", DS_INS_ANY, 20260601, d, &found, labels, &n);
	assert_true(found && d->local_mapping && d->demo_mapping);
	assert_string_equal(d->list_key, "NRDL2025-W-0693");
	assert_non_null(find_label(labels, n, "catalog.demo_mapping"));
	assert_non_null(find_label(labels, n, "nrdl.class_b"));
	lookup(cat, "81000470000000000001", DS_INS_ANY, 20260601, d, &found, labels, &n);
	assert_non_null(find_label(labels, n, "code.package_level"));
	assert_null(find_label(labels, n, "catalog.demo_mapping"));
	lookup(cat, "81000490000000000001", DS_INS_ANY, 20260601, d, &found, labels, &n);
	assert_false(found);
	assert_non_null(strstr(find_label(labels, n, "catalog.unmapped")->text, "drugscan catalog map 8100049"));

	/* export -> import into a fresh catalog -> export: the same bytes */
	export_to(cat, "map1.csv");
	other = nrdl_catalog("map-other.db");
	paths[0] = path_of("map1.csv");
	memset(&rep, 0, sizeof(rep));
	assert_int_equal(ds_catalog_import(other, paths, 1, &plain, &rep, &err), 0);
	ds_import_report_free(&rep);
	export_to(other, "map2.csv");
	a = slurp(path_of("map1.csv"));
	b = slurp(path_of("map2.csv"));
	assert_string_equal(a, b);
	assert_non_null(strstr(a, "\"id_type\",\"identifier\",\"target\""));
	assert_non_null(strstr(a, "\"演示, \"\"quoted\"\"\""));
	free(a);
	free(b);
	ds_catalog_close(other);

	/* the national list imported again with --replace: the mappings stay and still resolve */
	snprintf(data, sizeof(data), "%s/data/nrdl-2025", srcdir);
	paths[0] = data;
	memset(&rep, 0, sizeof(rep));
	assert_int_equal(ds_catalog_import(cat, paths, 1, &replace, &rep, &err), 0);
	ds_import_report_free(&rep);
	assert_int_equal(ds_catalog_get_mapping(cat, "8100046", &m, &found, &err), 0);
	assert_true(found && m.resolved);
	lookup(cat, "81000460000000000001", DS_INS_ANY, 20260601, d, &found, labels, &n);
	assert_true(found);
	assert_string_equal(d->generic_name, "头孢克肟");
	assert_int_equal(ds_catalog_unmap(cat, "8100046", &found, &err), 0);
	assert_true(found);
	lookup(cat, "81000460000000000001", DS_INS_ANY, 20260601, d, &found, labels, &n);
	assert_false(found);
	ds_catalog_close(cat);
	free(d);
	free(labels);
}

static const char nhsa_export[] =
	"药品代码,注册名称,商品名称,注册剂型,注册规格,药品企业,批准文号,药品本位码,甲乙类,编号,药品名称,剂型,备注\n"
	"XJ01DDT123A001010100001,头孢克肟分散片,世福素,片剂,0.1g,某制药,国药准字H1,86900000000011,乙,693,头孢克肟,口服常释剂型,\n"
	"XJ01CAA999A001010100004,阿莫西林颗粒,,颗粒剂,0.125g,某厂,国药准字H2,86900000000042,甲,656,阿莫西林,颗粒剂,\n"
	"XA10BXT001B001010100002,替尔泊肽注射液,,注射剂,2.5mg,某厂,国药准字S1,86900000000028,乙,35,替尔泊肽注射液,,\n"
	"ZA01AAT001B001010100005,头孢克肟分散片,,片剂,0.1g,某厂,国药准字H3,86900000000059,乙,693,头孢克肟,口服常释剂型,\n";

static const char local_lists[] = "list_id,name_zh,name_en,source,label_id,severity\n"
                                  "dual-gd,广东省双通道药品,Guangdong dual channel,本地政策文件,policy.dual_channel,info\n";
static const char local_members[] = "list_id,nhsa_code\ndual-gd,NRDL2025-NW-0035\n";
static const char local_policies[] = "scope,insurance,setting,label_id,ratio,text_zh,text_en,source\n"
                                     "dual-gd,*,*,policy.dual_channel,,双通道（本地）,dual channel (local file),本地\n";

static void test_nhsa_join_local_policy_ratio_outdated(void **state)
{
	ds_catalog *cat = nrdl_catalog("join.db");
	ds_import_opts plain = {0, 0, 0, 0}, local = {0, 0, 0, 1}, replace = {1, 0, 0, 0};
	ds_import_report rep;
	ds_drug *d = malloc(sizeof(*d));
	ds_label *labels = malloc(DS_MAX_LABELS * sizeof(*labels));
	const ds_label *l;
	const char *paths[3];
	char data[600];
	size_t n;
	int found;
	ds_error err;

	(void)state;
	assert_non_null(d);
	assert_non_null(labels);
	write_text("nhsa.csv", nhsa_export);
	paths[0] = path_of("nhsa.csv");
	memset(&rep, 0, sizeof(rep));
	assert_int_equal(ds_catalog_import(cat, paths, 1, &plain, &rep, &err), 0);
	ds_import_report_free(&rep);
	assert_int_equal(ds_catalog_map(cat, "8100046", "XJ01DDT123A001010100001", NULL, NULL, NULL, NULL, &err), 0);
	assert_int_equal(ds_catalog_map(cat, "8100047", "XJ01CAA999A001010100004", NULL, NULL, NULL, NULL, &err), 0);
	assert_int_equal(ds_catalog_map(cat, "8100048", "XA10BXT001B001010100002", NULL, NULL, NULL, NULL, &err), 0);
	assert_int_equal(ds_catalog_map(cat, "8100049", "ZA01AAT001B001010100005", NULL, NULL, NULL, NULL, &err), 0);
	/* joined by 编号 and name (and form: 阿莫西林颗粒 is the ★ 颗粒剂 row) */
	lookup(cat, "81000460000000000001", DS_INS_ANY, 20260601, d, &found, labels, &n);
	assert_string_equal(d->list_key, "NRDL2025-W-0693");
	assert_string_equal(d->brand_name, "世福素");
	lookup(cat, "81000470000000000001", DS_INS_ANY, 20260601, d, &found, labels, &n);
	assert_string_equal(d->list_key, "NRDL2025-W-0656-S2");
	lookup(cat, "81000490000000000001", DS_INS_ANY, 20260601, d, &found, labels, &n);
	assert_string_equal(d->list_key, ""); /* a Z code is not the Western row 693 */
	/* the product of a new, negotiated row: ratios per insurance, in JSON terms and in the text */
	lookup(cat, "81000480000000000001", DS_INS_EMPLOYEE, 20260601, d, &found, labels, &n);
	assert_string_equal(d->list_key, "NRDL2025-NW-0035");
	assert_non_null(find_label(labels, n, "nrdl.new_2025"));
	assert_non_null(l = find_label(labels, n, "policy.outpatient_inpatient_level"));
	assert_true(l && l->ratio > 0.9499 && l->ratio < 0.9501 && strstr(l->text, "95%"));
	assert_null(find_label(labels, n, "policy.dual_channel")); /* 双通道 only from a local file */
	lookup(cat, "81000480000000000001", DS_INS_RESIDENT, 20260601, d, &found, labels, &n);
	assert_non_null(l = find_label(labels, n, "policy.outpatient_inpatient_level"));
	assert_true(l && l->ratio > 0.7999 && l->ratio < 0.8001 && strstr(l->text, "80%") && !strstr(l->text, "95%"));

	/* a local policy file: 双通道 for the row, and so for the product joined to it */
	write_text("lists.csv", local_lists);
	write_text("members.csv", local_members);
	write_text("policies.csv", local_policies);
	paths[0] = path_of("lists.csv"), paths[1] = path_of("members.csv"), paths[2] = path_of("policies.csv");
	memset(&rep, 0, sizeof(rep));
	assert_int_equal(ds_catalog_import(cat, paths, 3, &local, &rep, &err), 0);
	ds_import_report_free(&rep);
	lookup(cat, "81000480000000000001", DS_INS_ANY, 20260601, d, &found, labels, &n);
	assert_non_null(l = find_label(labels, n, "policy.dual_channel"));
	assert_string_equal(l ? l->text : "", "dual channel (local file)");

	/* national data replaced: the local policy stays; the NHSA code is gone, so its 对照 says so */
	snprintf(data, sizeof(data), "%s/data/nrdl-2025", srcdir);
	paths[0] = data;
	memset(&rep, 0, sizeof(rep));
	assert_int_equal(ds_catalog_import(cat, paths, 1, &replace, &rep, &err), 0);
	ds_import_report_free(&rep);
	assert_int_equal(ds_catalog_map(cat, "8100048", "NW:35", NULL, NULL, NULL, NULL, &err), 0);
	lookup(cat, "81000480000000000001", DS_INS_ANY, 20260601, d, &found, labels, &n);
	assert_non_null(find_label(labels, n, "policy.dual_channel"));
	lookup(cat, "81000460000000000001", DS_INS_ANY, 20260601, d, &found, labels, &n);
	assert_false(found);
	assert_non_null(strstr(find_label(labels, n, "catalog.unmapped")->text, "XJ01DDT123A001010100001"));

	/* from 2027-01-01 every answer says the list is out of date and how to update */
	assert_null(find_label(labels, n, "catalog.outdated"));
	lookup(cat, "81000460000000000001", DS_INS_ANY, 20261231, d, &found, labels, &n);
	assert_null(find_label(labels, n, "catalog.outdated"));
	lookup(cat, "81000460000000000001", DS_INS_ANY, 20270101, d, &found, labels, &n);
	assert_non_null(l = find_label(labels, n, "catalog.outdated"));
	assert_true(l && l->level == DS_LEVEL_WARN && strstr(l->text, "drugscan catalog update"));
	lookup(cat, "81000480000000000001", DS_INS_ANY, 20270315, d, &found, labels, &n);
	assert_non_null(find_label(labels, n, "catalog.outdated"));
	assert_true(ds_catalog_outdated(cat, 20270101));
	assert_false(ds_catalog_outdated(cat, 20261231));
	ds_catalog_close(cat);
	free(d);
	free(labels);
}

/* A local policy row replaces the national one with its key; the others stay. */
static void test_local_policy_overrides(void **state)
{
	ds_catalog *cat = nrdl_catalog("override.db");
	ds_import_opts local = {0, 0, 0, 1};
	ds_import_report rep;
	ds_drug *d = malloc(sizeof(*d));
	ds_label *labels = malloc(DS_MAX_LABELS * sizeof(*labels));
	const ds_label *l;
	const char *paths[1];
	size_t n;
	int found;
	ds_error err;

	(void)state;
	assert_non_null(d);
	assert_non_null(labels);
	assert_int_equal(ds_catalog_map(cat, "8100012", "NW:35", NULL, NULL, NULL, NULL, &err), 0);
	write_text("override.csv", "scope,insurance,setting,label_id,ratio,text_zh,text_en,source\n"
	                           "nrdl-2025-new,employee,outpatient,policy.outpatient_inpatient_level,0.9,"
	                           "本市职工90%,city: employee 90%,本市文件\n");
	paths[0] = path_of("override.csv");
	memset(&rep, 0, sizeof(rep));
	assert_int_equal(ds_catalog_import(cat, paths, 1, &local, &rep, &err), 0);
	ds_import_report_free(&rep);
	lookup(cat, "81000120000000000001", DS_INS_EMPLOYEE, 20260601, d, &found, labels, &n);
	assert_non_null(l = find_label(labels, n, "policy.outpatient_inpatient_level"));
	assert_string_equal(l ? l->text : "", "city: employee 90%");
	assert_true(l && l->ratio > 0.8999 && l->ratio < 0.9001);
	lookup(cat, "81000120000000000001", DS_INS_RESIDENT, 20260601, d, &found, labels, &n);
	assert_non_null(l = find_label(labels, n, "policy.outpatient_inpatient_level"));
	assert_non_null(strstr(l ? l->text : "", "resident insurance up to 80%"));
	lookup(cat, "81000120000000000001", DS_INS_ANY, 20260601, d, &found, labels, &n);
	assert_non_null(l = find_label(labels, n, "policy.outpatient_inpatient_level"));
	assert_non_null(strstr(l ? l->text : "", "city: employee 90%; 2026 news reports"));
	ds_catalog_close(cat);
	free(d);
	free(labels);
}

static void expect_synthetic_label(ds_catalog *cat, int present)
{
	ds_drug *d = malloc(sizeof(*d));
	ds_label *labels = malloc(DS_MAX_LABELS * sizeof(*labels));
	size_t n;
	int found;

	assert_non_null(d);
	assert_non_null(labels);
	lookup(cat, "81234567890123456789", DS_INS_ANY, 20260601, d, &found, labels, &n);
	assert_int_equal(find_label(labels, n, "catalog.synthetic") != NULL, present);
	free(d);
	free(labels);
}

static void test_default_catalog(void **state)
{
	ds_catalog *cat = NULL;
	ds_catalog_info info;
	ds_error err;
	sqlite3 *db;
	char dir[300], path[400];

	(void)state;
	snprintf(dir, sizeof(dir), "%s/home", tmpdir);
	assert_int_equal(ds_catalog_open_default(&cat, dir, &err), 0);
	ds_catalog_get_info(cat, &info, &err);
	assert_false(info.synthetic);
	assert_int_equal(info.list_rows, 3915);
	assert_int_equal(ds_catalog_map(cat, "8100046", "W:693", NULL, NULL, NULL, NULL, &err), 0);
	ds_catalog_close(cat);
	/* an unknown seed is refused */
	setenv("DRUGSCAN_CATALOG_SEED", "nonsense", 1);
	assert_int_equal(ds_catalog_open_default(&cat, dir, &err), DS_EINVAL);
	unsetenv("DRUGSCAN_CATALOG_SEED");
	/* built from an older compiled-in list: rebuilt, the pharmacy's mapping kept */
	snprintf(path, sizeof(path), "%s/catalog.db", dir);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "UPDATE meta SET value = 'builtin:nrdl-2024' WHERE key = 'seed';"
	                                  "DELETE FROM drugs WHERE nhsa_code = 'NRDL2025-Z-0001'",
	                              NULL, NULL, NULL),
	                 SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(ds_catalog_open_default(&cat, dir, &err), 0);
	ds_catalog_get_info(cat, &info, &err);
	assert_int_equal(info.list_rows, 3915);
	assert_int_equal(info.local_mappings, 1);
	assert_int_equal(info.local_unresolved, 0);
	ds_catalog_close(cat);
	/* the demo, on request only, in its own directory */
	snprintf(dir, sizeof(dir), "%s/demo-home", tmpdir);
	setenv("DRUGSCAN_CATALOG_SEED", "demo", 1);
	assert_int_equal(ds_catalog_open_default(&cat, dir, &err), 0);
	unsetenv("DRUGSCAN_CATALOG_SEED");
	ds_catalog_get_info(cat, &info, &err);
	assert_true(info.synthetic);
	assert_int_equal(info.list_rows, 0);
	ds_catalog_close(cat);
	/* a demo nobody asked for (an older drugscan built it by default) says so on every answer */
	snprintf(path, sizeof(path), "%s/catalog.db", dir);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "DELETE FROM meta WHERE key = 'seed'", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(ds_catalog_open_default(&cat, dir, &err), 0);
	expect_synthetic_label(cat, 1);
	assert_int_equal(ds_catalog_import_nrdl(cat, &err), 0); /* catalog import --builtin */
	expect_synthetic_label(cat, 0);
	ds_catalog_close(cat);
}

static void test_bad_list_rows(void **state)
{
	ds_catalog *cat = NULL;
	ds_import_opts plain = {0, 0, 0, 0};
	ds_import_report rep;
	const char *paths[2];
	ds_error err;

	(void)state;
	assert_int_equal(ds_catalog_open(&cat, path_of("bad.db"), 1, &err), 0);
	write_text("meta.csv", "key,value\nlist_year,2025\n");
	write_text("rows.csv", "section,no,primary_no,name_zh,dosage_form,class,restriction,payment_standard,"
	                       "agreement_period,category_code,new_2025,pdf_page\n"
	                       "西药部分,1,1,好药,,甲,,,,XA01,0,9\n"
	                       "西药部分,★(2),3,坏号,,乙,,,,XA01,0,9\n"
	                       "外星部分,4,4,坏节,,乙,,,,XA01,0,9\n"
	                       "西药部分,5,5,坏类,,丙,,,,XA01,0,9\n"
	                       "竞价药品部分,6,6,坏期,,乙,,1元,2026年1月1日至明年,XA01,0,9\n");
	paths[0] = path_of("meta.csv"), paths[1] = path_of("rows.csv");
	memset(&rep, 0, sizeof(rep));
	assert_int_equal(ds_catalog_import(cat, paths, 2, &plain, &rep, &err), DS_EINVAL);
	assert_int_equal(rep.bad, 4);
	assert_non_null(strstr(rep.errors.ptr, "rows.csv:3:3: primary_no '3' does not match no '★(2)'"));
	assert_non_null(strstr(rep.errors.ptr, "rows.csv:4:1: section '外星部分'"));
	assert_non_null(strstr(rep.errors.ptr, "rows.csv:5:6: class '丙'"));
	assert_non_null(strstr(rep.errors.ptr, "rows.csv:6:9: agreement_period"));
	ds_import_report_free(&rep);
	/* without its meta.csv the rows cannot be keyed */
	paths[0] = path_of("rows.csv");
	memset(&rep, 0, sizeof(rep));
	assert_int_equal(ds_catalog_import(cat, paths, 1, &plain, &rep, &err), DS_EINVAL);
	assert_non_null(strstr(rep.errors.ptr, "list_year"));
	ds_import_report_free(&rep);
	ds_catalog_close(cat);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_import_and_stated_totals),
		cmocka_unit_test(test_keys_and_targets),
		cmocka_unit_test(test_search),
		cmocka_unit_test(test_mapping_round_trip_and_survival),
		cmocka_unit_test(test_nhsa_join_local_policy_ratio_outdated),
		cmocka_unit_test(test_local_policy_overrides),
		cmocka_unit_test(test_default_catalog),
		cmocka_unit_test(test_bad_list_rows),
	};
	if (argc > 1)
		srcdir = argv[1];
	return cmocka_run_group_tests(tests, setup, teardown);
}
