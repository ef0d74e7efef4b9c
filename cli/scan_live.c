/* scan_live.c - placeholder while the live loop is written */
#include "cli.h"

int ds_scan_live(ds_cli *cli, const ds_cmdspec *spec, const ds_optvals *v, ds_format fmt,
                 const ds_scan_opts *sopts)
{
	(void)spec; (void)v; (void)fmt; (void)sopts;
	fprintf(cli->err, "%s: live scanning is not built yet\n", cli->prog);
	return DS_EXIT_ERROR;
}
