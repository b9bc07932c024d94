/* pushd/sessions.c: every SESSIONS_MS, asks the database which sessions'
 * sockets must close and deletes their channels at the publisher.
 *
 * nchan: each socket also subscribes to "session.<jti>" (nginx's
 * push-nchan-sub.conf); deleting that one channel closes just the sockets
 * of that token. push-stream keeps a socket open while any of its channels
 * lives, so there the tenant's channel is deleted: all its sockets close
 * and reconnect, each authorised again, and catch up from the events API. */
#include "sessions.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

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

/* The channel whose deletion closes this session's sockets. */
static void
channel_of(const char *module, const char *jti, const char *tenant,
    char *out, size_t n)
{
	if (strcmp(module, "nchan") == 0)
		snprintf(out, n, "session.%s", jti);
	else
		snprintf(out, n, "%s", tenant);
}

/* 0 when the channel is gone and the row with it; -1 to try again next
 * time (nginx down: then its sockets are gone anyway). */
static int
close_one(struct db *db, struct relay *rl, const char *module,
    const char *jti, const char *tenant)
{
	char		 channel[128];
	const char	*v[] = { jti, tenant };

	channel_of(module, jti, tenant, channel, sizeof(channel));
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
sessions_close_ended(struct db *db, struct relay *rl, const char *module)
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
		if (close_one(db, rl, module, db_val(res, i, 0),
		    db_val(res, i, 1)) != 0)
			break;
	if (i == n)
		failing = 0;
	db_res_free(res);
	return db_connected(db) ? 0 : -1;
}
