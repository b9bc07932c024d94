/* shared/sig.h: Meta's webhook signature (X-Hub-Signature-256). */
#ifndef WA_SIG_H
#define WA_SIG_H

#include <stddef.h>

#define SIG_HEX_LEN	64

/* HMAC-SHA256(key, data) as 64 lowercase hex digits plus NUL. */
void	sig_hmac_hex(const char *key, const void *data, size_t n,
	    char out[SIG_HEX_LEN + 1]);
/* 1 when header has the form "sha256=<64 hex digits>": what to ask before
 * spending anything on the body. */
int	sig_header_valid(const char *header);
/* 1 when header is "sha256=<hex>" and matches the raw body, compared in
 * constant time. */
int	sig_valid(const char *secret, const void *body, size_t n,
	    const char *header);

#endif /* WA_SIG_H */
