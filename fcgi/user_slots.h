/* fcgi/user_slots.h: how many requests that wait on Meta each user has in
 * flight in this process, capped, so a slow Graph API cannot let one user
 * take every request thread (and with them everyone's inbox). */
#ifndef WA_USER_SLOTS_H
#define WA_USER_SLOTS_H

/* Seconds a refused client is told to wait: a Graph call usually takes
 * a few hundred ms. */
#define USER_SLOTS_RETRY_AFTER	1

/* The cap when WA_USER_GRAPH_CONCURRENCY is 0: a quarter of the threads,
 * at least 1. */
long	user_slots_default_cap(long nthreads);
/* Sizes the table for nthreads requests at once (one entry each at most),
 * each user holding at most cap. Call once, before any thread starts. */
void	user_slots_init(long nthreads, long cap);
void	user_slots_free(void);
/* One more request for user_id: the slot to give back, or -1 when the user
 * already holds the cap. Never blocks beyond a short table scan. */
int	user_slots_take(const char *user_id);
/* Gives back what user_slots_take() returned; -1 is a no-op. */
void	user_slots_give(int slot);

#endif /* WA_USER_SLOTS_H */
