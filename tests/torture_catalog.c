/*
 * torture_catalog.c - schema and migrations, every import path, and the
 * derivation of every label id, on real SQLite files in a temp directory.
 */
#include <errno.h>
#include <iconv.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "catalog.h"

static char tmpdir[256];

static void write_file(const char *name, const void *data, size_t len)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	fclose(f);
}

static void write_text(const char *name, const char *text)
{
	write_file(name, text, strlen(text));
}

/* Paths live until the test ends (a few dozen): each call gets its own. */
static const char *path_of(const char *name)
{
	static char paths[64][512];
	static unsigned next;
	char *p = paths[next++ % 64];
	snprintf(p, 512, "%s/%s", tmpdir, name);
	return p;
}

static int setup(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/drugscan-cat-XXXXXX");
	assert_non_null(mkdtemp(tmpdir));
	return 0;
}

static int teardown(void **state)
{
	char cmd[600];
	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

/* A small, exact bundle: every label has a drug that earns it. */
static const char drugs_csv[] =
	"nhsa_code,generic_name,brand_name,dosage_form,spec,manufacturer,approval_no,standard_code,nrdl_no,category,"
	"negotiated,agreement_end,payment_standard,restriction,remarks\n"
	"XA01,甲药片,,片剂,10mg,\"厂家, 一\",国药准字H1,86900000000001,1,甲,0,,,,\n"
	"XB01,乙药胶囊,,胶囊剂,0.25g,厂家二,国药准字H2,,2,B,0,,,\"限二线用药，\n需有首选药物治疗失败证据\",\n"
	"XN01,谈判注射液,,注射剂,1ml,厂家三,,,3,,1,2027-12-31,1234.50,,\n"
	"XS01,自费片,,片剂,5mg,厂家四,,,,,0,,,,\n"
	"XC01,商保创新药,,注射剂,1ml,厂家五,,,,,0,,,,\n";

static const char ident_csv[] =
	"type,value,nhsa_code,package_level,units\n"
	"trace_prefix,8000001,XA01,1,24\n"
	"trace_prefix,8000002,XB01,1,10\n"
	"trace_prefix,8000003,XN01,1,1\n"
	"trace_prefix,8000004,XS01,1,30\n"
	"trace_prefix,8000005,XC01,1,1\n"
	"trace_prefix,8000006,XA01,2,10\n"
	"gtin,06901234567892,XN01,1,1\n"
	"ean13,6901234567892,XA01,1,24\n";

static const char lists_csv[] =
	"list_id,name_zh,name_en,source,label_id,severity\n"
	"new,2025新增,new in 2025,test,nrdl.new_2025,info\n"
	"dual,双通道,dual channel,test,policy.dual_channel,info\n"
	"chronic,慢特病,chronic,test,policy.chronic_outpatient,info\n"
	"chi,商保创新药,commercial,test,list.commercial_innovative,warn\n";

static const char members_csv[] = "list_id,nhsa_code\nnew,XN01\ndual,XN01\nchronic,XB01\nchi,XC01\n";

static const char policies_csv[] =
	"scope,insurance,setting,label_id,ratio,text_zh,text_en\n"
	"new,employee,outpatient,policy.outpatient_inpatient_level,0.95,职工95%,employee 95%\n"
	"new,resident,outpatient,policy.outpatient_inpatient_level,0.8,居民80%,resident 80%\n"
	"category:B,employee,*,nrdl.class_b,0.9,乙类自付10%,class B: 10% first\n";

static const char recalls_csv[] =
	"type,value,batch,reason,date\n"
	"gtin,06901234567892,LOT1,bad,2026-01-01\n"
	"trace_prefix,8000004,,all bad,2026-02-01\n";

static ds_catalog *fresh_catalog(const char *name)
{
	ds_catalog *cat = NULL;
	ds_error err;

	unlink(path_of(name));
	assert_int_equal(ds_catalog_open(&cat, path_of(name), 1, &err), 0);
	return cat;
}

static int import_bundle(ds_catalog *cat, ds_import_report *rep, ds_error *err)
{
	const char *paths[1];

	write_text("b/drugs.csv", drugs_csv);
	write_text("b/identifiers.csv", ident_csv);
	write_text("b/lists.csv", lists_csv);
	write_text("b/list_members.csv", members_csv);
	write_text("b/policies.csv", policies_csv);
	write_text("b/recalls.csv", recalls_csv);
	paths[0] = path_of("b");
	memset(rep, 0, sizeof(*rep));
	return ds_catalog_import(cat, paths, 1, NULL, rep, err);
}

static long scalar(ds_catalog *cat_unused, const char *db, const char *sql)
{
	sqlite3 *h;
	sqlite3_stmt *st;
	long v = -1;

	(void)cat_unused;
	assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(h, sql, -1, &st, NULL), SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW)
		v = (long)sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(h);
	return v;
}

static void test_schema_and_migrations(void **state)
{
	ds_catalog *cat;
	ds_catalog_info info;
	ds_error err;
	sqlite3 *h;

	(void)state;
	mkdir(path_of("b"), 0755);
	cat = fresh_catalog("m.db");
	ds_catalog_close(cat);
	assert_int_equal(scalar(NULL, path_of("m.db"), "PRAGMA user_version"), DS_CATALOG_SCHEMA_VERSION);
	assert_int_equal(scalar(NULL, path_of("m.db"), "PRAGMA application_id"), 0x44534341);
	/* reopening migrates nothing and keeps working */
	assert_int_equal(ds_catalog_open(&cat, path_of("m.db"), 0, &err), 0);
	assert_int_equal(ds_catalog_get_info(cat, &info, &err), 0);
	assert_int_equal(info.schema_version, DS_CATALOG_SCHEMA_VERSION);
	assert_int_equal(info.drugs, 0);
	ds_catalog_close(cat);
	/* a newer schema is refused */
	assert_int_equal(sqlite3_open(path_of("m.db"), &h), SQLITE_OK);
	sqlite3_exec(h, "PRAGMA user_version = 99", NULL, NULL, NULL);
	sqlite3_close(h);
	assert_int_equal(ds_catalog_open(&cat, path_of("m.db"), 0, &err), DS_EINVAL);
	assert_non_null(strstr(err.message, "newer than this drugscan"));
	/* another program's database is refused and left untouched */
	unlink(path_of("f.db"));
	assert_int_equal(sqlite3_open(path_of("f.db"), &h), SQLITE_OK);
	sqlite3_exec(h, "CREATE TABLE t (x); INSERT INTO t VALUES (42);", NULL, NULL, NULL);
	sqlite3_close(h);
	assert_int_equal(ds_catalog_open(&cat, path_of("f.db"), 1, &err), DS_EINVAL);
	assert_non_null(strstr(err.message, "not a drugscan catalog"));
	assert_int_equal(scalar(NULL, path_of("f.db"), "SELECT x FROM t"), 42);
	/* and so is a file that is not SQLite at all */
	write_text("junk.db", "this is not a database, it is a shopping list\n");
	assert_int_equal(ds_catalog_open(&cat, path_of("junk.db"), 1, &err), DS_EINVAL);
	assert_non_null(strstr(err.message, "not a drugscan catalog"));
}

static void test_import_bundle_and_idempotence(void **state)
{
	ds_catalog *cat = fresh_catalog("i.db");
	ds_import_report rep;
	ds_catalog_info info;
	ds_error err;

	(void)state;
	assert_int_equal(import_bundle(cat, &rep, &err), 0);
	assert_int_equal(rep.bad, 0);
	assert_int_equal(rep.files, 6);
	ds_catalog_get_info(cat, &info, &err);
	assert_int_equal(info.drugs, 5);
	assert_int_equal(info.listed, 3);
	assert_int_equal(info.identifiers, 8);
	ds_import_report_free(&rep);
	/* the same data again: nothing doubles */
	assert_int_equal(import_bundle(cat, &rep, &err), 0);
	ds_catalog_get_info(cat, &info, &err);
	assert_int_equal(info.drugs, 5);
	assert_int_equal(info.identifiers, 8);
	assert_int_equal(info.policies, 3);
	ds_import_report_free(&rep);
	ds_catalog_close(cat);
	/* quoted comma and embedded newline survived */
	assert_int_equal(scalar(NULL, path_of("i.db"), "SELECT count(*) FROM drugs WHERE manufacturer = '厂家, 一'"), 1);
	assert_int_equal(scalar(NULL, path_of("i.db"), "SELECT instr(restriction, char(10)) > 0 FROM drugs WHERE nhsa_code = 'XB01'"), 1);
}

static void test_bad_rows_all_or_nothing(void **state)
{
	ds_catalog *cat = fresh_catalog("bad.db");
	ds_import_report rep;
	ds_import_opts skip = {0, 1, 0, 0};
	ds_error err;
	const char *paths[1];

	(void)state;
	mkdir(path_of("bad"), 0755);
	write_text("bad/drugs.csv",
	           "nhsa_code,generic_name,category,negotiated,agreement_end\n"
	           "XOK1,好药,甲,0,\n"
	           "XBAD1,坏药,丙,0,\n"
	           ",无码药,乙,0,\n"
	           "XBAD2,坏日期,乙,1,2027-13-01\n"
	           "XOK2,好药二,B,1,2027-12-31\n");
	paths[0] = path_of("bad/drugs.csv");
	memset(&rep, 0, sizeof(rep));
	assert_int_equal(ds_catalog_import(cat, paths, 1, NULL, &rep, &err), DS_EINVAL);
	assert_int_equal(rep.bad, 3);
	assert_non_null(strstr(rep.errors.ptr, "drugs.csv:3:3: category '丙' is not 甲/乙/A/B or empty"));
	assert_non_null(strstr(rep.errors.ptr, "drugs.csv:4:1: nhsa_code is empty"));
	assert_non_null(strstr(rep.errors.ptr, "drugs.csv:5:5: agreement_end '2027-13-01' is not a YYYY-MM-DD date"));
	assert_non_null(strstr(err.message, "3 bad rows: nothing was imported"));
	assert_int_equal(scalar(NULL, path_of("bad.db"), "SELECT count(*) FROM drugs"), 0);
	ds_import_report_free(&rep);
	/* --skip-bad: the good rows go in */
	memset(&rep, 0, sizeof(rep));
	{ int rc_ = ds_catalog_import(cat, paths, 1, &skip, &rep, &err); if (rc_) print_message("err: %s\n", err.message); assert_int_equal(rc_, 0); }
	assert_int_equal(rep.rows, 2);
	assert_int_equal(scalar(NULL, path_of("bad.db"), "SELECT count(*) FROM drugs"), 2);
	ds_import_report_free(&rep);
	/* an identifier for a drug that does not exist, a bad GTIN, a malformed quote */
	write_text("bad/identifiers.csv", "type,value,nhsa_code\ntrace_prefix,8000009,NOPE\ngtin,06901234567893,XOK1\n");
	paths[0] = path_of("bad/identifiers.csv");
	memset(&rep, 0, sizeof(rep));
	assert_int_equal(ds_catalog_import(cat, paths, 1, NULL, &rep, &err), DS_EINVAL);
	assert_non_null(strstr(rep.errors.ptr, "identifiers.csv:2:3: nhsa_code 'NOPE' is not in the drugs"));
	assert_non_null(strstr(rep.errors.ptr, "identifiers.csv:3:2: gtin '06901234567893' has a wrong check digit"));
	ds_import_report_free(&rep);
	write_text("bad/q.csv", "list_id,nhsa_code\n\"new,XOK1\n");
	paths[0] = path_of("bad/q.csv");
	memset(&rep, 0, sizeof(rep));
	assert_true(ds_catalog_import(cat, paths, 1, NULL, &rep, &err) < 0);
	assert_non_null(strstr(err.message, "malformed CSV"));
	ds_import_report_free(&rep);
	write_text("bad/x.csv", "colour,size\nred,big\n");
	paths[0] = path_of("bad/x.csv");
	memset(&rep, 0, sizeof(rep));
	assert_true(ds_catalog_import(cat, paths, 1, NULL, &rep, &err) < 0);
	assert_non_null(strstr(err.message, "header not recognised"));
	ds_import_report_free(&rep);
	ds_catalog_close(cat);
}

static void test_bom_and_gb18030_nhsa_export(void **state)
{
	/* an NHSA-style export, as the authorities publish it: Chinese headers, GBK bytes */
	static const char utf8[] =
		"序号,药品代码,注册名称,商品名称,注册剂型,注册规格,包装材质,最小包装数量,药品企业,批准文号,药品本位码,甲乙类,编号,药品名称,剂型,备注\n"
		"1,XG01,阿莫西林胶囊,阿莫仙,胶囊剂,0.25g,铝塑,24,\"某制药, 有限公司\",国药准字H10000001,86900000000011,甲,5,阿莫西林,口服常释剂型,\n"
		"2,XG02,二甲双胍缓释片,,片剂,0.5g,瓶装,30,某药业,国药准字H10000002,86900000000028,乙,6,二甲双胍,缓释控释剂型,限二线用药\n";
	char gbk[2048], *in = (char *)(uintptr_t)utf8, *out = gbk;
	size_t inleft = sizeof(utf8) - 1, outleft = sizeof(gbk);
	iconv_t cd = iconv_open("GB18030", "UTF-8");
	ds_catalog *cat = fresh_catalog("gb.db");
	ds_import_report rep;
	ds_error err;
	const char *paths[1];
	char bom[sizeof(drugs_csv) + 3];

	(void)state;
	assert_true(cd != (iconv_t)-1);
	assert_true(iconv(cd, &in, &inleft, &out, &outleft) != (size_t)-1);
	iconv_close(cd);
	write_file("nhsa-gbk.csv", gbk, sizeof(gbk) - outleft);
	paths[0] = path_of("nhsa-gbk.csv");
	memset(&rep, 0, sizeof(rep));
	assert_int_equal(ds_catalog_import(cat, paths, 1, NULL, &rep, &err), 0);
	ds_import_report_free(&rep);
	ds_catalog_close(cat);
	assert_int_equal(scalar(NULL, path_of("gb.db"), "SELECT count(*) FROM drugs WHERE generic_name = '阿莫西林胶囊' AND category = 'A'"
	                                                " AND manufacturer = '某制药, 有限公司' AND brand_name = '阿莫仙'"), 1);
	assert_int_equal(scalar(NULL, path_of("gb.db"), "SELECT count(*) FROM drugs WHERE restriction = '限二线用药'"), 1);
	assert_int_equal(scalar(NULL, path_of("gb.db"), "SELECT units FROM identifiers WHERE type = 'standard_code'"
	                                                " AND value = '86900000000028'"), 30);
	/* UTF-8 with a BOM */
	memcpy(bom, "\xEF\xBB\xBF", 3);
	memcpy(bom + 3, drugs_csv, sizeof(drugs_csv) - 1);
	write_file("bom.csv", bom, sizeof(drugs_csv) + 2);
	cat = fresh_catalog("bom.db");
	paths[0] = path_of("bom.csv");
	memset(&rep, 0, sizeof(rep));
	assert_int_equal(ds_catalog_import(cat, paths, 1, NULL, &rep, &err), 0);
	assert_int_equal(rep.rows, 5);
	ds_import_report_free(&rep);
	ds_catalog_close(cat);
	/* bytes that are neither */
	write_file("bin.csv", "nhsa_code,generic_name\n\xff\xfe\xfd\x80,x\n", 28);
	cat = fresh_catalog("bin.db");
	paths[0] = path_of("bin.csv");
	memset(&rep, 0, sizeof(rep));
	assert_true(ds_catalog_import(cat, paths, 1, NULL, &rep, &err) < 0);
	assert_non_null(strstr(err.message, "neither UTF-8 nor GB18030"));
	ds_import_report_free(&rep);
	ds_catalog_close(cat);
}

/* ---- labels ---- */

typedef struct got {
	ds_drug drug;
	int found;
	ds_label labels[32];
	size_t n;
} got;

static void lookup(ds_catalog *cat, const char *payload, ds_insurance ins, got *g)
{
	ds_trace_opts to = {20260601, 90, 0};
	ds_lookup_opts lo = {ins, DS_LANG_EN, NULL};
	ds_code code;
	ds_error err;

	ds_code_init(&code);
	assert_int_equal(ds_trace_parse(&code, payload, strlen(payload), NULL, NULL, &to), 0);
	g->n = ds_trace_labels(g->labels, 32, &code, &to, DS_LANG_EN);
	assert_int_equal(ds_catalog_lookup(cat, &code, &lo, &g->drug, &g->found, g->labels, &g->n, 32, &err), 0);
	ds_code_free(&code);
}

static const ds_label *label(const got *g, const char *id)
{
	size_t i;
	for (i = 0; i < g->n; i++)
		if (!strcmp(g->labels[i].id, id))
			return &g->labels[i];
	return NULL;
}

static ds_level level_of(const got *g, const char *id)
{
	const ds_label *l = label(g, id);
	assert_non_null(l);
	return l ? l->level : DS_LEVEL_INFO;
}

static const char *text_of(const got *g, const char *id)
{
	const ds_label *l = label(g, id);
	assert_non_null(l);
	return l ? l->text : "";
}

/* The ratio of a label that must be there (-1 when it is not). */
static double ratio_of(const got *g, const char *id)
{
	const ds_label *l = label(g, id);
	assert_non_null(l);
	return l ? l->ratio : -1;
}

static void test_every_label(void **state)
{
	ds_catalog *cat = fresh_catalog("l.db");
	ds_import_report rep;
	ds_error err;
	got g;

	(void)state;
	assert_int_equal(import_bundle(cat, &rep, &err), 0);
	ds_import_report_free(&rep);

	lookup(cat, "80000010000000001234", DS_INS_ANY, &g);
	assert_true(g.found);
	assert_string_equal(g.drug.nhsa_code, "XA01");
	assert_string_equal(g.drug.matched_by, "trace_prefix");
	assert_int_equal(g.drug.units, 24);
	assert_non_null(label(&g, "nrdl.class_a"));
	assert_null(label(&g, "nrdl.not_covered"));

	lookup(cat, "80000020000000001234", DS_INS_ANY, &g);
	assert_non_null(label(&g, "nrdl.class_b"));
	assert_non_null(label(&g, "nrdl.restricted"));
	assert_non_null(strstr(text_of(&g, "nrdl.restricted"), "限二线用药，\n需有首选药物治疗失败证据")); /* verbatim */
	assert_int_equal(level_of(&g, "nrdl.restricted"), DS_LEVEL_WARN);
	assert_non_null(label(&g, "policy.chronic_outpatient"));
	lookup(cat, "80000020000000001234", DS_INS_EMPLOYEE, &g);
	/* a policy's ratio is on the label, and in its text as a percentage when the text lacks it */
	assert_string_equal(text_of(&g, "nrdl.class_b"), "class B: 10% first (ratio 90%)");
	assert_true(ratio_of(&g, "nrdl.class_b") > 0.8999 && ratio_of(&g, "nrdl.class_b") < 0.9001);
	lookup(cat, "80000020000000001234", DS_INS_ANY, &g);
	assert_true(ratio_of(&g, "nrdl.class_b") == 0); /* no insurance chosen, no ratio */

	lookup(cat, "80000030000000001234", DS_INS_ANY, &g);
	assert_non_null(label(&g, "nrdl.negotiated"));
	assert_non_null(strstr(text_of(&g, "nrdl.negotiated"), "2027-12-31"));
	assert_non_null(label(&g, "nrdl.new_2025"));
	assert_non_null(label(&g, "policy.dual_channel"));
	assert_non_null(strstr(text_of(&g, "policy.outpatient_inpatient_level"), "employee 95%"));
	assert_non_null(strstr(text_of(&g, "policy.outpatient_inpatient_level"), "resident 80%"));
	assert_true(ratio_of(&g, "policy.outpatient_inpatient_level") == 0); /* two ratios: none on the label */
	lookup(cat, "80000030000000001234", DS_INS_RESIDENT, &g);
	assert_string_equal(text_of(&g, "policy.outpatient_inpatient_level"), "resident 80%");
	assert_true(ratio_of(&g, "policy.outpatient_inpatient_level") > 0.7999 &&
	            ratio_of(&g, "policy.outpatient_inpatient_level") < 0.8001);

	lookup(cat, "80000040000000001234", DS_INS_ANY, &g);
	assert_non_null(label(&g, "nrdl.not_covered"));
	assert_int_equal(level_of(&g, "recall.batch"), DS_LEVEL_ALERT); /* every batch recalled */

	lookup(cat, "80000050000000001234", DS_INS_ANY, &g);
	assert_non_null(label(&g, "list.commercial_innovative"));
	assert_non_null(label(&g, "nrdl.not_covered"));

	lookup(cat, "80000060000000001234", DS_INS_ANY, &g);
	assert_non_null(label(&g, "code.package_level"));

	lookup(cat, "80000990000000001234", DS_INS_ANY, &g);
	assert_false(g.found);
	assert_non_null(label(&g, "catalog.unmapped"));

	/* GS1: batch LOT1 is recalled (alert); another batch is fine; no batch: a warning to check */
	lookup(cat, "(01)06901234567892(10)LOT1(21)S", DS_INS_ANY, &g);
	assert_true(g.found);
	assert_int_equal(level_of(&g, "recall.batch"), DS_LEVEL_ALERT);
	lookup(cat, "(01)06901234567892(10)LOT2(21)S", DS_INS_ANY, &g);
	assert_null(label(&g, "recall.batch"));
	lookup(cat, "(01)06901234567892(21)S", DS_INS_ANY, &g);
	assert_int_equal(level_of(&g, "recall.batch"), DS_LEVEL_WARN);
	lookup(cat, "(01)06901234567892(17)260531(21)S", DS_INS_ANY, &g);
	assert_non_null(label(&g, "trace.expired"));

	/* the EAN-13 of the box says which drug, and nothing more */
	lookup(cat, "6901234567892", DS_INS_ANY, &g);
	assert_true(g.found);
	assert_string_equal(g.drug.nhsa_code, "XA01");
	assert_non_null(label(&g, "code.product_barcode"));
	assert_null(label(&g, "nrdl.class_a"));

	/* a malformed code maps to nothing */
	lookup(cat, "8000001000000000123", DS_INS_ANY, &g);
	assert_false(g.found);
	assert_non_null(label(&g, "code.invalid"));
	assert_null(label(&g, "catalog.unmapped"));
	ds_catalog_close(cat);
}

static void test_demo_catalog(void **state)
{
	ds_catalog *cat;
	ds_catalog_info info;
	ds_error err;
	char dir[300];

	(void)state;
	snprintf(dir, sizeof(dir), "%s/home", tmpdir);
	setenv("DRUGSCAN_CATALOG_SEED", "demo", 1); /* the demo only on request */
	assert_int_equal(ds_catalog_open_default(&cat, dir, &err), 0);
	unsetenv("DRUGSCAN_CATALOG_SEED");
	ds_catalog_get_info(cat, &info, &err);
	assert_true(info.synthetic);
	assert_true(info.listed == 3253);
	assert_true(info.drugs > 3253);
	ds_catalog_close(cat);
	/* second time: opened, not rebuilt */
	assert_int_equal(ds_catalog_open_default(&cat, dir, &err), 0);
	ds_catalog_close(cat);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_schema_and_migrations),
		cmocka_unit_test(test_import_bundle_and_idempotence),
		cmocka_unit_test(test_bad_rows_all_or_nothing),
		cmocka_unit_test(test_bom_and_gb18030_nhsa_export),
		cmocka_unit_test(test_every_label),
		cmocka_unit_test(test_demo_catalog),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
