/* internal.h - shared between the ledger/ source files; not a public API. */
#ifndef DS_LEDGER_INTERNAL_H
#define DS_LEDGER_INTERNAL_H

#include <sqlite3.h>

#include "ledger.h"

#define DS_LEDGER_APP_ID 0x44534c47 /* "DSLG" */

struct ds_ledger {
	sqlite3 *db;
	int warn_after, alert_after, undo_days; /* from the settings table */
};

int led_exec(ds_ledger *l, const char *sql, ds_error *err);
void led_uuid(char out[40]);

#endif
