/* fcgi/outbox_msg.h: the life of one outgoing message: checks against
 * what the database knows, store (pending), Graph call, update + event. */
#ifndef WA_OUTBOX_MSG_H
#define WA_OUTBOX_MSG_H

struct req;
struct wa_msg;

#define OUTBOX_REPLY_JSON	0	/* {"ok":true,"message_id":...} */
#define OUTBOX_REPLY_EMPTY	1	/* 204 */
/* Or: stored with a "send" job in the same statement, answered 202
 * {"ok":true,"queued":true,"job_id":N}; wa-jobd sends it, paced, and
 * retries what Meta asks us to retry (jobd/send_jobs.c). */
#define OUTBOX_QUEUE		2

/* Sends a built message for r's tenant: 404 for media or quoted messages
 * of other tenants, 409 outside the 24-hour window, Idempotency-Key
 * replays, then Meta's answer. Replies; returns the status. */
int	outbox_msg_send(struct req *, struct wa_msg *, int reply);

#endif /* WA_OUTBOX_MSG_H */
