/*
 * judge.c - the verdict on one code: the trace parser's code-level labels,
 * then the catalog's drug and eligibility labels.
 */
#include <string.h>

#include "cli.h"

int ds_insurance_parse(ds_insurance *out, const char *name)
{
	if (!name)
		*out = DS_INS_ANY;
	else if (!strcmp(name, "employee"))
		*out = DS_INS_EMPLOYEE;
	else if (!strcmp(name, "resident"))
		*out = DS_INS_RESIDENT;
	else
		return DS_EINVAL;
	return DS_OK;
}

int ds_judge_open(ds_judge *j, const char *data_dir, const char *insurance, ds_lang lang, int exact, ds_error *err)
{
	memset(j, 0, sizeof(*j));
	ds_trace_opts_default(&j->trace);
	j->trace.exact = exact;
	j->lookup.lang = lang;
	ds_insurance_parse(&j->lookup.insurance, insurance);
	return ds_catalog_open_default(&j->cat, data_dir, err);
}

void ds_judge_close(ds_judge *j)
{
	if (!j)
		return;
	ds_catalog_close(j->cat);
	j->cat = NULL;
}

void ds_judge_code(ds_judge *j, const ds_code *code, ds_verdict *v)
{
	int found = 0;

	v->code = code;
	v->drug = NULL;
	v->nlabels = ds_trace_labels(v->labels, DS_MAX_LABELS, code, &j->trace, j->lookup.lang);
	if (j->cat && ds_catalog_lookup(j->cat, code, &j->lookup, &j->drug, &found, v->labels, &v->nlabels,
	                                DS_MAX_LABELS, NULL) == DS_OK && found)
		v->drug = &j->drug;
}

int ds_verdict_has_alert(const ds_verdict *v)
{
	size_t i;

	for (i = 0; i < v->nlabels; i++)
		if (v->labels[i].level == DS_LEVEL_ALERT)
			return 1;
	return 0;
}
