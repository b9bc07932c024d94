/* wactl/webhook.c: wactl webhook replay: feeds webhook_log rows (bodies we
 * could not place when they came, e.g. for a number no tenant owned yet)
 * to wa_webhook_ingest() again and marks those now placed as processed.
 * Exactly once like the webhook itself: replaying twice stores nothing
 * twice. */
#include <stdio.h>
#include <string.h>

#include "db.h"
#include "util.h"
#include "wactl.h"

/* Each row in its own transaction: one bad row does not hold back the
 * rest. */
static const struct db_stmt replay_one = { "wactl_webhook_replay",
	"SELECT j->>'result', j->>'messages', j->>'statuses',"
	" j->>'reactions', j->>'edits', j->>'duplicates', j->>'events'"
	" FROM wa_webhook_replay($1::bigint) AS s(j)" };

static const struct db_stmt pending = { "wactl_webhook_pending",
	"SELECT id FROM webhook_log WHERE processed_at IS NULL AND"
	" body IS NOT NULL ORDER BY id" };

/* Prints one row's outcome; 1 when it is now processed, 0 when not, -1 on
 * a database error or an unknown id. */
static int
replay(struct db *db, const char *id)
{
	const char	*v[] = { id };
	struct db_res	*res;
	const char	*result;
	int		 rc;

	if ((res = db_query(db, &replay_one, 1, v)) == NULL) {
		fail("webhook replay %s: %s", id, db_errmsg(db));
		return -1;
	}
	result = db_val(res, 0, 0);
	if (db_val(res, 0, 1) != NULL)
		printf("%s\t%s\tmessages=%s statuses=%s reactions=%s edits=%s "
		    "duplicates=%s events=%s\n", id, result, db_val(res, 0, 1),
		    db_val(res, 0, 2), db_val(res, 0, 3), db_val(res, 0, 4),
		    db_val(res, 0, 5), db_val(res, 0, 6));
	else
		printf("%s\t%s\n", id, result);
	rc = strcmp(result, "processed") == 0 ? 1 :
	    strcmp(result, "not_found") == 0 ? -1 : 0;
	db_res_free(res);
	return rc;
}

int
cmd_webhook_replay(struct db *db, int argc, char **argv)
{
	const char	*id = opt(argc, argv, "--id");
	struct db_res	*res;
	int64_t		 n;
	int		 i, r, done = 0, failed = 0;

	if ((id == NULL) == !opt_flag(argc, argv, "--all"))
		return fail("webhook replay: give --id N or --all");
	if (id != NULL) {
		if (str_to_i64(id, &n) != 0 || n <= 0)
			return fail("webhook replay: --id must be a number");
		return replay(db, id) < 0;
	}
	if ((res = db_query(db, &pending, 0, NULL)) == NULL)
		return fail("webhook replay: %s", db_errmsg(db));
	for (i = 0; i < db_rows(res); i++) {
		if ((r = replay(db, db_val(res, i, 0))) < 0)
			failed++;
		else
			done += r;
	}
	printf("replayed %d: %d processed, %d still unplaced, %d failed\n",
	    db_rows(res), done, db_rows(res) - done - failed, failed);
	db_res_free(res);
	return failed > 0;
}
