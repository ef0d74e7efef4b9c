/*
 * torture_counter.c - the counter action of ledger/counter.c on a real
 * ledger.db and the demo catalog in a temp directory: a product barcode is
 * refused and records nothing, a box sold twice, a group commit with two
 * answers for one box, a refusal inside a group, the verdict's alert kept in
 * the ledger, and no catalog at all.
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

#include "ledger.h"

typedef struct fixture {
	char dir[64];
	ds_ledger *ledger;  /* a new one for each test */
	ds_catalog *cat;    /* the demo catalog, built once */
	int n;
} fixture;

static int group_setup(void **state)
{
	fixture *f = calloc(1, sizeof(*f));
	ds_error err;

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/drugscan-counter-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	setenv("DRUGSCAN_CATALOG_SEED", "demo", 1); /* the synthetic demo catalog, whose codes these tests use */
	assert_int_equal(ds_catalog_open_default(&f->cat, f->dir, &err), DS_OK);
	*state = f;
	return 0;
}

static int group_teardown(void **state)
{
	fixture *f = *state;
	char cmd[128];

	ds_catalog_close(f->cat);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

static int setup(void **state)
{
	fixture *f = *state;
	char path[128];
	ds_error err;

	snprintf(path, sizeof(path), "%s/ledger-%d.db", f->dir, ++f->n);
	assert_int_equal(ds_ledger_open(&f->ledger, path, NULL, &err), DS_OK);
	return 0;
}

static int teardown(void **state)
{
	fixture *f = *state;

	ds_ledger_close(f->ledger);
	f->ledger = NULL;
	return 0;
}

static void opts(ds_counter_opts *o, ds_action action)
{
	memset(o, 0, sizeof(*o));
	o->action = action;
	o->station = "T";
	o->lookup.lang = DS_LANG_EN;
}

static int count_event(void *ctx, const ds_event *e)
{
	int *n = ctx;
	(void)e;
	(*n)++;
	return 0;
}

static int events(fixture *f, const char *code)
{
	int n = 0;
	ds_error err;

	assert_int_equal(ds_ledger_history(f->ledger, code, count_event, &n, &err), DS_OK);
	return n;
}

static int has_label(const ds_counter_answer *a, const char *id)
{
	size_t i;

	for (i = 0; i < a->verdict.nlabels; i++)
		if (!strcmp(a->verdict.labels[i].id, id))
			return 1;
	return 0;
}

/* A clean code of the demo catalog: 阿托伐他汀钙片, 10 units a box, no warning. */
static const char *clean(int i)
{
	static char buf[8][24];
	char *b = buf[i % 8];
	snprintf(b, 24, "8100031%09d1234", i);
	return b;
}

static void test_product_barcode_is_refused(void **state)
{
	fixture *f = *state;
	ds_counter_opts o;
	ds_counter_answer a;
	ds_error err;

	opts(&o, DS_ACT_SELL);
	ds_counter_answer_init(&a);
	assert_int_equal(ds_counter_do(f->ledger, f->cat, &o, "6901234567892", 13, &a, &err), DS_OK);
	assert_string_equal(a.refusal_id, "code.not_a_pack");
	assert_non_null(strstr(a.refusal, "product barcode"));
	assert_int_equal(a.ledger.recorded, 0);
	assert_int_equal(events(f, "6901234567892"), 0);
	/* a GS1 code without a serial names a product, not a box */
	assert_int_equal(ds_counter_do(f->ledger, f->cat, &o, "(01)06901234567892(17)270331", 28, &a, &err), DS_OK);
	assert_string_equal(a.refusal_id, "code.not_a_pack");
	ds_counter_answer_free(&a);
}

static void test_sell_twice(void **state)
{
	fixture *f = *state;
	ds_counter_opts o;
	ds_counter_answer a;
	ds_error err;

	ds_counter_answer_init(&a);
	opts(&o, DS_ACT_RECEIVE);
	assert_int_equal(ds_counter_do(f->ledger, f->cat, &o, clean(1), 20, &a, &err), DS_OK);
	assert_int_equal(a.ledger.recorded, 1);
	assert_int_equal(a.ledger.after, DS_ST_IN_STOCK);
	assert_int_equal(a.ledger.units_left, 10); /* from the catalog */
	assert_string_equal(a.verdict.drug->generic_name, "阿托伐他汀钙片");
	opts(&o, DS_ACT_SELL);
	assert_int_equal(ds_counter_do(f->ledger, f->cat, &o, clean(1), 20, &a, &err), DS_OK);
	assert_int_equal(a.ledger.outcome, 0);
	assert_int_equal(a.ledger.refused, 0);
	assert_int_equal(ds_counter_do(f->ledger, f->cat, &o, clean(1), 20, &a, &err), DS_OK);
	assert_int_equal(a.ledger.outcome, 2);
	assert_int_equal(a.ledger.refused, 1);
	assert_true(has_label(&a, "ledger.already_sold")); /* merged into the verdict */
	assert_int_equal(events(f, clean(1)), 3);
	ds_counter_answer_free(&a);
}

static void test_group_of_one_box(void **state)
{
	fixture *f = *state;
	ds_counter_opts o;
	ds_counter_answer a[4];
	ds_counter_answer *v[4];
	const char *in[4];
	ds_error err;
	int i, sold = 0;

	opts(&o, DS_ACT_SELL);
	/* two sells of one box, a product barcode and another box, in one transaction */
	in[0] = clean(2);
	in[1] = clean(2);
	in[2] = "6901234567892";
	in[3] = clean(3);
	for (i = 0; i < 4; i++) {
		ds_counter_answer_init(&a[i]);
		assert_int_equal(ds_counter_judge(f->cat, &o, in[i], strlen(in[i]), &a[i], &err), DS_OK);
		v[i] = &a[i];
	}
	assert_int_equal(ds_counter_apply(f->ledger, v, 4, &err), DS_OK);
	for (i = 0; i < 2; i++)
		sold += a[i].ledger.recorded == 1 && !a[i].ledger.refused;
	assert_int_equal(sold, 1);
	assert_int_equal(a[1].ledger.refused, 1);
	assert_true(has_label(&a[1], "ledger.already_sold"));
	assert_int_equal(a[2].ledger.recorded, 0);
	assert_int_equal(a[3].ledger.recorded, 1);
	assert_int_equal(a[3].ledger.refused, 0);
	assert_int_equal(events(f, clean(2)), 2);
	assert_int_equal(events(f, clean(3)), 1);
	for (i = 0; i < 4; i++)
		ds_counter_answer_free(&a[i]);
}

static int last_outcome(void *ctx, const ds_event *e)
{
	*(int *)ctx = e->outcome;
	return 0;
}

static void test_verdict_alert_is_recorded(void **state)
{
	fixture *f = *state;
	ds_counter_opts o;
	ds_counter_answer a;
	ds_error err;
	int outcome = -1;

	/* 布洛芬缓释胶囊 of the demo catalog is recalled: the sale happens, as an alert */
	opts(&o, DS_ACT_SELL);
	ds_counter_answer_init(&a);
	assert_int_equal(ds_counter_do(f->ledger, f->cat, &o, "81000464033958964338", 20, &a, &err), DS_OK);
	assert_int_equal(a.ledger.refused, 0);
	assert_int_equal(a.ledger.outcome, 2);
	assert_true(has_label(&a, "recall.batch"));
	assert_int_equal(ds_ledger_history(f->ledger, "81000464033958964338", last_outcome, &outcome, &err), DS_OK);
	assert_int_equal(outcome, 2);
	/* strict mode refuses it */
	o.strict = 1;
	assert_int_equal(ds_counter_do(f->ledger, f->cat, &o, "81000464033958960001", 20, &a, &err), DS_OK);
	assert_int_equal(a.ledger.refused, 1);
	ds_counter_answer_free(&a);
}

static void test_no_catalog(void **state)
{
	fixture *f = *state;
	ds_counter_opts o;
	ds_counter_answer a;
	ds_error err;

	opts(&o, DS_ACT_SCAN);
	ds_counter_answer_init(&a);
	assert_int_equal(ds_counter_do(f->ledger, NULL, &o, clean(4), 20, &a, &err), DS_OK);
	assert_int_equal(a.ledger.recorded, 1);
	assert_null(a.verdict.drug);
	assert_int_equal(a.verdict.catalog, 0);
	assert_int_equal(a.lookup_failed, 0);
	ds_counter_answer_free(&a);
	ds_counter_answer_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_product_barcode_is_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sell_twice, setup, teardown),
		cmocka_unit_test_setup_teardown(test_group_of_one_box, setup, teardown),
		cmocka_unit_test_setup_teardown(test_verdict_alert_is_recorded, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_catalog, setup, teardown),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
