/* shared/db.c: libpq behind a small interface: lazy prepared statements,
 * reconnects, and errors sorted into what an HTTP answer needs. */
#include "db.h"

#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "log.h"
#include "util.h"

#define DB_MAX_STMTS	256

struct db {
	PGconn			*conn;
	char			*dsn, *app;
	const struct db_stmt	*prepared[DB_MAX_STMTS];
	size_t			 nprepared;
	enum db_err		 err;
	char			 errmsg[256];
};

static void	(*error_observer)(int);

void
db_set_error_observer(void (*fn)(int))
{
	error_observer = fn;
}

/* The one list of what a retry may cure, by SQLSTATE class: transaction
 * rollback (deadlock, serialization), insufficient resources, object in
 * use (lock not available), operator intervention, system and internal
 * errors. SQL that catches errors re-raises the same classes
 * (wa_sqlstate_retryable() in schema/functions). Anything else is about
 * the data, and a retry would fail again. */
static int
retryable(const char *state)
{
	static const char *const classes[] = {
		"08", "40", "53", "55", "57", "58", "XX",
	};
	size_t	i;

	for (i = 0; i < sizeof(classes) / sizeof(classes[0]); i++)
		if (strncmp(state, classes[i], 2) == 0)
			return 1;
	return 0;
}

static void
set_error(struct db *db, PGresult *res)
{
	const char	*state = res != NULL ?
	    PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	const char	*msg = res != NULL ? PQresultErrorMessage(res) : "";

	if (msg == NULL || *msg == '\0')
		msg = PQerrorMessage(db->conn);
	snprintf(db->errmsg, sizeof(db->errmsg), "%s", msg);
	db->errmsg[strcspn(db->errmsg, "\n")] = '\0';
	if (PQstatus(db->conn) != CONNECTION_OK || state == NULL)
		db->err = DB_EUNAVAIL;
	else if (strcmp(state, "23505") == 0)
		db->err = DB_EUNIQUE;
	else if (strcmp(state, "23503") == 0)
		db->err = DB_EFOREIGN;
	else if (strcmp(state, "23514") == 0 || strcmp(state, "23502") == 0 ||
	    strncmp(state, "22", 2) == 0)
		db->err = DB_ECHECK;
	else if (strncmp(state, "08", 2) == 0 || strcmp(state, "57P01") == 0 ||
	    strcmp(state, "57P02") == 0 || strcmp(state, "57P03") == 0 ||
	    strcmp(state, "53300") == 0)
		db->err = DB_EUNAVAIL;
	else if (retryable(state))
		db->err = DB_ERETRY;
	else
		db->err = DB_EOTHER;
	if (error_observer != NULL)
		error_observer(db->err);
}

/* Server notices (e.g. "relation already exists, skipping") are debug. */
static void
on_notice(void *arg, const char *msg)
{
	(void)arg;
	log_debug("db: %.*s", (int)strcspn(msg, "\n"), msg);
}

static void
db_connect(struct db *db)
{
	const char	*keys[] = { "connect_timeout", "application_name",
	    "dbname", NULL };
	const char	*vals[] = { "3", db->app, db->dsn, NULL };

	if (db->conn != NULL)
		PQfinish(db->conn);
	db->nprepared = 0;
	/* Keys earlier in the list are overridden by the DSN's own. */
	db->conn = PQconnectdbParams(keys, vals, 1);
	PQsetNoticeProcessor(db->conn, on_notice, NULL);
	if (PQstatus(db->conn) != CONNECTION_OK) {
		set_error(db, NULL);
		log_warn("db: connect failed: %s", db->errmsg);
	}
}

struct db *
db_open_lazy(const char *dsn, const char *app)
{
	struct db	*db = xcalloc(1, sizeof(*db));

	db->dsn = xstrdup(dsn);
	db->app = xstrdup(app);
	return db;
}

struct db *
db_open(const char *dsn, const char *app)
{
	struct db	*db = db_open_lazy(dsn, app);

	db_connect(db);
	return db;
}

void
db_close(struct db *db)
{
	if (db == NULL)
		return;
	PQfinish(db->conn);
	free(db->dsn);
	free(db->app);
	free(db);
}

int
db_connected(const struct db *db)
{
	return PQstatus(db->conn) == CONNECTION_OK;
}

/* An idle connection whose socket is readable has news: usually the server
 * going away (restart, idle timeout). Finding out before sending means a
 * statement is never lost on a dead connection and never sent twice. */
static int
peer_closed(struct db *db)
{
	struct pollfd	pfd = { PQsocket(db->conn), POLLIN, 0 };
	int		i;

	if (PQtransactionStatus(db->conn) != PQTRANS_IDLE)
		return 0;
	/* A server shutting down sends its FATAL message, then closes: the
	 * first read takes the message, a later one sees the end. */
	for (i = 0; i < 4 && poll(&pfd, 1, 0) == 1; i++)
		if (PQconsumeInput(db->conn) == 0 ||
		    PQstatus(db->conn) != CONNECTION_OK)
			return 1;
	return 0;
}

int
db_ensure(struct db *db)
{
	int	first = db->conn == NULL;

	if (PQstatus(db->conn) == CONNECTION_OK && !peer_closed(db))
		return 0;
	db_connect(db);
	if (PQstatus(db->conn) != CONNECTION_OK) {
		db->err = DB_EUNAVAIL;
		return -1;
	}
	if (!first)
		log_info("db: reconnected");
	return 0;
}

static int
prepare(struct db *db, const struct db_stmt *s)
{
	PGresult	*res;
	size_t		 i;
	int		 ok;

	for (i = 0; i < db->nprepared; i++)
		if (db->prepared[i] == s)
			return 0;
	if (db->nprepared == DB_MAX_STMTS)
		fatal("db: more than %d statements", DB_MAX_STMTS);
	res = PQprepare(db->conn, s->name, s->sql, 0, NULL);
	if (!(ok = PQresultStatus(res) == PGRES_COMMAND_OK)) {
		set_error(db, res);
		log_err("db: prepare %s: %s", s->name, db->errmsg);
	} else
		db->prepared[db->nprepared++] = s;
	PQclear(res);
	return ok ? 0 : -1;
}

struct db_res *
db_query(struct db *db, const struct db_stmt *s, int n, const char *const *v)
{
	PGresult	*res;
	ExecStatusType	 st;

	db->err = DB_OK;
	if (db_ensure(db) != 0 || prepare(db, s) != 0)
		return NULL;
	res = PQexecPrepared(db->conn, s->name, n, v, NULL, NULL, 0);
	st = PQresultStatus(res);
	if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
		return (struct db_res *)res;
	set_error(db, res);
	if (db->err == DB_EUNAVAIL || db->err == DB_EOTHER)
		log_err("db: %s: %s", s->name, db->errmsg);
	PQclear(res);
	return NULL;
}

struct db_res *
db_query_retry(struct db *db, const struct db_stmt *s, int n,
    const char *const *v)
{
	struct db_res	*res = db_query(db, s, n, v);

	if (res == NULL && ((db->err == DB_EUNAVAIL && db_ensure(db) == 0) ||
	    db->err == DB_ERETRY))
		res = db_query(db, s, n, v);
	return res;
}

int
db_exec(struct db *db, const struct db_stmt *s, int n, const char *const *v)
{
	struct db_res	*res;

	if ((res = db_query(db, s, n, v)) == NULL)
		return -1;
	db_res_free(res);
	return 0;
}

int
db_exec_sql(struct db *db, const char *sql)
{
	PGresult	*res;
	ExecStatusType	 st;

	db->err = DB_OK;
	if (db_ensure(db) != 0)
		return -1;
	res = PQexec(db->conn, sql);
	st = PQresultStatus(res);
	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
		set_error(db, res);
		PQclear(res);
		return -1;
	}
	PQclear(res);
	return 0;
}

int
db_rows(const struct db_res *r)
{
	return PQntuples((const PGresult *)r);
}

const char *
db_val(const struct db_res *r, int row, int col)
{
	const PGresult	*res = (const PGresult *)r;

	if (row >= PQntuples(res) || col >= PQnfields(res) ||
	    PQgetisnull(res, row, col))
		return NULL;
	return PQgetvalue(res, row, col);
}

long long
db_affected(const struct db_res *r)
{
	const char	*s = PQcmdTuples((PGresult *)r);

	return s != NULL && *s != '\0' ? atoll(s) : 0;
}

void
db_res_free(struct db_res *r)
{
	PQclear((PGresult *)r);
}

enum db_err
db_error(const struct db *db)
{
	return db->err;
}

const char *
db_errmsg(const struct db *db)
{
	return db->errmsg;
}

int
db_socket(const struct db *db)
{
	return PQsocket(db->conn);
}

int
db_consume(struct db *db)
{
	if (PQconsumeInput(db->conn) == 0 ||
	    PQstatus(db->conn) != CONNECTION_OK) {
		set_error(db, NULL);
		return -1;
	}
	return 0;
}

int
db_notify_next(struct db *db, char *chan, size_t cn, char *payload, size_t pn)
{
	PGnotify	*n;

	if ((n = PQnotifies(db->conn)) == NULL)
		return 0;
	snprintf(chan, cn, "%s", n->relname);
	snprintf(payload, pn, "%s", n->extra);
	PQfreemem(n);
	return 1;
}

int
db_ping(const struct db *db)
{
	const char	*keys[] = { "connect_timeout", "dbname", NULL };
	const char	*vals[] = { "3", db->dsn, NULL };

	return PQpingParams(keys, vals, 1) == PQPING_OK ? 0 : -1;
}

int
db_backend_pid(const struct db *db)
{
	return PQstatus(db->conn) == CONNECTION_OK ? PQbackendPID(db->conn) : 0;
}

int
db_send(struct db *db, const struct db_stmt *s, int n, const char *const *v)
{
	db->err = DB_OK;
	if (db_ensure(db) != 0 || prepare(db, s) != 0)
		return -1;
	if (PQsendQueryPrepared(db->conn, s->name, n, v, NULL, NULL, 0) == 0) {
		set_error(db, NULL);
		log_err("db: %s: %s", s->name, db->errmsg);
		return -1;
	}
	return 0;
}

int
db_result_ready(struct db *db)
{
	if (db_consume(db) != 0)
		return -1;
	return PQisBusy(db->conn) ? 0 : 1;
}

struct db_res *
db_wait_result(struct db *db)
{
	PGresult	*res, *first = NULL;
	ExecStatusType	 st;

	db->err = DB_OK;
	/* The result, then NULL: the connection is free only after both. */
	while ((res = PQgetResult(db->conn)) != NULL) {
		if (first == NULL)
			first = res;
		else
			PQclear(res);
	}
	if (first == NULL) {
		set_error(db, NULL);
		return NULL;
	}
	st = PQresultStatus(first);
	if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
		return (struct db_res *)first;
	set_error(db, first);
	if (db->err == DB_EUNAVAIL || db->err == DB_EOTHER)
		log_err("db: async: %s", db->errmsg);
	PQclear(first);
	return NULL;
}
