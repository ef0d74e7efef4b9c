/*
 * lookup.c - from a parsed code to a drug, and from the drug to the labels a
 * patient, a counter or an inspector sees. Every rule that is policy (which
 * list gives which label, what a ratio is) comes from the catalog's rows; the
 * pharmacy's own 对照 and policy rows (the local_* tables) come first.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static void copy_col(ds_catalog *cat, char *dst, size_t size, sqlite3_stmt *st, int col)
{
	snprintf(dst, size, "%s", cat_text(cat, st, col));
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
	labels[*n].ratio = 0;
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
int cat_product_key(const ds_code *c, const char **type, char *value, size_t size)
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

/* Add the lists of key (national or local) to the drug's, kept sorted and unique. */
static void lists_of(ds_catalog *cat, sqlite3_stmt *st, const char *key, ds_drug *d)
{
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	while (d->nlists < DS_MAX_LISTS && cat_step(cat, st) == SQLITE_ROW) {
		const char *id = cat_text(cat, st, 0);
		size_t i = 0, k;
		while (i < d->nlists && strcmp(d->lists[i], id) < 0)
			i++;
		if (i < d->nlists && !strncmp(d->lists[i], id, sizeof(d->lists[0]) - 1))
			continue;
		for (k = d->nlists; k > i; k--)
			memcpy(d->lists[k], d->lists[k - 1], sizeof(d->lists[0]));
		snprintf(d->lists[i], sizeof(d->lists[0]), "%s", id);
		d->nlists++;
	}
	sqlite3_reset(st);
}

/* The columns of ST_IDENT and ST_DRUG into a drug, then the drug's lists. */
static void read_drug(ds_catalog *cat, sqlite3_stmt *st, ds_drug *d)
{
	copy_col(cat, d->nhsa_code, sizeof(d->nhsa_code), st, 0);
	copy_col(cat, d->generic_name, sizeof(d->generic_name), st, 1);
	copy_col(cat, d->brand_name, sizeof(d->brand_name), st, 2);
	copy_col(cat, d->dosage_form, sizeof(d->dosage_form), st, 3);
	copy_col(cat, d->spec, sizeof(d->spec), st, 4);
	copy_col(cat, d->pack, sizeof(d->pack), st, 5);
	copy_col(cat, d->manufacturer, sizeof(d->manufacturer), st, 6);
	copy_col(cat, d->approval_no, sizeof(d->approval_no), st, 7);
	copy_col(cat, d->standard_code, sizeof(d->standard_code), st, 8);
	copy_col(cat, d->nrdl_no, sizeof(d->nrdl_no), st, 9);
	copy_col(cat, d->category, sizeof(d->category), st, 10);
	d->negotiated = sqlite3_column_int(st, 11);
	copy_col(cat, d->agreement_end, sizeof(d->agreement_end), st, 12);
	copy_col(cat, d->payment_standard, sizeof(d->payment_standard), st, 13);
	copy_col(cat, d->restriction, sizeof(d->restriction), st, 14);
	copy_col(cat, d->remarks, sizeof(d->remarks), st, 15);
	copy_col(cat, d->section, sizeof(d->section), st, 16);
	copy_col(cat, d->list_no, sizeof(d->list_no), st, 17);
	copy_col(cat, d->list_key, sizeof(d->list_key), st, 18);
	copy_col(cat, d->agreement_period, sizeof(d->agreement_period), st, 19);
	copy_col(cat, d->category_code, sizeof(d->category_code), st, 20);
	d->package_level = sqlite3_column_int(st, 21);
	d->units = sqlite3_column_int(st, 22);
	d->demo_mapping = sqlite3_column_int(st, 23);
	d->local_mapping = sqlite3_column_int(st, 24) == 0;
	d->nlists = 0;
	lists_of(cat, cat->st[ST_LISTS], d->nhsa_code, d);
	if (cat->local_members)
		lists_of(cat, cat->st[ST_LISTS_LOCAL], d->nhsa_code, d);
	if (d->list_key[0] && strcmp(d->list_key, d->nhsa_code)) { /* a product joined to a list row */
		lists_of(cat, cat->st[ST_LISTS], d->list_key, d);
		if (cat->local_members)
			lists_of(cat, cat->st[ST_LISTS_LOCAL], d->list_key, d);
	}
}

/* The row of ST_IDENT_LOCAL or ST_IDENT: 1, 0 none, -1 error. Of several, the
 * lowest package level (the box before its cases), the first in key order: picked
 * here, as an ORDER BY would sort in a temporary b-tree on every lookup. */
static int ident_row(ds_catalog *cat, int which, const char *type, const char *value, ds_drug *d)
{
	sqlite3_stmt *st = cat->st[which];
	int rc, found = 0, best = 0;

	sqlite3_reset(st);
	sqlite3_bind_text(st, 1, type, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, value, -1, SQLITE_STATIC);
	while ((rc = cat_step(cat, st)) == SQLITE_ROW) {
		int level = sqlite3_column_int(st, 21);
		if (!found || level < best) {
			read_drug(cat, st, d);
			best = level;
			found = 1;
		}
	}
	sqlite3_reset(st);
	return cat->fail_rc || rc != SQLITE_DONE ? -1 : found;
}

/* The pharmacy's own 对照 first, then the catalog's identifiers. */
static int find_drug(ds_catalog *cat, const char *type, const char *value, ds_drug *d)
{
	int rc = cat->local_idents ? ident_row(cat, ST_IDENT_LOCAL, type, value, d) : 0;

	if (rc == 0)
		rc = ident_row(cat, ST_IDENT, type, value, d);
	if (rc == 1)
		snprintf(d->matched_by, sizeof(d->matched_by), "%s", type);
	return rc;
}

int cat_get_drug(ds_catalog *cat, const char *key, ds_drug *d)
{
	sqlite3_stmt *st = cat->st[ST_DRUG];
	int rc;

	memset(d, 0, sizeof(*d));
	sqlite3_reset(st);
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	rc = cat_step(cat, st);
	if (rc == SQLITE_ROW)
		read_drug(cat, st, d);
	sqlite3_reset(st);
	return cat->fail_rc ? -1 : rc == SQLITE_ROW;
}

/* A slot's labels: the ones cat_drug_labels gives, copied out of ds_label's fixed buffers. */
struct cat_labels {
	ds_lang lang;
	ds_insurance insurance;
	size_t n;
	struct cat_label {
		const char *id;
		ds_level level;
		double ratio;
		const char *text; /* in the same allocation */
	} l[];
};

void cat_cache_clear(ds_catalog *cat)
{
	size_t i;

	for (i = 0; cat->cache && i < DRUG_CACHE; i++) { /* written only where used: untouched pages stay so */
		if (cat->cache[i].labels) {
			free(cat->cache[i].labels);
			cat->cache[i].labels = NULL;
		}
		if (cat->cache[i].hash)
			cat->cache[i].hash = 0;
	}
	free(cat->idents);
	cat->idents = NULL;
	cat->idents_state = 0;
	cat->misses = 0;
}

/* The slot to fill in a set of the cache: an empty one, else the least recently used
 * code nobody mapped, else (for a drug) the least recently used drug; NULL when a code
 * nobody mapped would push a drug out. */
static struct drug_slot *victim(struct drug_slot *set, int found)
{
	struct drug_slot *neg = NULL, *pos = NULL;
	int w;

	for (w = 0; w < DRUG_WAYS; w++) {
		struct drug_slot *s = &set[w];
		if (!s->hash)
			return s;
		if (!s->found && (!neg || s->used < neg->used))
			neg = s;
		if (s->found && (!pos || s->used < pos->used))
			pos = s;
	}
	return neg ? neg : found ? pos : NULL;
}

/* "type:value" into key (cut to its size) and its hash, never 0 (an empty slot): FNV-1a,
 * then mixed: FNV's low bits depend only on the inputs' low bits, and digit strings
 * differ little there, so unmixed they would crowd a few sets of the cache. */
static uint64_t key_hash(char key[96], const char *type, const char *value)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	size_t i, n = (size_t)snprintf(key, 96, "%s:%s", type, value);

	for (i = 0; i < n && i < 96; i++)
		h = (h ^ (unsigned char)key[i]) * 0x100000001b3ULL;
	h ^= h >> 33; /* MurmurHash3's finaliser */
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 33;
	return h | 1ULL << 63; /* the top bit: the low bits choose the set (h | 1 left half the sets empty) */
}

/*
 * The identifiers the catalog has, as hashes: when a stream brings many codes
 * nobody mapped (a fresh install maps none), each is known absent without a
 * query. Loaded after IDENT_MISSES misses on this connection, forgotten with
 * the cache; a hash present is only "maybe", and the query decides.
 */
#define IDENT_MISSES 256
#define IDENT_MAX 2000000

static void idents_load(ds_catalog *cat)
{
	sqlite3_stmt *st = NULL;
	ds_error err;
	long count = cat_count(cat->db, "SELECT (SELECT count(*) FROM identifiers) + (SELECT count(*) FROM local_identifiers)", &err);
	size_t n = count < 0 ? 0 : (size_t)count, cap = 64;
	int rc;

	cat->idents_state = -1; /* unless it loads */
	if (count < 0 || n > IDENT_MAX)
		return;
	while (cap < 2 * n)
		cap *= 2;
	if (!(cat->idents = calloc(cap, sizeof(uint64_t))) ||
	    sqlite3_prepare_v2(cat->db, "SELECT type, value FROM identifiers UNION ALL SELECT type, value FROM local_identifiers",
	                       -1, &st, NULL) != SQLITE_OK) {
		sqlite3_finalize(st);
		return;
	}
	cat->idents_mask = cap - 1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		char key[96];
		uint64_t h = key_hash(key, (const char *)sqlite3_column_text(st, 0), (const char *)sqlite3_column_text(st, 1));
		size_t i = h & cat->idents_mask;
		while (cat->idents[i] && cat->idents[i] != h)
			i = (i + 1) & cat->idents_mask;
		cat->idents[i] = h;
	}
	sqlite3_finalize(st);
	if (rc == SQLITE_DONE)
		cat->idents_state = 1;
}

/* 1 when the catalog surely has no identifier of this hash. */
static int known_absent(ds_catalog *cat, uint64_t h)
{
	size_t i;

	if (cat->idents_state == 0 && cat->misses >= IDENT_MISSES)
		idents_load(cat);
	if (cat->idents_state != 1)
		return 0;
	for (i = h & cat->idents_mask; cat->idents[i]; i = (i + 1) & cat->idents_mask)
		if (cat->idents[i] == h)
			return 0;
	return 1;
}

/* find_drug through the per-connection cache (DRUG_WAYS-way sets, least recently used
 * replaced); *out is the drug's slot, or NULL. */
static int cached_find(ds_catalog *cat, const char *type, const char *value, ds_drug *d, struct drug_slot **out)
{
	char key[96];
	uint64_t h = key_hash(key, type, value);
	struct drug_slot *set, *slot;
	int rc, w;

	*out = NULL;
	if (!cat->cache)
		cat->cache = calloc(DRUG_CACHE, sizeof(*cat->cache));
	set = cat->cache ? &cat->cache[(h % (DRUG_CACHE / DRUG_WAYS)) * DRUG_WAYS] : NULL;
	for (w = 0; set && w < DRUG_WAYS; w++) {
		slot = &set[w];
		if (slot->hash == h && !strcmp(slot->key, key)) {
			slot->used = ++cat->tick;
			if (slot->found)
				*d = slot->drug;
			*out = slot;
			return slot->found;
		}
	}
	rc = known_absent(cat, h) ? 0 : find_drug(cat, type, value, d);
	cat->misses += rc == 0;
	slot = set && rc >= 0 && !cat->fail_rc ? victim(set, rc) : NULL;
	if (slot) {
		slot->hash = h;
		slot->used = ++cat->tick;
		slot->recalls = -1;
		snprintf(slot->key, sizeof(slot->key), "%s", key);
		slot->found = rc;
		if (rc)
			slot->drug = *d;
		free(slot->labels);
		slot->labels = NULL;
		*out = slot;
	}
	return rc;
}

/* cat_drug_labels once, kept for one language and insurance type. NULL when out of memory. */
static struct cat_labels *make_labels(ds_catalog *cat, const ds_drug *d, const ds_lookup_opts *o)
{
	struct cat_labels *c;
	size_t n = 0, i, size;
	char *text;

	if (!cat->scratch && !(cat->scratch = malloc(DS_MAX_LABELS * sizeof(ds_label))))
		return NULL;
	cat_drug_labels(cat, d, o, cat->scratch, &n, DS_MAX_LABELS);
	if (cat->fail_rc)
		return NULL; /* nothing half-read is kept */
	size = sizeof(*c) + n * sizeof(c->l[0]);
	for (i = 0; i < n; i++)
		size += strlen(cat->scratch[i].text) + 1;
	if (!(c = malloc(size)))
		return NULL;
	c->lang = o->lang;
	c->insurance = o->insurance;
	c->n = n;
	text = (char *)&c->l[n];
	for (i = 0; i < n; i++) {
		size_t len = strlen(cat->scratch[i].text) + 1;
		c->l[i].id = cat->scratch[i].id;
		c->l[i].level = cat->scratch[i].level;
		c->l[i].ratio = cat->scratch[i].ratio;
		c->l[i].text = memcpy(text, cat->scratch[i].text, len);
		text += len;
	}
	return c;
}

/* Append c's labels as cat_drug_labels would: 0 (nothing done) when one of their
 * ids is there already, or they do not all fit. */
static int put_labels(const struct cat_labels *c, ds_label *labels, size_t *n, size_t max)
{
	size_t i, k;

	if (*n + c->n > max)
		return 0;
	for (i = 0; i < c->n; i++)
		for (k = 0; k < *n; k++)
			if (!strcmp(labels[k].id, c->l[i].id))
				return 0;
	for (i = 0; i < c->n; i++) {
		ds_label *l = &labels[(*n)++];
		l->id = c->l[i].id;
		l->level = c->l[i].level;
		l->ratio = c->l[i].ratio;
		memcpy(l->text, c->l[i].text, strlen(c->l[i].text) + 1);
	}
	return 1;
}

/* The drug's catalog labels: from its cache slot, made there on the first lookup. */
static void slot_labels(ds_catalog *cat, struct drug_slot *slot, const ds_drug *d, const ds_lookup_opts *o,
                        ds_label *labels, size_t *n, size_t max)
{
	struct cat_labels *c = slot ? slot->labels : NULL;

	if (slot && (!c || c->lang != o->lang || c->insurance != o->insurance)) {
		free(slot->labels);
		slot->labels = c = make_labels(cat, d, o);
	}
	if (!c || !put_labels(c, labels, n, max))
		cat_drug_labels(cat, d, o, labels, n, max);
}

/* A ratio's percentage goes into the label's text when the text lacks it. */
static void with_ratio(ds_label *l, double ratio, int zh)
{
	char pct[32];
	size_t used = strlen(l->text);

	l->ratio = ratio;
	snprintf(pct, sizeof(pct), "%.4g%%", ratio * 100);
	if (!strstr(l->text, pct))
		snprintf(l->text + used, sizeof(l->text) - used, zh ? "（报销比例 %s）" : " (ratio %s)", pct);
}

/* One policy row (columns insurance, label_id, ratio, text_zh, text_en) into the labels. */
static void policy_row(ds_catalog *cat, sqlite3_stmt *st, const ds_lookup_opts *o, ds_label *labels, size_t *n,
                       size_t max)
{
	int zh = o->lang == DS_LANG_ZH;
	const char *ins = cat_text(cat, st, 0);
	const char *id = intern(cat_text(cat, st, 1));
	const char *text = cat_text(cat, st, zh ? 3 : 4);
	double ratio = sqlite3_column_type(st, 2) == SQLITE_NULL ? 0 : sqlite3_column_double(st, 2);
	int any = !strcmp(ins, "*");
	ds_label *l;
	int match = any || o->insurance == DS_INS_ANY || (o->insurance == DS_INS_EMPLOYEE && !strcmp(ins, "employee")) ||
	            (o->insurance == DS_INS_RESIDENT && !strcmp(ins, "resident"));

	if (!id || !match)
		return;
	l = add(labels, n, max, id, strcmp(id, "list.commercial_innovative") ? DS_LEVEL_INFO : DS_LEVEL_WARN);
	if (!l)
		return;
	if (l->text[0] && o->insurance == DS_INS_ANY && !any) {
		size_t used = strlen(l->text);
		snprintf(l->text + used, sizeof(l->text) - used, "%s%s", zh ? "；" : "; ", text);
		l->ratio = 0; /* two insurance types, two ratios: the text has both */
	} else {
		snprintf(l->text, sizeof(l->text), "%s", text);
		l->ratio = 0;
		if (ratio > 0 && (any || o->insurance != DS_INS_ANY))
			with_ratio(l, ratio, zh);
	}
}

/* Order of two policy rows: label_id, then insurance; 0 when the setting is the same too. */
static int policy_cmp(ds_catalog *cat, sqlite3_stmt *a, sqlite3_stmt *b)
{
	int c = strcmp(cat_text(cat, a, 1), cat_text(cat, b, 1));

	if (!c)
		c = strcmp(cat_text(cat, a, 0), cat_text(cat, b, 0));
	if (!c && strcmp(cat_text(cat, a, 5), cat_text(cat, b, 5)))
		c = -1; /* same label and insurance, another setting: both count */
	return c;
}

/*
 * The labels of one policy scope (a list id, or "category:A"). With an
 * insurance type, its rows (and "*" rows) count, with their ratios; without,
 * "*" rows count and per-insurance rows are joined so the patient sees both.
 * The pharmacy's own rows and the catalog's are merged in label and
 * insurance order; a local row replaces the national one with its key.
 */
static void scope_labels(ds_catalog *cat, const char *scope, const ds_lookup_opts *o, ds_label *labels,
                         size_t *n, size_t max)
{
	sqlite3_stmt *loc = cat->st[ST_POLICY_LOCAL], *nat = cat->st[ST_POLICY];
	int rl, rn;

	sqlite3_bind_text(loc, 1, scope, -1, SQLITE_STATIC);
	sqlite3_bind_text(nat, 1, scope, -1, SQLITE_STATIC);
	rl = cat->local_policies ? cat_step(cat, loc) : SQLITE_DONE;
	rn = cat_step(cat, nat);
	while ((rl == SQLITE_ROW || rn == SQLITE_ROW) && !cat->fail_rc) {
		int c = rl != SQLITE_ROW ? 1 : rn != SQLITE_ROW ? -1 : policy_cmp(cat, loc, nat);
		if (c == 0) { /* the national row the local one replaces */
			rn = cat_step(cat, nat);
			continue;
		}
		policy_row(cat, c < 0 ? loc : nat, o, labels, n, max);
		if (c < 0)
			rl = cat_step(cat, loc);
		else
			rn = cat_step(cat, nat);
	}
	sqlite3_reset(loc);
	sqlite3_reset(nat);
}

static void list_labels(ds_catalog *cat, const ds_drug *d, const ds_lookup_opts *o, ds_label *labels, size_t *n,
                        size_t max)
{
	size_t i;
	int zh = o->lang == DS_LANG_ZH;

	for (i = 0; i < d->nlists; i++) {
		sqlite3_stmt *st = cat->st[ST_LISTLABEL_LOCAL]; /* a local list of the same id wins */
		int row = 0;
		sqlite3_bind_text(st, 1, d->lists[i], -1, SQLITE_STATIC);
		if (!cat->local_lists || (row = cat_step(cat, st) == SQLITE_ROW) == 0) {
			sqlite3_reset(st);
			st = cat->st[ST_LISTLABEL];
			sqlite3_bind_text(st, 1, d->lists[i], -1, SQLITE_STATIC);
			row = cat_step(cat, st) == SQLITE_ROW;
		}
		if (row) {
			const char *id = intern(cat_text(cat, st, 0));
			ds_label *l = id ? add(labels, n, max, id, level_of(cat_text(cat, st, 1))) : NULL;
			if (l && !l->text[0])
				snprintf(l->text, sizeof(l->text), "%s", cat_text(cat, st, zh ? 2 : 3));
		}
		sqlite3_reset(st);
		scope_labels(cat, d->lists[i], o, labels, n, max);
	}
}

/* The recall rows of the identifier: 1 when there are any, 0 none. */
static int recall_labels(ds_catalog *cat, const ds_code *c, const char *type, const char *value,
                         const ds_lookup_opts *o, ds_label *labels, size_t *n, size_t max)
{
	sqlite3_stmt *st = cat->st[ST_RECALL];
	const char *batch = ds_code_field(c, "batch");
	int zh = o->lang == DS_LANG_ZH, any = 0;

	sqlite3_bind_text(st, 1, type, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, value, -1, SQLITE_STATIC);
	while (cat_step(cat, st) == SQLITE_ROW) {
		const char *rb = cat_text(cat, st, 0);
		const char *reason = cat_text(cat, st, 1);
		const char *date = cat_text(cat, st, 2);
		ds_label *l;
		any = 1;
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
	return any;
}

/* 谈判 and 竞价 rows of the list say their payment standard and period. */
static void negotiated_text(ds_label *l, const ds_drug *d, int zh)
{
	int bidding = !strcmp(d->section, "竞价药品部分");
	const char *pay = d->payment_standard;
	int secret = !strcmp(pay, "*");

	if (!d->section[0] || !d->agreement_period[0]) {
		snprintf(l->text, sizeof(l->text), zh ? "协议期内谈判药品（按乙类支付%s%s%s）" : "negotiated drug (paid as class B%s%s%s)",
		         d->agreement_end[0] ? (zh ? "，协议有效期至 " : ", agreement until ") : "", d->agreement_end,
		         pay[0] ? (zh ? "，有医保支付标准" : ", with a payment standard") : "");
		return;
	}
	if (zh)
		snprintf(l->text, sizeof(l->text), "%s：按乙类支付；%s%s；%s %s", bidding ? "竞价药品" : "协议期内谈判药品",
		         secret ? "医保支付标准不公开（目录标“*”）" : "医保支付标准 ", secret ? "" : pay,
		         bidding ? "支付标准有效期" : "协议有效期", d->agreement_period);
	else
		snprintf(l->text, sizeof(l->text), "%s: paid as class B; %s%s; %s %s",
		         bidding ? "bidding drug (竞价药品)" : "negotiated drug (谈判药品)",
		         secret ? "payment standard confidential (marked * in the list)" : "payment standard ", secret ? "" : pay,
		         bidding ? "standard valid until" : "agreement until", d->agreement_end);
}

void cat_drug_labels(ds_catalog *cat, const ds_drug *drug, const ds_lookup_opts *opts, ds_label *labels, size_t *n,
                     size_t max)
{
	int zh = opts->lang == DS_LANG_ZH;
	char scope[16];
	ds_label *l;

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
		negotiated_text(l, drug, zh);
	if (!drug->category[0] && !drug->negotiated && (l = add(labels, n, max, "nrdl.not_covered", DS_LEVEL_WARN)))
		snprintf(l->text, sizeof(l->text), "%s",
		         zh ? "不在国家医保药品目录内：基本医保不报销（自费）" : "not in the national list: basic insurance does not pay (self-pay)");
	if (drug->restriction[0] && strcmp(drug->restriction, "◇") && (l = add(labels, n, max, "nrdl.restricted", DS_LEVEL_WARN))) {
		if (drug->section[0])
			snprintf(l->text, sizeof(l->text), "%s%s",
			         zh ? "限定支付范围（目录备注原文）：" : "payment restricted (the list's 备注, verbatim): ", drug->restriction);
		else
			snprintf(l->text, sizeof(l->text), "%s%s", zh ? "限定支付范围：" : "payment restricted: ", drug->restriction);
	}
	list_labels(cat, drug, opts, labels, n, max);
	if (drug->package_level >= 2 && (l = add(labels, n, max, "code.package_level", DS_LEVEL_WARN)))
		snprintf(l->text, sizeof(l->text),
		         zh ? "这是%s（含 %d 个单位），不是单盒的追溯码" : "this is a %s code (%d units), not the code of one box",
		         drug->package_level == 2 ? (zh ? "中包装码" : "middle pack") : (zh ? "大包装码" : "case"),
		         drug->units);
}

/* catalog.unmapped, saying how to map the code (or that its 对照 points nowhere). */
static void unmapped(ds_catalog *cat, const char *type, const char *value, int zh, ds_label *labels, size_t *n,
                     size_t max)
{
	sqlite3_stmt *st = cat->st[ST_DANGLING];
	char target[64] = "";
	ds_label *l = add(labels, n, max, "catalog.unmapped", DS_LEVEL_WARN);

	if (!l)
		return;
	sqlite3_bind_text(st, 1, type, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, value, -1, SQLITE_STATIC);
	if (cat->local_idents && cat_step(cat, st) == SQLITE_ROW) /* a 对照 is a local row */
		copy_col(cat, target, sizeof(target), st, 0);
	sqlite3_reset(st);
	if (target[0])
		snprintf(l->text, sizeof(l->text),
		         zh ? "格式正确，但对照的药品 %s 不在本地目录中（未对照）：请导入含该药品代码的医保药品代码表，或用 drugscan catalog map %s --to 药品名称|分部:编号 重新对照"
		            : "well-formed, but its 对照 names %s, which is not in the local catalog (未对照): import the NHSA code table that has it, or re-map with `drugscan catalog map %s --to NAME|SECTION:NUMBER`",
		         target, value);
	else
		snprintf(l->text, sizeof(l->text),
		         zh ? "格式正确，但本地目录中没有这个药品标识码（未对照）：用 drugscan catalog map %s --to 药品名称|分部:编号 建立对照"
		            : "well-formed, but this product is not in the local catalog (未对照): link it with `drugscan catalog map %s --to NAME|SECTION:NUMBER`",
		         value);
}

static int lookup(ds_catalog *cat, const ds_code *code, const ds_lookup_opts *opts, ds_drug *drug, int *found,
                  ds_label *labels, size_t *n, size_t max, ds_error *err)
{
	const char *type = NULL, *type0;
	struct drug_slot *slot = NULL;
	char value[64], value0[64];
	int zh = opts->lang == DS_LANG_ZH, rc;
	ds_label *l;

	if (!cat_product_key(code, &type, value, sizeof(value)))
		return DS_OK;
	type0 = type;
	snprintf(value0, sizeof(value0), "%s", value);
	if (!code->valid && code->kind != DS_KIND_PRODUCT_BARCODE)
		return DS_OK; /* a malformed code maps to nothing; code.invalid says why */
	memset(drug, 0, sizeof(*drug));
	rc = cached_find(cat, type, value, drug, &slot);
	if (rc == 0 && !strcmp(type, "gtin") && value[0] == '0') {
		/* a GTIN-14 with a leading 0 is the box's EAN-13 */
		memmove(value, value + 1, strlen(value));
		type = "ean13";
		rc = cached_find(cat, type, value, drug, &slot);
	} else if (rc == 0 && !strcmp(type, "ean13") && strlen(value) == 13) {
		/* and the other way: an EAN-13 the catalog knows only as its GTIN-14 */
		memmove(value + 1, value, 14);
		value[0] = '0';
		type = "gtin";
		rc = cached_find(cat, type, value, drug, &slot);
	}
	if (rc < 0)
		return cat_failed(cat, err);
	if (rc == 0) {
		if (code->kind != DS_KIND_PRODUCT_BARCODE)
			unmapped(cat, type0, value0, zh, labels, n, max);
		return cat_failed(cat, err);
	}
	*found = 1;
	if (code->kind == DS_KIND_PRODUCT_BARCODE)
		return DS_OK; /* it says which drug it is; the trace code carries the rest */
	if (drug->demo_mapping && (l = add(labels, n, max, "catalog.demo_mapping", DS_LEVEL_WARN)))
		snprintf(l->text, sizeof(l->text), "%s",
		         zh ? "演示对照：这个标识码与目录行的对照是演示数据（合成），不是真实的药品对照；真实对照请用 drugscan catalog map 建立"
		            : "demo mapping: this code's link to the list row is made-up demo data, not a real product mapping; make real ones with `drugscan catalog map`");
	slot_labels(cat, slot, drug, opts, labels, n, max);
	if (!slot || slot->recalls) { /* the slot knows when the identifier has no recall */
		int any = recall_labels(cat, code, type, value, opts, labels, n, max);
		if (slot && !cat->fail_rc)
			slot->recalls = any;
	}
	return cat_failed(cat, err);
}

int ds_catalog_lookup(ds_catalog *cat, const ds_code *code, const ds_lookup_opts *opts, ds_drug *drug,
                      int *found, ds_label *labels, size_t *n, size_t max, ds_error *err)
{
	ds_lookup_opts defaults = {DS_INS_ANY, DS_LANG_EN, NULL};
	int rc, today;
	ds_label *l;

	*found = 0;
	if (!opts)
		opts = &defaults;
	rc = cat_read_begin(cat, err);
	if (rc == DS_OK)
		rc = lookup(cat, code, opts, drug, found, labels, n, max, err);
	if (rc < 0)
		*found = 0; /* nothing half-read is shown as the drug */
	today = opts->trace && opts->trace->today_ymd ? opts->trace->today_ymd : ds_today_ymd();
	/* every answer from a list past its period says so, and how to update */
	if (rc == DS_OK && ds_catalog_outdated(cat, today) && (l = add(labels, n, max, "catalog.outdated", DS_LEVEL_WARN)))
		snprintf(l->text, sizeof(l->text), "%s", opts->lang == DS_LANG_ZH ? cat->outdated_zh : cat->outdated_en);
	/* synthetic data that was not asked for (DRUGSCAN_CATALOG_SEED=demo) says so on every answer */
	if (rc == DS_OK && cat->unannounced_demo && (l = add(labels, n, max, "catalog.synthetic", DS_LEVEL_WARN)))
		snprintf(l->text, sizeof(l->text), "%s",
		         opts->lang == DS_LANG_ZH
		             ? "本地目录是合成的演示数据（旧版 drugscan 首次运行时生成或手工导入），药品和标签均为虚构：请用 drugscan catalog import --builtin 换成真实的国家医保药品目录"
		             : "the catalog holds the synthetic demo data (built by an older drugscan, or imported): its drugs and labels are made up; switch to the real national list with `drugscan catalog import --builtin`");
	return rc;
}
