/* fcgi/poll_send.h: the /poll auto-reply's one step outside PostgreSQL:
 * sending the question (schema/functions/poll.sql holds the rest). */
#ifndef WA_POLL_SEND_H
#define WA_POLL_SEND_H

struct req;
struct worker;

/* Sends, after the webhook's reply, the questions of the polls listed in
 * the ingest summary's "polls_to_send" (a JSON array of ids, or NULL). */
void	poll_send_after_ingest(struct req *, const char *polls_to_send);

#endif /* WA_POLL_SEND_H */
