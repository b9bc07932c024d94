/* jobd/pool.c: the worker threads. Each owns a database connection and a
 * CURL handle, and runs one job at a time: a job is mostly a wait on Meta,
 * so the number of threads (WA_JOBD_THREADS) is the number of Graph calls
 * in flight. One slot per worker, under one lock: the dispatcher fills an
 * idle slot and signals its worker; a worker done with its job marks its
 * slot idle and signals the dispatcher. */
#include "pool.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "conf.h"
#include "db.h"
#include "job.h"
#include "kinds.h"
#include "log.h"
#include "util.h"

struct slot {
	struct job_worker	 w;
	struct job		 job;
	int			 busy;		/* job is set */
	pthread_cond_t		 wake;
	pthread_t		 tid;
};

static pthread_mutex_t	lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t	freed = PTHREAD_COND_INITIALIZER;
static struct slot	*slots;
static int		 nslots, idle, stopping;

/* Waits for the job's pace slot (at most a second away: the claim hands
 * out no later slot). */
static void
wait_slot(const struct job *j)
{
	int64_t		 left = j->start_ms - now_ms();
	struct timespec	 ts;

	if (left <= 0)
		return;
	ts.tv_sec = left / 1000;
	ts.tv_nsec = (long)(left % 1000) * 1000000L;
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static void *
worker_main(void *arg)
{
	struct slot	*s = arg;
	struct job	 j;

	pthread_mutex_lock(&lock);
	for (;;) {
		while (!s->busy && !stopping)
			pthread_cond_wait(&s->wake, &lock);
		if (!s->busy)
			break;
		j = s->job;
		pthread_mutex_unlock(&lock);
		wait_slot(&j);
		kinds_run(&s->w, &j);
		pthread_mutex_lock(&lock);
		s->busy = 0;
		idle++;
		pthread_cond_signal(&freed);
	}
	pthread_mutex_unlock(&lock);
	return NULL;
}

void
pool_start(int n)
{
	int	i;

	slots = xcalloc((size_t)n, sizeof(*slots));
	nslots = idle = n;
	for (i = 0; i < n; i++) {
		slots[i].w.id = i;
		slots[i].w.db = db_open_lazy(conf.database_url, "wa-jobd");
		if ((slots[i].w.curl = curl_easy_init()) == NULL)
			fatal("curl_easy_init failed");
		pthread_cond_init(&slots[i].wake, NULL);
		if (pthread_create(&slots[i].tid, NULL, worker_main,
		    &slots[i]) != 0)
			fatal("pthread_create: %s", strerror(errno));
	}
}

int
pool_idle(void)
{
	int	n;

	pthread_mutex_lock(&lock);
	n = idle;
	pthread_mutex_unlock(&lock);
	return n;
}

void
pool_put(const struct job *j)
{
	int	i;

	pthread_mutex_lock(&lock);
	for (i = 0; i < nslots && slots[i].busy; i++)
		;
	if (i == nslots)
		fatal("pool: no idle worker for job %lld", j->id);
	slots[i].job = *j;
	slots[i].busy = 1;
	idle--;
	pthread_cond_signal(&slots[i].wake);
	pthread_mutex_unlock(&lock);
}

void
pool_wait_idle(int ms)
{
	struct timespec	ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&lock);
	if (idle == 0)
		pthread_cond_timedwait(&freed, &lock, &ts);
	pthread_mutex_unlock(&lock);
}

void
pool_stop(void)
{
	int	i;

	pthread_mutex_lock(&lock);
	stopping = 1;
	for (i = 0; i < nslots; i++)
		pthread_cond_signal(&slots[i].wake);
	pthread_mutex_unlock(&lock);
	for (i = 0; i < nslots; i++) {
		pthread_join(slots[i].tid, NULL);
		db_close(slots[i].w.db);
		curl_easy_cleanup(slots[i].w.curl);
		pthread_cond_destroy(&slots[i].wake);
	}
	free(slots);
	slots = NULL;
	nslots = idle = 0;
}
