/* fcgi/ingest_batch.h: group commit for webhook bodies the C parser took
 * (shared/wh_parse.h). The threads of a responder process that are each
 * holding such a body hand it to a common queue; one of them at a time
 * stores everything queued in one transaction (wa_ingest_batch(), schema/
 * functions/ingest_batch.sql) while the next bodies gather, and each
 * thread answers Meta only once the batch holding its body has committed. */
#ifndef WA_INGEST_BATCH_H
#define WA_INGEST_BATCH_H

#include <stdint.h>

#include "db.h"

struct wh_body;

enum ingest_outcome {
	INGEST_STORED,		/* committed: counts hold the summary */
	INGEST_GENERAL,		/* not stored: give the body to the general
				 * path (an unknown number, or a batch the
				 * database refused) */
	INGEST_RETRY,		/* not stored, a retry may cure it: 5xx */
};

/* The summary, in wa_webhook_ingest()'s order (fcgi/webhook.c). */
#define INGEST_COUNTS	8

struct ingest_result {
	enum ingest_outcome	 outcome;
	int64_t			 counts[INGEST_COUNTS];
	enum db_err		 err;	/* INGEST_RETRY: why */
	char			 errmsg[160];
};

/* A body on its way: a webhook request announces itself before it reads
 * its body, so that a batch about to start waits a moment for it (at most
 * INGEST_LINGER_US) rather than leave it for the next one. Each announce
 * is matched by exactly one ingest_batch_store() or ingest_batch_gone(),
 * which is a no-op after ingest_batch_store(). */
struct ingest_arrival {
	int	pending;
	/* Tests only (X-WA-Test-Ingest-Hold-Ms): when this body's thread
	 * leads a batch, it waits this long first, so that bodies sent with
	 * it are certain to share its batch. */
	int	hold_ms;
};
void	ingest_batch_announce(struct ingest_arrival *);
void	ingest_batch_gone(struct ingest_arrival *);

/* Blocks until the body's batch has ended. Whichever thread stores a batch
 * uses the process's one batch connection. */
void	ingest_batch_store(struct wh_body *, struct ingest_arrival *,
	    struct ingest_result *);
/* The same for a body the parser left to the general path (the raw JSON,
 * NUL-terminated at len): stored with the other such bodies of the batch
 * by wa_webhook_ingest_many(). INGEST_GENERAL when it was not (whatever
 * the reason): the caller then stores it alone. */
void	ingest_batch_store_general(const char *body, size_t len,
	    struct ingest_arrival *, struct ingest_result *);

#endif /* WA_INGEST_BATCH_H */
