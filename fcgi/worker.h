/* fcgi/worker.h: what one responder thread owns. Nothing in it is shared
 * between requests running at the same time. */
#ifndef WA_WORKER_H
#define WA_WORKER_H

struct db;

struct worker {
	int		 id;
	struct db	*db;	/* this thread's own connection */
	void		*curl;	/* CURL *: reused, keeps connections to Meta warm */
	/* The user_slots entry the current request holds, or -1. */
	int		 user_slot;
};

#endif /* WA_WORKER_H */
