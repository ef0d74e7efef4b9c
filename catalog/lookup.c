/*
 * lookup.c - from a parsed code to a drug, and from the drug to the labels a
 * patient, a counter or an inspector sees. Every rule that is policy (which
 * list gives which label, what a ratio is) comes from the catalog's rows.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static void copy_col(char *dst, size_t size, sqlite3_stmt *st, int col)
{
	const unsigned char *v = sqlite3_column_text(st, col);
	snprintf(dst, size, "%s", v ? (const char *)v : "");
}

static ds_label *add(ds_label *labels, size_t *n, size_t max, const char *id, ds_level level)
{
	size_t i;

	for (i = 0; i < *n; i++) /* one label per id: a later, more specific text replaces */
		if (!strcmp(labels[i].id, id))
			return &labels[i];
	if (*n >= max)
		return NULL;
	labels[*n].id = id;
	labels[*n].level = level;
	labels[*n].text[0] = '\0';
	return &labels[(*n)++];
}

/* Label ids from data live as long as the process: intern them. */
static const char *intern(const char *id)
{
	static const char *const known[] = {
		"nrdl.class_a", "nrdl.class_b", "nrdl.negotiated", "nrdl.new_2025", "policy.outpatient_inpatient_level",
		"policy.dual_channel", "policy.chronic_outpatient", "nrdl.restricted", "nrdl.not_covered",
		"list.commercial_innovative", "recall.batch", "catalog.unmapped", "code.package_level",
	};
	size_t i;

	for (i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (!strcmp(known[i], id))
			return known[i];
	return NULL; /* a label id this build does not know is not shown (labels are a closed set) */
}

static ds_level level_of(const char *severity)
{
	return !strcmp(severity, "alert") ? DS_LEVEL_ALERT : !strcmp(severity, "warn") ? DS_LEVEL_WARN : DS_LEVEL_INFO;
}

/* Which identifier to look up for this code. Returns 0 when there is none. */
static int product_key(const ds_code *c, const char **type, char *value, size_t size)
{
	const char *v;

	const char *embedded = ds_code_field(c, "embedded_kind");

	if ((v = ds_code_field(c, "product_code")) && strlen(v) == 7 && c->kind != DS_KIND_MA &&
	    !(embedded && !strcmp(embedded, "ma"))) {
		*type = "trace_prefix";
		snprintf(value, size, "%s", v);
		return 1;
	}
	if ((v = ds_code_field(c, "gtin"))) {
		*type = "gtin";
		snprintf(value, size, "%s", v);
		return 1;
	}
	if ((v = ds_code_field(c, "ean13")) || (v = ds_code_field(c, "ean8")) || (v = ds_code_field(c, "upca"))) {
		*type = "ean13";
		snprintf(value, size, "%s", v);
		return 1;
	}
	if (c->kind == DS_KIND_MA || (embedded && !strcmp(embedded, "ma"))) {
		if ((v = ds_code_field(c, "di"))) {
			*type = "ma_di";
			snprintf(value, size, "%s", v);
			return 1;
		}
	}
	return 0;
}

static int find_drug(ds_catalog *cat, const char *type, const char *value, ds_drug *d)
{
	sqlite3_stmt *st = cat->st[ST_IDENT];
	int rc;

	sqlite3_reset(st);
	sqlite3_bind_text(st, 1, type, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, value, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		sqlite3_reset(st);
		return rc == SQLITE_DONE ? 0 : -1;
	}
	copy_col(d->nhsa_code, sizeof(d->nhsa_code), st, 0);
	copy_col(d->generic_name, sizeof(d->generic_name), st, 1);
	copy_col(d->brand_name, sizeof(d->brand_name), st, 2);
	copy_col(d->dosage_form, sizeof(d->dosage_form), st, 3);
	copy_col(d->spec, sizeof(d->spec), st, 4);
	copy_col(d->pack, sizeof(d->pack), st, 5);
	copy_col(d->manufacturer, sizeof(d->manufacturer), st, 6);
	copy_col(d->approval_no, sizeof(d->approval_no), st, 7);
	copy_col(d->standard_code, sizeof(d->standard_code), st, 8);
	copy_col(d->nrdl_no, sizeof(d->nrdl_no), st, 9);
	copy_col(d->category, sizeof(d->category), st, 10);
	d->negotiated = sqlite3_column_int(st, 11);
	copy_col(d->agreement_end, sizeof(d->agreement_end), st, 12);
	copy_col(d->payment_standard, sizeof(d->payment_standard), st, 13);
	copy_col(d->restriction, sizeof(d->restriction), st, 14);
	copy_col(d->remarks, sizeof(d->remarks), st, 15);
	d->package_level = sqlite3_column_int(st, 16);
	d->units = sqlite3_column_int(st, 17);
	snprintf(d->matched_by, sizeof(d->matched_by), "%s", type);
	sqlite3_reset(st);
	st = cat->st[ST_LISTS];
	sqlite3_bind_text(st, 1, d->nhsa_code, -1, SQLITE_STATIC);
	d->nlists = 0;
	while (sqlite3_step(st) == SQLITE_ROW && d->nlists < DS_MAX_LISTS)
		copy_col(d->lists[d->nlists++], sizeof(d->lists[0]), st, 0);
	sqlite3_reset(st);
	return 1;
}

/* find_drug through the per-connection cache. */
static int cached_find(ds_catalog *cat, const char *type, const char *value, ds_drug *d)
{
	char key[96];
	uint64_t h = 0xcbf29ce484222325ULL;
	size_t i, n;
	struct drug_slot *slot;
	int rc;

	n = (size_t)snprintf(key, sizeof(key), "%s:%s", type, value);
	for (i = 0; i < n && i < sizeof(key); i++)
		h = (h ^ (unsigned char)key[i]) * 0x100000001b3ULL;
	h |= 1; /* never 0, which marks an empty slot */
	if (!cat->cache)
		cat->cache = calloc(DRUG_CACHE, sizeof(*cat->cache));
	slot = cat->cache ? &cat->cache[h % DRUG_CACHE] : NULL;
	if (slot && slot->hash == h && !strcmp(slot->key, key)) {
		if (slot->found)
			*d = slot->drug;
		return slot->found;
	}
	rc = find_drug(cat, type, value, d);
	if (slot && rc >= 0) {
		slot->hash = h;
		snprintf(slot->key, sizeof(slot->key), "%s", key);
		slot->found = rc;
		if (rc)
			slot->drug = *d;
	}
	return rc;
}

/*
 * The labels of one policy scope (a list id, or "category:A"). With an
 * insurance type, its rows (and "*" rows) count; without, "*" rows count and
 * per-insurance rows are joined so the patient sees both ratios.
 */
static void scope_labels(ds_catalog *cat, const char *scope, const ds_lookup_opts *o, ds_label *labels,
                         size_t *n, size_t max)
{
	sqlite3_stmt *st = cat->st[ST_POLICY];
	int zh = o->lang == DS_LANG_ZH;

	sqlite3_bind_text(st, 1, scope, -1, SQLITE_STATIC);
	while (sqlite3_step(st) == SQLITE_ROW) {
		const char *ins = (const char *)sqlite3_column_text(st, 0);
		const char *id = intern((const char *)sqlite3_column_text(st, 1));
		const char *text = (const char *)sqlite3_column_text(st, zh ? 3 : 4);
		ds_label *l;
		int match = !strcmp(ins, "*") || o->insurance == DS_INS_ANY ||
		            (o->insurance == DS_INS_EMPLOYEE && !strcmp(ins, "employee")) ||
		            (o->insurance == DS_INS_RESIDENT && !strcmp(ins, "resident"));
		if (!id || !match)
			continue;
		l = add(labels, n, max, id, strcmp(id, "list.commercial_innovative") ? DS_LEVEL_INFO : DS_LEVEL_WARN);
		if (!l)
			continue;
		if (l->text[0] && o->insurance == DS_INS_ANY && strcmp(ins, "*")) {
			size_t used = strlen(l->text);
			snprintf(l->text + used, sizeof(l->text) - used, "%s%s", zh ? "；" : "; ", text);
		} else {
			snprintf(l->text, sizeof(l->text), "%s", text);
		}
	}
	sqlite3_reset(st);
}

static void list_labels(ds_catalog *cat, const ds_drug *d, const ds_lookup_opts *o, ds_label *labels, size_t *n,
                        size_t max)
{
	size_t i;
	int zh = o->lang == DS_LANG_ZH;

	for (i = 0; i < d->nlists; i++) {
		sqlite3_stmt *st = cat->st[ST_LISTLABEL];
		sqlite3_bind_text(st, 1, d->lists[i], -1, SQLITE_STATIC);
		if (sqlite3_step(st) == SQLITE_ROW) {
			const char *id = intern((const char *)sqlite3_column_text(st, 0));
			ds_label *l = id ? add(labels, n, max, id, level_of((const char *)sqlite3_column_text(st, 1))) : NULL;
			if (l && !l->text[0])
				snprintf(l->text, sizeof(l->text), "%s", (const char *)sqlite3_column_text(st, zh ? 2 : 3));
		}
		sqlite3_reset(st);
		scope_labels(cat, d->lists[i], o, labels, n, max);
	}
}

static void recall_labels(ds_catalog *cat, const ds_code *c, const char *type, const char *value,
                          const ds_lookup_opts *o, ds_label *labels, size_t *n, size_t max)
{
	sqlite3_stmt *st = cat->st[ST_RECALL];
	const char *batch = ds_code_field(c, "batch");
	int zh = o->lang == DS_LANG_ZH;

	sqlite3_bind_text(st, 1, type, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, value, -1, SQLITE_STATIC);
	while (sqlite3_step(st) == SQLITE_ROW) {
		const char *rb = (const char *)sqlite3_column_text(st, 0);
		const char *reason = (const char *)sqlite3_column_text(st, 1);
		const char *date = (const char *)sqlite3_column_text(st, 2);
		ds_label *l;
		if (!rb[0] || (batch && !strcmp(batch, rb))) {
			/* every batch, or this box's batch: an alert */
			if ((l = add(labels, n, max, "recall.batch", DS_LEVEL_ALERT)))
				snprintf(l->text, sizeof(l->text), zh ? "召回%s%s：%s（%s）" : "recalled%s%s: %s (%s)",
				         rb[0] ? (zh ? "批次 " : ", batch ") : (zh ? "（全部批次）" : ", all batches"), rb, reason, date);
		} else if (!batch && (l = add(labels, n, max, "recall.batch", DS_LEVEL_WARN)) && l->level != DS_LEVEL_ALERT) {
			/* the code carries no batch: the person must compare the printed one */
			snprintf(l->text, sizeof(l->text),
			         zh ? "该药品批号 %s 已召回（%s）：请核对包装上的批号" : "batch %s of this drug is recalled (%s): check the batch printed on the box",
			         rb, reason);
		}
	}
	sqlite3_reset(st);
}

int ds_catalog_lookup(ds_catalog *cat, const ds_code *code, const ds_lookup_opts *opts, ds_drug *drug,
                      int *found, ds_label *labels, size_t *n, size_t max, ds_error *err)
{
	ds_lookup_opts defaults = {DS_INS_ANY, DS_LANG_EN, NULL};
	const char *type = NULL;
	char value[64], scope[16];
	int zh, rc;
	ds_label *l;

	*found = 0;
	if (!opts)
		opts = &defaults;
	zh = opts->lang == DS_LANG_ZH;
	if (!product_key(code, &type, value, sizeof(value)))
		return DS_OK;
	if (!code->valid && code->kind != DS_KIND_PRODUCT_BARCODE)
		return DS_OK; /* a malformed code maps to nothing; code.invalid says why */
	memset(drug, 0, sizeof(*drug));
	cat_read_begin(cat);
	rc = cached_find(cat, type, value, drug);
	if (rc == 0 && !strcmp(type, "gtin") && value[0] == '0') {
		/* a GTIN-14 with a leading 0 is the box's EAN-13 */
		memmove(value, value + 1, strlen(value));
		type = "ean13";
		rc = cached_find(cat, type, value, drug);
	} else if (rc == 0 && !strcmp(type, "ean13") && strlen(value) == 13) {
		/* and the other way: an EAN-13 the catalog knows only as its GTIN-14 */
		memmove(value + 1, value, 14);
		value[0] = '0';
		type = "gtin";
		rc = cached_find(cat, type, value, drug);
	}
	if (rc < 0)
		return ds_error_set(err, DS_ERR, "catalog lookup: %s", sqlite3_errmsg(cat->db));
	if (rc == 0) {
		if (code->kind != DS_KIND_PRODUCT_BARCODE && (l = add(labels, n, max, "catalog.unmapped", DS_LEVEL_WARN)))
			snprintf(l->text, sizeof(l->text), "%s",
			         zh ? "格式正确，但本地目录中没有这个药品标识码（未对照）" : "well-formed, but this product is not in the local catalog (未对照)");
		return DS_OK;
	}
	*found = 1;
	if (code->kind == DS_KIND_PRODUCT_BARCODE)
		return DS_OK; /* it says which drug it is; the trace code carries the rest */
	if (drug->category[0]) {
		const char *id = drug->category[0] == 'A' ? "nrdl.class_a" : "nrdl.class_b";
		if ((l = add(labels, n, max, id, DS_LEVEL_INFO)))
			snprintf(l->text, sizeof(l->text), "%s",
			         drug->category[0] == 'A' ? (zh ? "甲类" : "class A (甲类)") : (zh ? "乙类" : "class B (乙类)"));
		snprintf(scope, sizeof(scope), "category:%s", drug->category);
		if (opts->insurance != DS_INS_ANY)
			scope_labels(cat, scope, opts, labels, n, max);
	}
	if (drug->negotiated && (l = add(labels, n, max, "nrdl.negotiated", DS_LEVEL_INFO)))
		snprintf(l->text, sizeof(l->text), zh ? "协议期内谈判药品（按乙类支付%s%s%s）" : "negotiated drug (paid as class B%s%s%s)",
		         drug->agreement_end[0] ? (zh ? "，协议有效期至 " : ", agreement until ") : "", drug->agreement_end,
		         drug->payment_standard[0] ? (zh ? "，有医保支付标准" : ", with a payment standard") : "");
	if (!drug->category[0] && !drug->negotiated && (l = add(labels, n, max, "nrdl.not_covered", DS_LEVEL_WARN)))
		snprintf(l->text, sizeof(l->text), "%s",
		         zh ? "不在国家医保药品目录内：基本医保不报销（自费）" : "not in the national list: basic insurance does not pay (self-pay)");
	if (drug->restriction[0] && (l = add(labels, n, max, "nrdl.restricted", DS_LEVEL_WARN)))
		snprintf(l->text, sizeof(l->text), "%s%s", zh ? "限定支付范围：" : "payment restricted: ", drug->restriction);
	list_labels(cat, drug, opts, labels, n, max);
	if (drug->package_level >= 2 && (l = add(labels, n, max, "code.package_level", DS_LEVEL_WARN)))
		snprintf(l->text, sizeof(l->text),
		         zh ? "这是%s（含 %d 个单位），不是单盒的追溯码" : "this is a %s code (%d units), not the code of one box",
		         drug->package_level == 2 ? (zh ? "中包装码" : "middle pack") : (zh ? "大包装码" : "case"),
		         drug->units);
	recall_labels(cat, code, type, value, opts, labels, n, max);
	return DS_OK;
}
