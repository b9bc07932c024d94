/* fcgi/user_slots.c: a small table, user id -> requests in flight to Meta,
 * shared by this process's threads. The lock is held only for a scan of at
 * most one entry per thread, and only by routes that call Graph. */
#include "user_slots.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

struct user_slot {
	char	user_id[UUID_LEN + 1];
	int	inflight;		/* 0: the entry is free */
};

static pthread_mutex_t	 slots_lock = PTHREAD_MUTEX_INITIALIZER;
static struct user_slot	*slots;
static int		 nslots;
static int		 cap_per_user;

long
user_slots_default_cap(long nthreads)
{
	return nthreads / 4 > 1 ? nthreads / 4 : 1;
}

void
user_slots_init(long nthreads, long cap)
{
	/* Each request in flight holds at most one entry, and a thread runs
	 * one request at a time: one entry per thread never runs out. */
	slots = xcalloc((size_t)nthreads, sizeof(*slots));
	nslots = (int)nthreads;
	cap_per_user = (int)cap;
}

void
user_slots_free(void)
{
	free(slots);
	slots = NULL;
	nslots = 0;
}

int
user_slots_take(const char *user_id)
{
	int	i, own = -1, unused = -1, slot = -1;

	pthread_mutex_lock(&slots_lock);
	for (i = 0; i < nslots && own < 0; i++) {
		if (slots[i].inflight == 0) {
			if (unused < 0)
				unused = i;
		} else if (strcmp(slots[i].user_id, user_id) == 0)
			own = i;
	}
	if (own >= 0 && slots[own].inflight < cap_per_user) {
		slots[own].inflight++;
		slot = own;
	} else if (own < 0 && unused >= 0 && cap_per_user > 0) {
		snprintf(slots[unused].user_id, sizeof(slots[unused].user_id),
		    "%s", user_id);
		slots[unused].inflight = 1;
		slot = unused;
	}
	pthread_mutex_unlock(&slots_lock);
	return slot;
}

void
user_slots_give(int slot)
{
	if (slot < 0)
		return;
	pthread_mutex_lock(&slots_lock);
	if (slot < nslots && slots[slot].inflight > 0)
		slots[slot].inflight--;
	pthread_mutex_unlock(&slots_lock);
}
