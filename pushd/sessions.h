/* pushd/sessions.h: closing the WebSockets whose right has ended (a token
 * revoked or expired, a membership removed; schema/010_ws_sessions.sql). */
#ifndef WA_SESSIONS_H
#define WA_SESSIONS_H

struct db;
struct relay;

#define SESSIONS_MS	500	/* a revoked token's sockets close this soon */

/* Whether sessions_close_ended() is due. */
int	sessions_due(void);
/* ms, shortened so a sleep ends when sessions_close_ended() is due (the
 * relay's idle wait: no traffic must not delay a close). */
int	sessions_wait(int ms);
/* Deletes the channel of each ended session, then its rows: 0, or -1
 * when the connection was lost. */
int	sessions_close_ended(struct db *, struct relay *);

#endif /* WA_SESSIONS_H */
