/* wactl/migrate.c: applies schema/NNN_*.sql in order, each once, each in
 * its own transaction, recorded in schema_migrations; then every file of
 * schema/functions/, whole, in one transaction. Migrations hold tables,
 * indexes and data changes; functions are code, kept in files by concern
 * and redefined whole (CREATE OR REPLACE) on every migrate, never patched.
 * (Migrations 001-009 still define their functions inline: moving them
 * is issue 13's.) */
#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "db.h"
#include "wactl.h"

#define MAX_MIGRATIONS	256

static const struct db_stmt applied = { "migrate_applied",
	"SELECT 1 FROM schema_migrations WHERE version = $1" };
static const struct db_stmt record = { "migrate_record",
	"INSERT INTO schema_migrations (version) VALUES ($1)" };

/* WA_SCHEMA_DIR, else a schema/ folder beside or above the binary. */
static int
schema_dir(char *out, size_t n)
{
	char	 exe[PATH_MAX], *slash;
	ssize_t	 len;
	int	 up;

	if (getenv("WA_SCHEMA_DIR") != NULL) {
		snprintf(out, n, "%s", getenv("WA_SCHEMA_DIR"));
		return 0;
	}
	if ((len = readlink("/proc/self/exe", exe, sizeof(exe) - 1)) <= 0)
		return -1;
	exe[len] = '\0';
	for (up = 0; up < 4 && (slash = strrchr(exe, '/')) != NULL; up++) {
		*slash = '\0';
		snprintf(out, n, "%s/schema/001_init.sql", exe);
		if (access(out, R_OK) == 0) {
			snprintf(out, n, "%s/schema", exe);
			return 0;
		}
	}
	return -1;
}

static int
cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int
read_file(const char *path, struct buf *out)
{
	FILE	*f;
	char	 chunk[8192];
	size_t	 n;

	if ((f = fopen(path, "r")) == NULL)
		return -1;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		buf_append(out, chunk, n);
	fclose(f);
	return 0;
}

static int
apply(struct db *db, const char *dir, const char *name)
{
	const char	*v[] = { name };
	struct db_res	*res;
	struct buf	 sql = BUF_INIT;
	char		 path[PATH_MAX];
	int		 done, rc = 1;

	if ((res = db_query(db, &applied, 1, v)) == NULL)
		return fail("migrate: %s", db_errmsg(db));
	done = db_rows(res) == 1;
	db_res_free(res);
	if (done)
		return 0;
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (read_file(path, &sql) != 0)
		return fail("migrate: cannot read %s", path);
	if (db_exec_sql(db, "BEGIN") != 0 ||
	    db_exec_sql(db, buf_str(&sql)) != 0 ||
	    db_exec(db, &record, 1, v) != 0 ||
	    db_exec_sql(db, "COMMIT") != 0) {
		fail("migrate: %s: %s", name, db_errmsg(db));
		db_exec_sql(db, "ROLLBACK");
		goto out;
	}
	printf("applied %s\n", name);
	rc = 0;
out:
	buf_free(&sql);
	return rc;
}

/* The .sql files of dir, sorted: their count, or -1. */
static int
sql_files(const char *dir, char *names[], int max)
{
	DIR		*d;
	struct dirent	*e;
	size_t		 len;
	int		 n = 0;

	if ((d = opendir(dir)) == NULL)
		return -1;
	while ((e = readdir(d)) != NULL && n < max) {
		len = strlen(e->d_name);
		if (len > 4 && strcmp(e->d_name + len - 4, ".sql") == 0)
			names[n++] = strdup(e->d_name);
	}
	closedir(d);
	qsort(names, (size_t)n, sizeof(names[0]), cmp_names);
	return n;
}

/* Every .sql file in schema/functions/, in one transaction: a responder
 * never sees half of a new set. Silent: it happens on every migrate. */
static int
apply_functions(struct db *db, const char *schema)
{
	char		 dir[PATH_MAX], path[PATH_MAX], *names[MAX_MIGRATIONS];
	struct buf	 sql = BUF_INIT;
	int		 n, i, rc = 0;

	snprintf(dir, sizeof(dir), "%s/functions", schema);
	if ((n = sql_files(dir, names, MAX_MIGRATIONS)) < 0)
		return 0;	/* none */
	for (i = 0; i < n && rc == 0; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		if (read_file(path, &sql) != 0)
			rc = fail("migrate: cannot read %s", path);
		buf_append(&sql, "\n", 1);
	}
	for (i = 0; i < n; i++)
		free(names[i]);
	if (rc == 0 && (db_exec_sql(db, "BEGIN") != 0 ||
	    db_exec_sql(db, buf_str(&sql)) != 0 ||
	    db_exec_sql(db, "COMMIT") != 0)) {
		rc = fail("migrate: functions/: %s", db_errmsg(db));
		db_exec_sql(db, "ROLLBACK");
	}
	buf_free(&sql);
	return rc;
}

int
cmd_migrate(struct db *db, int argc, char **argv)
{
	char		 dir[PATH_MAX], *names[MAX_MIGRATIONS];
	int		 n, i, rc = 0;

	(void)argc;
	(void)argv;
	if (schema_dir(dir, sizeof(dir)) != 0 ||
	    (n = sql_files(dir, names, MAX_MIGRATIONS)) < 0)
		return fail("migrate: no schema directory (set WA_SCHEMA_DIR)");
	/* Two migrators at once (two `make start`s) must not interleave. */
	if (db_exec_sql(db, "SELECT pg_advisory_lock(4242001)") != 0 ||
	    db_exec_sql(db, "CREATE TABLE IF NOT EXISTS schema_migrations ("
	    "version text PRIMARY KEY, applied_at timestamptz NOT NULL "
	    "DEFAULT now())") != 0)
		rc = fail("migrate: %s", db_errmsg(db));
	for (i = 0; i < n; i++) {
		if (rc == 0)
			rc = apply(db, dir, names[i]);
		free(names[i]);
	}
	if (rc == 0)
		rc = apply_functions(db, dir);
	db_exec_sql(db, "SELECT pg_advisory_unlock(4242001)");
	return rc;
}
