/* shared/wa_msg.h: our send requests (seed spec §3.1-3.3, templates) turned
 * into Meta's message JSON, with every documented limit checked first. Pure:
 * no I/O, so each rule is unit tested; what needs the database (media,
 * quoted messages, the 24-hour window) is left for the caller to check. */
#ifndef WA_WA_MSG_H
#define WA_WA_MSG_H

#include <stddef.h>

#include "phone.h"

struct json_object;

enum wa_msg_kind {
	WA_MSG_TEXT, WA_MSG_MEDIA, WA_MSG_VOICE, WA_MSG_LOCATION,
	WA_MSG_REQUEST_LOCATION, WA_MSG_STICKER, WA_MSG_CONTACT,
	WA_MSG_CATALOG, WA_MSG_PRODUCT, WA_MSG_PRODUCTS, WA_MSG_REACTION,
	WA_MSG_TEMPLATE
};

#define WA_MSG_ERR_MAX	256

/* A built message. Strings are borrowed from the request JSON, which must
 * outlive this. */
struct wa_msg {
	enum wa_msg_kind	 kind;
	struct json_object	*payload;	/* Meta's body; wa_msg_free() */
	char			 to[PHONE_MAX + 1];
	const char		*type;		/* Meta's type */
	/* messages.type: as type, but "voice" for a voice note, as webhook
	 * ingestion stores an incoming one. */
	const char		*stored_type;
	const char		*text;		/* body or caption, or NULL */
	const char		*media_id;	/* our media uuid to resolve */
	const char		*media_type;	/* image|video|audio|document|
						   voice|sticker */
	struct json_object	*media_slot;	/* where Meta's media id goes
						   (templates); NULL: the
						   payload's type object */
	const char		*reply_to;	/* wamid quoted (context) */
	const char		*react_to;	/* wamid reacted to */
	const char		*emoji;		/* reactions: "" removes */
	int			 needs_catalog;	/* action.catalog_id unset */
	int			 free_form;	/* 0: a template */
	char			 err[WA_MSG_ERR_MAX];	/* "field: reason" */
};

/* Validates req (a JSON object) for kind and builds m->payload. 0, or -1
 * with m->err naming the field ("buttons[1].title: at most 20
 * characters"). Unknown top-level fields are refused. */
int	wa_msg_build(enum wa_msg_kind, struct json_object *req,
	    struct wa_msg *);
/* A reaction built from parts (DELETE .../reaction sends emoji ""). */
int	wa_msg_reaction(const char *to, const char *target, const char *emoji,
	    struct wa_msg *);
void	wa_msg_free(struct wa_msg *);

/* Whether stored media (kind may be NULL; mime as uploaded) may be sent as
 * m->media_type. 0, or -1 with m->err set. */
int	wa_msg_media_ok(struct wa_msg *, const char *kind, const char *mime);
/* Puts Meta's media id (and a document's stored filename, unless the
 * request gave one) into the payload. */
void	wa_msg_set_media(struct wa_msg *, const char *wa_media_id,
	    const char *filename);
/* Puts the tenant's catalog into product/product_list payloads. */
void	wa_msg_set_catalog(struct wa_msg *, const char *catalog_id);

/* Characters (UTF-8 code points) in s. */
size_t	wa_msg_chars(const char *s);
/* 1 when the n bytes at s are well-formed UTF-8 (what PostgreSQL and Meta
 * accept: no overlong forms, surrogates or code points past U+10FFFF). */
int	wa_msg_utf8_valid(const char *s, size_t n);

#endif /* WA_WA_MSG_H */
