/* jobd/job.h: a claimed job as the dispatcher hands it to a worker, and
 * what one worker thread owns. */
#ifndef WA_JOB_H
#define WA_JOB_H

#include <stdint.h>

#define JOB_KIND_MAX	32

struct db;

struct job {
	long long	 id;
	long long	 claim;		/* the claiming transaction's id */
	char		 kind[JOB_KIND_MAX];
	int64_t		 start_ms;	/* its pace slot (now_ms() clock) */
};

struct job_worker {
	int		 id;
	struct db	*db;	/* this thread's own connection */
	void		*curl;	/* CURL *: reused, keeps connections warm */
};

#endif /* WA_JOB_H */
