/* shared/wh_parse.h: a signed webhook body read in C (json-c) into the
 * typed rows the batched ingest stores (fcgi/ingest_batch.c,
 * schema/functions/ingest_batch.sql): one wh_msg per incoming chat
 * message, its `messages` columns already normalised as the general SQL
 * path (wa_msg_norm) would. Only bodies this can store exactly as the
 * general path would are taken; wh_parse() says which, and everything else
 * (statuses, reactions, edits, replies, senders known by BSUID alone,
 * errors, other fields, any shape or JSON it is not sure of) goes to the
 * general path whole. */
#ifndef WA_WH_PARSE_H
#define WA_WH_PARSE_H

#include <stddef.h>

struct json_object;

/* Pointers are into the parsed body (valid until wh_body_free()), except
 * content and raw, which the body owns too. NULL is SQL NULL. */
struct wh_msg {
	const char	*pnid;		/* metadata.phone_number_id */
	const char	*wamid;
	const char	*from;		/* the sender's phone (wa_id) */
	const char	*user_id;	/* ... and BSUID, when Meta gives one */
	const char	*name;		/* value.contacts[]'s profile name */
	const char	*type;		/* ours: "voice", "unknown", or Meta's */
	const char	*text;
	const char	*media_id, *media_mime, *media_sha256, *media_filename;
	const char	*context;	/* the message replied to */
	char		*content;	/* JSON text */
	char		*raw;		/* the item as Meta sent it, JSON text */
	char		 ts[12];	/* Unix seconds, "" when none */
	int		 forwarded, freq_forwarded;
};

struct wh_body {
	struct json_object *root;
	struct wh_msg	*msgs;
	size_t		 n, cap;
};

/* At most this many messages in a body the batch path takes. */
#define WH_BODY_MAX_MSGS	64

enum wh_verdict {
	WH_BATCH,		/* b holds the messages */
	WH_GENERAL,		/* give the body to the general path */
	WH_UNSURE,		/* the same, alone: JSON this reader is not
				 * sure PostgreSQL reads as it does (or no
				 * JSON at all), which could fail the other
				 * bodies of a batch */
};

/* The body must be NUL-terminated at len. b is always fit for
 * wh_body_free() afterwards. */
enum wh_verdict	 wh_parse(const char *body, size_t len, struct wh_body *b);
void		 wh_body_free(struct wh_body *);

#endif /* WA_WH_PARSE_H */
