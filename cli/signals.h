/*
 * signals.h - Ctrl-C (and SIGTERM) for a loop: one flag, set by the handler, polled
 * by the loop (signals.c).
 * Private to cli/.
 */
#ifndef DS_CLI_SIGNALS_H
#define DS_CLI_SIGNALS_H

#include <signal.h>

/* The handlers a loop replaced, for ds_sig_restore(). */
typedef struct ds_sigcatch {
	int sig[2];
	struct sigaction old[2];
	int n;
} ds_sigcatch;

/* Clear the flag, then make SIGINT (and SIGTERM when also_term) only set it,
 * until ds_sig_restore(). Installed without SA_RESTART, so a read(2) blocked
 * on a terminal or a handheld scanner returns EINTR. */
void ds_sig_catch(ds_sigcatch *c, int also_term);
void ds_sig_restore(ds_sigcatch *c);
/* 1 once a caught signal has arrived; stays set after ds_sig_restore(). */
int ds_sig_pending(void);
/* The flag itself, for a library that polls a pointer (ds_audit_opts.stop). */
volatile sig_atomic_t *ds_sig_flag(void);

#endif
