/*
 * cmd_catalog.c - drugscan catalog import|update|info|lists.
 */
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "catalog.h"
#include "cli.h"

static const ds_optspec catalog_opts[] = {
	{"data-dir", 0, "DIR", NULL, "where catalog.db lives (default $DRUGSCAN_HOME or $XDG_DATA_HOME/drugscan)"},
	{"replace", 0, NULL, NULL, "import: drop the catalog's data first (in the same transaction)"},
	{"skip-bad", 0, NULL, NULL, "import: report bad rows and import the rest"},
	{"url", 0, "URL", NULL, "update: the manifest (https://, or http:// to this machine); default: the last URL used"},
	{"timeout", 0, "SECONDS", NULL, "update: give up after this long (default 60)"},
	{"format", 'f', "FMT", "text|json", "info and lists: output format"},
	{"lang", 0, "LANG", "zh|en", "language of messages (default from $LANG)"},
	{"help", 'h', NULL, NULL, "show this help"},
	{NULL, 0, NULL, NULL, NULL},
};

static const ds_cmdspec catalog_spec = {
	"catalog import [--replace] [--skip-bad] FILE|DIR...  |  catalog update [--url URL]  |  catalog info  |  catalog lists",
	"Manage the local 医保目录 catalog (catalog.db). `import` reads the CSV bundle of\n"
	"docs/catalog-format.md or NHSA drug-code exports with their Chinese headers, in\n"
	"UTF-8 or GB18030, all or nothing. `update` fetches a manifest and its files over\n"
	"HTTPS, checks every sha256 and swaps the new catalog in atomically. `info` shows\n"
	"counts, source and version, and whether the data is the synthetic demo. On first\n"
	"use, drugscan builds catalog.db from the demo bundle compiled into it.",
	catalog_opts,
	"exit status: 0 done, 1 error (nothing changed), 2 usage error.\n",
};

static int db_path(ds_buf *out, const char *data_dir, ds_error *err)
{
	ds_buf dir = DS_BUF_INIT;
	int rc = ds_data_dir(&dir, data_dir, err);

	if (rc == DS_OK)
		ds_buf_printf(out, "%s/catalog.db", dir.ptr);
	ds_buf_free(&dir);
	return rc;
}

static int do_import(ds_cli *cli, const ds_optvals *v)
{
	ds_buf path = DS_BUF_INIT;
	ds_catalog *cat = NULL;
	ds_import_opts io = {ds_opts_has(v, &catalog_spec, "replace"), ds_opts_has(v, &catalog_spec, "skip-bad"), 0};
	ds_import_report report;
	ds_error err;
	int rc;

	memset(&report, 0, sizeof(report));
	if (v->nrest < 2)
		return ds_cli_usage_error(cli, "catalog", "import needs FILE or DIR");
	rc = db_path(&path, ds_opts_get(v, &catalog_spec, "data-dir"), &err);
	if (rc == DS_OK)
		rc = ds_catalog_open(&cat, path.ptr, 1, &err);
	if (rc == DS_OK && !io.replace) {
		ds_catalog_info info;
		if (ds_catalog_get_info(cat, &info, NULL) == DS_OK && info.synthetic)
			fprintf(cli->err, "%s: note: the catalog holds the synthetic demo data, and this import adds to it;"
			                  " use --replace to import instead of it\n", cli->prog);
	}
	if (rc == DS_OK)
		rc = ds_catalog_import(cat, (const char *const *)(v->rest + 1), (size_t)v->nrest - 1, &io, &report, &err);
	if (report.errors.ptr)
		fputs(report.errors.ptr, cli->err);
	if (report.bad > 200)
		fprintf(cli->err, "%s: ... %ld bad rows in all\n", cli->prog, report.bad);
	if (rc < 0)
		fprintf(cli->err, "%s: catalog import: %s\n", cli->prog, err.message);
	else
		fprintf(cli->out, "imported %ld rows from %ld file%s into %s%s\n", report.rows, report.files,
		        report.files == 1 ? "" : "s", path.ptr,
		        report.bad ? " (bad rows skipped, see above)" : "");
	ds_import_report_free(&report);
	ds_catalog_close(cat);
	ds_buf_free(&path);
	return rc < 0 ? DS_EXIT_ERROR : DS_EXIT_OK;
}

static int do_update(ds_cli *cli, const ds_optvals *v)
{
	ds_buf path = DS_BUF_INIT;
	ds_update_opts uo;
	ds_update_result res;
	ds_error err;
	const char *timeout = ds_opts_get(v, &catalog_spec, "timeout");
	char last[512] = "";
	long timeout_s = 60;
	int rc;

	memset(&uo, 0, sizeof(uo));
	uo.url = ds_opts_get(v, &catalog_spec, "url");
	uo.progress = isatty(fileno(cli->err));
	if (ds_opt_long(&timeout_s, timeout, 1, 86400) < 0)
		return ds_cli_usage_error(cli, "catalog", "--timeout needs seconds from 1 to 86400");
	uo.timeout_s = timeout_s;
	rc = db_path(&path, ds_opts_get(v, &catalog_spec, "data-dir"), &err);
	if (rc == DS_OK && access(path.ptr, F_OK) == 0) {
		/* the file we would replace must be ours: a foreign or corrupt file is never overwritten */
		ds_catalog *cat = NULL;
		rc = ds_catalog_open(&cat, path.ptr, 0, &err);
		if (rc == DS_OK && !uo.url && ds_catalog_meta(cat, "update_url", last, sizeof(last)) == DS_OK && last[0])
			uo.url = last;
		ds_catalog_close(cat);
	}
	if (rc == DS_OK && !uo.url)
		rc = ds_error_set(&err, DS_EINVAL, "no update URL: pass --url (no earlier update to repeat)");
	if (rc == DS_OK)
		rc = ds_catalog_update(path.ptr, &uo, &res, &err);
	if (rc < 0)
		fprintf(cli->err, "%s: catalog update: %s; the catalog is unchanged\n", cli->prog, err.message);
	else if (res.not_modified)
		fprintf(cli->out, "catalog is up to date (the server reports no change)\n");
	else
		fprintf(cli->out, "catalog updated to version %s (%ld files, %lld bytes)\n", res.version, res.files, res.bytes);
	ds_buf_free(&path);
	return rc < 0 ? DS_EXIT_ERROR : DS_EXIT_OK;
}

static int do_info(ds_cli *cli, const ds_optvals *v)
{
	ds_catalog *cat = NULL;
	ds_catalog_info info;
	ds_error err;
	const char *fmt = ds_opts_get(v, &catalog_spec, "format");
	int zh = cli->lang == DS_LANG_ZH;

	if (ds_catalog_open_default(&cat, ds_opts_get(v, &catalog_spec, "data-dir"), &err) < 0) {
		fprintf(cli->err, "%s: %s\n", cli->prog, err.message);
		return DS_EXIT_ERROR;
	}
	ds_catalog_get_info(cat, &info, &err);
	ds_catalog_close(cat);
	if (fmt && !strcmp(fmt, "json")) {
		json_t *o = json_pack("{s:i, s:s, s:s, s:s, s:b, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "schema_version",
		                      info.schema_version, "source", info.source, "version", info.version, "imported_at",
		                      info.imported_at, "synthetic", info.synthetic, "drugs", (json_int_t)info.drugs, "listed",
		                      (json_int_t)info.listed, "negotiated", (json_int_t)info.negotiated, "identifiers",
		                      (json_int_t)info.identifiers, "lists", (json_int_t)info.lists, "policies",
		                      (json_int_t)info.policies, "recalls", (json_int_t)info.recalls);
		json_dumpf(o, cli->out, JSON_COMPACT);
		fputc('\n', cli->out);
		json_decref(o);
		return DS_EXIT_OK;
	}
	if (info.synthetic)
		fprintf(cli->out, "%s\n", zh ? "*** 演示数据（合成）：除通用名外，药品代码、商品名、规格、企业、批准文号、标识码、甲乙类、谈判、"
		                                "价格、限定支付、名单、政策和召回均为虚构，不可用于实际判断 ***"
		                              : "*** SYNTHETIC DEMO DATA: apart from generic names, everything (codes, brands, specs, "
		                                "makers, approval numbers, identifiers, classes, prices, restrictions, lists, policies, "
		                                "recalls) is made up; do not rely on it ***");
	fprintf(cli->out, "%-12s %s\n%-12s %s\n%-12s %s\n", zh ? "来源" : "source", info.source, zh ? "版本" : "version",
	        info.version, zh ? "导入时间" : "imported", info.imported_at);
	fprintf(cli->out, "%-12s %ld (%s %ld, %s %ld)\n", zh ? "药品" : "drugs", info.drugs, zh ? "目录内" : "listed",
	        info.listed, zh ? "谈判" : "negotiated", info.negotiated);
	fprintf(cli->out, "%-12s %ld\n%-12s %ld\n%-12s %ld\n%-12s %ld\n", zh ? "标识码" : "identifiers", info.identifiers,
	        zh ? "名单" : "lists", info.lists, zh ? "政策" : "policies", info.policies, zh ? "召回" : "recalls", info.recalls);
	return DS_EXIT_OK;
}

typedef struct lists_ctx {
	ds_cli *cli;
	json_t *arr;
} lists_ctx;

static int print_list(void *ctx, const char *id, const char *name_zh, const char *name_en, const char *source,
                      const char *label_id, long members)
{
	lists_ctx *l = ctx;

	if (l->arr)
		json_array_append_new(l->arr, json_pack("{s:s, s:s, s:s, s:s, s:s, s:I}", "list_id", id, "name_zh", name_zh,
		                                        "name_en", name_en, "source", source, "label_id", label_id,
		                                        "members", (json_int_t)members));
	else
		fprintf(l->cli->out, "%-24s %6ld  %s  %s%s%s\n", id, members, l->cli->lang == DS_LANG_ZH ? name_zh : name_en,
		        label_id[0] ? "[" : "", label_id, label_id[0] ? "]" : "");
	return 0;
}

static int do_lists(ds_cli *cli, const ds_optvals *v)
{
	ds_catalog *cat = NULL;
	ds_error err;
	const char *fmt = ds_opts_get(v, &catalog_spec, "format");
	lists_ctx l = {cli, fmt && !strcmp(fmt, "json") ? json_array() : NULL};

	if (ds_catalog_open_default(&cat, ds_opts_get(v, &catalog_spec, "data-dir"), &err) < 0) {
		fprintf(cli->err, "%s: %s\n", cli->prog, err.message);
		json_decref(l.arr);
		return DS_EXIT_ERROR;
	}
	ds_catalog_each_list(cat, print_list, &l, &err);
	ds_catalog_close(cat);
	if (l.arr) {
		json_dumpf(l.arr, cli->out, JSON_COMPACT);
		fputc('\n', cli->out);
		json_decref(l.arr);
	}
	return DS_EXIT_OK;
}

int ds_cmd_catalog(ds_cli *cli, int argc, char **argv)
{
	ds_optvals v;
	int rc;
	const char *sub;

	rc = ds_cli_begin(cli, &catalog_spec, "catalog", &v, argc, argv);
	if (rc >= 0)
		goto done;
	sub = v.nrest ? v.rest[0] : "";
	if (!strcmp(sub, "import"))
		rc = do_import(cli, &v);
	else if (!strcmp(sub, "update"))
		rc = do_update(cli, &v);
	else if (!strcmp(sub, "info"))
		rc = do_info(cli, &v);
	else if (!strcmp(sub, "lists"))
		rc = do_lists(cli, &v);
	else
		rc = ds_cli_usage_error(cli, "catalog", *sub ? "unknown action: use import, update, info or lists"
		                                              : "missing action: import, update, info or lists");
done:
	free(v.rest);
	return rc;
}
