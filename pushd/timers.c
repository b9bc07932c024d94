/* pushd/timers.c: wa-pushd is the one process that is always up and
 * already wakes on its own, so it drives the deadlines stored in
 * PostgreSQL: every TIMERS_MS it asks the database to end what is
 * overdue. The database decides what that is (FOR UPDATE SKIP LOCKED),
 * so a standby or a second wa-pushd doing the same is harmless. */
#include "timers.h"

#include <stdint.h>

#include "db.h"
#include "log.h"
#include "util.h"

static const struct db_stmt poll_expire = { "timers_poll_expire",
	"SELECT wa_poll_expire()" };

static int64_t	next_ms;
static int	failing;

int
timers_due(void)
{
	return now_ms() >= next_ms;
}

int
timers_run(struct db *db)
{
	struct db_res	*res;
	const char	*n;

	next_ms = now_ms() + TIMERS_MS;
	if ((res = db_query(db, &poll_expire, 0, NULL)) == NULL) {
		if (db_error(db) == DB_EUNAVAIL)
			return -1;
		/* Say it once, not four times a second. */
		if (!failing++)
			log_warn("timers: poll expiry failed: %s",
			    db_errmsg(db));
		return 0;
	}
	if (failing) {
		log_info("timers: poll expiry works again");
		failing = 0;
	}
	if ((n = db_val(res, 0, 0)) != NULL && *n != '0')
		log_debug("timers: %s poll(s) timed out", n);
	db_res_free(res);
	return 0;
}

int
timers_wait(int ms)
{
	int64_t	left = next_ms - now_ms();

	if (left < 0)
		left = 0;
	return left < ms ? (int)left : ms;
}
