/* main.c - drugscan: dispatch a subcommand from the table. */
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

static const ds_command *find_command(const char *name)
{
	size_t i;

	for (i = 0; i < NCOMMANDS; i++)
		if (!strcmp(commands[i].name, name))
			return &commands[i];
	return NULL;
}

int main(int argc, char **argv)
{
	ds_cli cli;
	const ds_command *cmd;
	const char *lang = NULL;
	int i;

	cli.out = stdout;
	cli.err = stderr;
	cli.in = stdin;
	cli.prog = "drugscan";
	for (i = 2; i < argc && strcmp(argv[i], "--"); i++) /* --lang first: a usage error speaks it too */
		if (!strncmp(argv[i], "--lang", 6) && (argv[i][6] == '=' || (!argv[i][6] && i + 1 < argc)))
			lang = argv[i][6] ? argv[i] + 7 : argv[i + 1];
	ds_cli_lang(&cli, lang && !strcmp(lang, "zh") ? DS_LANG_ZH : lang && !strcmp(lang, "en") ? DS_LANG_EN : ds_lang_from_env());
	/* past the file size limit (ulimit -f) a write fails with EFBIG, which is
	 * reported like a full disk, instead of killing the process mid-answer */
	signal(SIGXFSZ, SIG_IGN);

	if (argc < 2) {
		usage(stderr, cli.prog);
		return DS_EXIT_USAGE;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		usage(stdout, cli.prog);
		return DS_EXIT_OK;
	}
	if (!strcmp(argv[1], "--version")) {
		printf("drugscan %s\n", DS_VERSION);
		return DS_EXIT_OK;
	}
	if (!strcmp(argv[1], "help")) {
		char help[] = "--help";
		char *sub[2];
		if (argc < 3) {
			usage(stdout, cli.prog);
			return DS_EXIT_OK;
		}
		cmd = find_command(argv[2]);
		if (!cmd) {
			fprintf(stderr, _("%s: unknown command '%s'\n"), cli.prog, argv[2]);
			return DS_EXIT_USAGE;
		}
		sub[0] = argv[2];
		sub[1] = help;
		return cmd->run(&cli, 2, sub);
	}
	cmd = find_command(argv[1]);
	if (!cmd) {
		fprintf(stderr, _("%s: unknown command '%s'\n"), cli.prog, argv[1]);
		usage(stderr, cli.prog);
		return DS_EXIT_USAGE;
	}
	return cmd->run(&cli, argc - 1, argv + 1);
}
