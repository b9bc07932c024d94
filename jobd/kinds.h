/* jobd/kinds.h: what each kind of job does (the table in kinds.c), and
 * the steps every kind shares. */
#ifndef WA_KINDS_H
#define WA_KINDS_H

struct graph_err;
struct job;
struct job_worker;
struct json_object;

/* Runs one claimed job on the worker's connection. */
void	kinds_run(struct job_worker *, const struct job *);

/* Meta's error (or the transport's) as jobs.error and messages.error
 * store it: {"code","message","details"?,"http_status"?}. */
struct json_object *kinds_error_json(const struct graph_err *);

/* Ends a job as failed with {"code","message"} wherever it stands
 * (claimed or running), e.g. when a step of its own failed. */
void	kinds_fail(struct job_worker *, const struct job *, const char *code,
	    const char *message);

#endif /* WA_KINDS_H */
