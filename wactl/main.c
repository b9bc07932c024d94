/* wactl/main.c: the admin CLI: commands and options. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
	    "--phone-number-id P --waba-id W (--access-token-file PATH|- | "
	    "--access-token T) "
	    "[--catalog-id C] [--display-phone D] [--poll on|off]", 1 },
	{ "tenant", "list", cmd_tenant_list, "tenant list", 1 },
	{ "user", "add", cmd_user_add, "user add --email E --password-stdin "
	    "--tenant ID [--role owner|agent] [--if-missing]", 1 },
	{ "apikey", "add", cmd_apikey_add, "apikey add --tenant ID --name N "
	    "[--scope read|send|send,read]", 1 },
	{ "apikey", "list", cmd_apikey_list, "apikey list --tenant ID", 1 },
	{ "apikey", "revoke", cmd_apikey_revoke, "apikey revoke ID|PREFIX", 1 },
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
	stack_env_load();
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
