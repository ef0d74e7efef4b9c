/*
 * catalog.h - the SQLite 医保目录 catalog: import, lookup, labels, update over HTTPS.
 *
 * Not implemented yet: issue #4 fills this module in. The header exists so
 * the layout of DESIGN.md holds from the first commit.
 */
#ifndef DS_CATALOG_H
#define DS_CATALOG_H

#include "trace.h"

#endif
