/* wactl/migrate.c: `wactl migrate`, the database brought to schema/.
 *
 * Migrations (schema/NNN_*.sql: tables, types, indexes, data changes) are
 * applied in name order, each once, in its own transaction, and recorded
 * in schema_migrations with the SHA-256 of the file. A migration is never
 * edited once applied (a change is a new file): when an applied file's
 * checksum no longer matches, nothing is applied and the file is named.
 * Then the function files listed in schema/functions/manifest are applied
 * whole, in one transaction, on every run (CREATE OR REPLACE: functions
 * are code, redefined, never patched), and the tables that hold rows
 * are analyzed. */
#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/sha.h>

#include "buf.h"
#include "db.h"
#include "wactl.h"

#define MAX_FILES	256
#define SUM_LEN		(2 * SHA256_DIGEST_LENGTH + 1)

/* checksum is NULL in rows written before checksums were recorded. */
static const char *const table_sql[] = {
	"CREATE TABLE IF NOT EXISTS schema_migrations ("
	"version text PRIMARY KEY, applied_at timestamptz NOT NULL "
	"DEFAULT now(), checksum text)",
	"ALTER TABLE schema_migrations ADD COLUMN IF NOT EXISTS checksum text",
};
static const struct db_stmt applied = { "migrate_applied",
	"SELECT coalesce(checksum, '') FROM schema_migrations"
	" WHERE version = $1" };
static const struct db_stmt record = { "migrate_record",
	"INSERT INTO schema_migrations (version, checksum) VALUES ($1, $2)" };
static const struct db_stmt backfill = { "migrate_backfill",
	"UPDATE schema_migrations SET checksum = $2"
	" WHERE version = $1 AND checksum IS NULL" };

/* Statistics of every table that holds rows, so plans chosen from here on
 * see what is there (a migration may have filled or changed a table; an
 * ANALYZE reads a sample of it). Not of empty tables: the planner takes a
 * table never analyzed for one that will grow (ten pages at least), and
 * one analyzed empty for empty, choosing sequential scans that a cached
 * plan keeps until the next ANALYZE. On a new database, wa-pushd's probe
 * of events (pushd/outbox.c), planned generic after five runs on an
 * analyzed empty table, kept reading events sequentially once 50,000 were
 * there; never analyzed, it used events_unsequenced. Autovacuum analyzes
 * each table as it fills (013_autovacuum.sql). */
static const char analyze_sql[] =
	"DO $$ DECLARE t regclass; BEGIN"
	" FOR t IN SELECT relid FROM pg_stat_user_tables"
	"  WHERE pg_relation_size(relid) > 0 ORDER BY relid LOOP"
	"  EXECUTE format('ANALYZE %s', t);"
	" END LOOP; END $$";

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

/* dir/name read into sql, and its SHA-256 as hex into sum. */
static int
read_migration(const char *dir, const char *name, struct buf *sql,
    char sum[SUM_LEN])
{
	unsigned char	md[SHA256_DIGEST_LENGTH];
	char		path[PATH_MAX];
	size_t		i;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (read_file(path, sql) != 0)
		return fail("migrate: cannot read %s", path);
	SHA256((const unsigned char *)buf_str(sql), sql->len, md);
	for (i = 0; i < sizeof(md); i++)
		snprintf(sum + 2 * i, 3, "%02x", md[i]);
	return 0;
}

/* The checksum recorded for name into sum ("" when recorded without
 * one): 1 when recorded, 0 when not yet applied, -1 on error. */
static int
recorded(struct db *db, const char *name, char sum[SUM_LEN])
{
	const char	*v[] = { name };
	struct db_res	*res;
	int		 found;

	if ((res = db_query(db, &applied, 1, v)) == NULL)
		return -1;
	if ((found = db_rows(res) == 1))
		snprintf(sum, SUM_LEN, "%s", db_val(res, 0, 0));
	db_res_free(res);
	return found;
}

/* 0 when every applied migration is as it was applied; otherwise each
 * changed one is named, and nothing may be applied. */
static int
check_unchanged(struct db *db, const char *dir, char *names[], int n)
{
	struct buf	 sql = BUF_INIT;
	char		 now[SUM_LEN], then[SUM_LEN];
	int		 i, r, rc = 0;

	for (i = 0; i < n; i++) {
		buf_reset(&sql);
		if (read_migration(dir, names[i], &sql, now) != 0) {
			rc = 1;
			break;
		}
		if ((r = recorded(db, names[i], then)) < 0) {
			rc = fail("migrate: %s", db_errmsg(db));
			break;
		}
		if (r == 1 && then[0] != '\0' && strcmp(then, now) != 0)
			rc = fail("migrate: %s/%s changed after it was applied"
			    " (sha256 %.12s..., now %.12s...): a migration is"
			    " applied once; restore it and put the change in"
			    " a new file", dir, names[i], then, now);
	}
	buf_free(&sql);
	return rc;
}

/* Applies one migration unless it was. A row without a checksum was
 * written before checksums were recorded: the file as it is now is taken
 * as the one applied (issue 13 moved every function out of 001-009, so
 * those files changed after older databases applied them). */
static int
apply(struct db *db, const char *dir, const char *name)
{
	struct buf	 sql = BUF_INIT;
	char		 sum[SUM_LEN], then[SUM_LEN];
	const char	*v[] = { name, sum };
	int		 r, rc = 1;

	if (read_migration(dir, name, &sql, sum) != 0)
		goto out;
	if ((r = recorded(db, name, then)) < 0) {
		fail("migrate: %s", db_errmsg(db));
		goto out;
	}
	if (r == 1) {
		if (then[0] == '\0' && db_exec(db, &backfill, 2, v) != 0) {
			fail("migrate: %s: %s", name, db_errmsg(db));
			goto out;
		}
		rc = 0;
		goto out;
	}
	if (db_exec_sql(db, "BEGIN") != 0 ||
	    db_exec_sql(db, buf_str(&sql)) != 0 ||
	    db_exec(db, &record, 2, v) != 0 ||
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

static void
free_names(char *names[], int n)
{
	while (n > 0)
		free(names[--n]);
}

/* The file names functions/manifest lists, in its order (blank lines
 * and # comments skipped): their count, or -1. */
static int
manifest(const char *dir, char *names[], int max)
{
	struct buf	 text = BUF_INIT;
	char		 path[PATH_MAX], *line, *save, *end;
	int		 n = 0;

	snprintf(path, sizeof(path), "%s/manifest", dir);
	if (read_file(path, &text) != 0) {
		fail("migrate: cannot read %s", path);
		return -1;
	}
	for (line = strtok_r(text.data, "\n", &save); line != NULL &&
	    n < max; line = strtok_r(NULL, "\n", &save)) {
		line += strspn(line, " \t");
		end = line + strlen(line);
		while (end > line && (end[-1] == ' ' || end[-1] == '\t' ||
		    end[-1] == '\r'))
			*--end = '\0';
		if (*line != '\0' && *line != '#')
			names[n++] = strdup(line);
	}
	buf_free(&text);
	return n;
}

/* 0 when every .sql file of dir is listed: a file left out of the
 * manifest would never be applied, silently. */
static int
check_listed(const char *dir, char *listed[], int n)
{
	char	*names[MAX_FILES];
	int	 m, i, j, rc = 0;

	if ((m = sql_files(dir, names, MAX_FILES)) < 0)
		return fail("migrate: cannot list %s", dir);
	for (i = 0; i < m; i++) {
		for (j = 0; j < n && strcmp(names[i], listed[j]) != 0; j++)
			;
		if (j == n)
			rc = fail("migrate: %s/%s is not in %s/manifest (list"
			    " it after the files it uses)", dir, names[i],
			    dir);
	}
	free_names(names, m);
	return rc;
}

/* The function files, in the manifest's order. */
struct fn_files {
	char		*names[MAX_FILES];
	struct buf	 sql[MAX_FILES];
	int		 n;
};

static void
fn_files_free(struct fn_files *f)
{
	while (f->n > 0) {
		f->n--;
		free(f->names[f->n]);
		buf_free(&f->sql[f->n]);
	}
}

/* The files functions/manifest lists, read into f (zeroed by the
 * caller); a missing or unlisted file stops the migrate before anything
 * is applied. */
static int
load_functions(const char *schema, struct fn_files *f)
{
	char	 dir[PATH_MAX], path[PATH_MAX];
	int	 i, rc;

	snprintf(dir, sizeof(dir), "%s/functions", schema);
	if ((f->n = manifest(dir, f->names, MAX_FILES)) < 0) {
		f->n = 0;
		return 1;
	}
	rc = check_listed(dir, f->names, f->n);
	for (i = 0; i < f->n && rc == 0; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, f->names[i]);
		if (read_file(path, &f->sql[i]) != 0)
			rc = fail("migrate: cannot read %s (listed in %s/"
			    "manifest)", path, dir);
	}
	return rc;
}

/* All function files in one transaction, a statement each (an error
 * names its file): a responder never sees half of a new set. Silent: it
 * happens on every migrate. */
static int
apply_functions(struct db *db, const struct fn_files *f)
{
	int	i;

	if (db_exec_sql(db, "BEGIN") != 0)
		return fail("migrate: %s", db_errmsg(db));
	for (i = 0; i < f->n; i++)
		if (db_exec_sql(db, buf_str(&f->sql[i])) != 0) {
			fail("migrate: functions/%s: %s", f->names[i],
			    db_errmsg(db));
			db_exec_sql(db, "ROLLBACK");
			return 1;
		}
	if (db_exec_sql(db, "COMMIT") != 0)
		return fail("migrate: functions/: %s", db_errmsg(db));
	return 0;
}

/* Migrations, then functions, then statistics. */
static int
migrate(struct db *db, const char *dir, char *names[], int n,
    const struct fn_files *functions)
{
	size_t	i;
	int	j;

	for (i = 0; i < sizeof(table_sql) / sizeof(table_sql[0]); i++)
		if (db_exec_sql(db, table_sql[i]) != 0)
			return fail("migrate: %s", db_errmsg(db));
	if (check_unchanged(db, dir, names, n) != 0)
		return 1;
	for (j = 0; j < n; j++)
		if (apply(db, dir, names[j]) != 0)
			return 1;
	if (apply_functions(db, functions) != 0)
		return 1;
	if (db_exec_sql(db, analyze_sql) != 0)
		return fail("migrate: ANALYZE: %s", db_errmsg(db));
	return 0;
}

int
cmd_migrate(struct db *db, int argc, char **argv)
{
	struct fn_files	 functions = { .n = 0 };
	char		 dir[PATH_MAX], *names[MAX_FILES];
	int		 n, rc;

	(void)argc;
	(void)argv;
	if (schema_dir(dir, sizeof(dir)) != 0 ||
	    (n = sql_files(dir, names, MAX_FILES)) < 0)
		return fail("migrate: no schema directory (set WA_SCHEMA_DIR)");
	if ((rc = load_functions(dir, &functions)) != 0)
		goto out;
	/* Two migrators at once (two `make start`s) must not interleave. */
	if (db_exec_sql(db, "SELECT pg_advisory_lock(4242001)") != 0)
		rc = fail("migrate: %s", db_errmsg(db));
	else
		rc = migrate(db, dir, names, n, &functions);
	db_exec_sql(db, "SELECT pg_advisory_unlock(4242001)");
out:
	free_names(names, n);
	fn_files_free(&functions);
	return rc;
}
