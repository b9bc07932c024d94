/* fcgi/main.c: wa-fcgi, the FastCGI responder. spawn-fcgi (or systemd's
 * socket) hands us the listening socket as fd 0; a few threads accept on
 * it, each with its own database connection and CURL handle, so one process
 * serves several requests at once (a Meta call can take hundreds of
 * milliseconds). Other processes of the pool share that socket.
 *
 * nginx may keep a connection open after a request (FCGI_KEEP_CONN, the
 * webhook pool's upstream keepalive): the thread that served it then waits
 * on it for the next request, no accept() and no close() per request. */
#include <errno.h>
#include <malloc.h>
#include <poll.h>
#include <stdatomic.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <fcgiapp.h>
#include <fastcgi.h>
#include <sodium.h>

#include "conf.h"
#include "db.h"
#include "graph.h"
#include "log.h"
#include "metrics.h"
#include "req.h"
#include "test_hooks.h"
#include "user_slots.h"
#include "util.h"
#include "worker.h"

/* Wakes the thread blocked in accept() when we stop. Not shutdown() on
 * the socket: that would stop every other process sharing it too. */
#define STOP_SIGNAL	SIGUSR2

static pthread_mutex_t	accept_lock = PTHREAD_MUTEX_INITIALIZER;
static atomic_int	stopping;
static atomic_int	running;
/* The worker inside FCGX_Accept_r(), or -1. */
static atomic_int	accepting = -1;
/* Threads waiting for the accept lock or in accept(). A thread that waits
 * on a connection nginx keeps cannot take the connections nginx opens
 * meanwhile (its other workers', or more than it keeps); so when this
 * process has no thread accepting and one is waiting to be accepted, such
 * a thread gives up its connection and accepts. */
static atomic_int	acceptors;
/* Per thread: 1 while it waits on a kept connection, for workers_stop. */
static atomic_int	*kept_waiting;
static void
on_stop_signal(int sig)
{
	(void)sig;	/* its only job: accept() or poll() returns EINTR */
}

/* How often a thread waiting on a kept connection looks whether it is
 * needed to accept: the longest a new connection can wait while threads
 * idle (only when every thread of the pool is busy or kept). */
#define KEPT_CHECK_MS	100

/* Whether a connection waits to be accepted and no thread of ours is
 * there to take it. */
static int
accept_needed(void)
{
	struct pollfd	pfd = { .fd = 0, .events = POLLIN };

	return atomic_load(&acceptors) == 0 && poll(&pfd, 1, 0) == 1;
}

/* Closes the connection nginx kept, at once (nothing of nginx's is left
 * unread between requests). nginx drops an idle connection that closes;
 * one it had just picked fails and /webhook sends again (nginx.conf.in). */
static void
drop_kept(FCGX_Request *fr)
{
	fr->detached = 1;
	FCGX_Free(fr, 1);
}

/* Waits for the next request on the connection nginx kept: 0 when it
 * comes, -1 when we stop or this thread is needed to accept. A request
 * already sent is served first: closing on it would make nginx send it
 * again. */
static int
kept_wait(struct worker *w, FCGX_Request *fr)
{
	struct pollfd	pfd[2] = { { .fd = fr->ipcFd, .events = POLLIN },
	    { .fd = -1, .events = POLLIN } };
	int		rc = -1;

	atomic_store(&kept_waiting[w->id], 1);
	while (!atomic_load(&stopping)) {
		/* The listening socket too while nobody else accepts (poll
		 * skips a negative descriptor). */
		pfd[1].fd = atomic_load(&acceptors) == 0 ? 0 : -1;
		if (poll(pfd, 2, KEPT_CHECK_MS) > 0 && pfd[0].revents != 0) {
			rc = 0;
			break;
		}
		if (accept_needed())
			break;
	}
	atomic_store(&kept_waiting[w->id], 0);
	return rc;
}

/* The next request on the connection nginx kept; -1 when there is none
 * (the connection is closed then, or we are stopping). */
static int
kept_request(struct worker *w, FCGX_Request *fr)
{
	int	rc;

	if (kept_wait(w, fr) != 0) {
		drop_kept(fr);
		return -1;
	}
	/* Without a listening socket libfcgi cannot fall back to accept()
	 * when the connection ends (nginx closed it): that is ours to do,
	 * under the lock. */
	fr->listen_sock = -1;
	fr->detached = 1;
	rc = FCGX_Accept_r(fr);
	fr->listen_sock = 0;
	return rc;
}

static int
accept_request(struct worker *w, FCGX_Request *fr)
{
	int	rc = -1;

	atomic_fetch_add(&acceptors, 1);
	/* One thread in accept() at a time: no thundering herd. */
	pthread_mutex_lock(&accept_lock);
	if (!atomic_load(&stopping)) {
		atomic_store(&accepting, w->id);
		rc = FCGX_Accept_r(fr);
		atomic_store(&accepting, -1);
	}
	pthread_mutex_unlock(&accept_lock);
	atomic_fetch_sub(&acceptors, 1);
	return rc;
}

/* 0 with the next request in fr, or < 0 when we are stopping. */
static int
next_request(struct worker *w, FCGX_Request *fr)
{
	int	rc;

	if (fr->ipcFd >= 0) {
		if (kept_request(w, fr) == 0)
			return 0;
		if (atomic_load(&stopping))
			return -1;
	}
	for (;;) {
		rc = accept_request(w, fr);
		if (rc == -EINTR && !atomic_load(&stopping))
			continue;
		return rc;
	}
}

static void *
worker_main(void *arg)
{
	struct worker	*w = arg;
	FCGX_Request	 fr;

	FCGX_InitRequest(&fr, 0, FCGI_FAIL_ACCEPT_ON_INTR);
	while (next_request(w, &fr) == 0) {
		test_hooks_begin(fr.envp);
		req_serve(w, &fr);
		req_end(&fr);
		test_hooks_end();
		/* Whatever path the request took, it no longer waits on
		 * Meta. */
		user_slots_give(w->user_slot);
		w->user_slot = -1;
	}
	FCGX_Free(&fr, 1);
	atomic_fetch_sub(&running, 1);
	return NULL;
}

static struct worker *
workers_start(long n, pthread_t *tids)
{
	struct worker	*ws = xcalloc((size_t)n, sizeof(*ws));
	char		 app[64];
	long		 i;

	kept_waiting = xcalloc((size_t)n, sizeof(*kept_waiting));
	for (i = 0; i < n; i++) {
		ws[i].id = (int)i;
		ws[i].user_slot = -1;
		snprintf(app, sizeof(app), "wa-fcgi-%s", conf.pool);
		/* A webhook thread needs its own connection only for what the
		 * batched path leaves to the general one (ingest_batch.c has
		 * the process's batch connection): connect when it first does,
		 * so threads cost no idle server processes. */
		ws[i].db = strcmp(conf.pool, "webhook") == 0 ?
		    db_open_lazy(conf.database_url, app) :
		    db_open(conf.database_url, app);
		if ((ws[i].curl = curl_easy_init()) == NULL)
			fatal("curl_easy_init failed");
		atomic_fetch_add(&running, 1);
		if (pthread_create(&tids[i], NULL, worker_main, &ws[i]) != 0)
			fatal("pthread_create: %s", strerror(errno));
	}
	return ws;
}

static void
workers_stop(struct worker *ws, pthread_t *tids, long n)
{
	struct timespec	pause = { 0, 20 * 1000000L };
	long		i;
	int		id;

	/* Requests in flight finish; a thread waiting for the accept lock
	 * sees `stopping` once it has it. The signal may land just before
	 * the accepting thread enters accept(), or a kept one poll(): so
	 * again until all are out. */
	atomic_store(&stopping, 1);
	while (atomic_load(&running) > 0) {
		if ((id = atomic_load(&accepting)) >= 0 && id < n)
			pthread_kill(tids[id], STOP_SIGNAL);
		for (i = 0; i < n; i++)
			if (atomic_load(&kept_waiting[i]))
				pthread_kill(tids[i], STOP_SIGNAL);
		nanosleep(&pause, NULL);
	}
	for (i = 0; i < n; i++)
		pthread_join(tids[i], NULL);
	for (i = 0; i < n; i++) {
		db_close(ws[i].db);
		curl_easy_cleanup(ws[i].curl);
	}
	free(ws);
	free(kept_waiting);
}

/* Signals are taken synchronously here, never in a handler. */
static void
wait_for_stop(void)
{
	sigset_t	set;
	int		sig;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	for (;;) {
		if (sigwait(&set, &sig) != 0)
			continue;
		if (sig == SIGHUP) {
			log_reopen();
			log_info("log reopened");
			continue;
		}
		log_info("signal %d: stopping", sig);
		return;
	}
}

int
main(void)
{
	struct worker	*ws;
	pthread_t	*tids;
	struct sigaction sa;
	sigset_t	 set;
	long		 cap;

	conf_load("wa-fcgi", CONF_FCGI);
	if (log_init("wa-fcgi", conf.log_level, conf.log_file) != 0)
		fatal("bad WA_LOG_LEVEL or WA_LOG_FILE");
	if (sodium_init() < 0)
		fatal("sodium_init failed");
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0)
		fatal("curl_global_init failed");
	if (FCGX_Init() != 0)
		fatal("FCGX_Init failed");
	signal(SIGPIPE, SIG_IGN);	/* a client gone mid-reply is not fatal */
	/* No fastbins: with them every allocation of 1 KB or more (libfcgi
	 * takes two of 8 KB per request) first sweeps all the small chunks
	 * freed since (malloc_consolidate). Small ones still come from each
	 * thread's cache. */
	mallopt(M_MXFAST, 0);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop_signal;	/* no SA_RESTART: accept() returns */
	sigemptyset(&sa.sa_mask);
	sigaction(STOP_SIGNAL, &sa, NULL);
	if (metrics_init(conf.metrics_file, conf.pool) != 0)
		log_warn("metrics: not counted (WA_METRICS_FILE=%s)",
		    conf.metrics_file);
	graph_set_observer(metrics_graph_call);
	db_set_error_observer(metrics_db_error);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);	/* threads inherit it */

	cap = conf.user_graph_concurrency > 0 ? conf.user_graph_concurrency :
	    user_slots_default_cap(conf.fcgi_threads);
	user_slots_init(conf.fcgi_threads, cap);
	tids = xcalloc((size_t)conf.fcgi_threads, sizeof(*tids));
	ws = workers_start(conf.fcgi_threads, tids);
	log_info("started pool=%s threads=%ld user_graph_concurrency=%ld "
	    "env=%s%s", conf.pool, conf.fcgi_threads, cap, conf.env,
	    conf.test_hooks_on ? " test_hooks=on" : "");
	wait_for_stop();
	workers_stop(ws, tids, conf.fcgi_threads);
	free(tids);
	user_slots_free();
	curl_global_cleanup();
	log_info("stopped");
	return 0;
}
