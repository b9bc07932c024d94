/* shared/sig.c: HMAC over the raw body bytes, never a re-serialization. */
#include "sig.h"

#include <ctype.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

void
sig_hmac_hex(const char *key, const void *data, size_t n,
    char out[SIG_HEX_LEN + 1])
{
	static const char	hex[] = "0123456789abcdef";
	unsigned char		mac[EVP_MAX_MD_SIZE];
	unsigned int		len = 0, i;

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
