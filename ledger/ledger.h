/*
 * ledger.h - the pharmacy counter's ledger: an append-only table of scan
 * events in ledger.db (SQLite, WAL, kept apart from catalog.db), the state
 * each code is in, the rules that raise duplicate and already-sold alerts
 * (回流药), and an outbox that uploads events exactly once.
 *
 * Every request is committed (synchronous=FULL) before ds_ledger_apply
 * returns, so an answer that was printed is never lost; several counter
 * processes share one ledger through SQLite's locking.
 */
#ifndef DS_LEDGER_H
#define DS_LEDGER_H

#include <stddef.h>

#include "ds_common.h"
#include "trace.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum ds_action {
	DS_ACT_RECEIVE = 0, /* 入库 */
	DS_ACT_SELL,        /* 销售 (拆零 with split) */
	DS_ACT_RETURN,      /* 退货 */
	DS_ACT_DESTROY,     /* 销毁 */
	DS_ACT_STOCKTAKE,   /* 盘点 */
	DS_ACT_UNDO,        /* 撤销 the last action on a code */
	DS_ACT_SCAN         /* a look, nothing moves */
} ds_action;

typedef enum ds_state {
	DS_ST_UNKNOWN = 0, /* never seen here */
	DS_ST_IN_STOCK,
	DS_ST_SOLD,
	DS_ST_RETURNED,    /* returned by the customer: back on the shelf */
	DS_ST_DESTROYED
} ds_state;

const char *ds_action_name(ds_action a);
int ds_action_parse(ds_action *out, const char *name);
const char *ds_state_name(ds_state s);

typedef struct ds_ledger ds_ledger;

/* Why a ledger call failed, so that a caller can name the cause (in any
 * language); the ds_error message names it in English too. */
typedef enum ds_ledger_fault {
	DS_LEDGER_OK = 0,
	DS_LEDGER_IO,         /* an I/O error */
	DS_LEDGER_DAMAGED,    /* SQLITE_CORRUPT / SQLITE_NOTADB, or the integrity check failed */
	DS_LEDGER_NOT_LEDGER, /* not SQLite, another program's database, or a newer schema */
	DS_LEDGER_READONLY,   /* a read-only file, folder or file system; permission denied */
	DS_LEDGER_FULL,       /* the disk is full (ENOSPC, SQLITE_FULL) */
	DS_LEDGER_TOO_BIG,    /* the file size limit (ulimit -f, EFBIG) */
	DS_LEDGER_BUSY,       /* locked by another process for longer than the busy timeout */
	DS_LEDGER_NOMEM
} ds_ledger_fault;

const char *ds_ledger_fault_name(ds_ledger_fault f); /* "damaged", "read-only", "disk full", ... */
const char *ds_ledger_fault_id(ds_ledger_fault f);   /* stable ids for JSON: "damaged", "read_only", ... */
const char *ds_ledger_fault_zh(ds_ledger_fault f);   /* the short reason in Chinese, for an answer line */

/* A note for the person running the command (a bad setting, a read-only
 * ledger): one line, no final full stop. */
typedef void (*ds_ledger_note_fn)(void *ctx, const char *message);

typedef struct ds_ledger_open_opts {
	int readonly;           /* history, stock, export, sync --status: never write, never create */
	ds_ledger_note_fn note; /* may be NULL */
	void *note_ctx;
	/* the chain ledger (a postgresql:// URL; docs/chain-ledger.md) */
	const char *store;      /* this store's id (default: the host name) */
	long timeout_ms;        /* no answer within this: offline, the event goes to local_path (default 1500) */
	const char *local_path; /* the offline ledger (default DATA_DIR/ledger.db) */
} ds_ledger_open_opts;

#define DS_LEDGER_TIMEOUT_MS 1500

/* Is spec the URL of a chain ledger (postgresql:// or postgres://)? */
int ds_ledger_is_chain(const char *spec);
/*
 * Open the ledger named by spec (--ledger), else $DRUGSCAN_LEDGER, else
 * DATA_DIR/ledger.db (data_dir NULL: the default data directory). A chain
 * ledger's offline ledger is DATA_DIR/ledger.db unless opts->local_path says.
 * A chain ledger is created or migrated on first use; one with a newer schema,
 * a wrong password or a role that may not read it is refused with one line;
 * one that does not answer is opened offline (ds_ledger_describe says so).
 */
int ds_ledger_open_at(ds_ledger **out, const char *spec, const char *data_dir, const ds_ledger_open_opts *opts,
                      ds_error *err);
/* `ledger init`: a chain ledger is created or migrated now (an unreachable
 * server is an error here); out gets ds_ledger_describe's line. */
int ds_ledger_init(ds_ledger *l, char *out, size_t size, ds_error *err);
/* One line about the ledger: its file or server (never a password), schema, store, online or offline. */
void ds_ledger_describe(ds_ledger *l, char *out, size_t size);

/*
 * Open (or, unless readonly, create) ledger.db, and verify it whole (PRAGMA
 * integrity_check). A file that is not a drugscan ledger, or is damaged, is
 * refused with a clear error and never overwritten; read-only, permission,
 * disk-full and file-size causes are named as such. opts may be NULL (read
 * and write).
 *
 * readonly: a missing ledger reads as an empty one and is not created; a
 * read-only folder works (an unchanged ledger.db without a -wal file is read
 * as immutable, since its -shm cannot be created there).
 *
 * Otherwise a ledger that cannot be written (a read-only file, folder or file
 * system; a disk too full to open it for writing) is still opened, for
 * reading: ds_ledger_writable says why, and every ds_ledger_apply and
 * ds_ledger_sync fails with that reason. opts->note hears of bad settings.
 *
 * The whole-file check costs about half a second of CPU per 100 000 events.
 */
int ds_ledger_open(ds_ledger **out, const char *path, const ds_ledger_open_opts *opts, ds_error *err);
void ds_ledger_close(ds_ledger *l); /* NULL-safe */
/* 0 when the ledger can be written; otherwise DS_EIO and the reason in err. */
int ds_ledger_writable(ds_ledger *l, ds_error *err);
/* The cause of the last failed call on l. */
ds_ledger_fault ds_ledger_last_fault(const ds_ledger *l);

typedef struct ds_ledger_req {
	ds_action action;
	const char *code;        /* the unit key (ds_code_unit_key): 20 digits, 01 GTIN 21 serial, or DI.Sserial */
	const char *product_key; /* trace prefix / GTIN / MA DI */
	const char *serial;
	const char *nhsa_code;   /* from the catalog, may be NULL */
	const char *batch;       /* may be NULL */
	const char *expiry;      /* YYYY-MM-DD, may be NULL */
	int split;               /* 拆零 */
	int qty;                 /* units sold or returned in a 拆零 sale; 0 = 1 */
	int units;               /* units in the pack (catalog or --units); 0 unknown */
	int strict;              /* selling a code never received is refused */
	const char *station;
	const char *operator_;
	const char *note;
	long long now_ms;        /* 0 = the clock */
	const char *uuid;        /* the event's uuid; NULL = a new one */
	const ds_label *labels;  /* the verdict's labels (ds_catalog_judge): an alert among them (a recall, */
	size_t nlabels;          /* an expired box) makes the recorded outcome an alert, as the screen shows */
} ds_ledger_req;

#define DS_LEDGER_MAX_LABELS 4

typedef struct ds_ledger_result {
	char event_id[40];       /* the event's uuid (also when it could not be committed) */
	int recorded;            /* 1 committed; 0 not recorded; -1 unknown (the ledger could not be re-read) */
	ds_ledger_fault fault;   /* when not recorded: why; when recorded although COMMIT reported an
	                          * error (found in the ledger when it was re-read): that error */
	int outcome;             /* 0 ok, 1 warn, 2 alert: the ledger's rules and the verdict's alerts */
	int refused;             /* the action did not happen (the attempt is still recorded) */
	ds_state before, after;
	int units_left;          /* -1 unknown */
	ds_label labels[DS_LEDGER_MAX_LABELS];
	size_t nlabels;
	int offline;             /* the chain ledger did not answer: recorded in the offline ledger (ledger.offline) */
} ds_ledger_result;

/* Apply one counter action atomically and durably. DS_OK when it is
 * committed (res->recorded 1). On a failure the ledger is re-read before the
 * function returns: a failed commit can leave a committed frame in the WAL,
 * so res->recorded says what the ledger now holds. A commit that reported an
 * error but is in the ledger returns DS_OK with res->fault and err set. */
int ds_ledger_apply(ds_ledger *l, const ds_ledger_req *req, ds_lang lang, ds_ledger_result *res, ds_error *err);

/* One recorded event. Strings are valid during the callback only. */
typedef struct ds_event {
	long long seq;
	const char *uuid, *code, *product_key, *serial, *nhsa_code, *batch, *expiry;
	const char *action, *station, *operator_, *note, *state_before, *state_after, *undoes;
	const char *undone_action; /* for an undo: the action it took back ("sell", "return", ...) */
	int split, qty, outcome, refused, units_left;
	long long time_ms;
	const char *store;         /* the chain ledger: the store that recorded it ("" in ledger.db) */
} ds_event;

typedef int (*ds_event_fn)(void *ctx, const ds_event *ev);

/* Reading: every SQLite result is checked; a damaged page met on the way is
 * reported as damage (DS_LEDGER_DAMAGED), never as a shorter answer. */

/* Events of one code, oldest first. */
int ds_ledger_history(ds_ledger *l, const char *code, ds_event_fn fn, void *ctx, ds_error *err);
/* Events since since_ms (0 = all), oldest first; only_effective skips refused attempts. */
int ds_ledger_events(ds_ledger *l, long long since_ms, int only_effective, ds_event_fn fn, void *ctx, ds_error *err);

/* `ledger export --since`: a date, YYYY-MM-DD (a real day, from 1970), from
 * local midnight; or milliseconds since 1970 written with 12 digits or more,
 * or 0 for everything (NULL: 0). -1 with msg filled when it is neither. */
long long ds_ledger_since(const char *s, char *msg, size_t size);

/* Current stock per product: codes in stock or returned. */
typedef int (*ds_stock_fn)(void *ctx, const char *product_key, const char *nhsa_code, long boxes, long open_units);
int ds_ledger_stock(ds_ledger *l, ds_stock_fn fn, void *ctx, ds_error *err);

/* A conflict found when events recorded offline reached the chain ledger: an
 * action done offline that the chain ledger's state forbids (a box sold
 * offline in store B after store A had sold it). */
typedef struct ds_conflict {
	const char *uuid, *code, *store, *station, *action; /* the offline event */
	const char *label_id, *text;                       /* what the chain ledger says (English) */
	const char *first_store;                           /* the store of the sale (or state) it conflicts with */
	long long time_ms, first_ms, found_ms;
} ds_conflict;
typedef int (*ds_conflict_fn)(void *ctx, const ds_conflict *c);
/* Conflicts of one code (NULL: all), oldest first; none in ledger.db. */
int ds_ledger_conflicts(ds_ledger *l, const char *code, ds_conflict_fn fn, void *ctx, ds_error *err);

/* ---- the upload outbox (sync.c) ---- */

typedef struct ds_sync_opts {
	const char *url;       /* the receiver; https://, or http:// to a loopback address */
	int batch;             /* events per POST; default 100 */
	long timeout_s;        /* per request; default 30 */
	int max_attempts;      /* failed attempts in a row before giving up this run; default 8 */
	long max_backoff_ms;   /* default 30000 */
	ds_ledger_note_fn note; /* told of each failure before the wait and the retry; may be NULL */
	void *note_ctx;
} ds_sync_opts;

typedef struct ds_sync_result {
	long sent;             /* events put in a request, each counted once however often it was resent */
	long acked, remaining;
	int attempts;          /* requests made */
} ds_sync_result;

/* ledger.db: POST to opts->url. The chain ledger: push the events recorded
 * offline, in order, each once (opts may be NULL). */
int ds_ledger_sync(ds_ledger *l, const ds_sync_opts *opts, ds_sync_result *res, ds_error *err);
/* Queue depth and the time of the oldest unacknowledged event (0 when empty). */
int ds_ledger_outbox(ds_ledger *l, long *depth, long long *oldest_ms, ds_error *err);

/* ---- the counter action (counter.c): parse, verdict, unit key, ledger ---- */

#include "catalog.h"

typedef struct ds_counter_opts {
	ds_action action;
	int split;               /* 拆零: a sale (or return) of qty units of the pack */
	int qty;                 /* 0 = 1 */
	int units;               /* units in the pack when the catalog does not say; 0 = the catalog's */
	int strict;              /* sell: refuse codes never received, expired or recalled */
	const char *station;     /* borrowed: must live until the answer is applied */
	const char *operator_;
	const char *note;
	const char *symbology;   /* the decoder's hint ("code128", "gs1-datamatrix", ...), may be NULL */
	long long now_ms;        /* 0 = the clock */
	ds_lookup_opts lookup;   /* insurance and language; lookup.trace NULL = the defaults */
} ds_counter_opts;

/* What the counter answers for one input. Initialise with ds_counter_answer_init;
 * it is not copied by value (the verdict points into it). */
typedef struct ds_counter_answer {
	ds_code code;            /* the input, parsed (owned: ds_counter_answer_free) */
	ds_verdict verdict;      /* the drug and the labels; the ledger's labels are added when applied */
	int lookup_failed;       /* the catalog lookup failed: the verdict carries catalog.error */
	ds_error lookup_error;   /* why, when lookup_failed */
	const char *refusal_id;  /* not NULL: not the code of one box, nothing is recorded (static string: */
	char refusal[256];       /* "code.not_a_pack"); refusal is why, in the language asked */
	ds_ledger_result ledger; /* when the code names a box: ledger.recorded 1 (in the ledger, and the ledger's
	                          * labels are in the verdict), 0 (not recorded: ledger.fault says why) or -1
	                          * (a failed commit that could not be checked) */
	/* private: the request as judged, for ds_counter_apply */
	ds_counter_opts opts_;
	ds_trace_opts trace_;
} ds_counter_answer;

void ds_counter_answer_init(ds_counter_answer *a);
void ds_counter_answer_free(ds_counter_answer *a); /* NULL-safe; init makes it usable again */

/*
 * The first half: parse input, judge it against cat (NULL: no catalog) and
 * find the box's unit key, or fill refusal_id and refusal when the input is
 * not the code of one box. A failed catalog lookup is not an error of the
 * call: the answer carries catalog.error and lookup_failed. 0 or DS_ENOMEM.
 */
int ds_counter_judge(ds_catalog *cat, const ds_counter_opts *o, const void *input, size_t len,
                     ds_counter_answer *out, ds_error *err);
/*
 * The second half: record answers[0..n) in one transaction (a group commit:
 * one fsync for all of them), in order, so two answers for one box see each
 * other; one answer alone is ds_ledger_apply's own transaction. Answers with
 * a refusal are skipped. DS_OK when every answer is recorded (a commit that
 * reported an error but is in the ledger counts, with ledger.fault and err
 * set, as for ds_ledger_apply). Otherwise the error, and each answer's
 * ledger.recorded and ledger.fault say what the ledger holds: nothing of the
 * group before its COMMIT; after a failed COMMIT, what a re-read finds.
 */
int ds_counter_apply(ds_ledger *l, ds_counter_answer *const *answers, size_t n, ds_error *err);
/* Both halves for one input: what `drugscan counter` does for each code. */
int ds_counter_do(ds_ledger *l, ds_catalog *cat, const ds_counter_opts *o, const void *input, size_t len,
                  ds_counter_answer *out, ds_error *err);

#ifdef __cplusplus
}
#endif

#endif
