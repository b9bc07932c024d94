/* pushd/timers.h: deadlines kept in PostgreSQL that must fire even when
 * no traffic arrives (today: /poll's, schema/functions/poll.sql). */
#ifndef WA_TIMERS_H
#define WA_TIMERS_H

struct db;

#define TIMERS_MS	250	/* how late a deadline may fire, at most */

/* Whether timers_run() is due. */
int	timers_due(void);
/* Runs the due timers on db (no other query in flight on it): 0, or -1
 * when the connection was lost. */
int	timers_run(struct db *);
/* ms, shortened so a sleep ends when the timers are next due. */
int	timers_wait(int ms);

#endif /* WA_TIMERS_H */
