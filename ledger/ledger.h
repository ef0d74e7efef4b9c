/*
 * ledger.h - the counter ledger: scan events, repeat detection, export and sync outbox.
 *
 * Not implemented yet: issue #5 fills this module in. The header exists so
 * the layout of DESIGN.md holds from the first commit.
 */
#ifndef DS_LEDGER_H
#define DS_LEDGER_H

#include "trace.h"

#endif
