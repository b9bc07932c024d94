/* jobd/send_jobs.h: queued sends (POST /api/v1/send/... with "queue":
 * true): the Graph call, Meta's answer, and the retries it asks for. */
#ifndef WA_SEND_JOBS_H
#define WA_SEND_JOBS_H

struct graph_err;
struct job;
struct job_worker;

/* Sends the job's pending message; retries later what Meta asks us to
 * retry, until the job's give_up_at. */
void	send_jobs_run(struct job_worker *, const struct job *);
/* The same for one recipient of a broadcast. */
void	send_jobs_broadcast_item(struct job_worker *, const struct job *);

/* The delay before attempt `attempts` + 1 after err, in ms: exponential
 * with jitter (x4 per attempt for Meta's pair rate limit, 131056, as Meta
 * advises; x2 otherwise), capped, and never before Retry-After. -1 when
 * err is not worth a retry. */
long	send_jobs_retry_ms(const struct graph_err *, int attempts);

#endif /* WA_SEND_JOBS_H */
