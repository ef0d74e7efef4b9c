/*
 * scan_live.h - scan --camera / --frames: the live loop (scan_live.c).
 * Private to cli/.
 */
#ifndef DS_CLI_SCAN_LIVE_H
#define DS_CLI_SCAN_LIVE_H

#include "cli.h"
#include "render.h"
#include "scanner.h"

int ds_scan_live(ds_cli *cli, const ds_cmdspec *spec, const ds_optvals *v, ds_format fmt,
                 const ds_scan_opts *sopts);

#endif
