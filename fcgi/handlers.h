/* fcgi/handlers.h: every route handler; each returns the status it sent.
 * One block per resource file. */
#ifndef WA_HANDLERS_H
#define WA_HANDLERS_H

#include <stddef.h>

struct req;

/* metrics_scrape.c */
int	metrics_get(struct req *);

/* health.c */
int	health_get(struct req *);

/* api_auth.c */
int	api_auth_login(struct req *);
int	api_auth_logout(struct req *);
int	api_me(struct req *);

/* api_tenant.c */
int	api_tenant_get(struct req *);

/* api_events.c */
int	api_events_list(struct req *);

/* api_broadcasts.c */
int	api_broadcasts_create(struct req *);
int	api_broadcasts_get(struct req *);
int	api_broadcasts_cancel(struct req *);

/* api_send.c */
int	api_send_text(struct req *);
int	api_send_media(struct req *);
int	api_send_voice(struct req *);
int	api_send_location(struct req *);
int	api_send_request_location(struct req *);
int	api_send_sticker(struct req *);
int	api_send_contact(struct req *);
int	api_send_catalog(struct req *);
int	api_send_product(struct req *);
int	api_send_products(struct req *);
int	api_send_reaction(struct req *);
int	api_send_template(struct req *);

/* api_messages.c */
int	api_messages_unreact(struct req *);
int	api_messages_read(struct req *);
int	api_messages_typing(struct req *);

/* api_conversations.c */
int	api_conversations_list(struct req *);
int	api_conversations_get(struct req *);
int	api_conversations_delete(struct req *);

/* api_media_upload.c */
int	api_media_upload(struct req *);
int	api_media_upload_auth(struct req *);

/* api_media.c */
int	api_media_get(struct req *);
int	api_media_delete(struct req *);

/* webhook.c */
int	webhook_verify(struct req *);
int	webhook_receive(struct req *);
/* sig_valid(), plus Meta's documented escaped-unicode rendering of the body
 * (bodies up to 256 KiB) when the raw bytes do not match; 1 when either
 * does. A malformed header is refused before any hashing. For unit tests. */
int	webhook_sig_ok(const char *secret, const char *body, size_t n,
	    const char *header);
/* How many escaped renderings webhook_sig_ok() has hashed: the costly
 * fallback, which tests check is skipped when it cannot match. */
unsigned long	webhook_sig_escaped_tries(void);

/* api_ws_ticket.c */
int	api_ws_ticket(struct req *);

/* ws_auth.c */
int	ws_auth_check(struct req *);

#endif /* WA_HANDLERS_H */
