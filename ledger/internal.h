/* internal.h - shared between the ledger/ source files; not a public API. */
#ifndef DS_LEDGER_INTERNAL_H
#define DS_LEDGER_INTERNAL_H

#include <sqlite3.h>

#include "ledger.h"

#define DS_LEDGER_APP_ID 0x44534c47 /* "DSLG" */

struct ds_ledger {
	sqlite3 *db;
	int warn_after, alert_after, undo_days; /* from the settings table */
	int in_group;                           /* ds_counter_apply holds a transaction open */
};

int led_exec(ds_ledger *l, const char *sql, ds_error *err);
void led_uuid(char out[40]);

/* The columns every event query selects, in the order led_read_event reads them. */
#define EVENT_COLS                                                                                           \
	"e.seq, uuid, code, product_key, serial, nhsa_code, batch, expiry, action, split, qty, station, operator," \
	" time_ms, note, state_before, state_after, units_after, undoes, outcome, refused, undone_action"
void led_read_event(sqlite3_stmt *st, ds_event *ev);

#endif
