/* shared/pw.c: argon2id with OWASP's parameters (t=2, m=19 MiB), which keep
 * a login under ~50 ms and a responder's peak memory bounded. */
#include "pw.h"

#include <pthread.h>
#include <string.h>

#include <sodium.h>

#define PW_OPSLIMIT	2
#define PW_MEMLIMIT	(19u << 20)

static char		dummy[crypto_pwhash_STRBYTES];
static pthread_once_t	dummy_once = PTHREAD_ONCE_INIT;

static void
make_dummy(void)
{
	char	random_pw[33];

	randombytes_buf(random_pw, 32);
	random_pw[32] = '\0';
	if (crypto_pwhash_str_alg(dummy, random_pw, 32, PW_OPSLIMIT,
	    PW_MEMLIMIT, crypto_pwhash_ALG_ARGON2ID13) != 0)
		dummy[0] = '\0';
}

int
pw_hash(const char *pw, char *out, size_t n)
{
	if (n < crypto_pwhash_STRBYTES)
		return -1;
	return crypto_pwhash_str_alg(out, pw, strlen(pw), PW_OPSLIMIT,
	    PW_MEMLIMIT, crypto_pwhash_ALG_ARGON2ID13) == 0 ? 0 : -1;
}

int
pw_verify(const char *hash, const char *pw)
{
	if (hash == NULL) {
		pthread_once(&dummy_once, make_dummy);
		if (crypto_pwhash_str_verify(dummy, pw, strlen(pw)) == 0)
			return 0;	/* cannot happen: random password */
		return 0;
	}
	return crypto_pwhash_str_verify(hash, pw, strlen(pw)) == 0;
}
