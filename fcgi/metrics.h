/* fcgi/metrics.h: the responder's Prometheus counters. Every process of
 * both pools counts in its own slot of one shared file (WA_METRICS_FILE),
 * with relaxed atomics and no lock; a scrape (fcgi/metrics_scrape.c) sums
 * the slots. */
#ifndef WA_METRICS_H
#define WA_METRICS_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "graph.h"

struct req;

#define METRICS_ROUTES		64	/* route table rows, and "none" */
#define METRICS_BUCKETS		12	/* 11 bounds, then +Inf */
#define METRICS_STATUSES	24	/* metrics_status_codes[] */
#define METRICS_SLOTS		128	/* processes, both pools, ever */

/* What the slots count; the rendering names them (metrics_scrape.c). */
enum metrics_pool { METRICS_POOL_WEBHOOK, METRICS_POOL_API, METRICS_POOLS };
/* In the order of wa_webhook_ingest()'s summary (fcgi/webhook.c). */
enum metrics_webhook {
	METRICS_WH_MESSAGES, METRICS_WH_STATUSES, METRICS_WH_REACTIONS,
	METRICS_WH_EDITS, METRICS_WH_DUPLICATES, METRICS_WH_EVENTS,
	METRICS_WH_LOGGED, METRICS_WH_UNPLACED, METRICS_WH_KINDS
};
#define METRICS_DB_KINDS	7	/* enum db_err, DB_OK unused */

struct metrics_hist {
	_Atomic uint64_t	 bucket[METRICS_BUCKETS];	/* not cumulative */
	_Atomic uint64_t	 sum_us;
};

struct metrics_slot {
	_Atomic int32_t		 pid;		/* 0: never used */
	_Atomic int32_t		 pool;		/* enum metrics_pool */
	/* [route_index + 1][metrics_status_index()]: row 0 is "none" */
	_Atomic uint64_t	 requests[METRICS_ROUTES][METRICS_STATUSES];
	struct metrics_hist	 latency[METRICS_ROUTES];
	_Atomic uint64_t	 webhooks_stored;
	_Atomic uint64_t	 webhooks_batched;	/* of which in batches */
	_Atomic uint64_t	 webhook_batches;
	_Atomic uint64_t	 webhook_batches_refused;
	_Atomic uint64_t	 webhooks_general_batched; /* general path */
	_Atomic uint64_t	 webhook_general_batches;
	_Atomic uint64_t	 webhook[METRICS_WH_KINDS];
	_Atomic uint64_t	 graph[GRAPH_OUTCOMES];
	struct metrics_hist	 graph_latency;
	_Atomic uint64_t	 db_errors[METRICS_DB_KINDS];
};

/* The status codes counted one by one; any other is counted as the last. */
extern const int	metrics_status_codes[METRICS_STATUSES];
/* Upper bounds of the finite buckets, in microseconds. */
extern const uint64_t	metrics_bucket_us[METRICS_BUCKETS - 1];

/* Maps the file (or, when path is "", private memory: this process alone
 * is counted) and takes a slot for this process: a dead process's slot
 * of the same pool when there is one, so its counts carry on. 0 or -1. */
int	metrics_init(const char *path, const char *pool);
/* The slots (for the scrape), or NULL before metrics_init(). */
struct metrics_slot *metrics_slots(size_t *n);

/* Whether a slot's process still runs. */
int	metrics_pid_alive(pid_t);
int	metrics_status_index(int status);
int	metrics_bucket_index(uint64_t us);

/* Counting, from any thread. */
void	metrics_request(const struct req *);
/* A stored delivery: the summary wa_webhook_ingest() returned. */
void	metrics_webhook(const int64_t *counts, size_t n);
/* A batch of bodies ended (fcgi/ingest_batch.c): refused when the database
 * refused it for its data and each body was taken alone. */
void	metrics_webhook_batch(size_t bodies, int refused);
/* Bodies of the general path stored together in one transaction. */
void	metrics_webhook_general_batch(size_t bodies);
void	metrics_graph_call(int outcome, uint64_t us);	/* graph_outcome */
void	metrics_db_error(int kind);

#endif /* WA_METRICS_H */
