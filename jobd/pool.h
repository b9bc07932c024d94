/* jobd/pool.h: wa-jobd's worker threads. The dispatcher claims only as
 * many jobs as there are idle workers, and hands each to one. */
#ifndef WA_POOL_H
#define WA_POOL_H

struct job;

/* Starts n workers, each with its own database connection (opened on
 * first use) and CURL handle. */
void	pool_start(int n);
/* Idle workers: how many jobs pool_put() takes now. */
int	pool_idle(void);
/* Hands a job to an idle worker (there must be one). */
void	pool_put(const struct job *);
/* Waits until a worker is idle, at most ms. */
void	pool_wait_idle(int ms);
/* Lets each worker finish the job in hand, then joins them. */
void	pool_stop(void);

#endif /* WA_POOL_H */
