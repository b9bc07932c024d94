/* fcgi/auth.h: who is calling, and may they act for this tenant. */
#ifndef WA_AUTH_H
#define WA_AUTH_H

struct req;

#define AUTH_COOKIE	"session"

/* Authenticates r (Bearer JWT, else the session cookie), checks the token
 * is not revoked and, with want_tenant, that X-Tenant-Id names a tenant
 * the user belongs to; cookie-authenticated writes must also pass the
 * Origin check. A bearer API key (wak_...) instead sets r's key and its
 * tenant, whatever want_tenant says, and refuses an X-Tenant-Id naming
 * another. 0, or the status of the error reply it sent. */
int	auth_request(struct req *, int want_tenant);

/* The same checks for a given token and tenant (the WebSocket gate):
 * 0, 401 or 403 (or 503), without replying. */
int	auth_token_tenant(struct req *, const char *token, const char *tenant);

/* 1 when the Origin header names this server (WA_PUBLIC_ORIGIN, else the
 * Host the browser used). */
int	auth_origin_ok(struct req *);

/* The session cookie carrying token, or clearing it (token NULL). */
void	auth_set_cookie(struct req *, const char *token, long max_age);

#endif /* WA_AUTH_H */
