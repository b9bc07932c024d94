/* jobd/queue.h: the dispatcher's side of the job queue
 * (schema/functions/jobs.sql): claiming, sleeping and waking, recovery. */
#ifndef WA_QUEUE_H
#define WA_QUEUE_H

struct db;
struct job;

#define QUEUE_CLAIM_MAX	256

struct queue;

struct queue	*queue_new(struct db *);
void		 queue_free(struct queue *);
/* After a (re)connection: LISTEN wa_jobs; 0 or -1. */
int		 queue_listen(struct queue *);
/* A new session holds no lock. */
void		 queue_reset(struct queue *);
/* Claims up to n (<= QUEUE_CLAIM_MAX) due jobs into jobs[]: how many, or
 * -1 on a database error. */
int		 queue_claim(struct queue *, int n, struct job *jobs);
/* Takes "jobs awake" if not held: enqueuers stop notifying. 0 or -1. */
int		 queue_wake(struct queue *);
/* Lets go of "jobs awake": 1 when nobody holds "jobs in flight" (one
 * more claim, and if it finds nothing, sleep), 0 when someone does (look
 * again soon), -1 on a database error. */
int		 queue_settle(struct queue *);
/* ms until the next queued job is due (0: now; -1: none), -2 on error. */
long		 queue_next_due_ms(struct queue *);
/* Reads notifications already received: how many. */
int		 queue_drain(struct queue *);
/* Jobs whose session is gone: requeued, or reported as unknown (logged
 * here). -1 on a database error. */
int		 queue_recover(struct queue *);
/* Deletes old finished jobs. */
void		 queue_purge(struct queue *);

#endif /* WA_QUEUE_H */
