/*
 * pg_apply.c - one counter request on the chain ledger, and offline continuity.
 *
 * A request is one transaction: the code's state row is created if missing
 * (INSERT ... ON CONFLICT DO NOTHING) and locked (SELECT ... FOR UPDATE), the
 * rules of ledger.c decide, the event is appended and the state saved, and
 * the answer is given after COMMIT. Two stores selling one box at the same
 * moment queue on that row lock: one sale, one ledger.already_sold.
 *
 * When the server does not answer within the timeout, the request is recorded
 * in the offline ledger (ledger.db) with the same uuid and answered with the
 * warning ledger.offline. When the server answers again, the offline events
 * are pushed in their order, each once: the uuid is the key (ON CONFLICT DO
 * NOTHING), and an event already there is only marked as pushed. An action
 * done offline that the chain's state forbids is kept (it happened) and
 * recorded as a conflict.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pg.h"

#define RETRY_QUICK_MS 1000   /* after a refused connection */
#define RETRY_OFFLINE_MS 5000 /* after a timeout, doubling */
#define RETRY_MAX_MS 60000

static long long wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Begin, create the code's state row if missing, lock it and read it; with
 * uuid, also say whether that event is there. One round trip. */
static int lock_unit(ds_ledger *l, const char *code, const char *uuid, led_current *c, int *there, ds_error *err)
{
	const char *vals[] = {code, uuid};
	pg_stmt st[] = {
		{"BEGIN", 0, NULL, NULL},
		{"INSERT INTO drugscan_units (unit_key) VALUES ($1) ON CONFLICT (unit_key) DO NOTHING", 1, vals, NULL},
		{"SELECT state, coalesce(units, 0), coalesce(units_left, -1), scans, effective, coalesce(last_seq, 0),"
		 " sold_store, coalesce(sold_ms, 0) FROM drugscan_units WHERE unit_key = $1 FOR UPDATE",
		 1, vals, NULL},
		{"SELECT 1 FROM drugscan_events WHERE unit_key = $1 AND uuid = $2::uuid", 2, vals, NULL},
	};
	PGresult *r;
	int rc, i;

	memset(c, 0, sizeof(*c));
	c->units_left = -1;
	if ((rc = pg_pipeline(l, st, uuid ? 4 : 3, err)) < 0)
		return rc;
	r = st[2].res;
	if (PQntuples(r) == 1) {
		c->state = led_state_parse(pg_col(r, 0, 0));
		c->units = pg_int(r, 0, 1);
		c->units_left = pg_int(r, 0, 2);
		c->scans = pg_int(r, 0, 3);
		c->events = pg_int(r, 0, 4);
		c->last_seq = strtoll(pg_col(r, 0, 5), NULL, 10);
		if (c->state == DS_ST_SOLD)
			snprintf(c->sold_store, sizeof(c->sold_store), "%s", pg_col(r, 0, 6));
		c->sold_ms = strtoll(pg_col(r, 0, 7), NULL, 10);
	}
	if (there)
		*there = uuid && PQntuples(st[3].res) > 0;
	for (i = 0; i < 4; i++)
		PQclear(st[i].res);
	return DS_OK;
}

/* The last effective action on the code not undone since (for an undo). */
static int load_last(ds_ledger *l, const char *code, led_last *last, ds_error *err)
{
	const char *vals[] = {code};
	PGresult *r;
	int rc;

	memset(last, 0, sizeof(*last));
	rc = pg_run(l, &r,
	            "SELECT uuid::text, station, time_ms, state_before, coalesce(units_before, -1), action, qty, split"
	            " FROM drugscan_events e WHERE unit_key = $1 AND refused = 0 AND action NOT IN ('undo', 'scan')"
	            " AND NOT EXISTS (SELECT 1 FROM drugscan_events u WHERE u.unit_key = e.unit_key AND u.undoes = e.uuid::text)"
	            " ORDER BY seq DESC LIMIT 1",
	            1, vals, err);
	if (rc < 0)
		return rc;
	if (PQntuples(r) == 1) {
		last->found = 1;
		snprintf(last->uuid, sizeof(last->uuid), "%s", pg_col(r, 0, 0));
		snprintf(last->station, sizeof(last->station), "%s", pg_col(r, 0, 1));
		last->time_ms = strtoll(pg_col(r, 0, 2), NULL, 10);
		last->state_before = led_state_parse(pg_col(r, 0, 3));
		last->units_before = pg_int(r, 0, 4);
		snprintf(last->action, sizeof(last->action), "%s", pg_col(r, 0, 5));
		last->qty = pg_int(r, 0, 6);
		last->split = pg_int(r, 0, 7);
	}
	PQclear(r);
	return DS_OK;
}

/* What a request leaves: the code's state after it. */
typedef struct after_state {
	ds_state state;
	int units, units_left, effective;
} after_state;

/* Append the event (nothing when its uuid is there already), save the code's
 * state (a new sale names its store and time), run extra (a conflict, or
 * NULL) and COMMIT: one round trip. */
static int record(ds_ledger *l, const ds_event *e, int units_before, int offline, const after_state *a,
                  const pg_stmt *extra, ds_error *err)
{
	char split[8], qty[16], t[24], ub[16], ua[16], outcome[8], refused[8], u[16], ul[16], eff[4];
	const char *vals[] = {e->uuid, e->code, e->store, e->product_key, e->serial, e->nhsa_code, e->batch, e->expiry,
	                      e->action, split, qty, e->station, e->operator_, t, e->note, e->state_before, e->state_after,
	                      units_before >= 0 ? ub : NULL, e->units_left >= 0 ? ua : NULL, e->undoes, e->undone_action,
	                      outcome, refused, offline ? "t" : "f", ds_state_name(a->state), a->units > 0 ? u : NULL,
	                      a->units_left >= 0 ? ul : NULL, !strcmp(e->action, "scan") ? "1" : "0", eff};
	pg_stmt st[3] = {
		{"WITH ev AS (INSERT INTO drugscan_events (uuid, unit_key, store, product_key, serial, nhsa_code, batch, expiry,"
		 " action, split, qty, station, operator, time_ms, note, state_before, state_after, units_before, units_after,"
		 " undoes, undone_action, outcome, refused, offline) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11,"
		 " $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24)"
		 " ON CONFLICT (unit_key, uuid) DO NOTHING RETURNING seq)"
		 " UPDATE drugscan_units SET sold_store = CASE WHEN $25 = 'sold' AND state <> 'sold' THEN $3 ELSE sold_store END,"
		 " sold_ms = CASE WHEN $25 = 'sold' AND state <> 'sold' THEN $14::bigint ELSE sold_ms END,"
		 " state = $25, units = coalesce($26::int, units), units_left = $27::int, scans = scans + $28::int,"
		 " effective = effective + $29::int, product_key = $4, nhsa_code = $6,"
		 " last_seq = coalesce((SELECT seq FROM ev), last_seq) WHERE unit_key = $2",
		 29, vals, NULL},
		{"COMMIT", 0, NULL, NULL},
		{"COMMIT", 0, NULL, NULL},
	};
	int rc, i, n = 2;

	snprintf(split, sizeof(split), "%d", e->split);
	snprintf(qty, sizeof(qty), "%d", e->qty);
	snprintf(t, sizeof(t), "%lld", e->time_ms);
	snprintf(ub, sizeof(ub), "%d", units_before);
	snprintf(ua, sizeof(ua), "%d", e->units_left);
	snprintf(outcome, sizeof(outcome), "%d", e->outcome);
	snprintf(refused, sizeof(refused), "%d", e->refused);
	snprintf(u, sizeof(u), "%d", a->units);
	snprintf(ul, sizeof(ul), "%d", a->units_left);
	snprintf(eff, sizeof(eff), "%d", a->effective);
	if (extra)
		st[n++ - 1] = *extra;
	rc = pg_pipeline(l, st, n, err);
	for (i = 0; i < n; i++)
		PQclear(st[i].res);
	return rc;
}

/* The request's event, as the SQLite ledger records it. */
static void event_of(const ds_ledger_req *q, const ds_ledger_result *res, const led_write *w, long long t,
                     const char *store, ds_event *e)
{
	memset(e, 0, sizeof(*e));
	e->uuid = res->event_id;
	e->code = q->code;
	e->store = store;
	e->product_key = q->product_key ? q->product_key : "";
	e->serial = q->serial ? q->serial : "";
	e->nhsa_code = q->nhsa_code ? q->nhsa_code : "";
	e->batch = q->batch ? q->batch : "";
	e->expiry = q->expiry ? q->expiry : "";
	e->action = ds_action_name(q->action);
	e->station = q->station ? q->station : "";
	e->operator_ = q->operator_ ? q->operator_ : "";
	e->note = q->note ? q->note : "";
	e->state_before = ds_state_name(res->before);
	e->state_after = ds_state_name(res->after);
	e->undoes = w->undoes;
	e->undone_action = w->undone_action;
	e->split = w->split;
	e->qty = w->qty;
	e->outcome = res->outcome;
	e->refused = res->refused;
	e->units_left = res->units_left;
	e->time_ms = t;
}

static void rollback(ds_ledger *l)
{
	if (l->pg->conn && PQtransactionStatus(l->pg->conn) != PQTRANS_IDLE)
		PQclear(PQexec(l->pg->conn, "ROLLBACK"));
}

/* One request in one transaction, answered after COMMIT: two round trips (three for an undo). */
static int apply_online(ds_ledger *l, const ds_ledger_req *q, ds_lang lang, long long t, ds_ledger_result *res,
                        int *committing, ds_error *err)
{
	led_current c;
	led_last last;
	led_write w;
	ds_event e;
	after_state a;
	char id[40];
	int rc;

	snprintf(id, sizeof(id), "%s", res->event_id);
	memset(res, 0, sizeof(*res));
	snprintf(res->event_id, sizeof(res->event_id), "%s", id);
	memset(&last, 0, sizeof(last));
	if ((rc = lock_unit(l, q->code, NULL, &c, NULL, err)) < 0 ||
	    (q->action == DS_ACT_UNDO && (rc = load_last(l, q->code, &last, err)) < 0))
		goto fail;
	led_rules(l, q, &c, &last, t, lang, res, &w);
	event_of(q, res, &w, t, l->pg->store, &e);
	a.state = res->after;
	a.units = w.units;
	a.units_left = res->units_left;
	a.effective = !res->refused;
	*committing = 1;
	if ((rc = record(l, &e, w.units_before, 0, &a, NULL, err)) < 0)
		goto fail;
	res->recorded = 1;
	return DS_OK;
fail:
	rollback(l);
	return rc;
}

int pg_local(ds_ledger *l, int create, ds_error *err)
{
	struct led_pg *p = l->pg;
	ds_ledger_open_opts lo = {0, l->note, l->note_ctx, NULL, 0, NULL};
	int rc;

	if (p->local)
		return DS_OK;
	if (!p->local_path)
		return ds_error_set(err, DS_EIO, "chain ledger '%s': no offline ledger", p->shown);
	if (!create && access(p->local_path, F_OK) != 0)
		return DS_ENOTFOUND;
	if ((rc = ds_ledger_open(&p->local, p->local_path, &lo, err)) < 0)
		return rc;
	/* which store recorded each offline event (stores may share a data directory) */
	return led_exec(p->local, "CREATE TABLE IF NOT EXISTS chain_stores (event_uuid TEXT PRIMARY KEY, store TEXT NOT NULL)"
	                          " WITHOUT ROWID", err);
}

/* No answer from the server: the request goes to the offline ledger, with the same uuid. */
static int apply_offline(ds_ledger *l, const ds_ledger_req *q, ds_lang lang, ds_ledger_result *res, ds_error *err)
{
	struct led_pg *p = l->pg;
	ds_ledger_req lq = *q;
	char id[40];
	int rc;

	snprintf(id, sizeof(id), "%s", res->event_id);
	lq.uuid = id;
	if ((rc = pg_local(l, 1, err)) < 0) {
		res->fault = l->fault = ds_ledger_last_fault(p->local);
		return rc;
	}
	{
		/* whoever pushes this event later, it is this store's; without the row, the pusher's */
		sqlite3_stmt *st;
		if (led_prepare(p->local, "INSERT OR REPLACE INTO chain_stores VALUES (?1, ?2)", &st, NULL) == DS_OK) {
			if (sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC) == SQLITE_OK &&
			    sqlite3_bind_text(st, 2, p->store, -1, SQLITE_STATIC) == SQLITE_OK)
				led_step(p->local, st, NULL);
			sqlite3_finalize(st);
		}
	}
	rc = ds_ledger_apply(p->local, &lq, lang, res, err);
	l->fault = res->fault;
	if (res->recorded == 1) {
		led_label(res, "ledger.offline", DS_LEVEL_WARN,
		          lang == DS_LANG_ZH ? "仅在本机核对：连锁账本连接不上，联网后自动上传"
		                             : "checked locally only: the chain ledger is not reachable");
		res->offline = 1;
		if (p->pending >= 0)
			p->pending++;
	}
	return rc;
}

static void went_offline(ds_ledger *l, const ds_error *why)
{
	struct led_pg *p = l->pg;

	pg_disconnect(l);
	/* a refused connection costs nothing to try again soon; a server that lets us wait costs the
	 * timeout at each try, so those tries back off, up to a minute apart */
	if (pg_clock() < p->deadline - p->timeout_ms / 2)
		p->backoff_ms = RETRY_QUICK_MS;
	else
		p->backoff_ms = p->backoff_ms < RETRY_OFFLINE_MS ? RETRY_OFFLINE_MS
		                : p->backoff_ms * 2 > RETRY_MAX_MS ? RETRY_MAX_MS : p->backoff_ms * 2;
	p->offline = 1;
	p->retry_at = pg_clock() + p->backoff_ms;
	if (!p->told_offline && l->note) {
		char msg[DS_ERROR_MAX + 200];
		snprintf(msg, sizeof(msg), "%s: working offline; events wait in '%s' until it answers",
		         why && why->message[0] ? why->message : p->shown, p->local_path ? p->local_path : "ledger.db");
		l->note(l->note_ctx, msg);
		p->told_offline = 1;
	}
}

/* Online: connect, push what waits offline, then the request. A connection that
 * broke while idle (a restarted server) is replaced once; a serialization failure
 * is tried again. PG_GONE when the server does not answer. */
static int online(ds_ledger *l, const ds_ledger_req *q, ds_lang lang, long long t, ds_ledger_result *res, ds_error *why)
{
	struct led_pg *p = l->pg;
	int fresh = !p->conn, tries, committing, rc = pg_connect(l, 1, why);

	if (rc == DS_OK && p->pending != 0 && (rc = pg_push(l, why)) < 0 && rc != PG_GONE && rc != PG_RETRY) {
		/* the offline events go first, in their order; one that cannot be read waits for `ledger sync` */
		if (l->note)
			l->note(l->note_ctx, why->message);
		p->pending = 0;
		rc = DS_OK;
	}
	for (tries = 0; rc == DS_OK && tries < 6; tries++) {
		committing = 0;
		p->deadline = pg_clock() + p->timeout_ms;
		rc = apply_online(l, q, lang, t, res, &committing, why);
		if (rc == PG_GONE && !committing && !fresh) {
			/* nothing was committed: once more on a new connection */
			fresh = 1;
			p->deadline = pg_clock() + p->timeout_ms;
			rc = pg_connect(l, 1, why);
		} else if (rc == PG_RETRY) {
			rc = DS_OK;
		} else {
			break;
		}
	}
	return rc == DS_OK && tries == 6 ? PG_GONE : rc;
}

int pg_apply(ds_ledger *l, const ds_ledger_req *q, ds_lang lang, long long t, ds_ledger_result *res, ds_error *err)
{
	struct led_pg *p = l->pg;
	ds_error why;
	int rc;

	if ((rc = ds_ledger_writable(l, err)) < 0) {
		res->fault = l->fault;
		return rc;
	}
	ds_error_clear(&why);
	p->deadline = pg_clock() + p->timeout_ms;
	if (!p->offline || pg_clock() >= p->retry_at) {
		rc = online(l, q, lang, t, res, &why);
		if (rc == DS_OK) {
			if (p->offline && l->note) {
				char msg[300];
				snprintf(msg, sizeof(msg), "chain ledger '%s' answers again: back online", p->shown);
				l->note(l->note_ctx, msg);
			}
			p->offline = p->told_offline = 0;
			p->backoff_ms = 0;
			return DS_OK;
		}
		if (rc != PG_GONE) {
			/* a refusal of the server (a read-only role, a full disk): not recorded, said as it is */
			if (err)
				*err = why;
			res->fault = l->fault;
			return rc;
		}
		went_offline(l, &why);
	}
	return apply_offline(l, q, lang, res, err);
}

/* ---- pushing the offline events ---- */

/* The chain's answer to an offline event, and what to keep: 1 a conflict. */
static int judge_pushed(ds_ledger *l, const ds_event *e, const led_current *c, const led_last *last,
                        ds_ledger_result *chk, led_write *w)
{
	ds_ledger_req q;
	ds_action a = DS_ACT_SCAN;

	memset(&q, 0, sizeof(q));
	ds_action_parse(&a, e->action);
	q.action = a;
	q.code = e->code;
	q.split = e->split;
	q.qty = e->qty;
	q.station = e->station;
	q.now_ms = e->time_ms;
	memset(chk, 0, sizeof(*chk));
	led_rules(l, &q, c, last, e->time_ms, DS_LANG_EN, chk, w);
	if (e->refused)
		return 0; /* nothing happened offline: nothing to contradict */
	return chk->refused || (a == DS_ACT_UNDO && strcmp(w->undoes, e->undoes));
}

/* The conflict row of an offline event the chain does not accept; vals has 12 slots. */
static void conflict_stmt(const ds_event *e, const led_current *c, const ds_ledger_result *chk, char buf[3][24],
                          const char **vals, pg_stmt *st)
{
	snprintf(buf[0], 24, "%lld", e->time_ms);
	snprintf(buf[1], 24, "%lld", c->sold_ms);
	snprintf(buf[2], 24, "%lld", wall_ms());
	vals[0] = e->code;
	vals[1] = e->uuid;
	vals[2] = e->store;
	vals[3] = e->station;
	vals[4] = e->action;
	vals[5] = buf[0];
	vals[6] = chk->nlabels ? chk->labels[0].id : "ledger.conflict";
	vals[7] = chk->nlabels ? chk->labels[0].text : "the chain ledger's state forbids it";
	vals[8] = c->sold_store;
	vals[9] = c->sold_ms ? buf[1] : NULL;
	vals[10] = buf[2];
	vals[11] = e->state_after;
	st->sql = "INSERT INTO drugscan_conflicts (unit_key, uuid, store, station, action, time_ms, label_id, text,"
	          " first_store, first_ms, found_ms, offline_state) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11,"
	          " $12) ON CONFLICT DO NOTHING";
	st->n = 12;
	st->vals = vals;
	st->res = NULL;
}

/* One offline event in one transaction; an event already there is left as it is. */
static int push_one(ds_ledger *l, const ds_event *e, ds_error *err)
{
	led_current c;
	led_last last;
	led_write w;
	ds_ledger_result chk;
	ds_event kept;
	after_state a;
	pg_stmt cs;
	const char *cvals[12];
	char cbuf[3][24];
	int rc, there, conflict;

	memset(&last, 0, sizeof(last));
	if ((rc = lock_unit(l, e->code, e->uuid, &c, &there, err)) < 0)
		goto fail;
	if (there) /* pushed before: a crash came between the push and its mark */
		return (rc = pg_run(l, NULL, "COMMIT", 0, NULL, err)) == DS_OK ? DS_OK : (rollback(l), rc);
	if (!strcmp(e->action, "undo") && (rc = load_last(l, e->code, &last, err)) < 0)
		goto fail;
	conflict = judge_pushed(l, e, &c, &last, &chk, &w);
	kept = *e;
	a.state = chk.after;
	a.units = w.units;
	a.units_left = chk.units_left;
	a.effective = !e->refused;
	if (conflict) {
		/* the chain does not accept it: kept as a refused attempt, an alert, and a conflict that
		 * says what the counter answered offline; the state stays the chain's */
		kept.state_before = kept.state_after = ds_state_name(c.state);
		kept.refused = 1;
		kept.outcome = 2;
		kept.units_left = c.units_left;
		conflict_stmt(e, &c, &chk, cbuf, cvals, &cs);
	}
	if (conflict || e->refused) {
		a.state = c.state;
		a.units_left = c.units_left;
		a.effective = 0;
	}
	if ((rc = record(l, &kept, w.units_before, 1, &a, conflict ? &cs : NULL, err)) < 0)
		goto fail;
	l->pg->pushed++;
	l->pg->conflicts += conflict; /* counted once committed: a retried push counts once */
	return DS_OK;
fail:
	rollback(l);
	return rc;
}

/* A copy of the strings of one event, for the push (the row is gone after the next step). */
typedef struct held {
	ds_event ev;
	char *text;
	long long seq;
} held;

static int hold(held *h, const ds_event *e)
{
	const char *src[] = {e->uuid, e->code, e->product_key, e->serial, e->nhsa_code, e->batch, e->expiry, e->action,
	                     e->station, e->operator_, e->note, e->state_before, e->state_after, e->undoes, e->undone_action,
	                     e->store};
	const char **dst[] = {&h->ev.uuid, &h->ev.code, &h->ev.product_key, &h->ev.serial, &h->ev.nhsa_code, &h->ev.batch,
	                      &h->ev.expiry, &h->ev.action, &h->ev.station, &h->ev.operator_, &h->ev.note,
	                      &h->ev.state_before, &h->ev.state_after, &h->ev.undoes, &h->ev.undone_action, &h->ev.store};
	size_t i, n = sizeof(src) / sizeof(src[0]), len = 0;
	char *p;

	for (i = 0; i < n; i++)
		len += strlen(src[i]) + 1;
	if (!(h->text = malloc(len)))
		return DS_ENOMEM;
	h->ev = *e;
	h->seq = e->seq;
	for (i = 0, p = h->text; i < n; i++) {
		size_t k = strlen(src[i]) + 1;
		memcpy(p, src[i], k);
		*dst[i] = p;
		p += k;
	}
	return DS_OK;
}

#define PUSH_BATCH 200

/* The next offline events not yet pushed, oldest first. */
static int next_pending(ds_ledger *local, const char *store, held *out, size_t *n, ds_error *err)
{
	sqlite3_stmt *st;
	int rc, row = 0;

	*n = 0;
	if ((rc = led_ready(local, err)) < 0 ||
	    (rc = led_prepare(local,
	                      "SELECT " EVENT_COLS ", ifnull(s.store, '') FROM outbox o JOIN events e ON e.seq = o.seq"
	                      " LEFT JOIN chain_stores s ON s.event_uuid = e.uuid WHERE o.acked_ms IS NULL ORDER BY o.seq"
	                      " LIMIT 200",
	                      &st, err)) < 0)
		return rc;
	while (rc == DS_OK && *n < PUSH_BATCH && (row = led_step(local, st, err)) == 1) {
		ds_event ev;
		const char *by = (const char *)sqlite3_column_text(st, 22);
		led_read_event(st, &ev);
		ev.store = by && *by ? by : store;
		if ((rc = hold(&out[*n], &ev)) == DS_OK)
			(*n)++;
	}
	sqlite3_finalize(st);
	return rc < 0 ? rc : row < 0 ? row : DS_OK;
}

/* Mark the first n held events as pushed, in one transaction of the offline ledger. */
static int mark_pushed(ds_ledger *local, const held *h, size_t n, ds_error *err)
{
	char sql[128];
	size_t i;
	int rc = led_exec(local, "BEGIN IMMEDIATE", err);

	for (i = 0; rc == DS_OK && i < n; i++) {
		snprintf(sql, sizeof(sql), "UPDATE outbox SET acked_ms = %lld WHERE seq = %lld", wall_ms(), h[i].seq);
		rc = led_exec(local, sql, err);
	}
	if (rc == DS_OK)
		rc = led_exec(local, "COMMIT", err);
	else
		led_exec(local, "ROLLBACK", NULL);
	return rc;
}

int pg_push(ds_ledger *l, ds_error *err)
{
	struct led_pg *p = l->pg;
	held *h = calloc(PUSH_BATCH, sizeof(*h));
	size_t n = 0, i, done;
	int rc;

	if (!h)
		return ds_error_set(err, DS_ENOMEM, "out of memory");
	rc = pg_local(l, 0, err);
	if (rc == DS_ENOTFOUND) {
		p->pending = 0; /* no offline ledger: nothing waits */
		free(h);
		return DS_OK;
	}
	while (rc == DS_OK && (rc = next_pending(p->local, p->store, h, &n, err)) == DS_OK && n > 0) {
		for (done = 0; done < n; done++) {
			int tries = 0;
			do {
				/* a serialization failure, a deadlock, or a pooler that lost the prepared
				 * statements (unnamed statements from then on): the same event again */
				p->deadline = pg_clock() + p->timeout_ms;
				rc = push_one(l, &h[done].ev, err);
			} while (rc == PG_RETRY && ++tries < 6);
			if (rc < 0)
				break;
		}
		/* what reached the server is marked; a crash before this only means a resend, skipped by uuid */
		if (done > 0) {
			int mrc = mark_pushed(p->local, h, done, err);
			rc = rc < 0 ? rc : mrc;
		}
		for (i = 0; i < n; i++)
			free(h[i].text);
		n = 0;
	}
	for (i = 0; i < n; i++)
		free(h[i].text);
	free(h);
	if (rc == DS_OK)
		p->pending = 0;
	return rc;
}

int pg_sync(ds_ledger *l, ds_sync_result *res, ds_error *err)
{
	struct led_pg *p = l->pg;
	long long oldest;
	int rc;

	memset(res, 0, sizeof(*res));
	p->deadline = pg_clock() + p->timeout_ms;
	rc = pg_connect(l, 1, err);
	if (rc == DS_OK) {
		rc = pg_push(l, err); /* with what opening the ledger pushed already */
		res->sent = res->acked = p->pushed;
		res->attempts = 1;
	}
	if (rc == PG_GONE || rc == PG_RETRY) {
		if (err)
			snprintf(err->message + strlen(err->message), sizeof(err->message) - strlen(err->message), " (not reachable)");
		rc = DS_EIO;
	}
	if (pg_outbox(l, &res->remaining, &oldest, NULL) < 0)
		res->remaining = -1;
	return rc;
}
