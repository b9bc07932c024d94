/* fcgi/handlers.h: every route handler; each returns the status it sent.
 * One block per resource file. */
#ifndef WA_HANDLERS_H
#define WA_HANDLERS_H

struct req;

/* health.c */
int	health_get(struct req *);

/* api_auth.c */
int	api_auth_login(struct req *);
int	api_auth_logout(struct req *);
int	api_me(struct req *);

/* api_tenant.c */
int	api_tenant_get(struct req *);

/* ws_auth.c */
int	ws_auth_check(struct req *);

#endif /* WA_HANDLERS_H */
