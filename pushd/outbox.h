/* pushd/outbox.h: the events outbox as wa-pushd sees it: the relay lock,
 * the numbered events not yet published, and the per-tenant published
 * cursor. */
#ifndef WA_OUTBOX_H
#define WA_OUTBOX_H

struct db;
struct db_res;
struct outbox;

/* Columns of the rows outbox_next() returns; per tenant, in the order
 * they must be published. */
enum {
	OUTBOX_TENANT,		/* channel: the tenant's uuid */
	OUTBOX_SEQ,		/* the frame's id */
	OUTBOX_EVENT,		/* the event name as a JSON string */
	OUTBOX_FRAME,		/* the frame, JSON text */
};

struct outbox	*outbox_new(struct db *);	/* borrows the connection */
void		 outbox_free(struct outbox *);

/* Takes the relay's session-level advisory lock and LISTENs: 1 taken, 0
 * another session holds it (we are a standby), -1 database error. */
int		 outbox_take_lock(struct outbox *);
/* Whether the connection is still the session that took the lock. */
int		 outbox_owned(const struct outbox *);
/* Forgets cursor updates not yet written: after a lost connection the
 * next owner re-publishes from the stored cursor instead. */
void		 outbox_reset(struct outbox *);
/* Wake-ups (see outbox.c). Awake, transactions that emit events do not
 * NOTIFY: outbox_wake() (again) before scanning, when it can be had.
 * outbox_settle() gives it up: 1 when no transaction that may have seen
 * us awake is still running, so after one more scan that finds nothing it
 * is safe to sleep until a NOTIFY; 0 when some are (look again soon); -1
 * when the connection is lost. */
int		 outbox_wake(struct outbox *);
int		 outbox_settle(struct outbox *);
int		 outbox_awake(const struct outbox *);
/* Discards the notifications received so far: they only say "look". */
int		 outbox_drain(struct outbox *);

#define OUTBOX_BATCH	500	/* events per query, at most */

/* The next batch to publish: events past each tenant's published
 * cursor (after a start or a takeover, those numbered but never
 * acknowledged come first), rows as above. NULL on error (see
 * outbox_owned()). */
struct db_res	*outbox_next(struct outbox *);
/* Starts fetching the batch after the one just returned, so the database
 * works while we publish; outbox_next() returns it. */
int		 outbox_prefetch(struct outbox *);

/* Records that nginx accepted `seq` of `tenant`. The cursor is written in
 * the background, one statement in flight at a time, so publishing never
 * waits on a commit; outbox_flush(ob, 1) waits until all is written (and
 * must run before any other statement). -1 when the connection is lost. */
void		 outbox_mark(struct outbox *, const char *tenant,
		    const char *seq);
int		 outbox_flush(struct outbox *, int wait);

#endif /* WA_OUTBOX_H */
