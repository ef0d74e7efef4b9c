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

/* Recorded: the ledger's labels join the verdict's (the outcome already counts both). */
static void merge(ds_counter_answer *a)
{
	size_t i;

	for (i = 0; i < a->ledger.nlabels && a->verdict.nlabels < DS_MAX_LABELS; i++)
		a->verdict.labels[a->verdict.nlabels++] = a->ledger.labels[i];
}

/* One answer on its own: ds_ledger_apply's own transaction. */
static int apply_one(ds_ledger *l, ds_counter_answer *a, ds_error *err)
{
	ds_ledger_req q;
	int rc;

	request(a, &q);
	rc = ds_ledger_apply(l, &q, a->opts_.lookup.lang, &a->ledger, err);
	if (a->ledger.recorded == 1)
		merge(a);
	return rc;
}

/* The group failed: what does the ledger hold? Before COMMIT nothing; after a failed
 * COMMIT each event is looked for (a commit whose frames reached the log stands). */
static int group_failed(ds_ledger *l, ds_counter_answer *const *answers, size_t n, int committing, int rc)
{
	ds_ledger_fault fault = l->fault;
	size_t i;
	int all = 1;

	if (l->db && sqlite3_get_autocommit(l->db) == 0)
		sqlite3_exec(l->db, "ROLLBACK", NULL, NULL, NULL);
	for (i = 0; i < n; i++) {
		ds_counter_answer *a = answers[i];
		if (a->refusal_id)
			continue;
		a->ledger.recorded = committing && a->ledger.event_id[0] ? led_confirm(l, a->ledger.event_id) : 0;
		a->ledger.fault = fault;
		if (a->ledger.recorded == 1)
			merge(a);
		else
			all = 0;
	}
	l->fault = fault;
	return all ? DS_OK : rc;
}

int ds_counter_apply(ds_ledger *l, ds_counter_answer *const *answers, size_t n, ds_error *err)
{
	ds_ledger_req q;
	size_t i, todo = 0, last = 0;
	int rc, committing = 0;

	for (i = 0; i < n; i++)
		if (!answers[i]->refusal_id) {
			todo++;
			last = i;
			memset(&answers[i]->ledger, 0, sizeof(answers[i]->ledger));
		}
	if (todo == 0)
		return DS_OK;
	if (todo == 1)
		return apply_one(l, answers[last], err);
	if (l->pg) {
		/* the chain ledger: one transaction per code, each with its row lock */
		for (i = 0, rc = DS_OK; i < n; i++) {
			int one = answers[i]->refusal_id ? DS_OK : apply_one(l, answers[i], rc == DS_OK ? err : NULL);
			rc = rc < 0 ? rc : one;
		}
		return rc;
	}
	/* several: one transaction, each answer a savepoint in it, one COMMIT (one fsync) */
	if ((rc = ds_ledger_writable(l, err)) < 0 || (rc = led_ready(l, err)) < 0 ||
	    (rc = led_run(l, "BEGIN IMMEDIATE", err)) < 0)
		return group_failed(l, answers, n, 0, rc);
	l->in_group = 1;
	for (i = 0; i < n && rc == DS_OK; i++) {
		ds_counter_answer *a = answers[i];
		if (a->refusal_id)
			continue;
		request(a, &q);
		rc = ds_ledger_apply(l, &q, a->opts_.lookup.lang, &a->ledger, err);
	}
	l->in_group = 0;
	if (rc == DS_OK) {
		committing = 1;
		rc = led_run(l, "COMMIT", err);
	}
	if (rc < 0)
		return group_failed(l, answers, n, committing, rc);
	for (i = 0; i < n; i++)
		if (!answers[i]->refusal_id) {
			answers[i]->ledger.recorded = 1;
			merge(answers[i]);
		}
	return DS_OK;
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
