/* fcgi/api_ws_ticket.c: POST /api/v1/ws-ticket, a single-use ticket that
 * opens one WebSocket to the X-Tenant-Id tenant within WS_TICKET_TTL
 * seconds (schema/011_ws_tickets.sql). Tickets, not tokens, go in the
 * socket's URL: URLs end up in logs. */
#include <stdio.h>

#include <json-c/json.h>
#include <sodium.h>

#include "db.h"
#include "handlers.h"
#include "json.h"
#include "req.h"
#include "worker.h"

#define WS_TICKET_TTL	30	/* seconds */
#define WS_TICKET_BYTES	32

static const struct db_stmt issue = { "ws_ticket_issue",
	"SELECT wa_ws_ticket_issue($1, $2, $3, $4, to_timestamp($5),"
	" make_interval(secs => $6))" };

int
api_ws_ticket(struct req *r)
{
	unsigned char		 raw[WS_TICKET_BYTES];
	char			 ticket[4 + WS_TICKET_BYTES * 2 + 1], exp[24];
	char			 ttl[8];
	const char		*v[] = { ticket, r->tenant_id, r->user_id,
				    r->jti, exp, ttl };
	struct json_object	*out;

	randombytes_buf(raw, sizeof(raw));
	snprintf(ticket, sizeof(ticket), "wst_");
	sodium_bin2hex(ticket + 4, sizeof(ticket) - 4, raw, sizeof(raw));
	snprintf(exp, sizeof(exp), "%lld", (long long)r->token_exp);
	snprintf(ttl, sizeof(ttl), "%d", WS_TICKET_TTL);
	if (db_exec(r->w->db, &issue, 6, v) != 0)
		return reply_db_error(r);
	out = json_object_new_object();
	json_add_str(out, "ticket", ticket);
	json_add_int(out, "expires_in", WS_TICKET_TTL);
	return reply_ok(r, out);
}
