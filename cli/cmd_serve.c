/*
 * cmd_serve.c - drugscan serve: the HTTP API and the counter page
 * (serve/serve.h) until SIGTERM or Ctrl-C, which let the requests in flight
 * finish first.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "serve.h"
#include "signals.h"

#ifndef DS_VERSION
#define DS_VERSION "0.0.0"
#endif

static const ds_optspec serve_opts[] = {
	{"listen", 'l', "ADDR:PORT", NULL, N_("where to listen (default 127.0.0.1:8765; port 0 picks a free one)")},
	{"token-file", 0, "FILE", NULL, N_("require 'Authorization: Bearer TOKEN' with the token in FILE (needed off loopback)")},
	{"data-dir", 0, "DIR", NULL, N_("where catalog.db and ledger.db live")},
	{"ledger", 0, "FILE|URL", NULL, N_("ledger.db, or a chain ledger postgresql://... (default $DRUGSCAN_LEDGER, DIR/ledger.db)")},
	{"store", 0, "ID", NULL, N_("chain ledger: this store's id (default: the host name)")},
	{"ledger-timeout", 0, "SECONDS", NULL, N_("chain ledger: go offline after this long without an answer (default 1.5)")},
	{"allow-origin", 0, "ORIGIN", NULL, N_("let pages from ORIGIN (https://host[:port]) call the API (CORS)")},
	{"station", 's', "ID", NULL, N_("the station of counter requests that name none (default: the host name)")},
	{"threads", 0, "N", NULL, N_("HTTP worker threads (default: the CPUs)")},
	{"max-connections", 0, "N", NULL, N_("connections at once (default 256)")},
	{"timeout", 0, "SECONDS", NULL, N_("close a connection idle this long (default 15)")},
	{"lang", 0, "LANG", "zh|en", N_("language of answers when a request does not ask (default from $LANG)")},
	{"help", 'h', NULL, NULL, N_("show this help")},
	{NULL, 0, NULL, NULL, NULL},
};

static const ds_cmdspec serve_spec = {
	N_("serve [--listen ADDR:PORT] [--token-file FILE] [--data-dir DIR] [--ledger FILE] [--allow-origin ORIGIN]"),
	N_("Serve the JSON API v1 (docs/api.md) and the counter page at /, for the till's\n"
	"software, a phone or a browser with a webcam. Every answer is the CLI's JSON; a\n"
	"counter action is committed to ledger.db before it is answered. An address other\n"
	"than loopback needs --token-file. SIGTERM or Ctrl-C finishes the requests in\n"
	"flight, then exits."),
	serve_opts,
	N_("exit status: 0 stopped by a signal, 1 the catalog, ledger or socket failed, 2 usage error.\n\n"
	"examples:\n"
	"  drugscan serve                     # then open http://127.0.0.1:8765/\n"
	"  drugscan serve --listen 0.0.0.0:8765 --token-file /etc/drugscan/token\n"),
};

/* The token: the file's first line, without trailing blanks. 0, or a message in err. */
static int read_token(ds_cli *cli, const char *path, char *out, size_t size, ds_error *err)
{
	struct stat st;
	ssize_t n;
	size_t i;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return ds_error_set(err, DS_EIO, _("cannot read token file '%s': %s"), path, strerror(errno));
	if (fstat(fd, &st) == 0 && (st.st_mode & 077))
		fprintf(cli->err, _("%s serve: warning: token file '%s' can be read by other users (chmod 600 it)\n"), cli->prog,
		        path);
	n = read(fd, out, size - 1);
	close(fd);
	if (n < 0)
		return ds_error_set(err, DS_EIO, _("cannot read token file '%s': %s"), path, strerror(errno));
	out[n] = '\0';
	for (i = 0; i < (size_t)n && out[i] != '\n' && out[i] != '\r'; i++)
		;
	if (i == size - 1)
		return ds_error_set(err, DS_EINVAL, _("token file '%s': the token is too long"), path);
	out[i] = '\0';
	while (i && (out[i - 1] == ' ' || out[i - 1] == '\t'))
		out[--i] = '\0';
	if (!i)
		return ds_error_set(err, DS_EINVAL, _("token file '%s' is empty"), path);
	for (n = 0; (size_t)n < i; n++)
		if ((unsigned char)out[n] <= ' ' || (unsigned char)out[n] == 0x7f)
			return ds_error_set(err, DS_EINVAL, _("token file '%s': the token has a blank or a control character"), path);
	return DS_OK;
}

/* "https://host" or "http://host:port", nothing after the authority. */
static int origin_valid(const char *o)
{
	const char *h = !strncmp(o, "https://", 8) ? o + 8 : !strncmp(o, "http://", 7) ? o + 7 : NULL;

	return h && *h && !strchr(h, '/') && !strchr(h, ' ') && !strchr(h, '*');
}

static void log_line(void *ctx, const char *message)
{
	ds_cli *cli = ctx;

	fprintf(cli->err, "%s serve: %s\n", cli->prog, message);
	fflush(cli->err);
}

/* Wait for SIGINT or SIGTERM with both blocked in every other thread. */
static void wait_for_signal(const sigset_t *old)
{
	sigset_t wait_mask = *old;

	sigdelset(&wait_mask, SIGINT);
	sigdelset(&wait_mask, SIGTERM);
	while (!ds_sig_pending())
		sigsuspend(&wait_mask);
}

/* The options into o; -1 to go on, or an exit code. */
static int options(ds_cli *cli, const ds_optvals *v, ds_serve_opts *o, char *token, size_t tsize)
{
	const char *tf = ds_opts_get(v, &serve_spec, "token-file"), *now = getenv("DRUGSCAN_NOW_MS");
	long threads = 0, conns = 0, timeout = 0;
	double secs = DS_SERVE_LEDGER_TIMEOUT_S;
	ds_error err;

	memset(o, 0, sizeof(*o));
	if (v->nrest)
		return ds_cli_usage_error(cli, "serve", _("serve takes no arguments, only options"));
	if (ds_opt_long(&threads, ds_opts_get(v, &serve_spec, "threads"), 1, 64) < 0)
		return ds_cli_usage_error(cli, "serve", _("--threads needs a number from 1 to 64"));
	if (ds_opt_long(&conns, ds_opts_get(v, &serve_spec, "max-connections"), 1, 100000) < 0)
		return ds_cli_usage_error(cli, "serve", _("--max-connections needs a number from 1 to 100000"));
	if (ds_opt_long(&timeout, ds_opts_get(v, &serve_spec, "timeout"), 1, 3600) < 0)
		return ds_cli_usage_error(cli, "serve", _("--timeout needs seconds from 1 to 3600"));
	if (ds_opt_double(&secs, ds_opts_get(v, &serve_spec, "ledger-timeout"), 0.05, 600) < 0)
		return ds_cli_usage_error(cli, "serve", _("--ledger-timeout needs seconds from 0.05 to 600"));
	o->allow_origin = ds_opts_get(v, &serve_spec, "allow-origin");
	if (o->allow_origin && !origin_valid(o->allow_origin))
		return ds_cli_usage_error(cli, "serve", _("--allow-origin needs one origin, like https://pos.example:8443 "
		                                          "(no path, no wildcard)"));
	if (tf && read_token(cli, tf, token, tsize, &err) < 0) {
		fprintf(cli->err, "%s: %s\n", cli->prog, err.message);
		return err.code == DS_EINVAL ? DS_EXIT_USAGE : DS_EXIT_ERROR;
	}
	o->token = tf ? token : NULL;
	o->threads = (int)threads;
	o->max_connections = (unsigned)conns;
	o->timeout_s = (unsigned)timeout;
	o->listen = ds_opts_get(v, &serve_spec, "listen");
	o->data_dir = ds_opts_get(v, &serve_spec, "data-dir");
	o->ledger_path = ds_opts_get(v, &serve_spec, "ledger");
	o->store = ds_opts_get(v, &serve_spec, "store");
	o->ledger_timeout_ms = (long)(secs * 1000);
	o->station = ds_opts_get(v, &serve_spec, "station");
	o->version = DS_VERSION;
	o->lang = cli->lang;
	o->now_ms = now ? strtoll(now, NULL, 10) : 0;
	o->log = log_line;
	o->log_ctx = cli;
	return -1;
}

int ds_cmd_serve(ds_cli *cli, int argc, char **argv)
{
	ds_optvals v;
	ds_serve_opts o;
	ds_server *srv = NULL;
	ds_error err;
	ds_sigcatch sig;
	sigset_t block, old;
	char token[4096], host[64] = "counter";
	int rc;

	rc = ds_cli_begin(cli, &serve_spec, "serve", &v, argc, argv);
	if (rc >= 0)
		goto out;
	rc = options(cli, &v, &o, token, sizeof(token));
	if (rc >= 0)
		goto out;
	if (!o.station && gethostname(host, sizeof(host) - 1) == 0)
		o.station = host;
	/* the signals reach this thread only, in sigsuspend(); the server's threads inherit the block */
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	ds_sig_catch(&sig, 1);
	pthread_sigmask(SIG_BLOCK, &block, &old);
	if (ds_serve_start(&srv, &o, &err) < 0) {
		fprintf(cli->err, "%s serve: %s\n", cli->prog, err.message);
		rc = err.code == DS_EINVAL ? DS_EXIT_USAGE : DS_EXIT_ERROR;
	} else {
		fprintf(cli->out, "%s\n", ds_serve_url(srv));
		if (fflush(cli->out) != 0) /* said now; the exit status says it when the server stops */
			fprintf(cli->err, _("%s: cannot write output: %s\n"), cli->prog, strerror(cli->out_failed = errno));
		wait_for_signal(&old);
		log_line(cli, _("stopping: finishing the requests in flight"));
		ds_serve_stop(srv, 30000);
		ds_serve_free(srv);
		rc = cli->out_failed ? DS_EXIT_ERROR : DS_EXIT_OK;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	ds_sig_restore(&sig);
	memset(token, 0, sizeof(token));
out:
	free(v.rest);
	return rc;
}
