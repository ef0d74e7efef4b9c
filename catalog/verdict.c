/*
 * verdict.c - the verdict on one code: the trace parser's code-level labels
 * and unit key, then the catalog's drug and eligibility labels. Every caller
 * (check, scan, counter, audit, serve) judges a code through this one call.
 */
#include <stdio.h>
#include <string.h>

#include "catalog.h"

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

int ds_catalog_judge(ds_catalog *cat, const ds_code *code, const ds_lookup_opts *opts, ds_verdict *v,
                     ds_error *err)
{
	ds_lookup_opts defaults = {DS_INS_ANY, DS_LANG_EN, NULL};
	ds_trace_opts trace;
	ds_error local;
	int found = 0, rc;

	if (!opts)
		opts = &defaults;
	if (!err)
		err = &local;
	if (!opts->trace)
		ds_trace_opts_default(&trace);
	v->code = code;
	v->drug = NULL;
	v->failed = 0;
	v->catalog = cat != NULL;
	v->nlabels = ds_trace_labels(v->labels, DS_MAX_LABELS, code, opts->trace ? opts->trace : &trace, opts->lang);
	ds_code_unit_key(code, &v->unit);
	if (!cat)
		return DS_OK;
	rc = ds_catalog_lookup(cat, code, opts, &v->drug_, &found, v->labels, &v->nlabels, DS_MAX_LABELS, err);
	if (rc < 0) {
		ds_verdict_catalog_error(v, err->message, opts->lang);
		return rc;
	}
	if (found)
		v->drug = &v->drug_;
	return DS_OK;
}

void ds_verdict_catalog_error(ds_verdict *v, const char *why, ds_lang lang)
{
	ds_label *l;

	v->failed = 1;
	if (v->nlabels >= DS_MAX_LABELS)
		return;
	l = &v->labels[v->nlabels++];
	memset(l, 0, sizeof(*l));
	l->id = "catalog.error";
	l->level = DS_LEVEL_WARN;
	snprintf(l->text, sizeof(l->text), lang == DS_LANG_ZH ? "目录查询失败，无法判断医保信息：%s"
	                                                      : "the catalog lookup failed, so nothing is known of the drug: %s",
	         why);
}

ds_level ds_verdict_level(const ds_verdict *v)
{
	ds_level top = DS_LEVEL_INFO;
	size_t i;

	for (i = 0; i < v->nlabels; i++)
		if (v->labels[i].level > top)
			top = v->labels[i].level;
	return top;
}

int ds_verdict_has_alert(const ds_verdict *v)
{
	return ds_verdict_level(v) == DS_LEVEL_ALERT;
}

const ds_label *ds_verdict_top(const ds_verdict *v)
{
	const ds_label *top = NULL;
	size_t i;

	for (i = 0; i < v->nlabels; i++)
		if (!top || v->labels[i].level > top->level)
			top = &v->labels[i];
	return top;
}

int ds_verdict_names_box(const ds_verdict *v)
{
	return v->unit.key[0] != '\0';
}
