/* pushd/relay.h: publishing frames to nginx's pub/sub module over HTTP. */
#ifndef WA_RELAY_H
#define WA_RELAY_H

#include <stddef.h>

struct relay;

/* Frames above this are replaced by a stub (see pushd.c): the publisher
 * location caps bodies at 256k, and a frame it refuses would otherwise be
 * retried for ever. */
#define RELAY_FRAME_MAX		(200u * 1024)

enum relay_rc {
	RELAY_OK = 0,		/* nginx answered 2xx */
	RELAY_RETRY = -1,	/* down, 5xx, timeout...: try again later */
	RELAY_TOO_LARGE = 1,	/* 413: the same body never goes through */
};

/* Requests written before their answers are read (relay.c). */
#define RELAY_PIPELINE		64

/* One frame to publish on a channel, numbered seq (its Event-Id). */
struct relay_msg {
	const char	*channel;
	const char	*seq;
	const char	*frame;
	size_t		 len;
};

/* url: WA_PUBLISH_URL, e.g. http://127.0.0.1:8081/pub. */
struct relay	*relay_open(const char *url);
void		 relay_close(struct relay *);
/* One POST <url>?id=<channel> with the frame as a JSON body and
 * Event-Id: <seq>. Blocks up to a few seconds. On failure, why is in
 * relay_error(). */
enum relay_rc	 relay_publish(struct relay *, const char *channel,
		    const char *seq, const char *frame, size_t len);
/* Publishes up to RELAY_PIPELINE frames as relay_publish() does, their
 * requests pipelined on one connection: how many leading ones nginx
 * accepted. Fewer than n: call again from there; when that accepts none,
 * relay_publish() the next alone (it says why it fails). A frame after
 * one that failed may have been taken too: it is published again. */
int		 relay_publish_many(struct relay *, const struct relay_msg *,
		    int n);
/* DELETE <url>?id=<channel>: the module closes the channel's subscribers.
 * RELAY_OK also when there was no such channel. */
enum relay_rc	 relay_delete(struct relay *, const char *channel);
/* The X-WA-Publish-Key every request carries (WA_PUBLISH_SECRET). */
void		 relay_set_key(struct relay *, const char *key);
const char	*relay_error(const struct relay *);

#endif /* WA_RELAY_H */
