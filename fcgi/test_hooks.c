/* fcgi/test_hooks.c: test-only request headers (see test_hooks.h). */
#include "test_hooks.h"

#include <stdlib.h>

#include <fcgiapp.h>

#include "conf.h"
#include "graph.h"

#define GRAPH_TIMEOUT_PARAM	"HTTP_X_WA_TEST_GRAPH_TIMEOUT_MS"

void
test_hooks_begin(char **envp)
{
	const char	*v;
	char		*end;
	long		 ms;

	if (!conf.test_hooks_on)
		return;
	if ((v = FCGX_GetParam(GRAPH_TIMEOUT_PARAM, envp)) == NULL)
		return;
	ms = strtol(v, &end, 10);
	if (*v != '\0' && *end == '\0' && ms >= 100 && ms <= 55000)
		graph_set_timeout(ms);
}

int
test_hooks_poison(char **envp)
{
	const char	*v;

	return conf.test_hooks_on && (v = FCGX_GetParam(
	    "HTTP_X_WA_TEST_INGEST_POISON", envp)) != NULL && *v == '1';
}

int
test_hooks_hold_ms(char **envp)
{
	const char	*v;
	char		*end;
	long		 ms;

	if (!conf.test_hooks_on || (v = FCGX_GetParam(
	    "HTTP_X_WA_TEST_INGEST_HOLD_MS", envp)) == NULL)
		return 0;
	ms = strtol(v, &end, 10);
	return *v != '\0' && *end == '\0' && ms >= 1 && ms <= 2000 ?
	    (int)ms : 0;
}

void
test_hooks_end(void)
{
	graph_set_timeout(0);
}
