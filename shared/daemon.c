/* shared/daemon.c: see daemon.h. */
#include "daemon.h"

#include <poll.h>
#include <string.h>

#include "log.h"

volatile sig_atomic_t	daemon_stopping, daemon_reopen;

static void
on_signal(int sig)
{
	if (sig == SIGHUP)
		daemon_reopen = 1;
	else
		daemon_stopping = 1;
}

void
daemon_signals_init(void)
{
	struct sigaction	sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;	/* no SA_RESTART: poll() returns */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

void
daemon_log_reopen_if_asked(void)
{
	if (!daemon_reopen)
		return;
	daemon_reopen = 0;
	if (log_reopen() != 0)
		log_err("cannot reopen the log file");
	log_info("log reopened");
}

void
daemon_nap(int ms)
{
	if (!daemon_stopping)
		(void)poll(NULL, 0, ms);
}

int
daemon_backoff(int ms)
{
	return ms * 2 > DAEMON_BACKOFF_MAX_MS ? DAEMON_BACKOFF_MAX_MS : ms * 2;
}
