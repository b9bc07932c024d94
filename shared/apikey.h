/* shared/apikey.h: API keys for machine clients: their shape, hash and
 * scopes, shared by wactl (which mints them) and the responder (which
 * checks them). Only the SHA-256 of a key is ever stored. */
#ifndef WA_APIKEY_H
#define WA_APIKEY_H

#include <stddef.h>

#define APIKEY_TAG		"wak_"
#define APIKEY_RANDOM_BYTES	32
/* "wak_" and 64 hex digits. */
#define APIKEY_LEN		(4 + APIKEY_RANDOM_BYTES * 2)
/* "wak_" and the first 8 hex digits: names a key in lists and logs, and
 * gives away 32 of its 256 random bits. */
#define APIKEY_PREFIX_LEN	12
#define APIKEY_HASH_HEX		64

/* Scopes, as bits. */
#define APIKEY_SCOPE_READ	0x01
#define APIKEY_SCOPE_SEND	0x02

/* A new random key, its prefix and the hex SHA-256 to store; 0 or -1. */
int	apikey_new(char key[APIKEY_LEN + 1],
	    char prefix[APIKEY_PREFIX_LEN + 1],
	    char hash_hex[APIKEY_HASH_HEX + 1]);
/* 1 when s is "wak_" and 64 lower-case hex digits. */
int	apikey_shape_ok(const char *s);
/* The hex SHA-256 of key; 0 or -1. */
int	apikey_hash(const char *key, char hash_hex[APIKEY_HASH_HEX + 1]);
/* "send,read" (also PostgreSQL's "{send,read}") -> bits; -1 for an empty
 * list or an unknown scope. */
int	apikey_scopes_parse(const char *list, unsigned *bits);
/* bits -> a PostgreSQL text[] literal, "{read,send}"; -1 when none. */
int	apikey_scopes_array(unsigned bits, char *out, size_t n);

#endif /* WA_APIKEY_H */
