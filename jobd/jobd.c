/* jobd/jobd.c: wa-jobd, the job worker. Work that must follow a commit and
 * may be slow (a call to Meta) or due later (a deadline) is a row of jobs,
 * written by the transaction that causes it (schema/015_jobs.sql); wa-jobd
 * runs it. The dispatcher (this file) claims due jobs, as many as there
 * are idle workers (jobd/pool.c), and sleeps until a NOTIFY, the next
 * job's due time or the sweep; the workers run each job's kind
 * (jobd/kinds.c). Several wa-jobd may share one database: claims skip what
 * another holds.
 *
 * Nothing is done twice: a worker marks the attempt before it calls Meta,
 * and a job whose worker died mid-attempt is reported as unknown by the
 * next sweep (of any wa-jobd), never silently resent, unless its kind is
 * safe to run again. */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include <curl/curl.h>

#include "conf.h"
#include "daemon.h"
#include "db.h"
#include "job.h"
#include "log.h"
#include "pool.h"
#include "queue.h"
#include "util.h"

#define SWEEP_MS	1000	/* look without a NOTIFY this often */
#define RECOVER_MS	2000	/* look for jobs of sessions gone */
#define PURGE_MS	3600000	/* delete old finished jobs */
#define STATS_MS	10000
#define SETTLE_MAX_MS	16	/* looks while enqueuers are in flight */

struct jobd {
	struct db	*db;
	struct queue	*q;
	int		 connected;	/* LISTENing on this session */
	int		 settled;	/* the next empty claim may sleep */
	int		 settle_ms;
	int64_t		 next_recover, next_purge, next_stats;
	long long	 claimed, logged;
	struct job	 jobs[QUEUE_CLAIM_MAX];
};

/* The log, the stats line, and the sweeps: recovery and purge. -1 when
 * the connection was lost. */
static int
housekeeping(struct jobd *d)
{
	int64_t	now = now_ms();

	daemon_log_reopen_if_asked();
	if (now >= d->next_stats) {
		if (d->claimed != d->logged)
			log_info("claimed=%lld (+%lld in %ds)", d->claimed,
			    d->claimed - d->logged, STATS_MS / 1000);
		d->logged = d->claimed;
		d->next_stats = now + STATS_MS;
	}
	if (now >= d->next_recover) {
		d->next_recover = now + RECOVER_MS;
		if (queue_recover(d->q) != 0 && !db_connected(d->db))
			return -1;
	}
	if (now >= d->next_purge) {
		d->next_purge = now + PURGE_MS;
		queue_purge(d->q);
	}
	return 0;
}

/* A new session: LISTEN, then recover at once (a restart after a crash
 * finds its predecessor's jobs). 0, or -1 while the database is away. */
static int
connect_db(struct jobd *d)
{
	if (db_ping(d->db) != 0 || db_ensure(d->db) != 0 ||
	    queue_listen(d->q) != 0)
		return -1;
	queue_reset(d->q);
	d->connected = 1;
	d->settled = 0;
	d->next_recover = 0;
	log_info("listening for jobs (%ld workers)", conf.jobd_threads);
	return 0;
}

static void
lost(struct jobd *d)
{
	if (d->connected)
		log_warn("db: connection lost: reconnecting");
	d->connected = 0;
	queue_reset(d->q);
}

/* Sleeps until a NOTIFY, the next due job or the sweep; then looks. */
static int
sleep_until_work(struct jobd *d)
{
	struct pollfd	pfd;
	long		due;
	int		ms = SWEEP_MS;

	if ((due = queue_next_due_ms(d->q)) == -2)
		return -1;
	if (due >= 0 && due < ms)
		ms = (int)due;
	/* Due now, yet not claimable: another dispatcher holds it. */
	if (ms < 5)
		ms = 5;
	/* A notification read along with the last result is not on the
	 * socket any more: poll() would sleep through it. */
	if (queue_drain(d->q) > 0)
		return 0;
	if ((pfd.fd = db_socket(d->db)) < 0)
		return -1;
	pfd.events = POLLIN;
	if (poll(&pfd, 1, ms) > 0 && db_consume(d->db) != 0)
		return -1;
	queue_drain(d->q);
	return 0;
}

/* Nothing was due: settle (queue.h), then sleep. -1 when the connection
 * was lost. */
static int
quiet(struct jobd *d)
{
	int	rc;

	if (d->settled) {
		d->settled = 0;
		d->settle_ms = 0;
		return sleep_until_work(d) != 0 || queue_wake(d->q) != 0 ?
		    -1 : 0;
	}
	if ((rc = queue_settle(d->q)) < 0)
		return -1;
	if (rc == 1) {
		d->settled = 1;		/* the last claim comes next */
		return 0;
	}
	/* Enqueuers in flight: they commit soon; look again. */
	d->settle_ms = d->settle_ms == 0 ? 2 : d->settle_ms * 2;
	if (d->settle_ms > SETTLE_MAX_MS)
		d->settle_ms = SETTLE_MAX_MS;
	daemon_nap(d->settle_ms);
	return 0;
}

/* One claim for the idle workers: 1 when it found work, 0 when none was
 * due, -1 on a database error. */
static int
cycle(struct jobd *d, int idle)
{
	int	n, i;

	if ((n = queue_claim(d->q, idle, d->jobs)) < 0)
		return -1;
	for (i = 0; i < n; i++) {
		log_debug("job %lld (%s): claimed", d->jobs[i].id,
		    d->jobs[i].kind);
		pool_put(&d->jobs[i]);
	}
	d->claimed += n;
	return n > 0;
}

static void
run(struct jobd *d)
{
	int	delay = DAEMON_BACKOFF_MIN_MS, idle, rc;

	while (!daemon_stopping) {
		if (!d->connected && connect_db(d) != 0) {
			daemon_nap(delay);
			delay = daemon_backoff(delay);
			continue;
		}
		if (housekeeping(d) != 0) {
			lost(d);
			continue;
		}
		/* Every worker busy: nothing to claim for. While we wait we
		 * stay awake (if we were), so nobody notifies: we look as
		 * soon as a worker is free. */
		if ((idle = pool_idle()) == 0) {
			pool_wait_idle(SWEEP_MS);
			continue;
		}
		if ((rc = cycle(d, idle)) == 1) {
			delay = DAEMON_BACKOFF_MIN_MS;
			d->settled = 0;
			d->settle_ms = 0;
			if (queue_wake(d->q) != 0)
				lost(d);
		} else if (rc == 0 && quiet(d) != 0)
			lost(d);
		else if (rc < 0) {
			if (!db_connected(d->db))
				lost(d);
			else {
				daemon_nap(delay);
				delay = daemon_backoff(delay);
			}
		}
	}
}

int
main(void)
{
	struct jobd	d;
	sigset_t	set;

	conf_load("wa-jobd", CONF_JOBD);
	if (log_init("wa-jobd", conf.log_level, NULL) != 0)
		fatal("WA_LOG_LEVEL=%s: want debug, info, warn or error",
		    conf.log_level);
	if (log_init("wa-jobd", conf.log_level, conf.log_file) != 0)
		log_warn("cannot open WA_LOG_FILE %s: %s; logging to stderr",
		    conf.log_file, strerror(errno));
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0)
		fatal("curl_global_init failed");
	/* The workers take no signal: the dispatcher's poll() does. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	pool_start((int)conf.jobd_threads);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	daemon_signals_init();
	memset(&d, 0, sizeof(d));
	d.db = db_open_lazy(conf.database_url, "wa-jobd");
	d.q = queue_new(d.db);
	d.next_stats = now_ms() + STATS_MS;
	log_info("started");
	run(&d);
	log_info("stopping: finishing the jobs in hand");
	pool_stop();
	log_info("stopped: claimed=%lld", d.claimed);
	queue_free(d.q);
	db_close(d.db);
	curl_global_cleanup();
	return 0;
}
