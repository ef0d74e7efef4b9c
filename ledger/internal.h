/* internal.h - shared between the ledger/ source files; not a public API. */
#ifndef DS_LEDGER_INTERNAL_H
#define DS_LEDGER_INTERNAL_H

#include <sqlite3.h>

#include "ledger.h"

#define DS_LEDGER_APP_ID 0x44534c47 /* "DSLG" */
#define LED_STMTS 12

struct ds_ledger {
	sqlite3 *db;            /* NULL after a failed reopen: the next call tries again */
	char *path;             /* owned, from malloc() */
	int want_ro;            /* opened for reading only (history, stock, export, sync --status) */
	int readonly;           /* cannot be written: ro_reason says why */
	int immutable;          /* opened with immutable=1 (a read-only folder, no -wal) */
	int memory;             /* no ledger file: an empty one in memory */
	char ro_reason[DS_ERROR_MAX];
	ds_ledger_fault fault;  /* the cause of the last failure */
	ds_ledger_note_fn note; /* borrowed from the open options */
	void *note_ctx;
	int warn_after, alert_after, undo_days; /* from the settings table, checked */
	int in_group;           /* ds_counter_apply holds the transaction: ds_ledger_apply takes a savepoint */
	struct led_pg *pg;      /* not NULL: the chain ledger on PostgreSQL (pg.c); db is then unused */
	struct led_stmt {       /* the counter's statements, prepared once per connection (led_cached) */
		const char *sql;    /* a string literal: the key */
		sqlite3_stmt *st;
	} stmts[LED_STMTS];
};

/* ---- the rules (ledger.c), the same for ledger.db and the chain ledger ---- */

/* The state of a code before a request. */
typedef struct led_current {
	ds_state state;
	int units, units_left, scans, events;
	long long last_seq;
	char sold_store[72];    /* the chain ledger: the store and time of the sale, named by the alert */
	long long sold_ms;
	char said[640];         /* scratch for the alert's text */
} led_current;

/* The last effective action on a code that was not undone: what an undo takes back. */
typedef struct led_last {
	int found;
	char uuid[40], station[72], action[16];
	long long time_ms;
	ds_state state_before;
	int units_before, qty, split;
} led_last;

/* What the rules decided to record besides res: the event's columns. */
typedef struct led_write {
	char undoes[40], undone_action[16];
	int qty, split, units, units_before;
} led_write;

/* Decide a request against the code's state (and, for an undo, its last action):
 * fills res (before, after, labels, outcome, refused, units_left) and w. */
void led_rules(ds_ledger *l, const ds_ledger_req *q, const led_current *c, const led_last *last, long long t,
               ds_lang lang, ds_ledger_result *res, led_write *w);
void led_label(ds_ledger_result *r, const char *id, ds_level level, const char *text);
ds_state led_state_parse(const char *s);

/* ---- the chain ledger (pg.c, pg_offline.c) ---- */

int pg_open(ds_ledger *l, const char *url, const ds_ledger_open_opts *opts, ds_error *err);
void pg_close(ds_ledger *l);
int pg_apply(ds_ledger *l, const ds_ledger_req *q, ds_lang lang, long long t, ds_ledger_result *res, ds_error *err);
int pg_history(ds_ledger *l, const char *code, ds_event_fn fn, void *ctx, ds_error *err);
int pg_events(ds_ledger *l, long long since_ms, int only_effective, ds_event_fn fn, void *ctx, ds_error *err);
int pg_stock(ds_ledger *l, ds_stock_fn fn, void *ctx, ds_error *err);
int pg_outbox(ds_ledger *l, long *depth, long long *oldest_ms, ds_error *err);
int pg_sync(ds_ledger *l, ds_sync_result *res, ds_error *err);

/* store.c: opening, checked statements, and naming a failure's cause. */

/* Set err from a failed SQLite call (rc, extended), naming the cause: damaged,
 * read-only, disk full, file size limit, busy, I/O. Records it in l->fault.
 * Returns DS_EINVAL (damaged) or DS_EIO. */
int led_fail(ds_ledger *l, int rc, ds_error *err);
int led_exec(ds_ledger *l, const char *sql, ds_error *err);
int led_prepare(ds_ledger *l, const char *sql, sqlite3_stmt **st, ds_error *err);
/* The same for a statement that runs at every counter action: sql is a string literal,
 * prepared once per connection (SQLITE_PREPARE_PERSISTENT); give it back with led_done,
 * never sqlite3_finalize. */
int led_cached(ds_ledger *l, const char *sql, sqlite3_stmt **st, ds_error *err);
void led_done(sqlite3_stmt *st); /* reset, bindings cleared */
/* led_exec of one statement (a string literal) through led_cached. */
int led_run(ds_ledger *l, const char *sql, ds_error *err);
/* sqlite3_step, checked: 1 a row, 0 done, or the error (st is left to the caller). */
int led_step(ds_ledger *l, sqlite3_stmt *st, ds_error *err);
/* Check the bind calls of a statement (their results ORed): 0, or the error. */
int led_bound(ds_ledger *l, int rc, ds_error *err);
/* Close and open the ledger again (after a failed commit: a new connection
 * runs WAL recovery when it is the only one). */
int led_reopen(ds_ledger *l, ds_error *err);
/* A connection, reopened when a failure closed it. */
int led_ready(ds_ledger *l, ds_error *err);
/* After a failed COMMIT: is the event uuid in the ledger? 1, 0, or -1 (it could not be read). */
int led_confirm(ds_ledger *l, const char *uuid);

void led_uuid(char out[40]);

/* The columns every event query selects, in the order led_read_event reads them. */
#define EVENT_COLS                                                                                           \
	"e.seq, uuid, code, product_key, serial, nhsa_code, batch, expiry, action, split, qty, station, operator," \
	" time_ms, note, state_before, state_after, units_after, undoes, outcome, refused, undone_action"
void led_read_event(sqlite3_stmt *st, ds_event *ev);

#endif
