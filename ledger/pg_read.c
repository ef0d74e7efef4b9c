/*
 * pg_read.c - reading the chain ledger on PostgreSQL: a code's history, the
 * events for the export, the stock, the conflicts, and the offline queue of
 * ledger.db. Connecting and statements are in pg.c, requests in pg_apply.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pg.h"

#define PG_EVENT_COLS                                                                                               \
	"seq, uuid::text, unit_key, product_key, serial, nhsa_code, batch, expiry, action, split, qty, station, operator," \
	" time_ms, note, state_before, state_after, units_after, undoes, outcome, refused, undone_action, store"

static void read_event(PGresult *r, int i, ds_event *ev)
{
	ev->seq = strtoll(pg_col(r, i, 0), NULL, 10);
	ev->uuid = pg_col(r, i, 1);
	ev->code = pg_col(r, i, 2);
	ev->product_key = pg_col(r, i, 3);
	ev->serial = pg_col(r, i, 4);
	ev->nhsa_code = pg_col(r, i, 5);
	ev->batch = pg_col(r, i, 6);
	ev->expiry = pg_col(r, i, 7);
	ev->action = pg_col(r, i, 8);
	ev->split = pg_int(r, i, 9);
	ev->qty = pg_int(r, i, 10);
	ev->station = pg_col(r, i, 11);
	ev->operator_ = pg_col(r, i, 12);
	ev->time_ms = strtoll(pg_col(r, i, 13), NULL, 10);
	ev->note = pg_col(r, i, 14);
	ev->state_before = pg_col(r, i, 15);
	ev->state_after = pg_col(r, i, 16);
	ev->units_left = PQgetisnull(r, i, 17) ? -1 : pg_int(r, i, 17);
	ev->undoes = pg_col(r, i, 18);
	ev->outcome = pg_int(r, i, 19);
	ev->refused = pg_int(r, i, 20);
	ev->undone_action = pg_col(r, i, 21);
	ev->store = pg_col(r, i, 22);
}

/* Reading needs the server: connect (within the timeout) when not connected. */
static int reading(ds_ledger *l, ds_error *err)
{
	int rc;

	l->pg->deadline = pg_clock() + l->pg->timeout_ms * 4;
	rc = pg_connect(l, 0, err);
	if (rc == PG_GONE && err)
		snprintf(err->message + strlen(err->message), sizeof(err->message) - strlen(err->message), " (not reachable)");
	return rc == PG_GONE ? DS_EIO : rc;
}

/* Rows of a query with parameters, each to fn; a long read gets a longer deadline. */
static int each_row(ds_ledger *l, const char *sql, int n, const char *const *vals, ds_event_fn fn, void *ctx,
                    ds_error *err)
{
	PGresult *r;
	int rc, i;

	if ((rc = reading(l, err)) < 0)
		return rc;
	l->pg->deadline = pg_clock() + l->pg->timeout_ms * 20;
	if ((rc = pg_run(l, &r, sql, n, vals, err)) < 0)
		return rc == PG_GONE || rc == PG_RETRY ? DS_EIO : rc;
	for (i = 0; rc == DS_OK && i < PQntuples(r); i++) {
		ds_event ev;
		read_event(r, i, &ev);
		rc = fn(ctx, &ev);
	}
	PQclear(r);
	return rc;
}

int pg_history(ds_ledger *l, const char *code, ds_event_fn fn, void *ctx, ds_error *err)
{
	const char *vals[] = {code};

	return each_row(l, "SELECT " PG_EVENT_COLS " FROM drugscan_events WHERE unit_key = $1 ORDER BY seq", 1, vals, fn,
	                ctx, err);
}

int pg_events(ds_ledger *l, long long since_ms, int only_effective, ds_event_fn fn, void *ctx, ds_error *err)
{
	char since[24], eff[4];
	const char *vals[] = {since, eff, l->pg->store_given ? l->pg->store : ""};

	/* the export: the whole chain, or the store named by --store */
	snprintf(since, sizeof(since), "%lld", since_ms);
	snprintf(eff, sizeof(eff), "%d", only_effective);
	return each_row(l,
	                "SELECT " PG_EVENT_COLS " FROM drugscan_events WHERE time_ms >= $1 AND ($2::int = 0 OR refused = 0)"
	                " AND ($3 = '' OR store = $3) ORDER BY time_ms, seq",
	                3, vals, fn, ctx, err);
}

int pg_stock(ds_ledger *l, ds_stock_fn fn, void *ctx, ds_error *err)
{
	PGresult *r;
	int rc, i;

	if ((rc = reading(l, err)) < 0)
		return rc;
	rc = pg_run(l, &r,
	            "SELECT product_key, nhsa_code, count(*),"
	            " sum(CASE WHEN units > 0 AND units_left >= 0 AND units_left < units THEN 1 ELSE 0 END)"
	            " FROM drugscan_units WHERE state IN ('in_stock', 'returned') GROUP BY product_key, nhsa_code"
	            " ORDER BY product_key",
	            0, NULL, err);
	if (rc < 0)
		return rc == PG_GONE || rc == PG_RETRY ? DS_EIO : rc;
	for (i = 0; rc == DS_OK && i < PQntuples(r); i++)
		rc = fn(ctx, pg_col(r, i, 0), pg_col(r, i, 1), (long)pg_int(r, i, 2), (long)pg_int(r, i, 3));
	PQclear(r);
	return rc;
}

int ds_ledger_conflicts(ds_ledger *l, const char *code, ds_conflict_fn fn, void *ctx, ds_error *err)
{
	const char *vals[] = {code ? code : ""};
	PGresult *r;
	int rc, i;

	if (!l->pg)
		return DS_OK;
	if ((rc = reading(l, err)) < 0)
		return rc;
	rc = pg_run(l, &r,
	            "SELECT uuid::text, unit_key, store, station, action, label_id, text, first_store, time_ms,"
	            " coalesce(first_ms, 0), found_ms FROM drugscan_conflicts WHERE $1 = '' OR unit_key = $1"
	            " ORDER BY found_ms, time_ms",
	            1, vals, err);
	if (rc < 0)
		return rc == PG_GONE || rc == PG_RETRY ? DS_EIO : rc;
	for (i = 0; rc == DS_OK && i < PQntuples(r); i++) {
		ds_conflict c;
		c.uuid = pg_col(r, i, 0);
		c.code = pg_col(r, i, 1);
		c.store = pg_col(r, i, 2);
		c.station = pg_col(r, i, 3);
		c.action = pg_col(r, i, 4);
		c.label_id = pg_col(r, i, 5);
		c.text = pg_col(r, i, 6);
		c.first_store = pg_col(r, i, 7);
		c.time_ms = strtoll(pg_col(r, i, 8), NULL, 10);
		c.first_ms = strtoll(pg_col(r, i, 9), NULL, 10);
		c.found_ms = strtoll(pg_col(r, i, 10), NULL, 10);
		rc = fn(ctx, &c);
	}
	PQclear(r);
	return rc;
}

/* The queue of the chain ledger: the events recorded offline that wait for the server. */
int pg_outbox(ds_ledger *l, long *depth, long long *oldest_ms, ds_error *err)
{
	struct led_pg *p = l->pg;
	ds_ledger_open_opts ro = {1, NULL, NULL, NULL, 0, NULL};
	ds_ledger *local = p->local;
	int rc = DS_OK;

	if (!local && p->local_path && (rc = ds_ledger_open(&local, p->local_path, &ro, err)) < 0)
		return rc;
	if (local)
		rc = ds_ledger_outbox(local, depth, oldest_ms, err);
	if (local != p->local)
		ds_ledger_close(local);
	return rc;
}
