/*
 * counter.c - the counter action as one library call: parse the input, judge
 * it (ds_catalog_judge), find the box's unit key and record the action in the
 * ledger with the verdict's labels, so the ledger keeps the outcome that is
 * shown. The two halves are separate so that a server can judge on many
 * threads and commit many answers with one fsync (ds_counter_apply).
 */
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

void ds_counter_answer_init(ds_counter_answer *a)
{
	memset(a, 0, sizeof(*a));
	ds_code_init(&a->code);
}

void ds_counter_answer_free(ds_counter_answer *a)
{
	if (!a)
		return;
	ds_code_free(&a->code);
	memset(a, 0, sizeof(*a));
}

/* Why a code that names no box cannot be recorded: its first error, or "no serial". */
static void refuse(ds_counter_answer *a, ds_lang lang)
{
	size_t i;

	a->refusal_id = "code.not_a_pack";
	for (i = 0; i < a->code.nissues; i++)
		if (a->code.issues[i].severity == DS_SEV_ERROR) {
			ds_issue_message(&a->code.issues[i], lang, a->refusal, sizeof(a->refusal));
			return;
		}
	if (a->code.kind == DS_KIND_PRODUCT_BARCODE)
		snprintf(a->refusal, sizeof(a->refusal), "%s",
		         lang == DS_LANG_ZH ? "这是商品条码，不是追溯码：请扫描药盒上的追溯码"
		                            : "this is the product barcode, not the trace code: scan the box's trace code");
	else
		snprintf(a->refusal, sizeof(a->refusal), "%s",
		         lang == DS_LANG_ZH ? "没有序列号：不是单盒的追溯码" : "no serial: not the code of one box");
}

int ds_counter_judge(ds_catalog *cat, const ds_counter_opts *o, const void *input, size_t len,
                     ds_counter_answer *a, ds_error *err)
{
	ds_lookup_opts lookup = o->lookup;

	a->opts_ = *o;
	a->applied = 0;
	a->refusal_id = NULL;
	a->refusal[0] = '\0';
	a->lookup_failed = 0;
	ds_error_clear(&a->lookup_error);
	memset(&a->ledger, 0, sizeof(a->ledger));
	if (lookup.trace)
		a->trace_ = *lookup.trace;
	else
		ds_trace_opts_default(&a->trace_);
	lookup.trace = &a->trace_;
	if (ds_trace_parse(&a->code, input, len, o->symbology, NULL, &a->trace_) < 0)
		return ds_error_set(err, DS_ENOMEM, "out of memory");
	if (ds_catalog_judge(cat, &a->code, &lookup, &a->verdict, &a->lookup_error) < 0)
		a->lookup_failed = 1; /* the verdict carries catalog.error; the caller tells the user */
	if (!ds_verdict_names_box(&a->verdict))
		refuse(a, lookup.lang);
	return DS_OK;
}

/* The ledger request of a judged answer; strings point into the answer and its options. */
static void request(const ds_counter_answer *a, ds_ledger_req *q)
{
	const ds_counter_opts *o = &a->opts_;
	const ds_verdict *v = &a->verdict;

	memset(q, 0, sizeof(*q));
	q->action = o->action;
	q->code = v->unit.key;
	q->product_key = v->unit.product;
	q->serial = v->unit.serial;
	q->nhsa_code = v->drug ? v->drug->nhsa_code : NULL;
	q->batch = ds_code_field(&a->code, "batch");
	q->expiry = ds_code_field(&a->code, "expiry");
	q->split = o->split;
	q->qty = o->qty;
	q->units = o->units > 0 ? o->units : v->drug ? v->drug->units : 0;
	q->strict = o->strict;
	q->station = o->station;
	q->operator_ = o->operator_;
	q->note = o->note;
	q->now_ms = o->now_ms;
	q->labels = v->labels;
	q->nlabels = v->nlabels;
}

/* After the commit: the ledger's labels join the verdict's (the outcome already counts both). */
static void merge(ds_counter_answer *a)
{
	size_t i;

	a->applied = 1;
	for (i = 0; i < a->ledger.nlabels && a->verdict.nlabels < DS_MAX_LABELS; i++)
		a->verdict.labels[a->verdict.nlabels++] = a->ledger.labels[i];
}

/* A ledger still locked by another writer after the busy timeout is DS_ELIMIT (a time limit), not damage. */
static int busy(ds_ledger *l, ds_error *err)
{
	int code = sqlite3_errcode(l->db) == SQLITE_BUSY ? DS_ELIMIT : err && err->code ? err->code : DS_ERR;

	if (err)
		err->code = code;
	return code;
}

int ds_counter_apply(ds_ledger *l, ds_counter_answer *const *answers, size_t n, ds_error *err)
{
	ds_ledger_req q;
	size_t i, todo = 0;
	int group;

	for (i = 0; i < n; i++)
		todo += answers[i]->refusal_id == NULL;
	if (!todo)
		return DS_OK;
	/* one answer: its own transaction; several: one transaction, each answer a savepoint in it */
	group = todo > 1;
	if (group && led_exec(l, "BEGIN IMMEDIATE", err) < 0)
		return busy(l, err);
	l->in_group = group;
	for (i = 0; i < n; i++) {
		ds_counter_answer *a = answers[i];
		if (a->refusal_id)
			continue;
		request(a, &q);
		if (ds_ledger_apply(l, &q, a->opts_.lookup.lang, &a->ledger, err) < 0) {
			if (!group)
				return busy(l, err);
			goto fail;
		}
	}
	l->in_group = 0;
	if (group && led_exec(l, "COMMIT", err) < 0)
		goto fail;
	for (i = 0; i < n; i++)
		if (!answers[i]->refusal_id)
			merge(answers[i]);
	return DS_OK;
fail:
	l->in_group = 0;
	if (group)
		sqlite3_exec(l->db, "ROLLBACK", NULL, NULL, NULL);
	for (i = 0; i < n; i++)
		memset(&answers[i]->ledger, 0, sizeof(answers[i]->ledger));
	return err && err->code ? err->code : DS_ERR;
}

int ds_counter_do(ds_ledger *l, ds_catalog *cat, const ds_counter_opts *o, const void *input, size_t len,
                  ds_counter_answer *out, ds_error *err)
{
	ds_counter_answer *one = out;
	int rc = ds_counter_judge(cat, o, input, len, out, err);

	if (rc < 0 || out->refusal_id)
		return rc;
	return ds_counter_apply(l, &one, 1, err);
}
