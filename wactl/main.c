/* wactl/main.c: the admin CLI: commands, options, and finding the settings
 * of the stack `make start` started when nothing is set. */
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>
#include <sodium.h>

#include "conf.h"
#include "db.h"
#include "log.h"
#include "util.h"
#include "wactl.h"

static const struct cmd cmds[] = {
	{ NULL, "migrate", cmd_migrate, "migrate", 1 },
	{ "tenant", "add", cmd_tenant_add, "tenant add --name N "
	    "--phone-number-id P --waba-id W --access-token T "
	    "[--catalog-id C] [--display-phone D] [--poll on|off]", 1 },
	{ "tenant", "list", cmd_tenant_list, "tenant list", 1 },
	{ "user", "add", cmd_user_add, "user add --email E --password-stdin "
	    "--tenant ID [--role owner|agent] [--if-missing]", 1 },
	{ "webhook", "replay", cmd_webhook_replay, "webhook replay "
	    "[--id N] [--all]", 1 },
	{ NULL, "token", cmd_token, "token --email E [--tenant ID] "
	    "[--ttl SECONDS]", 1 },
	{ "simulate", "incoming", cmd_simulate_incoming, "simulate incoming "
	    "--tenant ID --from PHONE [--name N] [--reply-to WAMID] "
	    "(--text T | --image|--video|--audio|--voice|--document|--sticker "
	    "FILE [--caption C] | --location LAT,LON | --button-reply "
	    "ID:TITLE)", 1 },
};

const char *
opt(int argc, char **argv, const char *name)
{
	int	i;

	for (i = 0; i < argc - 1; i++)
		if (strcmp(argv[i], name) == 0)
			return argv[i + 1];
	return NULL;
}

int
opt_flag(int argc, char **argv, const char *name)
{
	int	i;

	for (i = 0; i < argc; i++)
		if (strcmp(argv[i], name) == 0)
			return 1;
	return 0;
}

int
fail(const char *fmt, ...)
{
	va_list	ap;

	fputs("wactl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return 1;
}

/* Exports KEY=value lines of a stack.env for keys not already set. */
static int
load_env_file(const char *path)
{
	FILE	*f;
	char	 line[4096], *eq;

	if ((f = fopen(path, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL) {
		line[strcspn(line, "\n")] = '\0';
		if ((eq = strchr(line, '=')) == NULL || line[0] == '#')
			continue;
		*eq = '\0';
		setenv(line, eq + 1, 0);
	}
	fclose(f);
	return 0;
}

/* With no database configured, use the stack `make start` started: look
 * for var/stack.env (or stack.env) beside the binary and above it. */
static void
find_stack_env(void)
{
	char	dir[PATH_MAX], path[PATH_MAX + 32], *slash;
	ssize_t	n;
	int	up;

	if (getenv("WA_DATABASE_URL") != NULL)
		return;
	if (getenv("WA_STACK_ENV") != NULL &&
	    load_env_file(getenv("WA_STACK_ENV")) == 0)
		return;
	if ((n = readlink("/proc/self/exe", dir, sizeof(dir) - 1)) <= 0)
		return;
	dir[n] = '\0';
	for (up = 0; up < 4 && (slash = strrchr(dir, '/')) != NULL; up++) {
		*slash = '\0';
		snprintf(path, sizeof(path), "%s/var/stack.env", dir);
		if (load_env_file(path) == 0)
			return;
		snprintf(path, sizeof(path), "%s/stack.env", dir);
		if (load_env_file(path) == 0)
			return;
	}
}

static void
usage(void)
{
	size_t	i;

	fprintf(stderr, "usage:\n");
	for (i = 0; i < nitems(cmds); i++)
		fprintf(stderr, "  wactl %s\n", cmds[i].usage);
}

static const struct cmd *
lookup(int argc, char **argv, int *used)
{
	size_t	i;

	for (i = 0; i < nitems(cmds); i++) {
		if (cmds[i].group == NULL && argc >= 2 &&
		    strcmp(argv[1], cmds[i].name) == 0) {
			*used = 2;
			return &cmds[i];
		}
		if (cmds[i].group != NULL && argc >= 3 &&
		    strcmp(argv[1], cmds[i].group) == 0 &&
		    strcmp(argv[2], cmds[i].name) == 0) {
			*used = 3;
			return &cmds[i];
		}
	}
	return NULL;
}

int
main(int argc, char **argv)
{
	const struct cmd	*c;
	struct db		*db = NULL;
	int			 used = 0, rc;

	if ((c = lookup(argc, argv, &used)) == NULL) {
		usage();
		return 2;
	}
	find_stack_env();
	if (conf_check("wactl", CONF_WACTL, 0) != 0)
		return 1;
	log_init("wactl", getenv("WA_LOG_LEVEL") ? conf.log_level : "warn",
	    NULL);
	if (sodium_init() < 0 || curl_global_init(CURL_GLOBAL_DEFAULT) != 0)
		return fail("library initialisation failed");
	if (c->needs_db) {
		db = db_open(conf.database_url, "wactl");
		if (!db_connected(db)) {
			rc = fail("cannot reach the database: %s",
			    db_errmsg(db));
			db_close(db);
			return rc;
		}
	}
	rc = c->run(db, argc - used, argv + used);
	db_close(db);
	curl_global_cleanup();
	return rc;
}
