/* pushd/sessions.c: every SESSIONS_MS, asks the database which sessions'
 * sockets must close and deletes their channels at the publisher.
 *
 * Each socket also subscribes to "session.<jti>" (nginx's push-*-sub.conf);
 * deleting that one channel closes just the sockets of that token, on both
 * modules (push-stream with our patch, which closes a session channel's
 * subscribers even though they have their tenant's channel too). */
#include "sessions.h"

#include <stdint.h>
#include <stdio.h>

#include "db.h"
#include "log.h"
#include "relay.h"
#include "util.h"

#define SESSIONS_BATCH	"100"

static const struct db_stmt ended = { "sessions_ended",
	"SELECT jti, tenant_id FROM wa_ws_sessions_ended(" SESSIONS_BATCH
	")" };
static const struct db_stmt closed = { "sessions_closed",
	"SELECT wa_ws_session_closed($1, $2)" };

static int64_t	next_ms;
static int	failing;

int
sessions_due(void)
{
	return now_ms() >= next_ms;
}

int
sessions_wait(int ms)
{
	int64_t	left = next_ms - now_ms();

	if (left < 0)
		left = 0;
	return left < ms ? (int)left : ms;
}

/* 0 when the channel is gone and the row with it; -1 to try again next
 * time (nginx down: then its sockets are gone anyway). */
static int
close_one(struct db *db, struct relay *rl, const char *jti,
    const char *tenant)
{
	char		 channel[128];
	const char	*v[] = { jti, tenant };

	/* The same name as the subscriber's "session.$wa_session". */
	snprintf(channel, sizeof(channel), "session.%s", jti);
	if (relay_delete(rl, channel) != RELAY_OK) {
		if (!failing++)
			log_warn("sessions: closing %s: %s: retrying",
			    channel, relay_error(rl));
		return -1;
	}
	log_info("sessions: closed the sockets of session %s (tenant %s)",
	    jti, tenant);
	return db_exec(db, &closed, 2, v);
}

int
sessions_close_ended(struct db *db, struct relay *rl)
{
	struct db_res	*res;
	int		 i, n;

	next_ms = now_ms() + SESSIONS_MS;
	if ((res = db_query(db, &ended, 0, NULL)) == NULL) {
		if (db_error(db) == DB_EUNAVAIL)
			return -1;
		if (!failing++)
			log_warn("sessions: %s", db_errmsg(db));
		return 0;
	}
	n = db_rows(res);
	for (i = 0; i < n; i++)
		if (close_one(db, rl, db_val(res, i, 0), db_val(res, i, 1)) != 0)
			break;
	if (i == n)
		failing = 0;
	db_res_free(res);
	return db_connected(db) ? 0 : -1;
}
