/* shared/sig.c: HMAC over the raw body bytes, never a re-serialization. */
#include "sig.h"

#include <ctype.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

/* A thread's HMAC context, keyed once for as long as the key stays the
 * same (the app secret, for every webhook). OpenSSL 3's one-shot HMAC()
 * looks the algorithm up and sets the key up again on every call: most of
 * its cost on a body of a few KB. */
struct keyed {
	EVP_MAC_CTX	*ctx;
	char		*key;
};

static pthread_once_t	 once = PTHREAD_ONCE_INIT;
static pthread_key_t	 tls;
static EVP_MAC		*mac_alg;

static void
keyed_free(void *p)
{
	struct keyed	*k = p;

	EVP_MAC_CTX_free(k->ctx);
	free(k->key);
	free(k);
}

static void
setup(void)
{
	if (pthread_key_create(&tls, keyed_free) == 0)
		mac_alg = EVP_MAC_fetch(NULL, "HMAC", NULL);
}

/* This thread's context, ready for data under key; NULL on any failure
 * (the caller then takes the one-shot way). */
static EVP_MAC_CTX *
keyed_ctx(const char *key)
{
	OSSL_PARAM	 p[] = { OSSL_PARAM_construct_utf8_string(
	    OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0),
	    OSSL_PARAM_construct_end() };
	struct keyed	*k;

	pthread_once(&once, setup);
	if (mac_alg == NULL)
		return NULL;
	if ((k = pthread_getspecific(tls)) == NULL) {
		if ((k = calloc(1, sizeof(*k))) == NULL)
			return NULL;
		if ((k->ctx = EVP_MAC_CTX_new(mac_alg)) == NULL ||
		    pthread_setspecific(tls, k) != 0) {
			keyed_free(k);
			return NULL;
		}
	}
	if (k->key != NULL && strcmp(k->key, key) == 0)
		/* The same key: HMAC starts over from the keyed state. */
		return EVP_MAC_init(k->ctx, NULL, 0, NULL) == 1 ? k->ctx : NULL;
	free(k->key);
	k->key = NULL;
	if (EVP_MAC_init(k->ctx, (const unsigned char *)key, strlen(key),
	    p) != 1 || (k->key = strdup(key)) == NULL)
		return NULL;
	return k->ctx;
}

void
sig_hmac_hex(const char *key, const void *data, size_t n,
    char out[SIG_HEX_LEN + 1])
{
	static const char	hex[] = "0123456789abcdef";
	unsigned char		mac[EVP_MAX_MD_SIZE];
	unsigned int		len = 0, i;
	size_t			got = 0;
	EVP_MAC_CTX		*ctx = keyed_ctx(key);

	if (ctx != NULL && EVP_MAC_update(ctx, data, n) == 1 &&
	    EVP_MAC_final(ctx, mac, &got, sizeof(mac)) == 1)
		len = (unsigned int)got;
	else
		HMAC(EVP_sha256(), key, (int)strlen(key), data, n, mac, &len);
	for (i = 0; i < len && i < SIG_HEX_LEN / 2; i++) {
		out[2 * i] = hex[mac[i] >> 4];
		out[2 * i + 1] = hex[mac[i] & 0xf];
	}
	out[SIG_HEX_LEN] = '\0';
}

int
sig_header_valid(const char *header)
{
	return header != NULL && strncmp(header, "sha256=", 7) == 0 &&
	    strlen(header + 7) == SIG_HEX_LEN &&
	    strspn(header + 7, "0123456789abcdefABCDEF") == SIG_HEX_LEN;
}

int
sig_valid(const char *secret, const void *body, size_t n, const char *header)
{
	char	want[SIG_HEX_LEN + 1], got[SIG_HEX_LEN + 1];
	size_t	i;

	if (!sig_header_valid(header))
		return 0;
	for (i = 0; i < SIG_HEX_LEN; i++)
		got[i] = (char)tolower((unsigned char)header[7 + i]);
	got[SIG_HEX_LEN] = '\0';
	sig_hmac_hex(secret, body, n, want);
	return CRYPTO_memcmp(want, got, SIG_HEX_LEN) == 0;
}
