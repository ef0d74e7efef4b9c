/* pg.h - shared between pg.c, pg_read.c and pg_apply.c only: the chain ledger's connection. */
#ifndef DS_LEDGER_PG_H
#define DS_LEDGER_PG_H

#include <libpq-fe.h>

#include "internal.h"

#define PG_SCHEMA 1 /* the schema this drugscan writes (drugscan_meta.schema_version) */

/* How a statement ended besides DS_OK: no answer in time (go offline), or a
 * serialization failure or deadlock (try again). */
#define PG_GONE (-100)
#define PG_RETRY (-101)

struct led_pg {
	PGconn *conn;          /* NULL when not connected */
	char *url;             /* as given: it may hold a password, never shown */
	char shown[256];       /* postgresql://user@host:port/db, for messages */
	char store[72];
	int store_given;       /* --store was given: the export is that store's */
	long timeout_ms;
	long long deadline;    /* of the operation in progress (monotonic ms) */
	char *local_path;      /* the offline ledger */
	ds_ledger *local;      /* opened when first needed */
	int offline;           /* the server did not answer: events go to local */
	long long retry_at;    /* monotonic ms: when to try the server again */
	long backoff_ms;       /* the wait before that try */
	int told_offline;      /* the note was given for this outage */
	int schema, created;
	long pending;          /* events waiting in the offline ledger; -1 unknown */
	long pushed, conflicts; /* by this connection's pushes */
	/* the statements of pg_pipeline prepared on this connection (named ds0, ds1, ...): each is
	 * parsed and planned once per connection, not at every request */
#define PG_PREPARED_MAX 16
	const char *prepared[PG_PREPARED_MAX]; /* NULL: a free slot */
	char prepared_ok[PG_PREPARED_MAX];      /* 0 while its Parse is in flight */
	int nprepared;
	int no_prepare;        /* the server (a pooler) lost a prepared statement: unnamed from then on */
};

long long pg_clock(void); /* monotonic ms */
/* Connect within the deadline, check the schema (create it when it is missing and may_create). */
int pg_connect(ds_ledger *l, int may_create, ds_error *err);
void pg_disconnect(ds_ledger *l);
/* One statement with text parameters (NULL = SQL NULL), within the deadline. DS_OK with *out
 * (PQclear it; out may be NULL), PG_GONE, PG_RETRY, or an error in err (l->fault set). */
int pg_run(ds_ledger *l, PGresult **out, const char *sql, int n, const char *const *vals, ds_error *err);
/* Statements sent together in one round trip (libpq's pipeline mode), then one
 * sync: each st[i].res is set (PQclear them); after the first failure the rest
 * are aborted. DS_OK, PG_GONE, PG_RETRY or an error, as pg_run. Each sql is
 * prepared (named) once per connection, in the same round trip as its first use:
 * sql must be a string that lives as long as the ledger (a literal); it is
 * known by its address. */
typedef struct pg_stmt {
	const char *sql;
	int n;
	const char *const *vals;
	PGresult *res;
} pg_stmt;
int pg_pipeline(ds_ledger *l, pg_stmt *st, int n, ds_error *err);
/* A failed statement or connection in one line, the URL shown without its password. */
int pg_fail(ds_ledger *l, ds_ledger_fault f, const char *what, ds_error *err);
const char *pg_col(PGresult *r, int row, int col);
int pg_int(PGresult *r, int row, int col);
/* Push the offline ledger's events (pg_apply.c); the connection must be up. */
int pg_push(ds_ledger *l, ds_error *err);
/* `ledger init`: connect with time to create or migrate the schema (pg.c). */
int pg_init(ds_ledger *l, ds_error *err);
/* Open the offline ledger for writing when it is not open. */
int pg_local(ds_ledger *l, int create, ds_error *err);

#endif
