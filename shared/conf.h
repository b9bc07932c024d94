/* shared/conf.h: every setting, read once from the environment at start. */
#ifndef WA_CONF_H
#define WA_CONF_H

/* Which program needs a setting. */
#define CONF_FCGI	0x1
#define CONF_PUSHD	0x2
#define CONF_WACTL	0x4
#define CONF_JOBD	0x8

struct conf {
	const char	*env;		/* WA_ENV: "dev" enables dev defaults */
	int		 dev;
	const char	*database_url;
	const char	*app_secret;
	const char	*verify_token;
	const char	*jwt_secret;
	const char	*graph_url;
	const char	*graph_version;
	const char	*publish_url;
	const char	*publish_secret;
	const char	*push_module;	/* "nchan" or "pushstream" */
	const char	*log_level;
	const char	*log_file;
	const char	*pool;		/* "webhook" or "api" */
	const char	*metrics_file;	/* shared counters; "": this process's */
	const char	*public_origin;	/* optional CSRF origin override */
	long		 fcgi_threads;
	long		 user_graph_concurrency; /* 0: threads / 4 */
	long		 graph_timeout_ms;
	long		 graph_connect_timeout_ms;
	long		 session_ttl;	/* seconds */
	long		 http_port;
	long		 jobd_threads;	/* wa-jobd's workers */
	long		 send_mps;	/* per business number */
	long		 send_recipient_gap_ms;
	const char	*test_hooks;	/* WA_TEST_HOOKS: "on" or "off" */
	int		 test_hooks_on;	/* "on", and WA_ENV=dev */
};

extern struct conf conf;

/* Loads every setting `who` needs; reports all problems, then exits 1. */
void	conf_load(const char *prog, unsigned who);
/* Like conf_load, but for tests: returns the number of problems. */
int	conf_check(const char *prog, unsigned who, int quiet);

#endif /* WA_CONF_H */
