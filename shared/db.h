/* shared/db.h: the only door to PostgreSQL. Every query is a prepared
 * statement, prepared lazily on first use on each connection. */
#ifndef WA_DB_H
#define WA_DB_H

#include <stddef.h>

struct db;			/* opaque: only db.c includes libpq-fe.h */
struct db_res;			/* a query result */

/* A statement lives in the file that uses it; names are global per
 * connection, so prefix them with the file's name. */
struct db_stmt {
	const char	*name;
	const char	*sql;
};

enum db_err {
	DB_OK = 0,
	DB_EUNAVAIL,		/* no connection: answer 503, caller retries */
	DB_EUNIQUE,		/* unique_violation */
	DB_EFOREIGN,		/* foreign_key_violation */
	DB_ECHECK,		/* check or not-null violation, bad input */
	DB_ERETRY,		/* a retry may cure it (deadlock, serialization,
				 * resources): answer 503, caller retries */
	DB_EOTHER,
};

struct db	*db_open(const char *dsn, const char *app);	/* never NULL */
/* The same, connecting on first use: for threads that may never need one. */
struct db	*db_open_lazy(const char *dsn, const char *app);
void		 db_close(struct db *);
int		 db_ensure(struct db *);	/* 0 when connected */
int		 db_connected(const struct db *);

/* Runs `s` with n text parameters (NULL = SQL NULL). NULL on error: see
 * db_error(). The result must be freed with db_res_free(). */
struct db_res	*db_query(struct db *, const struct db_stmt *s, int n,
		    const char *const *v);
/* db_query(), once more when a retry may cure the failure: a lost
 * connection (reconnected first) or a transaction the server rolled back
 * (deadlock, serialization). Only for statements that are safe to run
 * twice, since the first may have committed before the connection died. */
struct db_res	*db_query_retry(struct db *, const struct db_stmt *s, int n,
		    const char *const *v);
/* Same, for statements whose rows we do not read; 0 or -1. */
int		 db_exec(struct db *, const struct db_stmt *s, int n,
		    const char *const *v);
/* Unparameterized SQL (migrations, BEGIN/COMMIT, LISTEN). */
int		 db_exec_sql(struct db *, const char *sql);

int		 db_rows(const struct db_res *);
const char	*db_val(const struct db_res *, int row, int col);	/* NULL if NULL */
long long	 db_affected(const struct db_res *);
void		 db_res_free(struct db_res *);

enum db_err	 db_error(const struct db *);
/* fn learns every error (an enum db_err), on the thread that met it; set
 * once, before any thread queries (fcgi/main.c counts them). */
void		 db_set_error_observer(void (*fn)(int));
const char	*db_errmsg(const struct db *);

/* LISTEN/NOTIFY, for long-lived processes. */
int		 db_socket(const struct db *);
int		 db_consume(struct db *);		/* -1: connection lost */
int		 db_notify_next(struct db *, char *chan, size_t, char *payload,
		    size_t);	/* 1 when one was returned */

/* Whether the server accepts connections, without connecting or logging:
 * lets a daemon wait out an outage quietly. 0 when it does. */
int		 db_ping(const struct db *);
/* The server process serving this connection (0 when none): a new value
 * means a new session, whose session-level locks are not ours yet. */
int		 db_backend_pid(const struct db *);

/* Asynchronous use, one statement at a time: after db_send() succeeds,
 * nothing else may run on the connection until db_wait_result() has
 * returned its result. db_result_ready() reads what has arrived without
 * blocking: 1 when db_wait_result() would not block, 0 not yet, -1 when
 * the connection is lost. */
int		 db_send(struct db *, const struct db_stmt *s, int n,
		    const char *const *v);
int		 db_result_ready(struct db *);
struct db_res	*db_wait_result(struct db *);	/* NULL on error: db_error() */

#endif /* WA_DB_H */
