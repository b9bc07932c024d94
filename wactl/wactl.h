/* wactl/wactl.h: the admin CLI's shared pieces. */
#ifndef WA_WACTL_H
#define WA_WACTL_H

struct db;

struct cmd {
	const char	*group;		/* "tenant", or NULL for top level */
	const char	*name;
	int		(*run)(struct db *, int argc, char **argv);
	const char	*usage;
	int		 needs_db;
};

/* "--name value" from argv; NULL when absent. */
const char	*opt(int argc, char **argv, const char *name);
int		 opt_flag(int argc, char **argv, const char *name);
/* Prints "wactl: msg" to stderr and returns 1 (the exit code). */
int		 fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* With nothing configured, exports the settings of the stack `make start`
 * started (stack_env.c). */
void	stack_env_load(void);

int	cmd_migrate(struct db *, int, char **);
int	cmd_tenant_add(struct db *, int, char **);
int	cmd_tenant_list(struct db *, int, char **);
int	cmd_user_add(struct db *, int, char **);
int	cmd_token(struct db *, int, char **);
int	cmd_simulate_incoming(struct db *, int, char **);
int	cmd_webhook_replay(struct db *, int, char **);
int	cmd_apikey_add(struct db *, int, char **);
int	cmd_apikey_list(struct db *, int, char **);
int	cmd_apikey_revoke(struct db *, int, char **);

#endif /* WA_WACTL_H */
