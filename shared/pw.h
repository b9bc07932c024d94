/* shared/pw.h: password hashing: argon2id through libsodium. */
#ifndef WA_PW_H
#define WA_PW_H

#include <stddef.h>

#define PW_HASH_MAX	128
#define PW_MIN_LEN	8
#define PW_MAX_LEN	1024

int	pw_hash(const char *password, char *out, size_t n);
/* 1 when password matches hash. With hash NULL (no such user) it spends the
 * same time on a dummy hash and returns 0, so timing tells nothing. */
int	pw_verify(const char *hash, const char *password);

#endif /* WA_PW_H */
