/*
 * import_rows.c - the rows of the bundle's tables (docs/catalog-format.md):
 * drugs, NHSA exports, identifiers, lists, list members, policies, recalls
 * and meta. With --local, identifiers, lists, members and policies go to the
 * pharmacy's own tables, which survive `catalog update` and `import --replace`.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static void row_drug(importer *im, const char *const v[D_NCOLS], const int c[D_NCOLS])
{
	const char *cat = NULL;
	int neg = imp_parse_bool(v[D_NEG]), i;
	double pay;
	sqlite3_stmt *st = im->ins;

	if (!v[D_CODE][0])
		return imp_bad(im, c[D_CODE], "nhsa_code is empty");
	if (imp_parse_category(v[D_CAT], &cat) < 0)
		return imp_bad(im, c[D_CAT], "category '%s' is not 甲/乙/A/B or empty", v[D_CAT]);
	if (neg < 0)
		return imp_bad(im, c[D_NEG], "negotiated '%s' is not 0 or 1", v[D_NEG]);
	if (v[D_END][0] && !imp_valid_date(v[D_END]))
		return imp_bad(im, c[D_END], "agreement_end '%s' is not a YYYY-MM-DD date", v[D_END]);
	if (imp_parse_number(v[D_PAY], &pay) < 0)
		return imp_bad(im, c[D_PAY], "payment_standard '%s' is not a number", v[D_PAY]);
	for (i = 0; i < D_NCOLS; i++)
		if (i != D_CAT && i != D_NEG)
			sqlite3_bind_text(st, i + 1, v[i], -1, SQLITE_TRANSIENT);
	imp_bind_text_or_null(st, D_CAT + 1, cat);
	sqlite3_bind_int(st, D_NEG + 1, neg);
	imp_step(im, st);
}

void imp_drug(importer *im)
{
	const char *v[D_NCOLS];
	int c[D_NCOLS], i;

	for (i = 0; i < D_NCOLS; i++) {
		v[i] = imp_fld(im, i);
		c[i] = imp_colno(im, i);
	}
	row_drug(im, v, c);
}

void imp_nhsa(importer *im)
{
	const char *v[D_NCOLS];
	int c[D_NCOLS], i;
	const char *remarks = imp_fld(im, N_REMARKS);
	char pack[192];
	long units = 0;

	for (i = 0; i < D_NCOLS; i++) {
		v[i] = "";
		c[i] = 0;
	}
	v[D_CODE] = imp_fld(im, N_CODE), c[D_CODE] = imp_colno(im, N_CODE);
	v[D_GENERIC] = imp_fld(im, N_REGNAME)[0] ? imp_fld(im, N_REGNAME) : imp_fld(im, N_NAME);
	v[D_BRAND] = imp_fld(im, N_BRAND);
	v[D_FORM] = imp_fld(im, N_REGFORM)[0] ? imp_fld(im, N_REGFORM) : imp_fld(im, N_FORM);
	v[D_SPEC] = imp_fld(im, N_SPEC);
	v[D_MAKER] = imp_fld(im, N_MAKER);
	v[D_APPROVAL] = imp_fld(im, N_APPROVAL);
	v[D_STD] = imp_fld(im, N_STD);
	v[D_NRDL] = imp_fld(im, N_NRDL);
	v[D_CAT] = imp_fld(im, N_CAT), c[D_CAT] = imp_colno(im, N_CAT);
	v[D_END] = imp_fld(im, N_END), c[D_END] = imp_colno(im, N_END);
	v[D_PAY] = imp_fld(im, N_PAY), c[D_PAY] = imp_colno(im, N_PAY);
	v[D_NEG] = v[D_END][0] ? "1" : "0";
	v[D_LNAME] = imp_fld(im, N_NAME); /* the list's name and form: joined to a list row after the import */
	v[D_LFORM] = imp_fld(im, N_FORM);
	/* 备注 holds the 限定支付范围 when it starts with 限 */
	v[D_RESTR] = !strncmp(remarks, "限", strlen("限")) ? remarks : "";
	v[D_REMARKS] = v[D_RESTR][0] ? "" : remarks;
	snprintf(pack, sizeof(pack), "%s%s%s%s", imp_fld(im, N_PACKQTY), imp_fld(im, N_PACKUNIT), imp_fld(im, N_PACKMAT)[0] ? " " : "",
	         imp_fld(im, N_PACKMAT));
	v[D_PACK] = pack;
	if (v[D_END][0] && !imp_valid_date(v[D_END]))
		v[D_END] = ""; /* free-text agreement periods are kept out of the date column */
	if (imp_fld(im, N_PACKQTY)[0]) {
		char *end;
		units = strtol(imp_fld(im, N_PACKQTY), &end, 10);
		if (*end || units < 0)
			return imp_bad(im, imp_colno(im, N_PACKQTY), "最小包装数量 '%s' is not a whole number", imp_fld(im, N_PACKQTY));
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
		int rc = sqlite3_step(st);
		if (rc != SQLITE_DONE)
			imp_db_fail(im, rc);
		sqlite3_reset(st);
	}
}

void imp_identifier(importer *im)
{
	const char *type = imp_fld(im, 0), *code = imp_fld(im, 2);
	char value[64];
	int ok1, ok2;
	long level = imp_parse_int(imp_fld(im, 3), 1, 1, 9, &ok1), units = imp_parse_int(imp_fld(im, 4), 0, 0, 1000000, &ok2);
	sqlite3_stmt *st = im->ins;

	if (!imp_known_ident_type(type))
		return imp_bad(im, imp_colno(im, 0), "type '%s' is not trace_prefix, gtin, ean13, standard_code or ma_di", type);
	if (!imp_check_ident(im, type, imp_fld(im, 1), imp_colno(im, 1), value, sizeof(value)))
		return;
	if (!code[0] || !imp_exists(im, im->exists_drug, code))
		return imp_bad(im, imp_colno(im, 2), "nhsa_code '%s' is not in the drugs", code);
	if (!ok1)
		return imp_bad(im, imp_colno(im, 3), "package_level '%s' is not 1-9", imp_fld(im, 3));
	if (!ok2)
		return imp_bad(im, imp_colno(im, 4), "units '%s' is not a whole number", imp_fld(im, 4));
	sqlite3_bind_text(st, 1, type, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, value, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 3, code, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 4, level);
	sqlite3_bind_int64(st, 5, units);
	if (im->local) { /* local_identifiers: not a demo mapping, no note */
		sqlite3_bind_int(st, 6, 0);
		sqlite3_bind_text(st, 7, "", -1, SQLITE_STATIC);
	}
	imp_step(im, st);
}

void imp_list(importer *im)
{
	const char *sev = imp_fld(im, 5);
	int i;

	if (!imp_fld(im, 0)[0])
		return imp_bad(im, imp_colno(im, 0), "list_id is empty");
	if (sev[0] && strcmp(sev, "info") && strcmp(sev, "warn") && strcmp(sev, "alert"))
		return imp_bad(im, imp_colno(im, 5), "severity '%s' is not info, warn or alert", sev);
	for (i = 0; i < 6; i++)
		sqlite3_bind_text(im->ins, i + 1, i == 5 && !sev[0] ? "info" : imp_fld(im, i), -1, SQLITE_TRANSIENT);
	imp_step(im, im->ins);
}

void imp_member(importer *im)
{
	if (!imp_exists(im, im->exists_list, imp_fld(im, 0)))
		return imp_bad(im, imp_colno(im, 0), "list_id '%s' is not in the lists", imp_fld(im, 0));
	if (!imp_exists(im, im->exists_drug, imp_fld(im, 1)))
		return imp_bad(im, imp_colno(im, 1), "nhsa_code '%s' is not in the drugs", imp_fld(im, 1));
	sqlite3_bind_text(im->ins, 1, imp_fld(im, 0), -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(im->ins, 2, imp_fld(im, 1), -1, SQLITE_TRANSIENT);
	imp_step(im, im->ins);
}

void imp_policy(importer *im)
{
	const char *scope = imp_fld(im, 0), *ins = imp_fld(im, 1), *set = imp_fld(im, 2);
	double ratio = 0;
	int has_ratio = imp_parse_number(imp_fld(im, 4), &ratio), i;

	if (strcmp(scope, "category:A") && strcmp(scope, "category:B") && !imp_exists(im, im->exists_list, scope))
		return imp_bad(im, imp_colno(im, 0), "scope '%s' is not a list_id, category:A or category:B", scope);
	if (strcmp(ins, "employee") && strcmp(ins, "resident") && strcmp(ins, "*"))
		return imp_bad(im, imp_colno(im, 1), "insurance '%s' is not employee, resident or *", ins);
	if (strcmp(set, "outpatient") && strcmp(set, "inpatient") && strcmp(set, "*"))
		return imp_bad(im, imp_colno(im, 2), "setting '%s' is not outpatient, inpatient or *", set);
	if (!imp_fld(im, 3)[0])
		return imp_bad(im, imp_colno(im, 3), "label_id is empty");
	if (has_ratio < 0 || (has_ratio && (ratio < 0 || ratio > 1)))
		return imp_bad(im, imp_colno(im, 4), "ratio '%s' is not a number from 0 to 1", imp_fld(im, 4));
	for (i = 0; i < 8; i++)
		if (i != 4)
			sqlite3_bind_text(im->ins, i + 1, imp_fld(im, i), -1, SQLITE_TRANSIENT);
	if (has_ratio)
		sqlite3_bind_double(im->ins, 5, ratio);
	else
		sqlite3_bind_null(im->ins, 5);
	imp_step(im, im->ins);
}

void imp_recall(importer *im)
{
	char value[64];
	int i;

	if (!imp_known_ident_type(imp_fld(im, 0)))
		return imp_bad(im, imp_colno(im, 0), "type '%s' is not trace_prefix, gtin, ean13, standard_code or ma_di", imp_fld(im, 0));
	if (!imp_check_ident(im, imp_fld(im, 0), imp_fld(im, 1), imp_colno(im, 1), value, sizeof(value)))
		return;
	if (imp_fld(im, 4)[0] && !imp_valid_date(imp_fld(im, 4)))
		return imp_bad(im, imp_colno(im, 4), "date '%s' is not a YYYY-MM-DD date", imp_fld(im, 4));
	for (i = 0; i < 5; i++)
		sqlite3_bind_text(im->ins, i + 1, i == 1 ? value : imp_fld(im, i), -1, SQLITE_TRANSIENT);
	imp_step(im, im->ins);
}

void imp_meta(importer *im)
{
	if (!imp_fld(im, 0)[0])
		return imp_bad(im, imp_colno(im, 0), "key is empty");
	sqlite3_bind_text(im->ins, 1, imp_fld(im, 0), -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(im->ins, 2, imp_fld(im, 1), -1, SQLITE_TRANSIENT);
	imp_step(im, im->ins);
}
