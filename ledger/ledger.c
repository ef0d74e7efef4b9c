/*
 * ledger.c - ledger.db: schema, the counter rules, history, stock, events.
 *
 * events is append-only (triggers refuse UPDATE and DELETE); codes holds the
 * state derived from it; outbox lists the events not yet acknowledged by the
 * upload receiver. Each request runs in one BEGIN IMMEDIATE transaction, so
 * two counters on one machine never interleave a read and a write.
 */
#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

static const char *const action_names[] = {"receive", "sell", "return", "destroy", "stocktake", "undo", "scan"};
static const char *const state_names[] = {"unknown", "in_stock", "sold", "returned", "destroyed"};

const char *ds_action_name(ds_action a)
{
	return (unsigned)a < 7 ? action_names[a] : "?";
}

int ds_action_parse(ds_action *out, const char *name)
{
	int i;

	for (i = 0; i < 7; i++)
		if (!strcmp(action_names[i], name)) {
			*out = (ds_action)i;
			return DS_OK;
		}
	return DS_EINVAL;
}

const char *ds_state_name(ds_state s)
{
	return (unsigned)s < 5 ? state_names[s] : "unknown";
}

static ds_state state_parse(const char *s)
{
	int i;

	for (i = 0; s && i < 5; i++)
		if (!strcmp(state_names[i], s))
			return (ds_state)i;
	return DS_ST_UNKNOWN;
}

ds_state led_state_parse(const char *s)
{
	return state_parse(s);
}

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void led_uuid(char out[40])
{
	unsigned char b[16];
	size_t i, k = 0;
	static const char hex[] = "0123456789abcdef";

	if (getrandom(b, sizeof(b), 0) != (ssize_t)sizeof(b)) {
		/* no entropy source: time and pid still make it unique on this machine */
		long long t = now_ms() ^ ((long long)getpid() << 40);
		for (i = 0; i < 16; i++)
			b[i] = (unsigned char)(t >> (i % 8 * 8)) ^ (unsigned char)(i * 37);
	}
	b[6] = (unsigned char)((b[6] & 0x0F) | 0x40);
	b[8] = (unsigned char)((b[8] & 0x3F) | 0x80);
	for (i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[k++] = '-';
		out[k++] = hex[b[i] >> 4];
		out[k++] = hex[b[i] & 15];
	}
	out[k] = '\0';
}

/* ---- the rules ---- */

typedef led_current current;

static int load_current(ds_ledger *l, const char *code, current *c, ds_error *err)
{
	sqlite3_stmt *st;
	int rc;

	memset(c, 0, sizeof(*c));
	c->units_left = -1;
	rc = led_cached(l,
	                 "SELECT state, ifnull(units, 0), ifnull(units_left, -1), scans, last_seq,"
	                 " (SELECT count(*) FROM events WHERE code = ?1 AND refused = 0)"
	                 " FROM codes WHERE code = ?1",
	                 &st, err);
	if (rc < 0)
		return rc;
	rc = led_bound(l, sqlite3_bind_text(st, 1, code, -1, SQLITE_STATIC), err);
	if (rc == DS_OK && (rc = led_step(l, st, err)) == 1) {
		c->state = state_parse((const char *)sqlite3_column_text(st, 0));
		c->units = sqlite3_column_int(st, 1);
		c->units_left = sqlite3_column_int(st, 2);
		c->scans = sqlite3_column_int(st, 3);
		c->last_seq = sqlite3_column_int64(st, 4);
		c->events = sqlite3_column_int(st, 5);
	}
	led_done(st);
	return rc < 0 ? rc : DS_OK;
}

static void label(ds_ledger_result *r, const char *id, ds_level level, const char *text)
{
	if (r->nlabels < DS_LEDGER_MAX_LABELS) {
		r->labels[r->nlabels].id = id;
		r->labels[r->nlabels].level = level;
		r->labels[r->nlabels].ratio = 0;
		snprintf(r->labels[r->nlabels].text, sizeof(r->labels[0].text), "%s", text);
		r->nlabels++;
	}
	if ((int)level > r->outcome)
		r->outcome = (int)level;
}

#define ZH(zh, en) (lang == DS_LANG_ZH ? (zh) : (en))

/* An alert of the verdict that forbids a sale in strict mode: expired or recalled. */
static int unsafe_to_sell(const ds_ledger_req *q)
{
	size_t i;

	for (i = 0; i < q->nlabels; i++)
		if (q->labels[i].level == DS_LEVEL_ALERT &&
		    (!strcmp(q->labels[i].id, "trace.expired") || !strncmp(q->labels[i].id, "recall.", 7)))
			return 1;
	return 0;
}

/* The alert's text, naming the store and the time of the sale when the ledger
 * knows them (the chain ledger does): the text lives in c's scratch buffer. */
static const char *sold_where(const current *c, ds_lang lang, const char *text)
{
	char when[32];
	time_t secs = (time_t)(c->sold_ms / 1000);
	struct tm tm;

	if (!c->sold_store[0])
		return text;
	localtime_r(&secs, &tm);
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
	snprintf(((current *)c)->said, sizeof(c->said),
	         ZH("%s（首次售出：%s 店，%s）", "%s (first sold by store %s at %s)"), text, c->sold_store, when);
	return c->said;
}

/* A sale: refused when the code was sold or destroyed (or, in strict mode, expired,
 * recalled or never received); a split sale uses the pack's units up. Part of decide(). */
static void decide_sell(const ds_ledger_req *q, const current *c, ds_lang lang, int qty, int units,
                        ds_ledger_result *res, int *units_after)
{
	if (c->state == DS_ST_SOLD || (c->state == DS_ST_DESTROYED)) {
		label(res, c->state == DS_ST_SOLD ? "ledger.already_sold" : "ledger.destroyed", DS_LEVEL_ALERT,
		      c->state == DS_ST_SOLD ? sold_where(c, lang, ZH("已售出：这盒药的追溯码已经卖过一次，可能是回流药或串换，请勿销售并核查",
		                                                      "already sold: this box's code was sold before (possible 回流药 or swap); do not sell, check it"))
		                             : ZH("这个追溯码已登记销毁", "this code was recorded as destroyed"));
		res->refused = 1;
		return;
	}
	if (q->strict && unsafe_to_sell(q)) {
		label(res, "ledger.strict_refused", DS_LEVEL_ALERT,
		      ZH("过期或召回的药品，严格模式下拒绝销售", "expired or recalled: refused in strict mode"));
		res->refused = 1;
		return;
	}
	if (c->state == DS_ST_UNKNOWN) {
		if (q->strict) {
			label(res, "ledger.not_in_stock", DS_LEVEL_ALERT, ZH("未入库的追溯码，严格模式下拒绝销售", "never received here: refused in strict mode"));
			res->refused = 1;
			return;
		}
		label(res, "ledger.not_in_stock", DS_LEVEL_WARN, ZH("这个追溯码没有入库记录（库存未记录）", "no receipt recorded for this code (stock not recorded)"));
	}
	if (q->split) {
		int left = c->units_left >= 0 && c->state != DS_ST_UNKNOWN ? c->units_left : units;
		if (left <= 0) {
			label(res, "ledger.units_unknown", DS_LEVEL_WARN,
			      ZH("拆零销售需要包装数量：目录中没有，请用 --units 指定", "a split sale needs the pack's units: not in the catalog, give --units"));
			res->refused = 1;
			return;
		}
		if (qty > left) {
			char t[256];
			snprintf(t, sizeof(t), ZH("拆零数量超过剩余：本盒只剩 %d", "split quantity exceeds what is left: %d remain"), left);
			label(res, "ledger.already_sold", DS_LEVEL_ALERT, t);
			res->refused = 1;
			return;
		}
		*units_after = left - qty;
		res->after = *units_after == 0 ? DS_ST_SOLD : DS_ST_IN_STOCK;
	} else {
		res->after = DS_ST_SOLD;
		*units_after = 0;
	}
}

/* What the action does to the code; fills res (labels, after, refused). */
static void decide(ds_ledger *l, const ds_ledger_req *q, const current *c, ds_lang lang, ds_ledger_result *res,
                   int *units_after)
{
	int qty = q->qty > 0 ? q->qty : 1;
	int units = q->units > 0 ? q->units : c->units;
	int sellable = c->state == DS_ST_IN_STOCK || c->state == DS_ST_RETURNED;

	res->after = c->state;
	*units_after = c->units_left;
	switch (q->action) {
	case DS_ACT_RECEIVE:
		if (c->state == DS_ST_SOLD) {
			label(res, "ledger.already_sold", DS_LEVEL_ALERT,
			      sold_where(c, lang, ZH("这个追溯码已经售出，又被入库：可能是回流药，请隔离并核查", "this code was already sold and is being received again: possible resold drug (回流药), quarantine it")));
			res->refused = 1;
		} else if (sellable) {
			label(res, "ledger.duplicate_receive", DS_LEVEL_WARN, ZH("重复入库：这个追溯码已在库", "received twice: this code is already in stock"));
			res->refused = 1;
		} else if (c->state == DS_ST_DESTROYED) {
			label(res, "ledger.destroyed", DS_LEVEL_ALERT, ZH("这个追溯码已登记销毁，却再次出现", "this code was recorded as destroyed and has turned up again"));
			res->refused = 1;
		} else {
			res->after = DS_ST_IN_STOCK;
			*units_after = units > 0 ? units : -1;
		}
		break;
	case DS_ACT_SELL:
		decide_sell(q, c, lang, qty, units, res, units_after);
		break;
	case DS_ACT_RETURN: {
		int partly = c->state == DS_ST_IN_STOCK && c->units > 0 && c->units_left >= 0 && c->units_left < c->units;
		if (c->state != DS_ST_SOLD && !partly) {
			label(res, "ledger.not_sold", DS_LEVEL_WARN, ZH("只能退回已售出的药品：这个追溯码没有销售记录", "only a sold code can be returned: no sale recorded for this code"));
			res->refused = 1;
			break;
		}
		res->after = DS_ST_RETURNED;
		if (q->split && c->units > 0)
			*units_after = (c->units_left > 0 ? c->units_left : 0) + qty > c->units ? c->units
			                                                                        : (c->units_left > 0 ? c->units_left : 0) + qty;
		else
			*units_after = c->units > 0 ? c->units : -1;
		break;
	}
	case DS_ACT_DESTROY:
		if (c->state == DS_ST_SOLD) {
			label(res, "ledger.already_sold", DS_LEVEL_ALERT, ZH("已售出的追溯码不能登记销毁", "a sold code cannot be destroyed"));
			res->refused = 1;
		} else if (c->state == DS_ST_DESTROYED) {
			label(res, "ledger.destroyed", DS_LEVEL_WARN, ZH("已经登记过销毁", "already recorded as destroyed"));
			res->refused = 1;
		} else {
			res->after = DS_ST_DESTROYED;
		}
		break;
	case DS_ACT_STOCKTAKE:
		if (c->state == DS_ST_SOLD) {
			label(res, "ledger.already_sold", DS_LEVEL_ALERT, sold_where(c, lang, ZH("盘点发现已售出的追溯码在货架上：可能是回流药", "a sold code is on the shelf: possible resold drug (回流药)")));
		} else if (c->state == DS_ST_DESTROYED) {
			label(res, "ledger.destroyed", DS_LEVEL_ALERT, ZH("盘点发现已销毁的追溯码", "a destroyed code is on the shelf"));
		} else if (c->state == DS_ST_UNKNOWN) {
			label(res, "ledger.not_in_stock", DS_LEVEL_WARN, ZH("盘点发现没有入库记录的追溯码，已记为在库", "on the shelf but never received: now recorded as in stock"));
			res->after = DS_ST_IN_STOCK;
			*units_after = units > 0 ? units : -1;
		}
		break;
	case DS_ACT_SCAN:
		if (c->state == DS_ST_SOLD) {
			label(res, "ledger.already_sold", DS_LEVEL_ALERT, sold_where(c, lang, ZH("已售出：这个追溯码在本店卖过", "already sold here")));
		} else if (c->state == DS_ST_DESTROYED) {
			label(res, "ledger.destroyed", DS_LEVEL_ALERT, ZH("这个追溯码已登记销毁", "this code was recorded as destroyed"));
		} else if (c->events >= l->alert_after) {
			label(res, "ledger.seen_before", DS_LEVEL_ALERT, ZH("这个追溯码已被反复扫描，请核查", "this code has been scanned again and again: check it"));
		} else if (c->events >= l->warn_after) {
			label(res, "ledger.seen_before", DS_LEVEL_WARN, ZH("本店扫描过这个追溯码", "scanned here before"));
		}
		break;
	case DS_ACT_UNDO:
		break; /* undo() decides */
	}
}

static int insert_event(ds_ledger *l, const ds_ledger_req *q, const char *action, const char *uuid, long long t,
                        ds_state before, ds_state after, int units_before, int units_after, const char *undoes,
                        const char *undone_action, int qty, int split, int outcome, int refused, long long *seq,
                        ds_error *err)
{
	sqlite3_stmt *st;
	int rc, b;

	rc = led_cached(l,
	                 "INSERT INTO events (uuid, code, product_key, serial, nhsa_code, batch, expiry, action, split,"
	                 " qty, station, operator, time_ms, note, state_before, state_after, units_before, units_after,"
	                 " undoes, outcome, refused, undone_action) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11,"
	                 " ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22)",
	                 &st, err);
	if (rc < 0)
		return rc;
	b = sqlite3_bind_text(st, 1, uuid, -1, SQLITE_STATIC);
	b |= sqlite3_bind_text(st, 2, q->code, -1, SQLITE_STATIC);
	b |= sqlite3_bind_text(st, 3, q->product_key ? q->product_key : "", -1, SQLITE_STATIC);
	b |= sqlite3_bind_text(st, 4, q->serial ? q->serial : "", -1, SQLITE_STATIC);
	b |= sqlite3_bind_text(st, 5, q->nhsa_code ? q->nhsa_code : "", -1, SQLITE_STATIC);
	b |= sqlite3_bind_text(st, 6, q->batch ? q->batch : "", -1, SQLITE_STATIC);
	b |= sqlite3_bind_text(st, 7, q->expiry ? q->expiry : "", -1, SQLITE_STATIC);
	b |= sqlite3_bind_text(st, 8, action, -1, SQLITE_STATIC);
	b |= sqlite3_bind_int(st, 9, split);
	b |= sqlite3_bind_int(st, 10, qty);
	b |= sqlite3_bind_text(st, 11, q->station ? q->station : "", -1, SQLITE_STATIC);
	b |= sqlite3_bind_text(st, 12, q->operator_ ? q->operator_ : "", -1, SQLITE_STATIC);
	b |= sqlite3_bind_int64(st, 13, t);
	b |= sqlite3_bind_text(st, 14, q->note ? q->note : "", -1, SQLITE_STATIC);
	b |= sqlite3_bind_text(st, 15, ds_state_name(before), -1, SQLITE_STATIC);
	b |= sqlite3_bind_text(st, 16, ds_state_name(after), -1, SQLITE_STATIC);
	if (units_before >= 0)
		b |= sqlite3_bind_int(st, 17, units_before);
	if (units_after >= 0)
		b |= sqlite3_bind_int(st, 18, units_after);
	b |= sqlite3_bind_text(st, 19, undoes ? undoes : "", -1, SQLITE_STATIC);
	b |= sqlite3_bind_int(st, 20, outcome);
	b |= sqlite3_bind_int(st, 21, refused);
	b |= sqlite3_bind_text(st, 22, undone_action ? undone_action : "", -1, SQLITE_STATIC);
	rc = led_bound(l, b, err);
	if (rc == DS_OK)
		rc = led_step(l, st, err);
	led_done(st);
	if (rc < 0)
		return rc;
	*seq = sqlite3_last_insert_rowid(l->db);
	return DS_OK;
}

static int save_state(ds_ledger *l, const ds_ledger_req *q, ds_state s, int units, int units_left, int scan,
                      long long seq, ds_error *err)
{
	sqlite3_stmt *st;
	int rc, b;

	rc = led_cached(l,
	                 "INSERT INTO codes (code, state, units, units_left, scans, product_key, nhsa_code, last_seq)"
	                 " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT (code) DO UPDATE SET"
	                 " state = excluded.state, units = ifnull(excluded.units, units),"
	                 " units_left = excluded.units_left, scans = scans + excluded.scans,"
	                 " product_key = excluded.product_key, nhsa_code = excluded.nhsa_code,"
	                 " last_seq = excluded.last_seq;",
	                 &st, err);
	if (rc < 0)
		return rc;
	b = sqlite3_bind_text(st, 1, q->code, -1, SQLITE_STATIC);
	b |= sqlite3_bind_text(st, 2, ds_state_name(s), -1, SQLITE_STATIC);
	if (units > 0)
		b |= sqlite3_bind_int(st, 3, units);
	if (units_left >= 0)
		b |= sqlite3_bind_int(st, 4, units_left);
	b |= sqlite3_bind_int(st, 5, scan);
	b |= sqlite3_bind_text(st, 6, q->product_key ? q->product_key : "", -1, SQLITE_STATIC);
	b |= sqlite3_bind_text(st, 7, q->nhsa_code ? q->nhsa_code : "", -1, SQLITE_STATIC);
	b |= sqlite3_bind_int64(st, 8, seq);
	rc = led_bound(l, b, err);
	if (rc == DS_OK)
		rc = led_step(l, st, err);
	led_done(st);
	return rc < 0 ? rc : DS_OK;
}

/* The last effective action on this code that was not undone (for an undo). */
static int load_last(ds_ledger *l, const char *code, led_last *last, ds_error *err)
{
	sqlite3_stmt *st;
	int rc;

	memset(last, 0, sizeof(*last));
	rc = led_cached(l,
	                 "SELECT uuid, station, time_ms, state_before, ifnull(units_before, -1), action, qty, split FROM events e"
	                 " WHERE code = ?1 AND refused = 0 AND action NOT IN ('undo', 'scan')"
	                 " AND NOT EXISTS (SELECT 1 FROM events u WHERE u.undoes = e.uuid)"
	                 " ORDER BY seq DESC LIMIT 1",
	                 &st, err);
	if (rc < 0)
		return rc;
	rc = led_bound(l, sqlite3_bind_text(st, 1, code, -1, SQLITE_STATIC), err);
	if (rc == DS_OK)
		rc = led_step(l, st, err);
	if (rc == 1) {
		last->found = 1;
		snprintf(last->uuid, sizeof(last->uuid), "%s", (const char *)sqlite3_column_text(st, 0));
		snprintf(last->station, sizeof(last->station), "%s", (const char *)sqlite3_column_text(st, 1));
		last->time_ms = sqlite3_column_int64(st, 2);
		last->state_before = state_parse((const char *)sqlite3_column_text(st, 3));
		last->units_before = sqlite3_column_int(st, 4);
		snprintf(last->action, sizeof(last->action), "%s", (const char *)sqlite3_column_text(st, 5));
		last->qty = sqlite3_column_int(st, 6);
		last->split = sqlite3_column_int(st, 7);
	}
	led_done(st);
	return rc < 0 ? rc : DS_OK;
}

/* Undo: the last effective action on this code, at this station, within undo_days. */
static void undo(ds_ledger *l, const ds_ledger_req *q, const current *c, const led_last *last, long long t,
                 ds_lang lang, ds_ledger_result *res, led_write *w, int *units_after)
{
	res->after = c->state;
	*units_after = c->units_left;
	if (!last->found) {
		label(res, "ledger.undo_refused", DS_LEVEL_WARN, ZH("没有可以撤销的操作", "nothing to undo for this code"));
		res->refused = 1;
	} else if (strcmp(last->station, q->station ? q->station : "")) {
		label(res, "ledger.undo_refused", DS_LEVEL_WARN, ZH("只能在原收银台撤销", "only the station that did it can undo it"));
		res->refused = 1;
	} else if (t - last->time_ms > (long long)l->undo_days * 86400000LL) {
		char msg[128];
		snprintf(msg, sizeof(msg), ZH("超过 %d 天，不能撤销", "more than %d days ago: it cannot be undone"), l->undo_days);
		label(res, "ledger.undo_refused", DS_LEVEL_WARN, msg);
		res->refused = 1;
	} else {
		snprintf(w->undoes, sizeof(w->undoes), "%s", last->uuid);
		res->after = last->state_before;
		*units_after = last->units_before;
		snprintf(w->undone_action, sizeof(w->undone_action), "%s", last->action);
		w->qty = last->qty;
		w->split = last->split;
	}
}

void led_rules(ds_ledger *l, const ds_ledger_req *q, const led_current *c, const led_last *last, long long t,
               ds_lang lang, ds_ledger_result *res, led_write *w)
{
	int units_after = -1;
	size_t i;

	memset(w, 0, sizeof(*w));
	/* a quantity only means something in a 拆零 sale or return; an undo takes the undone event's */
	w->qty = q->split && q->qty > 0 ? q->qty : 1;
	w->split = q->split;
	res->before = c->state;
	if (q->action == DS_ACT_UNDO)
		undo(l, q, c, last, t, lang, res, w, &units_after);
	else
		decide(l, q, c, lang, res, &units_after);
	for (i = 0; i < q->nlabels; i++)
		if (q->labels[i].level == DS_LEVEL_ALERT)
			res->outcome = 2; /* a recall or an expired box is an alert at the counter too */
	w->units = q->units > 0 ? q->units : c->units;
	w->units_before = c->units_left;
	res->units_left = res->refused ? c->units_left : units_after;
}

void led_label(ds_ledger_result *r, const char *id, ds_level level, const char *text)
{
	label(r, id, level, text);
}

/* Is the event in the ledger? 1, 0, or -1 when it cannot be read. A new
 * connection is opened to look: when it is the only one, it runs WAL recovery,
 * which brings back a commit whose frames reached the log before its sync
 * failed, so the answer is what every later reader will see. */
int led_confirm(ds_ledger *l, const char *uuid)
{
	sqlite3_stmt *st;
	int tries, rc = -1;

	for (tries = 0; tries < 2 && rc < 0; tries++) {
		if (led_reopen(l, NULL) < 0 || led_prepare(l, "SELECT 1 FROM events WHERE uuid = ?1", &st, NULL) < 0)
			continue;
		if (led_bound(l, sqlite3_bind_text(st, 1, uuid, -1, SQLITE_STATIC), NULL) == DS_OK)
			rc = led_step(l, st, NULL);
		sqlite3_finalize(st);
	}
	return rc < 0 ? -1 : rc;
}

/* One request in one transaction: read the state, decide, append the event,
 * save the state, queue the event; the caller commits. */
static int apply_tx(ds_ledger *l, const ds_ledger_req *q, ds_lang lang, long long t, ds_ledger_result *res,
                    ds_error *err)
{
	current c;
	led_last last;
	led_write w;
	sqlite3_stmt *st;
	long long seq = 0;
	int rc;

	if ((rc = load_current(l, q->code, &c, err)) < 0)
		return rc;
	memset(&last, 0, sizeof(last));
	if (q->action == DS_ACT_UNDO && (rc = load_last(l, q->code, &last, err)) < 0)
		return rc;
	led_rules(l, q, &c, &last, t, lang, res, &w);
	if ((rc = insert_event(l, q, ds_action_name(q->action), res->event_id, t, c.state, res->after, w.units_before,
	                       res->units_left, w.undoes, w.undone_action, w.qty, w.split, res->outcome, res->refused, &seq,
	                       err)) < 0 ||
	    (rc = save_state(l, q, res->after, w.units, res->units_left, q->action == DS_ACT_SCAN, seq, err)) < 0)
		return rc;
	if ((rc = led_cached(l, "INSERT INTO outbox (seq) VALUES (?1)", &st, err)) < 0)
		return rc;
	rc = led_bound(l, sqlite3_bind_int64(st, 1, seq), err);
	if (rc == DS_OK)
		rc = led_step(l, st, err);
	led_done(st);
	return rc < 0 ? rc : DS_OK;
}

int ds_ledger_apply(ds_ledger *l, const ds_ledger_req *q, ds_lang lang, ds_ledger_result *res, ds_error *err)
{
	long long t = q->now_ms ? q->now_ms : now_ms();
	int rc, committing = 0;
	ds_ledger_fault fault;

	memset(res, 0, sizeof(*res));
	res->units_left = -1;
	if (q->uuid)
		snprintf(res->event_id, sizeof(res->event_id), "%s", q->uuid);
	else
		led_uuid(res->event_id);
	if (!q->code || !*q->code)
		return ds_error_set(err, DS_EINVAL, "no code");
	if (l->pg)
		return pg_apply(l, q, lang, t, res, err);
	if ((rc = ds_ledger_writable(l, err)) < 0 || (rc = led_ready(l, err)) < 0) {
		res->fault = l->fault;
		return rc;
	}
	if (l->in_group) {
		/* inside ds_counter_apply's transaction: a savepoint, committed (or not) with the group */
		rc = led_run(l, "SAVEPOINT apply", err);
		if (rc == DS_OK && (rc = apply_tx(l, q, lang, t, res, err)) == DS_OK)
			return led_run(l, "RELEASE apply", err);
		res->fault = l->fault;
		sqlite3_exec(l->db, "ROLLBACK TO apply; RELEASE apply", NULL, NULL, NULL);
		return rc;
	}
	rc = led_run(l, "BEGIN IMMEDIATE", err);
	if (rc == DS_OK)
		rc = apply_tx(l, q, lang, t, res, err);
	if (rc == DS_OK) {
		committing = 1;
		rc = led_run(l, "COMMIT", err);
	}
	if (rc == DS_OK) {
		res->recorded = 1;
		return DS_OK;
	}
	fault = l->fault;
	if (sqlite3_get_autocommit(l->db) == 0)
		sqlite3_exec(l->db, "ROLLBACK", NULL, NULL, NULL);
	/* nothing is committed before COMMIT; after a failed COMMIT, look */
	res->recorded = committing ? led_confirm(l, res->event_id) : 0;
	l->fault = res->fault = fault;
	/* in the ledger all the same: the answer stands, and err and res->fault say what went wrong */
	return res->recorded == 1 ? DS_OK : rc;
}

/* ---- reading ---- */

static const char *col(sqlite3_stmt *st, int i)
{
	const unsigned char *v = sqlite3_column_text(st, i);
	return v ? (const char *)v : "";
}

/* One row of EVENT_COLS into ev; strings live until the next step. */
void led_read_event(sqlite3_stmt *st, ds_event *ev)
{
	ev->seq = sqlite3_column_int64(st, 0);
	ev->uuid = col(st, 1);
	ev->code = col(st, 2);
	ev->product_key = col(st, 3);
	ev->serial = col(st, 4);
	ev->nhsa_code = col(st, 5);
	ev->batch = col(st, 6);
	ev->expiry = col(st, 7);
	ev->action = col(st, 8);
	ev->split = sqlite3_column_int(st, 9);
	ev->qty = sqlite3_column_int(st, 10);
	ev->station = col(st, 11);
	ev->operator_ = col(st, 12);
	ev->time_ms = sqlite3_column_int64(st, 13);
	ev->note = col(st, 14);
	ev->state_before = col(st, 15);
	ev->state_after = col(st, 16);
	ev->units_left = sqlite3_column_type(st, 17) == SQLITE_NULL ? -1 : sqlite3_column_int(st, 17);
	ev->undoes = col(st, 18);
	ev->outcome = sqlite3_column_int(st, 19);
	ev->refused = sqlite3_column_int(st, 20);
	ev->undone_action = col(st, 21);
	ev->store = "";
}

static int each_event(ds_ledger *l, sqlite3_stmt *st, ds_event_fn fn, void *ctx, ds_error *err)
{
	int rc = DS_OK, row;

	while (rc == DS_OK && (row = led_step(l, st, err)) != 0) {
		ds_event ev;
		if (row < 0) {
			rc = row;
			break;
		}
		led_read_event(st, &ev);
		rc = fn(ctx, &ev);
	}
	sqlite3_finalize(st);
	return rc;
}

int ds_ledger_history(ds_ledger *l, const char *code, ds_event_fn fn, void *ctx, ds_error *err)
{
	sqlite3_stmt *st;
	int rc;

	if (l->pg)
		return pg_history(l, code, fn, ctx, err);
	if ((rc = led_ready(l, err)) < 0 ||
	    (rc = led_prepare(l, "SELECT " EVENT_COLS " FROM events e WHERE code = ?1 ORDER BY seq", &st, err)) < 0)
		return rc;
	if ((rc = led_bound(l, sqlite3_bind_text(st, 1, code, -1, SQLITE_TRANSIENT), err)) < 0) {
		sqlite3_finalize(st);
		return rc;
	}
	return each_event(l, st, fn, ctx, err);
}

int ds_ledger_events(ds_ledger *l, long long since_ms, int only_effective, ds_event_fn fn, void *ctx, ds_error *err)
{
	sqlite3_stmt *st;
	int rc;

	if (l->pg)
		return pg_events(l, since_ms, only_effective, fn, ctx, err);
	if ((rc = led_ready(l, err)) < 0 ||
	    (rc = led_prepare(l,
	                      "SELECT " EVENT_COLS " FROM events e WHERE time_ms >= ?1 AND (?2 = 0 OR refused = 0)"
	                      " ORDER BY seq",
	                      &st, err)) < 0)
		return rc;
	if ((rc = led_bound(l, sqlite3_bind_int64(st, 1, since_ms) | sqlite3_bind_int(st, 2, only_effective), err)) < 0) {
		sqlite3_finalize(st);
		return rc;
	}
	return each_event(l, st, fn, ctx, err);
}

int ds_ledger_stock(ds_ledger *l, ds_stock_fn fn, void *ctx, ds_error *err)
{
	sqlite3_stmt *st;
	int rc, row;

	if (l->pg)
		return pg_stock(l, fn, ctx, err);
	if ((rc = led_ready(l, err)) < 0 ||
	    (rc = led_prepare(l,
	                      "SELECT product_key, nhsa_code, count(*),"
	                      " sum(CASE WHEN units > 0 AND units_left >= 0 AND units_left < units THEN 1 ELSE 0 END)"
	                      " FROM codes WHERE state IN ('in_stock', 'returned') GROUP BY product_key, nhsa_code"
	                      " ORDER BY product_key",
	                      &st, err)) < 0)
		return rc;
	while (rc == DS_OK && (row = led_step(l, st, err)) != 0)
		rc = row < 0 ? row
		             : fn(ctx, col(st, 0), col(st, 1), (long)sqlite3_column_int64(st, 2), (long)sqlite3_column_int64(st, 3));
	sqlite3_finalize(st);
	return rc;
}

int ds_ledger_outbox(ds_ledger *l, long *depth, long long *oldest_ms, ds_error *err)
{
	sqlite3_stmt *st;
	int rc;

	*depth = 0;
	*oldest_ms = 0;
	if (l->pg)
		return pg_outbox(l, depth, oldest_ms, err);
	if ((rc = led_ready(l, err)) < 0 ||
	    (rc = led_prepare(l,
	                      "SELECT count(*), ifnull(min(e.time_ms), 0) FROM outbox o JOIN events e ON e.seq = o.seq"
	                      " WHERE o.acked_ms IS NULL",
	                      &st, err)) < 0)
		return rc;
	rc = led_step(l, st, err);
	if (rc == 1) {
		*depth = (long)sqlite3_column_int64(st, 0);
		*oldest_ms = sqlite3_column_int64(st, 1);
	}
	sqlite3_finalize(st);
	return rc < 0 ? rc : DS_OK;
}
