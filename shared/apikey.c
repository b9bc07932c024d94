/* shared/apikey.c: minting, hashing and reading API keys. A key carries
 * 256 random bits, so a plain SHA-256 stores it safely (no salt or slow
 * hash needed: nothing to guess), and a lookup by hash needs no
 * constant-time compare. */
#include "apikey.h"

#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "util.h"

static const struct {
	const char	*name;
	unsigned	 bit;
} scopes[] = {
	{ "read", APIKEY_SCOPE_READ },
	{ "send", APIKEY_SCOPE_SEND },
};

int
apikey_hash(const char *key, char hash_hex[APIKEY_HASH_HEX + 1])
{
	unsigned char	h[crypto_hash_sha256_BYTES];

	if (crypto_hash_sha256(h, (const unsigned char *)key,
	    strlen(key)) != 0)
		return -1;
	sodium_bin2hex(hash_hex, APIKEY_HASH_HEX + 1, h, sizeof(h));
	return 0;
}

int
apikey_new(char key[APIKEY_LEN + 1], char prefix[APIKEY_PREFIX_LEN + 1],
    char hash_hex[APIKEY_HASH_HEX + 1])
{
	unsigned char	raw[APIKEY_RANDOM_BYTES];

	randombytes_buf(raw, sizeof(raw));
	memcpy(key, APIKEY_TAG, 4);
	sodium_bin2hex(key + 4, APIKEY_LEN + 1 - 4, raw, sizeof(raw));
	sodium_memzero(raw, sizeof(raw));
	memcpy(prefix, key, APIKEY_PREFIX_LEN);
	prefix[APIKEY_PREFIX_LEN] = '\0';
	return apikey_hash(key, hash_hex);
}

int
apikey_shape_ok(const char *s)
{
	return s != NULL && strncmp(s, APIKEY_TAG, 4) == 0 &&
	    strlen(s) == APIKEY_LEN &&
	    strspn(s + 4, "0123456789abcdef") == APIKEY_LEN - 4;
}

static int
scope_bit(const char *name, size_t len, unsigned *bit)
{
	size_t	i;

	for (i = 0; i < nitems(scopes); i++)
		if (strlen(scopes[i].name) == len &&
		    strncmp(scopes[i].name, name, len) == 0) {
			*bit = scopes[i].bit;
			return 0;
		}
	return -1;
}

int
apikey_scopes_parse(const char *list, unsigned *bits)
{
	const char	*p, *end;
	size_t		 len;
	unsigned	 bit;

	*bits = 0;
	if (list == NULL)
		return -1;
	p = list + (*list == '{');
	end = p + strcspn(p, "}");
	if (*list == '{' && (*end != '}' || end[1] != '\0'))
		return -1;
	if (*list != '{' && *end != '\0')
		return -1;
	while (p < end) {
		len = strcspn(p, ",}");
		if (p + len > end || scope_bit(p, len, &bit) != 0)
			return -1;
		*bits |= bit;
		p += len;
		if (p < end && *p == ',' && ++p == end)
			return -1;	/* "read," */
	}
	return *bits != 0 ? 0 : -1;
}

int
apikey_scopes_array(unsigned bits, char *out, size_t n)
{
	size_t	i, used = 0;
	int	w;

	if (n < 3 || bits == 0)
		return -1;
	out[used++] = '{';
	for (i = 0; i < nitems(scopes); i++) {
		if (!(bits & scopes[i].bit))
			continue;
		w = snprintf(out + used, n - used, "%s%s",
		    used > 1 ? "," : "", scopes[i].name);
		if (w < 0 || (size_t)w >= n - used)
			return -1;
		used += (size_t)w;
	}
	if (used + 2 > n)
		return -1;
	out[used++] = '}';
	out[used] = '\0';
	return 0;
}
