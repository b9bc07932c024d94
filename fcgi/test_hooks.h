/* fcgi/test_hooks.c: request headers that change how one request runs, so
 * the e2e tests can reach cases a real client cannot make happen quickly.
 * Only with WA_TEST_HOOKS=on, which conf refuses outside WA_ENV=dev;
 * otherwise the headers are ignored.
 *
 *   X-WA-Test-Graph-Timeout-Ms: 100..55000   this request's Graph timeout
 *   X-WA-Test-Ingest-Poison: 1               a webhook body the batched
 *       path takes is given a value the database refuses, so the batch
 *       holding it fails and its bodies take the general path alone
 *   X-WA-Test-Ingest-Hold-Ms: 1..2000        the batch this body's thread
 *       leads waits that long before it starts (ingest_batch.h)
 */
#ifndef WA_TEST_HOOKS_H
#define WA_TEST_HOOKS_H

/* Applies the hooks a request's parameters (FastCGI envp) ask for. */
void	test_hooks_begin(char **envp);
/* Whether this request asks for a poisoned batch (see above). */
int	test_hooks_poison(char **envp);
/* The hold this request asks for, in ms (0: none). */
int	test_hooks_hold_ms(char **envp);
/* Undoes them once the request is over. */
void	test_hooks_end(void);

#endif /* WA_TEST_HOOKS_H */
