/*
 * scanner.h - decode symbols from images, camera frames and image batches.
 *
 * Not implemented yet: issue #3 fills this module in. The header exists so
 * the layout of DESIGN.md holds from the first commit.
 */
#ifndef DS_SCANNER_H
#define DS_SCANNER_H

#include "trace.h"

#endif
