/*
 * cmd_catalog.c - drugscan catalog import|update|info|lists|search|map|export-map.
 */
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "audit.h"
#include "catalog.h"
#include "cli.h"

static const ds_optspec catalog_opts[] = {
	{"data-dir", 0, "DIR", NULL, N_("where catalog.db lives (default $DRUGSCAN_HOME or $XDG_DATA_HOME/drugscan)")},
	{"replace", 0, NULL, NULL, N_("import: drop the national data first (same transaction); local mappings and policies stay")},
	{"skip-bad", 0, NULL, NULL, N_("import: report bad rows and import the rest")},
	{"local", 0, NULL, NULL, N_("import: lists, list_members, policies and identifiers are the pharmacy's own")},
	{"builtin", 0, NULL, NULL, N_("import: the national list compiled into drugscan, instead of the national data")},
	{"url", 0, "URL", NULL, N_("update: the manifest (https://, or http:// to this machine); default: the last URL used")},
	{"timeout", 0, "SECONDS", NULL, N_("update: give up after this long (default 60)")},
	{"format", 'f', "FMT", "text|json", N_("info, lists and search: output format")},
	{"limit", 'n', "N", NULL, N_("search: show at most N rows (default 20)")},
	{"insurance", 0, "TYPE", "employee|resident", N_("search: the labels (and ratios) for this insurance")},
	{"to", 0, "TARGET", NULL, N_("map: an NHSA drug code, a list-row key, SECTION:NUMBER (W:693) or a name")},
	{"package-level", 0, "N", NULL, N_("map: 1 the box (default), 2 a middle pack, 3 a case")},
	{"units", 0, "N", NULL, N_("map: units in that package")},
	{"note", 0, "TEXT", NULL, N_("map: a note kept with the mapping")},
	{"demo", 0, NULL, NULL, N_("map: mark the mapping as made-up demo data")},
	{"remove", 0, NULL, NULL, N_("map: remove the code's mapping")},
	{"lang", 0, "LANG", "zh|en", N_("language of messages (default from $LANG)")},
	{"help", 'h', NULL, NULL, N_("show this help")},
	{NULL, 0, NULL, NULL, NULL},
};

static const ds_cmdspec catalog_spec = {
	N_("catalog import [--replace] [--skip-bad] [--local] FILE|DIR... | --builtin  |  catalog update [--url URL]  |  catalog info"
	"  |  catalog lists  |  catalog search TEXT  |  catalog map CODE [--to TARGET | --remove]  |  catalog export-map"),
	N_("Manage the local catalog of the national reimbursement drug list (catalog.db). On first\n"
	"use drugscan builds it from the list compiled into it: the 2025 National Basic Medical\n"
	"Insurance, Maternity Insurance and Work Injury Insurance Drug List (NHSA document 33 of\n"
	"2025, in force from 2026-01-01) and the commercial innovative drug list. `info` names the\n"
	"list and checks its rows against the list's stated totals. `search` finds list rows by\n"
	"name (full-width, Roman numerals, brackets and the dosage form do not matter). `map` links\n"
	"a code's product (its 7-digit prefix, GTIN or MA DI) to a list row or NHSA drug code: the\n"
	"pharmacy's own mapping, kept apart so that `update` and `import --replace` leave it alone;\n"
	"`export-map` writes the mappings as CSV that `import` reads back. `import` reads the\n"
	"CSV bundle of docs/catalog-format.md, mapping files and NHSA drug-code exports in UTF-8\n"
	"or GB18030, all or nothing. `update` fetches a manifest and its files over HTTPS,\n"
	"checks every sha256 and swaps the new catalog in atomically."),
	catalog_opts,
	N_("examples:\n"
	"  drugscan catalog search NAME           # the Chinese name on the box, or a part of it\n"
	"  drugscan catalog map 8100046 --to NAME\n"
	"  drugscan catalog map 8100046 --to W:693\n"
	"  drugscan catalog export-map > mapping.csv\n"
	"exit status: 0 done, 1 error (nothing changed), 2 usage error (also an unknown or ambiguous --to).\n"),
};

static const char *opt(const ds_optvals *v, const char *name)
{
	return ds_opts_get(v, &catalog_spec, name);
}

static int db_path(ds_buf *out, const char *data_dir, ds_error *err)
{
	ds_buf dir = DS_BUF_INIT;
	int rc = ds_data_dir(&dir, data_dir, 1, err);

	if (rc == DS_OK)
		ds_buf_printf(out, "%s/catalog.db", dir.ptr);
	ds_buf_free(&dir);
	return rc;
}

static int open_default(ds_cli *cli, const ds_optvals *v, ds_catalog **cat)
{
	ds_error err;

	if (ds_catalog_open_default(cat, opt(v, "data-dir"), &err) < 0) {
		fprintf(cli->err, "%s: %s\n", cli->prog, err.message);
		return -1;
	}
	return 0;
}

/* The compiled-in list again, e.g. after importing other national data. */
static int import_builtin(ds_cli *cli, const ds_optvals *v)
{
	ds_catalog *cat = NULL;
	ds_error err;
	int rc;

	if (v->nrest != 1 || ds_opts_has(v, &catalog_spec, "local"))
		return ds_cli_usage_error(cli, "catalog", _("import --builtin takes no files and no --local"));
	if (open_default(cli, v, &cat) < 0)
		return DS_EXIT_ERROR;
	rc = ds_catalog_import_nrdl(cat, &err);
	ds_catalog_close(cat);
	if (rc < 0) {
		fprintf(cli->err, "%s: catalog import: %s\n", cli->prog, err.message);
		return DS_EXIT_ERROR;
	}
	fprintf(cli->out, _("imported the national list compiled into drugscan (%s); local mappings and policies kept\n"),
	        ds_catalog_builtin_version());
	return DS_EXIT_OK;
}

static int do_import(ds_cli *cli, const ds_optvals *v)
{
	ds_buf path = DS_BUF_INIT;
	ds_catalog *cat = NULL;
	ds_import_opts io = {ds_opts_has(v, &catalog_spec, "replace"), ds_opts_has(v, &catalog_spec, "skip-bad"), 0,
	                     ds_opts_has(v, &catalog_spec, "local")};
	ds_import_report report;
	ds_error err;
	char rows[64];
	int rc;

	memset(&report, 0, sizeof(report));
	if (ds_opts_has(v, &catalog_spec, "builtin"))
		return import_builtin(cli, v);
	if (v->nrest < 2)
		return ds_cli_usage_error(cli, "catalog", _("import needs FILE or DIR (or --builtin)"));
	rc = db_path(&path, opt(v, "data-dir"), &err);
	/* adding to a catalog that does not exist yet adds to the national list */
	if (rc == DS_OK && !io.replace && access(path.ptr, F_OK) != 0)
		rc = ds_catalog_open_default(&cat, opt(v, "data-dir"), &err);
	else if (rc == DS_OK)
		rc = ds_catalog_open(&cat, path.ptr, 1, &err);
	if (rc == DS_OK && !io.replace && !io.local) {
		ds_catalog_info info;
		if (ds_catalog_get_info(cat, &info, NULL) == DS_OK && info.synthetic)
			fprintf(cli->err, _("%s: note: the catalog holds the synthetic demo data, and this import adds to it;"
			                    " use --replace to import instead of it\n"), cli->prog);
	}
	if (rc == DS_OK)
		rc = ds_catalog_import(cat, (const char *const *)(v->rest + 1), (size_t)v->nrest - 1, &io, &report, &err);
	if (report.errors.ptr)
		fputs(report.errors.ptr, cli->err);
	if (report.bad > 200)
		fprintf(cli->err, _("%s: ... %ld bad rows in all\n"), cli->prog, report.bad);
	if (rc < 0)
		fprintf(cli->err, "%s: catalog import: %s\n", cli->prog, err.message);
	snprintf(rows, sizeof(rows), ngettext("%ld row", "%ld rows", report.rows), report.rows);
	if (rc >= 0) /* TRANSLATORS: the first %s is "N rows" */
		fprintf(cli->out, ngettext("imported %s from %ld file into %s%s\n", "imported %s from %ld files into %s%s\n",
		                           report.files), rows, report.files, path.ptr, report.bad ? _(" (bad rows skipped, see above)") : "");
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
	const char *timeout = opt(v, "timeout");
	char last[512] = "";
	long timeout_s = 60;
	int rc;

	memset(&uo, 0, sizeof(uo));
	uo.url = opt(v, "url");
	uo.progress = isatty(fileno(cli->err));
	if (ds_opt_long(&timeout_s, timeout, 1, 86400) < 0)
		return ds_cli_usage_error(cli, "catalog", _("--timeout needs seconds from 1 to 86400"));
	uo.timeout_s = timeout_s;
	rc = db_path(&path, opt(v, "data-dir"), &err);
	if (rc == DS_OK && access(path.ptr, F_OK) == 0) {
		/* the file we would replace must be ours: a foreign or corrupt file is never overwritten */
		ds_catalog *cat = NULL;
		rc = ds_catalog_open(&cat, path.ptr, 0, &err);
		if (rc == DS_OK && !uo.url && (rc = ds_catalog_meta(cat, "update_url", last, sizeof(last), &err)) == DS_OK && last[0])
			uo.url = last;
		ds_catalog_close(cat);
	}
	if (rc == DS_OK && !uo.url)
		rc = ds_error_set(&err, DS_EINVAL, _("no update URL: pass --url (no earlier update to repeat)"));
	if (rc == DS_OK)
		rc = ds_catalog_update(path.ptr, &uo, &res, &err);
	if (rc < 0)
		fprintf(cli->err, _("%s: catalog update: %s; the catalog is unchanged\n"), cli->prog, err.message);
	else if (res.not_modified)
		fputs(_("catalog is up to date (the server reports no change)\n"), cli->out);
	else
		fprintf(cli->out, ngettext("catalog updated to version %s (%ld file, %lld bytes)\n",
		                           "catalog updated to version %s (%ld files, %lld bytes)\n", res.files),
		        res.version, res.files, res.bytes);
	ds_buf_free(&path);
	return rc < 0 ? DS_EXIT_ERROR : DS_EXIT_OK;
}

/* ---- info ---- */

static void list_text(ds_cli *cli, const ds_catalog_info *info, int outdated)
{
	int zh = cli->lang == DS_LANG_ZH;
	size_t i;

	fprintf(cli->out, "%s\n", info->list_name);
	if (!zh && info->list_name_en[0])
		fprintf(cli->out, "  (%s)\n", info->list_name_en);
	ds_fprint_field(cli->out, _("document"), 12, "%s\n", info->list_document);
	ds_fprint_field(cli->out, _("in force"), 12, _("from %s; the next list is expected from %s\n"), info->list_valid_from,
	      info->list_superseded_from);
	if (outdated)
		fprintf(cli->out, _("⚠ out of date: a newer list is in force from %s; update the catalog (drugscan catalog update)\n"),
		        info->list_superseded_from);
	fprintf(cli->out, ngettext("checked against the list's stated totals (%ld row):\n",
	                           "checked against the list's stated totals (%ld rows):\n", info->list_rows), info->list_rows);
	for (i = 0; i < info->nchecks; i++) {
		const ds_list_check *c = &info->checks[i];
		int drugs = !strcmp(c->id, "cidl") || !strcmp(c->id, "new_2025");
		fprintf(cli->out, "  %s ", c->stated < 0 ? " " : c->ok ? "\xe2\x9c\x93" : "\xe2\x9c\x97");
		fprintf(cli->out, drugs ? ngettext("%s: %ld drug", "%s: %ld drugs", c->actual)
		                        : ngettext("%s: %ld number", "%s: %ld numbers", c->actual), zh ? c->name_zh : c->name_en, c->actual);
		if (c->stated >= 0)
			fprintf(cli->out, _(" (stated %ld)"), c->stated);
		if (c->rows >= 0)
			fprintf(cli->out, ngettext(", %ld row", ", %ld rows", c->rows), c->rows);
		fputc('\n', cli->out);
	}
	if (!info->checks_ok)
		fputs(_("✗ some totals differ from the list's: the data may be incomplete\n"), cli->out);
	ds_fprint_field(cli->out, _("data"), 12, "%s\n", info->credit);
}

static int do_info(ds_cli *cli, const ds_optvals *v)
{
	ds_catalog *cat = NULL;
	ds_catalog_info info;
	ds_error err;
	const char *fmt = opt(v, "format");
	int outdated;

	if (open_default(cli, v, &cat) < 0)
		return DS_EXIT_ERROR;
	ds_catalog_get_info(cat, &info, &err);
	outdated = ds_catalog_outdated(cat, 0);
	ds_catalog_close(cat);
	if (fmt && !strcmp(fmt, "json")) {
		json_t *o = ds_catalog_info_json(&info, outdated);
		json_dumpf(o, cli->out, JSON_COMPACT);
		fputc('\n', cli->out);
		json_decref(o);
		return DS_EXIT_OK;
	}
	if (info.synthetic)
		fputs(_("*** SYNTHETIC DEMO DATA: apart from generic names, everything (codes, brands, specs, makers, approval numbers, "
		        "identifiers, classes, prices, restrictions, lists, policies, recalls) is made up; do not rely on it ***\n"), cli->out);
	if (info.list_rows > 0)
		list_text(cli, &info, outdated);
	ds_fprint_field(cli->out, _("source"), 12, "%s\n", info.source);
	ds_fprint_field(cli->out, _("version"), 12, "%s\n", info.version);
	ds_fprint_field(cli->out, _("imported"), 12, "%s\n", info.imported_at);
	ds_fprint_field(cli->out, _("drugs"), 12, _("%ld (listed %ld, negotiated %ld)\n"), info.drugs, info.listed, info.negotiated);
	ds_fprint_field(cli->out, _("identifiers"), 12, "%ld\n", info.identifiers);
	ds_fprint_field(cli->out, _("lists"), 12, "%ld\n", info.lists);
	ds_fprint_field(cli->out, _("policies"), 12, "%ld\n", info.policies);
	ds_fprint_field(cli->out, _("recalls"), 12, "%ld\n", info.recalls);
	ds_fprint_field(cli->out, _("local"), 12, ngettext("%ld mapping", "%ld mappings", info.local_mappings), info.local_mappings);
	fprintf(cli->out, _(" (%ld demo, %ld not resolved)"), info.local_demo_mappings, info.local_unresolved);
	fprintf(cli->out, ngettext(", %ld list", ", %ld lists", info.local_lists), info.local_lists);
	fprintf(cli->out, ngettext(", %ld policy\n", ", %ld policies\n", info.local_policies), info.local_policies);
	if (info.local_demo_mappings > 0)
		fputs(_("*** DEMO MAPPINGS: some codes are linked to list rows by made-up demo data ***\n"), cli->out);
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
	char pad[96];

	if (l->arr)
		json_array_append_new(l->arr, json_pack("{s:s, s:s, s:s, s:s, s:s, s:I}", "list_id", id, "name_zh", name_zh,
		                                        "name_en", name_en, "source", source, "label_id", label_id,
		                                        "members", (json_int_t)members));
	else
		fprintf(l->cli->out, "%s %6ld  %s  %s%s%s\n", ds_pad(pad, sizeof(pad), id, 24), members,
		        l->cli->lang == DS_LANG_ZH ? name_zh : name_en,
		        label_id[0] ? "[" : "", label_id, label_id[0] ? "]" : "");
	return 0;
}

static int do_lists(ds_cli *cli, const ds_optvals *v)
{
	ds_catalog *cat = NULL;
	ds_error err;
	const char *fmt = opt(v, "format");
	lists_ctx l = {cli, fmt && !strcmp(fmt, "json") ? json_array() : NULL};

	if (open_default(cli, v, &cat) < 0) {
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

/* ---- search ---- */

typedef struct search_ctx {
	ds_cli *cli;
	json_t *hits;    /* JSON output, else text */
	size_t n;
} search_ctx;

/* "西药部分 693 · 头孢克肟 · 口服常释剂型 · NRDL2025-W-0693" */
static void row_line(FILE *out, const ds_drug *d)
{
	fprintf(out, "%s%s%s · %s", d->section, d->section[0] ? " " : "", d->list_no, d->generic_name);
	if (d->dosage_form[0])
		fprintf(out, " · %s", d->dosage_form);
	fprintf(out, " · %s", d->nhsa_code);
}

static int print_hit(void *ctx, const ds_search_hit *h)
{
	search_ctx *s = ctx;
	const ds_drug *d = h->drug;
	FILE *out = s->cli->out;
	size_t i;

	s->n++;
	if (s->hits) {
		json_t *o = json_pack("{s:s, s:i, s:b, s:b, s:b, s:s}", "key", d->nhsa_code, "rank", h->rank, "form_match",
		                      h->form_match, "new_2025", h->new_2025, "commercial_innovative", h->commercial,
		                      "category_name", h->category_name);
		json_t *labels = json_array();
		json_object_set_new(o, "drug", ds_drug_json(d));
		for (i = 0; i < h->nlabels; i++)
			json_array_append_new(labels, ds_label_json(&h->labels[i]));
		json_object_set_new(o, "labels", labels);
		json_array_append_new(s->hits, o);
		return 0;
	}
	fprintf(out, "%zu. ", s->n);
	row_line(out, d);
	fputc('\n', out);
	if (h->category_name[0])
		fprintf(out, "     %s %s %s\n", _("category"), d->category_code, h->category_name);
	for (i = 0; i < h->nlabels; i++)
		fprintf(out, "     %s %s\n", h->labels[i].level == DS_LEVEL_ALERT ? _("[ALERT]")
		                            : h->labels[i].level == DS_LEVEL_WARN ? _("[warn]") : _("[info]"), h->labels[i].text);
	if (d->remarks[0])
		fprintf(out, "     %s %s\n", _("remarks"), d->remarks);
	return 0;
}

/* The words after the action, joined with spaces (a name may hold one). */
static char *joined(const ds_optvals *v, int from)
{
	ds_buf b = DS_BUF_INIT;
	int i;

	for (i = from; i < v->nrest; i++)
		ds_buf_printf(&b, "%s%s", i > from ? " " : "", v->rest[i]);
	return b.ptr;
}

static int do_search(ds_cli *cli, const ds_optvals *v)
{
	ds_catalog *cat = NULL;
	ds_lookup_opts lo = {DS_INS_ANY, cli->lang, NULL};
	const char *fmt = opt(v, "format");
	search_ctx s = {cli, fmt && !strcmp(fmt, "json") ? json_array() : NULL, 0};
	char *text = joined(v, 1);
	long limit = 20;
	size_t total = 0;
	ds_error err;
	int rc;

	if (!text || !*text || ds_opt_long(&limit, opt(v, "limit"), 1, 1000) < 0 ||
	    ds_insurance_parse(&lo.insurance, opt(v, "insurance")) < 0) {
		const char *why = !text || !*text ? _("search needs TEXT") : _("--limit needs 1-1000");
		free(text);
		json_decref(s.hits);
		return ds_cli_usage_error(cli, "catalog", why);
	}
	rc = open_default(cli, v, &cat) < 0 ? DS_ERR
	                                     : ds_catalog_search(cat, text, &lo, (size_t)limit, print_hit, &s, &total, &err);
	if (rc < 0 && cat)
		fprintf(cli->err, "%s: catalog search: %s\n", cli->prog, err.message);
	if (rc == DS_OK && s.hits) {
		json_t *o = json_pack("{s:i, s:s, s:I, s:o}", "format_version", 1, "query", text, "total", (json_int_t)total,
		                      "hits", s.hits);
		s.hits = NULL;
		json_dumpf(o, cli->out, JSON_COMPACT | JSON_REAL_PRECISION(9));
		fputc('\n', cli->out);
		json_decref(o);
	} else if (rc == DS_OK && total == 0) {
		fprintf(cli->out, _("no list row matches '%s'\n"), text);
	} else if (rc == DS_OK && total > s.n) {
		fprintf(cli->out, ngettext("(%zu row matches; %zu shown, --limit shows more)\n",
		                           "(%zu rows match; %zu shown, --limit shows more)\n", total), total, s.n);
	}
	json_decref(s.hits);
	ds_catalog_close(cat);
	free(text);
	return rc == DS_EINVAL ? DS_EXIT_USAGE : rc < 0 ? DS_EXIT_ERROR : DS_EXIT_OK;
}

/* ---- map ---- */

/* Candidates of an ambiguous --to, kept to print after the message that says so. */
static int print_candidate(void *ctx, const ds_search_hit *h)
{
	ds_buf *b = ctx;
	const ds_drug *d = h->drug;

	ds_buf_printf(b, "  %s %s · %s%s%s · %s\n", d->section, d->list_no, d->generic_name, d->dosage_form[0] ? " · " : "",
	              d->dosage_form, d->nhsa_code);
	return 0;
}

static void print_mapping(ds_cli *cli, const ds_mapping *m)
{
	fprintf(cli->out, "%s %s -> %s", m->type, m->value, m->target);
	if (m->resolved)
		fprintf(cli->out, " %s%s%s%s%s", m->name, m->section[0] ? " (" : "", m->section, m->section[0] ? " " : "",
		        m->section[0] ? m->list_no : "");
	if (m->section[0])
		fputc(')', cli->out);
	if (!m->resolved)
		fputs(_(" (the target is not in the catalog)"), cli->out);
	if (m->package_level > 1)
		fprintf(cli->out, ngettext(", package level %d (%d unit)", ", package level %d (%d units)", m->units), m->package_level,
		        m->units);
	if (m->demo)
		fputs(_(", demo mapping"), cli->out);
	if (m->note[0])
		fprintf(cli->out, " · %s", m->note);
	fputc('\n', cli->out);
}

static int map_options(ds_cli *cli, const ds_optvals *v, ds_map_opts *mo)
{
	long level = 1, units = 0;

	if (ds_opt_long(&level, opt(v, "package-level"), 1, 9) < 0)
		return ds_cli_usage_error(cli, "catalog", _("--package-level needs 1-9"));
	if (ds_opt_long(&units, opt(v, "units"), 0, 1000000) < 0)
		return ds_cli_usage_error(cli, "catalog", _("--units needs a whole number 0-1000000"));
	mo->package_level = (int)level;
	mo->units = (int)units;
	mo->demo = ds_opts_has(v, &catalog_spec, "demo");
	mo->note = opt(v, "note");
	return -1;
}

static int do_map(ds_cli *cli, const ds_optvals *v)
{
	ds_catalog *cat = NULL;
	ds_map_opts mo;
	ds_mapping m;
	ds_error err;
	ds_buf candidates = DS_BUF_INIT;
	const char *to = opt(v, "to");
	int rc, found = 0;

	if (v->nrest != 2)
		return ds_cli_usage_error(cli, "catalog", _("map needs one CODE (a trace code, its 7-digit prefix, a GTIN or an MA DI)"));
	if (to && ds_opts_has(v, &catalog_spec, "remove"))
		return ds_cli_usage_error(cli, "catalog", _("map: --to and --remove do not go together"));
	if ((rc = map_options(cli, v, &mo)) >= 0)
		return rc;
	if (open_default(cli, v, &cat) < 0)
		return DS_EXIT_ERROR;
	if (to) {
		rc = ds_catalog_map(cat, v->rest[1], to, &mo, &m, print_candidate, &candidates, &err);
		if (rc == DS_OK) {
			fputs(_("mapped "), cli->out);
			print_mapping(cli, &m);
		}
	} else if (ds_opts_has(v, &catalog_spec, "remove")) {
		rc = ds_catalog_unmap(cat, v->rest[1], &found, &err);
		if (rc == DS_OK)
			fprintf(cli->out, "%s\n", found ? _("mapping removed") : _("the code had no local mapping"));
	} else {
		rc = ds_catalog_get_mapping(cat, v->rest[1], &m, &found, &err);
		if (rc == DS_OK && found)
			print_mapping(cli, &m);
		else if (rc == DS_OK)
			fprintf(cli->out, _("%s %s has no local mapping (未对照)\n"), m.type, m.value);
	}
	ds_catalog_close(cat);
	if (rc == DS_EINVAL || rc == DS_ENOTFOUND) {
		fprintf(cli->err, "%s: catalog map: %s\n%s", cli->prog, err.message, candidates.ptr ? candidates.ptr : "");
		ds_buf_free(&candidates);
		return DS_EXIT_USAGE;
	}
	ds_buf_free(&candidates);
	if (rc < 0)
		fprintf(cli->err, "%s: catalog map: %s\n", cli->prog, err.message);
	return rc < 0 ? DS_EXIT_ERROR : DS_EXIT_OK;
}

static int do_export_map(ds_cli *cli, const ds_optvals *v)
{
	ds_catalog *cat = NULL;
	ds_error err;
	int rc;

	if (v->nrest != 1)
		return ds_cli_usage_error(cli, "catalog", _("export-map takes no arguments (the CSV goes to stdout)"));
	if (open_default(cli, v, &cat) < 0)
		return DS_EXIT_ERROR;
	rc = ds_catalog_export_map(cat, cli->out, &err);
	ds_catalog_close(cat);
	if (rc < 0)
		fprintf(cli->err, "%s: catalog export-map: %s\n", cli->prog, err.message);
	cli->out_failed = rc < 0 && ferror(cli->out); /* said */
	return rc < 0 ? DS_EXIT_ERROR : DS_EXIT_OK;
}

static const struct action {
	const char *name;
	int (*run)(ds_cli *cli, const ds_optvals *v);
} actions[] = {
	{"import", do_import}, {"update", do_update}, {"info", do_info}, {"lists", do_lists},
	{"search", do_search}, {"map", do_map}, {"export-map", do_export_map},
};

int ds_cmd_catalog(ds_cli *cli, int argc, char **argv)
{
	ds_optvals v;
	int rc;
	size_t i;
	const char *sub;

	rc = ds_cli_begin(cli, &catalog_spec, "catalog", &v, argc, argv);
	if (rc >= 0)
		goto done;
	sub = v.nrest ? v.rest[0] : "";
	for (i = 0; i < sizeof(actions) / sizeof(actions[0]); i++)
		if (!strcmp(sub, actions[i].name))
			break;
	if (i < sizeof(actions) / sizeof(actions[0]))
		rc = actions[i].run(cli, &v);
	else
		rc = ds_cli_usage_error(cli, "catalog",
		                        *sub ? _("unknown action: use import, update, info, lists, search, map or export-map")
		                             : _("missing action: import, update, info, lists, search, map or export-map"));
done:
	free(v.rest);
	return rc;
}
