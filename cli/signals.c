/*
 * signals.c - Ctrl-C for a loop: the handler only sets one flag, and the loop
 * polls it between items. A signal handler cannot be handed a context, so
 * this flag is the CLI's one piece of global mutable state.
 */
#include <signal.h>
#include <string.h>

#include "cli.h"
#include "signals.h"

static volatile sig_atomic_t pending;

static void on_signal(int sig)
{
	(void)sig;
	pending = 1;
}

void ds_sig_catch(ds_sigcatch *c, int also_term)
{
	struct sigaction sa;
	int i;

	memset(c, 0, sizeof(*c));
	c->sig[c->n++] = SIGINT;
	if (also_term)
		c->sig[c->n++] = SIGTERM;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal; /* no SA_RESTART: a read(2) blocked on a terminal returns EINTR */
	sigemptyset(&sa.sa_mask);
	pending = 0;
	for (i = 0; i < c->n; i++)
		sigaction(c->sig[i], &sa, &c->old[i]);
}

void ds_sig_restore(ds_sigcatch *c)
{
	int i;

	for (i = 0; i < c->n; i++)
		sigaction(c->sig[i], &c->old[i], NULL);
	c->n = 0;
}

int ds_sig_pending(void)
{
	return pending != 0;
}

volatile sig_atomic_t *ds_sig_flag(void)
{
	return &pending;
}
