/* shared/conf.c: one row per setting (name, type, destination, defaults,
 * bounds, who needs it); nothing else in the code calls getenv(). */
#include "conf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

struct conf conf;

enum { T_STR, T_INT };
#define SECRET	0x100		/* must be set outside dev, never the dev value */

static const struct setting {
	const char	*name;
	int		 type;
	void		*dst;
	const char	*def;		/* NULL: required */
	const char	*dev_def;	/* default when WA_ENV=dev */
	long		 min, max;
	unsigned	 who;
} settings[] = {
	{ "WA_DATABASE_URL", T_STR, &conf.database_url, NULL, NULL, 0, 0,
	    CONF_FCGI | CONF_JOBD | CONF_PUSHD | CONF_WACTL },
	{ "WA_APP_SECRET", T_STR, &conf.app_secret, NULL, "dev-app-secret",
	    0, 0, CONF_FCGI | CONF_WACTL | SECRET },
	{ "WA_VERIFY_TOKEN", T_STR, &conf.verify_token, NULL,
	    "dev-verify-token", 0, 0, CONF_FCGI | SECRET },
	{ "WA_JWT_SECRET", T_STR, &conf.jwt_secret, NULL, "dev-jwt-secret",
	    0, 0, CONF_FCGI | CONF_WACTL | SECRET },
	{ "WA_GRAPH_URL", T_STR, &conf.graph_url,
	    "https://graph.facebook.com", NULL, 0, 0,
	    CONF_FCGI | CONF_JOBD | CONF_WACTL },
	{ "WA_GRAPH_VERSION", T_STR, &conf.graph_version, "v21.0", NULL,
	    0, 0, CONF_FCGI | CONF_JOBD | CONF_WACTL },
	{ "WA_PUBLISH_URL", T_STR, &conf.publish_url,
	    "http://127.0.0.1:8081/pub", NULL, 0, 0, CONF_PUSHD },
	/* nginx's publisher takes only requests with this key. */
	{ "WA_PUBLISH_SECRET", T_STR, &conf.publish_secret, NULL,
	    "dev-publish-secret", 0, 0, CONF_PUSHD | SECRET },
	{ "WA_PUSH_MODULE", T_STR, &conf.push_module, "pushstream", NULL, 0, 0,
	    CONF_PUSHD },
	{ "WA_LOG_LEVEL", T_STR, &conf.log_level, "info", NULL, 0, 0,
	    CONF_FCGI | CONF_JOBD | CONF_PUSHD | CONF_WACTL },
	{ "WA_LOG_FILE", T_STR, &conf.log_file, "", NULL, 0, 0,
	    CONF_FCGI | CONF_JOBD | CONF_PUSHD },
	{ "WA_POOL", T_STR, &conf.pool, "api", NULL, 0, 0, CONF_FCGI },
	/* Every responder's counters, in one file (fcgi/metrics.c). */
	{ "WA_METRICS_FILE", T_STR, &conf.metrics_file, "", NULL, 0, 0,
	    CONF_FCGI },
	{ "WA_PUBLIC_ORIGIN", T_STR, &conf.public_origin, "", NULL, 0, 0,
	    CONF_FCGI },
	{ "WA_FCGI_THREADS", T_INT, &conf.fcgi_threads, "4", NULL, 1, 256,
	    CONF_FCGI },
	{ "WA_USER_GRAPH_CONCURRENCY", T_INT, &conf.user_graph_concurrency,
	    "0", NULL, 0, 256, CONF_FCGI },
	/* At most 55 s: a send may try twice, and nginx waits 120 s for the
	 * responder (nginx/fastcgi.conf) before answering 504 itself. */
	{ "WA_GRAPH_TIMEOUT_MS", T_INT, &conf.graph_timeout_ms, "15000",
	    NULL, 100, 55000, CONF_FCGI | CONF_JOBD | CONF_WACTL },
	{ "WA_GRAPH_CONNECT_TIMEOUT_MS", T_INT, &conf.graph_connect_timeout_ms,
	    "3000", NULL, 50, 60000, CONF_FCGI | CONF_JOBD | CONF_WACTL },
	{ "WA_SESSION_TTL", T_INT, &conf.session_ttl, "43200", NULL, 60,
	    31 * 86400, CONF_FCGI | CONF_WACTL },
	{ "WA_HTTP_PORT", T_INT, &conf.http_port, "8080", NULL, 1, 65535,
	    CONF_WACTL },
	/* wa-jobd's worker threads: jobs (Graph calls) in flight at once,
	 * each with its own database connection. */
	{ "WA_JOBD_THREADS", T_INT, &conf.jobd_threads, "16", NULL, 1, 256,
	    CONF_JOBD },
	/* Meta's throughput per business number (80 by default, 1,000 once
	 * Meta raises it); a tenant's settings.send_mps overrides it. */
	{ "WA_SEND_MPS", T_INT, &conf.send_mps, "80", NULL, 1, 10000,
	    CONF_JOBD },
	/* Between two queued sends to one recipient (Meta's pair rate
	 * limit, error 131056). */
	{ "WA_SEND_RECIPIENT_GAP_MS", T_INT, &conf.send_recipient_gap_ms,
	    "1000", NULL, 0, 600000, CONF_JOBD },
	/* "on": request headers may change how a request runs (fcgi/
	 * test_hooks.c), for the e2e tests; refused outside WA_ENV=dev. */
	{ "WA_TEST_HOOKS", T_STR, &conf.test_hooks, "off", NULL, 0, 0,
	    CONF_FCGI },
};

static int
setting_load(const char *prog, const struct setting *s, int quiet)
{
	const char	*v = getenv(s->name);
	int		 secret = (s->who & SECRET) != 0;
	char		*end;
	long		 n;

	if (v == NULL || *v == '\0')
		v = conf.dev && s->dev_def != NULL ? s->dev_def : s->def;
	if (v == NULL) {
		if (!quiet)
			fprintf(stderr, "%s: refusing to start: %s is not set%s\n",
			    prog, s->name, secret ? " (required outside "
			    "WA_ENV=dev)" : "");
		return 1;
	}
	if (secret && !conf.dev && s->dev_def != NULL &&
	    strcmp(v, s->dev_def) == 0) {
		if (!quiet)
			fprintf(stderr, "%s: refusing to start: %s is still the "
			    "development value\n", prog, s->name);
		return 1;
	}
	if (s->type == T_STR) {
		*(const char **)s->dst = v;
		return 0;
	}
	n = strtol(v, &end, 10);
	if (*end != '\0' || n < s->min || n > s->max) {
		if (!quiet)
			fprintf(stderr, "%s: refusing to start: %s=%s: want an "
			    "integer %ld..%ld\n", prog, s->name, v, s->min,
			    s->max);
		return 1;
	}
	*(long *)s->dst = n;
	return 0;
}

/* Sets conf.test_hooks_on; 1 when WA_TEST_HOOKS is wrong or, outside
 * dev, on: a client must never steer a production responder. */
static int
test_hooks_bad(const char *prog, int quiet)
{
	if (strcmp(conf.test_hooks, "off") == 0)
		return 0;
	if (strcmp(conf.test_hooks, "on") != 0) {
		if (!quiet)
			fprintf(stderr, "%s: refusing to start: WA_TEST_HOOKS "
			    "must be on or off\n", prog);
		return 1;
	}
	if (!conf.dev) {
		if (!quiet)
			fprintf(stderr, "%s: refusing to start: WA_TEST_HOOKS=on "
			    "outside WA_ENV=dev\n", prog);
		return 1;
	}
	conf.test_hooks_on = 1;
	return 0;
}

int
conf_check(const char *prog, unsigned who, int quiet)
{
	const char	*env = getenv("WA_ENV");
	size_t		 i;
	int		 bad = 0;

	memset(&conf, 0, sizeof(conf));
	conf.env = env != NULL && *env != '\0' ? env : "production";
	conf.dev = strcmp(conf.env, "dev") == 0;
	for (i = 0; i < nitems(settings); i++)
		if (settings[i].who & who)
			bad += setting_load(prog, &settings[i], quiet);
	if ((who & CONF_FCGI) && strcmp(conf.pool, "api") != 0 &&
	    strcmp(conf.pool, "webhook") != 0) {
		if (!quiet)
			fprintf(stderr, "%s: refusing to start: WA_POOL must "
			    "be api or webhook\n", prog);
		bad++;
	}
	if ((who & CONF_FCGI) && test_hooks_bad(prog, quiet))
		bad++;
	if ((who & (CONF_FCGI | CONF_WACTL)) && !conf.dev &&
	    conf.jwt_secret != NULL && strlen(conf.jwt_secret) < 32) {
		if (!quiet)
			fprintf(stderr, "%s: refusing to start: WA_JWT_SECRET "
			    "must be at least 32 bytes\n", prog);
		bad++;
	}
	return bad;
}

void
conf_load(const char *prog, unsigned who)
{
	if (conf_check(prog, who, 0) != 0)
		exit(1);
}
