/* jobd/poll_jobs.h: the /poll auto-reply's jobs (the rest of it is in
 * schema/functions/poll.sql): its question, and its deadline. */
#ifndef WA_POLL_JOBS_H
#define WA_POLL_JOBS_H

struct job;
struct job_worker;

/* Sends the poll's question: never twice (the attempt is marked in the
 * transaction that stores the question, before the Graph call). */
void	poll_jobs_question(struct job_worker *, const struct job *);
/* Ends the poll as timed out if it is still open at its deadline. */
void	poll_jobs_timeout(struct job_worker *, const struct job *);

#endif /* WA_POLL_JOBS_H */
