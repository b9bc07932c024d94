/* shared/daemon.h: what the long-running daemons (wa-pushd, wa-jobd) share:
 * their signals, a nap that a signal cuts short, and the backoff of their
 * retries after a failure. */
#ifndef WA_DAEMON_H
#define WA_DAEMON_H

#include <signal.h>

#define DAEMON_BACKOFF_MIN_MS	50
#define DAEMON_BACKOFF_MAX_MS	2000

/* Set by SIGTERM / SIGINT (stop after the work in hand) and SIGHUP
 * (reopen the log file). */
extern volatile sig_atomic_t	daemon_stopping, daemon_reopen;

/* Installs the handlers (without SA_RESTART, so a blocking poll() returns
 * at once) and ignores SIGPIPE (a closed socket is an error to handle, not
 * a death). */
void	daemon_signals_init(void);
/* After SIGHUP: reopens the log file (logrotate moved it). */
void	daemon_log_reopen_if_asked(void);
/* Sleeps up to ms, unless stopping; a signal ends it early. */
void	daemon_nap(int ms);
/* The next delay after one of ms: doubled, up to DAEMON_BACKOFF_MAX_MS. */
int	daemon_backoff(int ms);

#endif /* WA_DAEMON_H */
