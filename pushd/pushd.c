/* pushd/pushd.c: wa-pushd, the relay from the events outbox to nginx's
 * pub/sub module. Responders write events in the transaction of the
 * change, numbered per tenant, and NOTIFY wa_events when wa-pushd sleeps
 * (outbox.h); the one wa-pushd holding the relay lock POSTs each frame to
 * nginx, which pushes it to the tenant's WebSocket subscribers. Others
 * wait as standbys.
 *
 * Nothing is lost: an event stays past its tenant's published cursor until
 * nginx has acknowledged it, and whoever takes the lock publishes from
 * that cursor. Publishing failures are retried, never skipped. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "conf.h"
#include "daemon.h"
#include "db.h"
#include "log.h"
#include "outbox.h"
#include "relay.h"
#include "sessions.h"
#include "util.h"

#define SWEEP_MS	1000	/* look without a NOTIFY this often */
#define LINGER_SCANS	3	/* empty scans, 1 ms apart, before settling */
#define STANDBY_MS	500	/* a standby retries the lock this often */
#define STATS_MS	10000
/* Frames per pipeline, in bytes: the marks of a pipeline wait for its
 * last answer. */
#define WINDOW_BYTES	(256 * 1024)

/* gather(): from how many events a cycle counts as busy, and the pause. */
#define RELAY_GATHER_FROM	8
#define RELAY_GATHER_MS		2

struct pushd {
	struct db	*db;
	struct outbox	*ob;
	struct relay	*rl;
	int		 owner;		/* holds the relay lock */
	int		 standby;	/* said so in the log */
	int		 empty;		/* scans in a row that found nothing */
	int		 settled;	/* the next scan may let us sleep */
	long long	 published, logged;
	int		 last_n;	/* events the last cycle handled */
	int64_t		 next_stats;
	struct relay_msg msgs[RELAY_PIPELINE];
};

/* After a busy cycle that was not full, lets events gather for a moment:
 * each cycle costs a fetch, a cursor update and a round of publishing
 * whatever it carries, and under a steady stream of webhooks
 * cycles of a handful of events spent a third of the relay's time on
 * that. A quiet stream (a few events a cycle) is never held back. */
static void
gather(struct pushd *p)
{
	if (p->last_n >= RELAY_GATHER_FROM && p->last_n < OUTBOX_BATCH / 4)
		daemon_nap(RELAY_GATHER_MS);
}

static void
housekeeping(struct pushd *p)
{
	int64_t	now = now_ms();

	daemon_log_reopen_if_asked();
	if (now < p->next_stats)
		return;
	if (p->published != p->logged) {
		log_info("published=%lld (+%lld in %ds)", p->published,
		    p->published - p->logged, STATS_MS / 1000);
		p->logged = p->published;
	}
	p->next_stats = now + STATS_MS;
}

/* The connection is gone, and with it the lock: whoever takes the lock
 * next starts from the cursors in the database. */
static void
lost(struct pushd *p)
{
	if (p->owner)
		log_warn("db: connection lost (relay lock released): "
		    "reconnecting");
	p->owner = 0;
	p->settled = 0;
	outbox_reset(p->ob);
}

/* 1 when we hold the relay lock, 0 when another wa-pushd does, -1 when
 * the database cannot be reached. Quiet while the server is down:
 * reconnecting is logged by db.c once it works. */
static int
acquire(struct pushd *p)
{
	int	rc;

	if (!db_connected(p->db) && (db_ping(p->db) != 0 ||
	    db_ensure(p->db) != 0))
		return -1;
	if ((rc = outbox_take_lock(p->ob)) <= 0) {
		if (rc == 0 && !p->standby)
			log_info("standby: another wa-pushd holds the relay "
			    "lock; waiting for it");
		p->standby |= rc == 0;
		return rc;
	}
	log_info("relay lock taken%s; publishing to %s",
	    p->standby ? " (taking over)" : "", conf.publish_url);
	p->owner = 1;
	p->standby = 0;
	return 1;
}

/* A frame nginx will not take (too large) still takes its id, so clients
 * see no gap; they fetch the event from GET /api/v1/events. */
static void
stub_frame(struct buf *b, const char *seq, const char *event)
{
	buf_reset(b);
	buf_appendf(b, "{\"id\":%s,\"event\":%s,\"data\":null,"
	    "\"truncated\":true}", seq, event);
}

/* Publishes one frame, retrying with backoff until nginx accepts it: 0
 * done, -1 stopping, -2 the database connection (so the lock) was lost
 * while we waited. */
static int
publish(struct pushd *p, const char *tenant, const char *seq,
    const char *event, const char *frame)
{
	struct buf	 stub = BUF_INIT;
	size_t		 len = strlen(frame);
	enum relay_rc	 rc;
	int		 failures = 0, delay = DAEMON_BACKOFF_MIN_MS, ret = 0;

	for (;;) {
		if (len > RELAY_FRAME_MAX && stub.data == NULL) {
			log_warn("publish: tenant=%s id=%s: %zu bytes, over "
			    "the limit: sending a stub", tenant, seq, len);
			stub_frame(&stub, seq, event);
			frame = stub.data;
			len = stub.len;
		}
		if ((rc = relay_publish(p->rl, tenant, seq, frame, len)) ==
		    RELAY_OK)
			break;
		if (rc == RELAY_TOO_LARGE && stub.data == NULL) {
			len = RELAY_FRAME_MAX + 1;	/* stub next time */
			continue;
		}
		if (failures++ == 0)
			log_warn("publish: tenant=%s id=%s: %s: retrying",
			    tenant, seq, relay_error(p->rl));
		daemon_nap(delay);
		delay = daemon_backoff(delay);
		housekeeping(p);
		if (daemon_stopping) {
			ret = -1;
			goto out;
		}
		if (outbox_flush(p->ob, 0) != 0) {
			ret = -2;
			goto out;
		}
	}
	if (failures > 0)
		log_info("publish: nginx accepts again (after %d failed "
		    "attempts)", failures);
out:
	buf_free(&stub);
	return ret;
}

/* The frames from row i on that go in one pipeline: at most
 * RELAY_PIPELINE, and WINDOW_BYTES of frames unless the first is larger;
 * none when row i's frame is over the limit (publish() sends a stub). */
static int
window(const struct db_res *res, int i, int n, struct relay_msg *m)
{
	size_t	bytes = 0;
	int	k;

	for (k = 0; k < RELAY_PIPELINE && i + k < n; k++) {
		m[k].frame = db_val(res, i + k, OUTBOX_FRAME);
		m[k].len = strlen(m[k].frame);
		if (m[k].len > RELAY_FRAME_MAX ||
		    (k > 0 && bytes + m[k].len > WINDOW_BYTES))
			break;
		bytes += m[k].len;
		m[k].channel = db_val(res, i + k, OUTBOX_TENANT);
		m[k].seq = db_val(res, i + k, OUTBOX_SEQ);
	}
	return k;
}

/* One batch: 1 when there was work (look again at once), 0 when nothing
 * was pending, -1 when the connection was lost, -2 on another database
 * error (back off). */
static int
cycle(struct pushd *p)
{
	struct db_res	*res;
	int		 i, j, k = 0, n, rc = 1;

	outbox_drain(p->ob);
	if ((res = outbox_next(p->ob)) == NULL)
		return outbox_owned(p->ob) && db_connected(p->db) ? -2 : -1;
	/* A full batch says more are waiting: fetch them meanwhile. */
	if (db_rows(res) == OUTBOX_BATCH && outbox_prefetch(p->ob) != 0)
		rc = outbox_owned(p->ob) && db_connected(p->db) ? 1 : -1;
	p->last_n = n = db_rows(res);
	if (n == 0)
		rc = 0;
	for (i = 0; i < n && rc == 1 && !daemon_stopping; i += k) {
		/* Pipelined while nginx takes them; the first frame it does
		 * not take goes alone, patiently. */
		if ((k = window(res, i, n, p->msgs)) > 0)
			k = relay_publish_many(p->rl, p->msgs, k);
		if (k == 0) {
			switch (publish(p, db_val(res, i, OUTBOX_TENANT),
			    db_val(res, i, OUTBOX_SEQ),
			    db_val(res, i, OUTBOX_EVENT),
			    db_val(res, i, OUTBOX_FRAME))) {
			case 0:
				k = 1;
				break;
			case -1:
				continue;	/* stopping */
			default:
				rc = -1;
				continue;
			}
		}
		for (j = i; j < i + k; j++)
			outbox_mark(p->ob, db_val(res, j, OUTBOX_TENANT),
			    db_val(res, j, OUTBOX_SEQ));
		p->published += k;
		if (outbox_flush(p->ob, 0) != 0)
			rc = -1;
	}
	db_res_free(res);
	return rc;
}

/* Writes the cursors, then sleeps until a NOTIFY, the sessions' sweep or
 * ms. */
static int
idle(struct pushd *p, int ms)
{
	struct pollfd	pfd;

	if (outbox_flush(p->ob, 1) != 0 || (pfd.fd = db_socket(p->db)) < 0)
		return -1;
	/* A notification read along with the last result is not on the
	 * socket any more: poll() would sleep through it. */
	if (outbox_drain(p->ob) > 0)
		return 0;
	pfd.events = POLLIN;
	if (poll(&pfd, 1, sessions_wait(ms)) > 0 && db_consume(p->db) != 0)
		return -1;
	return 0;
}

/* A scan found nothing. Events came moments ago: stay awake (nobody
 * NOTIFYs) and look again shortly. Then settle (outbox.h): once no
 * transaction that saw us awake is running, scan once more, and if that
 * finds nothing too, sleep until a NOTIFY or the sweep timeout. */
static int
quiet(struct pushd *p)
{
	int	rc, ms;

	if (p->settled) {
		p->settled = 0;
		p->empty = 0;
		return idle(p, SWEEP_MS) != 0 || outbox_wake(p->ob) != 0 ?
		    -1 : 0;
	}
	if (p->empty++ < LINGER_SCANS && outbox_awake(p->ob))
		return idle(p, 1);
	if ((rc = outbox_settle(p->ob)) < 0)
		return -1;
	if (rc == 1) {
		p->settled = 1;		/* the last scan comes next */
		return 0;
	}
	/* Still running (a long transaction, or steady traffic that
	 * NOTIFYs now): look again, less often the longer it lasts. */
	ms = 1 << (p->empty - LINGER_SCANS < 4 ? p->empty - LINGER_SCANS : 4);
	return idle(p, ms);
}

static void
run(struct pushd *p)
{
	int	delay = DAEMON_BACKOFF_MIN_MS, rc;

	while (!daemon_stopping) {
		housekeeping(p);
		if (!p->owner) {
			if ((rc = acquire(p)) == 0)
				daemon_nap(STANDBY_MS);
			else if (rc < 0) {
				daemon_nap(delay);
				delay = daemon_backoff(delay);
			} else
				delay = DAEMON_BACKOFF_MIN_MS;
			continue;
		}
		/* Sockets whose token or membership has ended (sessions.c). */
		if (sessions_due() && (outbox_flush(p->ob, 1) != 0 ||
		    !outbox_owned(p->ob) ||
		    sessions_close_ended(p->db, p->rl) != 0)) {
			lost(p);
			continue;
		}
		if ((rc = cycle(p)) == 1) {
			delay = DAEMON_BACKOFF_MIN_MS;
			p->empty = 0;
			p->settled = 0;
			if (outbox_wake(p->ob) != 0)
				lost(p);
			gather(p);
		} else if (rc == 0 && quiet(p) != 0)
			lost(p);
		else if (rc == -1)
			lost(p);
		else if (rc == -2) {
			daemon_nap(delay);
			delay = daemon_backoff(delay);
		}
	}
	/* Write what nginx acknowledged, so a restart repeats nothing. */
	if (p->owner && outbox_flush(p->ob, 1) != 0)
		log_warn("db: last cursor update lost: a restart re-publishes "
		    "a few events");
}

int
main(void)
{
	struct pushd	p;

	conf_load("wa-pushd", CONF_PUSHD);
	if (log_init("wa-pushd", conf.log_level, NULL) != 0)
		fatal("WA_LOG_LEVEL=%s: want debug, info, warn or error",
		    conf.log_level);
	/* A relay that cannot open its log file still relays: stderr is
	 * usually that file already (opened for us by the starter). */
	if (log_init("wa-pushd", conf.log_level, conf.log_file) != 0)
		log_warn("cannot open WA_LOG_FILE %s: %s; logging to stderr",
		    conf.log_file, strerror(errno));
	daemon_signals_init();
	memset(&p, 0, sizeof(p));
	if (strcmp(conf.push_module, "nchan") != 0 &&
	    strcmp(conf.push_module, "pushstream") != 0)
		fatal("WA_PUSH_MODULE=%s: want nchan or pushstream",
		    conf.push_module);
	p.rl = relay_open(conf.publish_url);
	relay_set_key(p.rl, conf.publish_secret);
	p.db = db_open(conf.database_url, "wa-pushd");
	p.ob = outbox_new(p.db);
	p.next_stats = now_ms() + STATS_MS;
	log_info("started");
	run(&p);
	log_info("stopped: published=%lld", p.published);
	outbox_free(p.ob);
	db_close(p.db);	/* releases the lock */
	relay_close(p.rl);
	return 0;
}
