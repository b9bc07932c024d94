/* fcgi/metrics.c: the counters' shared file and the counting. Counting is
 * one relaxed atomic add in this process's slot: no lock on a request's
 * path. A slot outlives its process, so a replaced responder carries on
 * from its predecessor's counts and the sums never go backwards. */
#include "metrics.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "req.h"
#include "route.h"
#include "util.h"

#define METRICS_MAGIC	0x5741534d45545231ull	/* "WASMETR1" */

/* The file: this header, then METRICS_SLOTS slots. */
struct metrics_head {
	uint64_t	magic;
	uint64_t	layout;		/* layout_hash() of who wrote it */
	char		pad[48];
};

const int metrics_status_codes[METRICS_STATUSES] = {
	200, 201, 202, 204, 301, 302, 304, 400, 401, 403, 404, 405, 409, 410,
	413, 415, 422, 429, 500, 502, 503, 504, 499, 0	/* 0: any other */
};

const uint64_t metrics_bucket_us[METRICS_BUCKETS - 1] = {
	5000, 10000, 25000, 50000, 100000, 250000, 500000, 1000000, 2500000,
	5000000, 10000000
};

static struct metrics_slot	*slots, *self;
static size_t			 nslots;

/* What a slot's indexes mean: a binary with another route table must not
 * add into this one's rows. */
static uint64_t
layout_hash(void)
{
	uint64_t		 h = 1469598103934665603ull;	/* FNV-1a */
	const struct route	*rt;
	char			 num[32];
	const char		*s;
	size_t			 i;

	snprintf(num, sizeof(num), "%zu/%d", sizeof(struct metrics_slot),
	    METRICS_SLOTS);
	for (s = num; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	for (i = 0; i < route_count(); i++) {
		rt = route_at(i);
		h = (h ^ (uint64_t)rt->method) * 1099511628211ull;
		for (s = rt->pattern; *s != '\0'; s++)
			h = (h ^ (unsigned char)*s) * 1099511628211ull;
	}
	return h;
}

int
metrics_pid_alive(pid_t pid)
{
	return kill(pid, 0) == 0 || errno == EPERM;
}

/* Called with the file locked, so two new processes never pick the same
 * slot. */
static struct metrics_slot *
claim(int pool)
{
	struct metrics_slot	*fresh = NULL, *s;
	pid_t			 me = getpid(), pid;
	size_t			 i;

	for (i = 0; i < nslots; i++) {
		s = &slots[i];
		pid = atomic_load(&s->pid);
		if (pid == 0) {
			if (fresh == NULL)
				fresh = s;
			continue;
		}
		if (atomic_load(&s->pool) == pool &&
		    (pid == me || !metrics_pid_alive(pid))) {
			atomic_store(&s->pid, me);
			return s;
		}
	}
	if (fresh != NULL) {
		atomic_store(&fresh->pool, pool);
		atomic_store(&fresh->pid, me);
	}
	return fresh;
}

/* Maps the file, made or reset to this build's layout; returns its fd,
 * still locked for claim(), or -1. */
static int
map_file(const char *path, size_t size)
{
	struct metrics_head	 head;
	struct stat		 st;
	void			*p;
	int			 fd;

	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0660)) == -1 ||
	    flock(fd, LOCK_EX) == -1 || fstat(fd, &st) == -1)
		goto fail;
	memset(&head, 0, sizeof(head));
	if ((size_t)st.st_size != size ||
	    pread(fd, &head, sizeof(head), 0) != (ssize_t)sizeof(head) ||
	    head.magic != METRICS_MAGIC || head.layout != layout_hash()) {
		/* New, or another build's: start from zero (a counter reset,
		 * which Prometheus expects after an upgrade). XXX: a process
		 * of the old build still running adds into the new rows;
		 * an upgrade restarts both pools. */
		log_info("metrics: %s: new counters", path);
		memset(&head, 0, sizeof(head));
		head.magic = METRICS_MAGIC;
		head.layout = layout_hash();
		if (ftruncate(fd, 0) == -1 || ftruncate(fd, (off_t)size) == -1 ||
		    pwrite(fd, &head, sizeof(head), 0) != (ssize_t)sizeof(head))
			goto fail;
	}
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		goto fail;
	slots = (struct metrics_slot *)((char *)p + sizeof(head));
	nslots = METRICS_SLOTS;
	return fd;
fail:
	log_err("metrics: %s: %s", path, strerror(errno));
	if (fd != -1) {
		flock(fd, LOCK_UN);
		close(fd);
	}
	return -1;
}

int
metrics_init(const char *path, const char *pool)
{
	size_t	size = sizeof(struct metrics_head) +
	    METRICS_SLOTS * sizeof(struct metrics_slot);
	int	poolid, fd = -1;
	void	*p;

	if (route_count() + 1 > METRICS_ROUTES) {
		log_err("metrics: %zu routes, room for %d", route_count(),
		    METRICS_ROUTES - 1);
		return -1;
	}
	poolid = strcmp(pool, "webhook") == 0 ? METRICS_POOL_WEBHOOK :
	    METRICS_POOL_API;
	if (*path != '\0') {
		if ((fd = map_file(path, size)) == -1)
			return -1;
	} else {
		p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			return -1;
		slots = (struct metrics_slot *)((char *)p +
		    sizeof(struct metrics_head));
		nslots = METRICS_SLOTS;
	}
	self = claim(poolid);
	if (fd != -1) {
		/* Explicitly: the mapping keeps the file, and so its lock. */
		flock(fd, LOCK_UN);
		close(fd);
	}
	if (self == NULL) {
		log_err("metrics: all %d slots taken by live processes",
		    METRICS_SLOTS);
		return -1;
	}
	return 0;
}

struct metrics_slot *
metrics_slots(size_t *n)
{
	*n = nslots;
	return slots;
}

int
metrics_status_index(int status)
{
	int	i;

	for (i = 0; i < METRICS_STATUSES - 1; i++)
		if (metrics_status_codes[i] == status)
			return i;
	return METRICS_STATUSES - 1;
}

int
metrics_bucket_index(uint64_t us)
{
	int	i;

	for (i = 0; i < METRICS_BUCKETS - 1; i++)
		if (us <= metrics_bucket_us[i])
			return i;
	return METRICS_BUCKETS - 1;
}

static void
add(_Atomic uint64_t *c, uint64_t n)
{
	atomic_fetch_add_explicit(c, n, memory_order_relaxed);
}

static void
observe(struct metrics_hist *h, uint64_t us)
{
	add(&h->bucket[metrics_bucket_index(us)], 1);
	add(&h->sum_us, us);
}

void
metrics_request(const struct req *r)
{
	int	row = r->route_index + 1;

	if (self == NULL)
		return;
	if (row < 0 || row >= METRICS_ROUTES)
		row = 0;
	add(&self->requests[row][metrics_status_index(r->status)], 1);
	observe(&self->latency[row], mono_us() - r->start_us);
}

void
metrics_webhook(const int64_t *counts, size_t n)
{
	size_t	i;

	if (self == NULL)
		return;
	add(&self->webhooks_stored, 1);
	for (i = 0; i < n && i < METRICS_WH_KINDS; i++)
		if (counts[i] > 0)
			add(&self->webhook[i], (uint64_t)counts[i]);
}

void
metrics_webhook_batch(size_t bodies, int refused)
{
	if (self == NULL)
		return;
	if (refused) {
		add(&self->webhook_batches_refused, 1);
		return;
	}
	add(&self->webhook_batches, 1);
	add(&self->webhooks_batched, bodies);
}

void
metrics_webhook_general_batch(size_t bodies)
{
	if (self == NULL)
		return;
	add(&self->webhook_general_batches, 1);
	add(&self->webhooks_general_batched, bodies);
}

void
metrics_graph_call(int outcome, uint64_t us)
{
	if (self == NULL || outcome < 0 || outcome >= GRAPH_OUTCOMES)
		return;
	add(&self->graph[outcome], 1);
	observe(&self->graph_latency, us);
}

void
metrics_db_error(int kind)
{
	if (self == NULL || kind <= 0 || kind >= METRICS_DB_KINDS)
		return;
	add(&self->db_errors[kind], 1);
}
