"""nginx keeps its FastCGI connections to the webhook pool open between
webhooks (nginx.conf.in: keepalive, fastcgi_keep_conn; fcgi/main.c waits
for the next request on them). The connections stay open, and a responder
that stops under load costs no webhook its 200: a request sent on a kept
connection just as it closed is sent again (fastcgi_next_upstream error
non_idempotent), and stored once. (A responder killed outright still cuts
off with a 502 a request it took on a connection's first use: nginx sends
again only what failed on a kept one.)"""
import concurrent.futures
import json
import os
import signal
import threading
import time

import requests

from conftest import new_wamid, pids, wait_for


def connected_to_pool(stack):
    """Responder-side sockets of the webhook pool's connections now open:
    /proc/net/unix names an accepted socket after the listening one, and
    state 03 is connected."""
    path = os.path.join(stack.run_dir, "run", "webhook.sock")
    n = 0
    with open("/proc/net/unix") as f:
        next(f)
        for line in f:
            cols = line.split()
            if len(cols) >= 8 and cols[7] == path and cols[5] == "03":
                n += 1
    return n


def text_body(tenant, sender, wamid):
    return tenant.webhook(tenant.webhook_value(
        contacts=[{"profile": {"name": "Kai"}, "wa_id": sender}],
        messages=[{"from": sender, "id": wamid,
                   "timestamp": str(int(time.time())), "type": "text",
                   "text": {"body": "kept"}}]))


def post(stack, session, tenant, sender, wamid):
    raw = json.dumps(text_body(tenant, sender, wamid)).encode()
    return session.post(stack.url("/webhook"), data=raw, timeout=30,
                        headers={"Content-Type": "application/json",
                                 "X-Hub-Signature-256": stack.sign(raw)})


def test_connections_to_the_webhook_pool_stay_open(stack, tenant):
    sender = "1652" + str(int(time.time() * 1e6))[-8:]
    with requests.Session() as s:
        for _ in range(5):
            r = post(stack, s, tenant, sender, new_wamid())
            assert r.status_code == 200, r.text
    # Answered, and the connections nginx used are still there.
    assert wait_for(lambda: connected_to_pool(stack) >= 1)


def test_a_responder_stopped_under_load_costs_no_webhook(stack, tenant):
    """SIGTERM: requests in flight finish, the idle kept connections
    close; one nginx sends on just as it closes is sent again."""
    before = pids(stack, "fcgi-webhook.pid")
    assert len(before) >= 2, "needs a pool of two responders or more"
    stop = threading.Event()
    sent, lock = [], threading.Lock()
    sender = "1653" + str(int(time.time() * 1e6))[-8:]

    def deliver(k):
        statuses = []
        with requests.Session() as s:
            while not stop.is_set():
                wamid = new_wamid()
                statuses.append(post(stack, s, tenant, sender + str(k),
                                     wamid).status_code)
                with lock:
                    sent.append(wamid)
        return statuses

    def replaced():
        now = pids(stack, "fcgi-webhook.pid")
        return len(now) == len(before) and before[0] not in now

    with concurrent.futures.ThreadPoolExecutor(8) as ex:
        futs = [ex.submit(deliver, k) for k in range(8)]
        try:
            assert wait_for(lambda: len(sent) >= 50, timeout=10)
            os.kill(before[0], signal.SIGTERM)
            assert wait_for(replaced, timeout=10)
            n = len(sent)
            # The new responder's share too.
            assert wait_for(lambda: len(sent) >= n + 100, timeout=10)
        finally:
            stop.set()
        statuses = [st for f in futs for st in f.result()]
    assert set(statuses) == {200}, {st: statuses.count(st)
                                    for st in set(statuses)}
    rows = stack.query("SELECT count(*) AS n, count(DISTINCT wamid) AS d"
                       " FROM messages WHERE tenant_id = %s AND"
                       " wamid = ANY(%s)", tenant.id, sent)[0]
    assert rows["n"] == rows["d"] == len(sent)
