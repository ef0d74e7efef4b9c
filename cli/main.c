/* main.c - drugscan: dispatch a subcommand from the table. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

#ifndef DS_VERSION
#define DS_VERSION "0.0.0"
#endif

static const ds_command commands[] = {
	{"check", ds_cmd_check, N_("parse and explain trace codes given as arguments or stdin lines")},
	{"scan", ds_cmd_scan, N_("decode trace codes from photos, folders, a camera or recorded frames")},
	{"catalog", ds_cmd_catalog, N_("import, update and inspect the local catalog of the national drug list")},
	{"counter", ds_cmd_counter, N_("the pharmacy counter: receive, sell, return, destroy, stocktake, undo, scan")},
	{"ledger", ds_cmd_ledger, N_("the counter's ledger: history, stock, export, upload sync")},
	{"audit", ds_cmd_audit, N_("audit folders of photos: results, duplicates across photos, an HTML report")},
	{"serve", ds_cmd_serve, N_("the HTTP API and the counter page (scanner, webcam or phone) on this machine")},
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static void usage(FILE *f, const char *prog)
{
	size_t i;
	char name[32];

	fprintf(f, _("usage: %s COMMAND [OPTIONS] [ARGS]\n\nRead Chinese drug trace codes and say what they are.\n\n"
	             "commands:\n"), prog);
	for (i = 0; i < NCOMMANDS; i++)
		fprintf(f, "  %s %s\n", ds_pad(name, sizeof(name), commands[i].name, 10), _(commands[i].summary));
	fprintf(f, _("\n'%s COMMAND --help' shows a command's options; 'man drugscan' the rest.\n"), prog);
}

/* The results went out, or the run says they did not: a full disk, a closed pipe (stdout is
 * flushed here, so that no command exits 0 with its output lost). */
static int finish(const ds_cli *cli, int rc)
{
	errno = 0;
	if ((fflush(stdout) == 0 && !ferror(stdout)) || cli->out_failed)
		return rc;
	fprintf(stderr, _("%s: cannot write output: %s\n"), cli->prog, strerror(errno ? errno : EIO));
	return rc == DS_EXIT_USAGE ? rc : DS_EXIT_ERROR;
}

/* COMMAND ARGS, help COMMAND (COMMAND --help), --help, --version */
static int dispatch(ds_cli *cli, int argc, char **argv)
{
	int help = argc > 2 && !strcmp(argv[1], "help");
	const ds_command *cmd = NULL;
	char opt[] = "--help";
	char *sub[2] = {argv[argc > 2 ? 2 : 0], opt};
	size_t i;

	for (i = 0; argc > 1 && i < NCOMMANDS && !cmd; i++)
		cmd = strcmp(commands[i].name, argv[1 + help]) ? NULL : &commands[i];
	if (cmd)
		return help ? cmd->run(cli, 2, sub) : cmd->run(cli, argc - 1, argv + 1);
	if (argc > 1 && !strcmp(argv[1], "--version"))
		return printf("drugscan %s\n", DS_VERSION), DS_EXIT_OK;
	if (argc > 1 && !help && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help"))) {
		usage(stdout, cli->prog);
		return DS_EXIT_OK;
	}
	if (argc > 1)
		fprintf(stderr, _("%s: unknown command '%s'\n"), cli->prog, argv[1 + help]);
	if (!help)
		usage(stderr, cli->prog);
	return DS_EXIT_USAGE;
}

int main(int argc, char **argv)
{
	ds_cli cli = {stdout, stderr, stdin, "drugscan", DS_LANG_EN, 0};
	const char *lang = NULL;
	int i;

	for (i = 2; i < argc && strcmp(argv[i], "--"); i++) /* --lang first: a usage error speaks it too */
		if (!strncmp(argv[i], "--lang", 6) && (argv[i][6] == '=' || (!argv[i][6] && i + 1 < argc)))
			lang = argv[i][6] ? argv[i] + 7 : argv[i + 1];
	ds_cli_lang(&cli, lang && !strcmp(lang, "zh") ? DS_LANG_ZH : lang && !strcmp(lang, "en") ? DS_LANG_EN : ds_lang_from_env());
	/* past the file size limit (ulimit -f) a write fails with EFBIG, which is reported like a full
	 * disk, instead of killing the process mid-answer; a closed pipe is EPIPE, a write error too */
	signal(SIGXFSZ, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	return finish(&cli, dispatch(&cli, argc, argv));
}
