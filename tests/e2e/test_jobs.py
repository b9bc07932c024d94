"""The durable job queue and wa-jobd (issue 15): a /poll's question and
deadline are jobs written in the webhook's transaction and run by wa-jobd,
so a slow Meta never holds a webhook, and a worker that dies mid-call is
reported, never silently resent (schema/015_jobs.sql,
schema/functions/jobs.sql, jobd/)."""
import os
import signal
import time
from concurrent.futures import ThreadPoolExecutor

import requests

from conftest import wait_for
from test_poll import (body, enable, events, no_poll_left_open,  # noqa: F401
                       phone, polls, questions, text)


def sim_fail(stack, **rule):
    r = requests.post(stack.sim + "/_sim/fail", json=rule, timeout=5)
    assert r.status_code == 200, r.text


def jobs_of(tenant, kind=None):
    return tenant.stack.query(
        "SELECT * FROM jobs WHERE tenant_id = %s AND (%s::text IS NULL OR"
        " kind = %s) ORDER BY id", tenant.id, kind, kind)


def jobd_pid(stack):
    with open(os.path.join(stack.run_dir, "run", "jobd.pid")) as f:
        return int(f.read().split()[0])


def jobd_log(stack):
    with open(os.path.join(stack.run_dir, "log", "wa-jobd.log")) as f:
        return f.read()


def test_poll_opens_its_two_jobs_in_the_webhooks_transaction(tenant):
    enable(tenant, timeout_s=30)
    frm = phone()
    r = tenant.stack.post_webhook(body(tenant, frm, text(frm, "/poll")))
    assert r.status_code == 200, r.text
    # Committed with the poll: there as soon as the webhook is answered.
    p = polls(tenant, frm)
    assert len(p) == 1
    kinds = {j["kind"]: j for j in jobs_of(tenant)}
    assert set(kinds) == {"poll_question", "poll_timeout"}
    assert all(j["ref"] == p[0]["id"] for j in kinds.values())
    assert kinds["poll_timeout"]["run_at"] == p[0]["deadline"]
    q = wait_for(lambda: [j for j in jobs_of(tenant, "poll_question")
                          if j["state"] == "done"], timeout=8)
    assert q and q[0]["attempts"] == 1 and q[0]["error"] is None
    assert kinds["poll_timeout"]["state"] == "queued"


def test_slow_meta_holds_no_webhook_and_sends_each_question_once(tenant,
                                                                 stack):
    """20 /poll webhooks while the simulator holds every question for 4 s:
    all are answered 200 before the simulator has answered (it records a
    request when it answers), then each question goes out exactly once."""
    enable(tenant)
    n = 20
    sim_fail(stack, path="messages", delay_ms=4000, times=n)
    froms = [phone() for _ in range(n)]
    try:
        with ThreadPoolExecutor(n) as ex:
            codes = list(ex.map(lambda f: tenant.stack.post_webhook(
                body(tenant, f, text(f, "/poll"))).status_code, froms))
        assert codes == [200] * n
        # Every webhook is answered, and Meta has answered none of the
        # questions: nothing waited on it.
        assert all(questions(tenant, f) == [] for f in froms)
        assert wait_for(lambda: len(events(tenant, "poll_started")) == n,
                        timeout=40), len(events(tenant, "poll_started"))
    finally:
        requests.delete(stack.sim + "/_sim/fail", timeout=5)
    for f in froms:
        assert len(questions(tenant, f)) == 1, f
    done = jobs_of(tenant, "poll_question")
    assert len(done) == n
    assert all(j["state"] == "done" and j["attempts"] == 1 for j in done)


def test_sigkill_mid_call_is_reported_and_not_resent(tenant, stack):
    enable(tenant)
    frm = phone()
    sim_fail(stack, path="messages", to=frm, delay_ms=4000, times=1)
    try:
        r = tenant.stack.post_webhook(body(tenant, frm, text(frm, "/poll")))
        assert r.status_code == 200, r.text
        # The attempt is marked before the call; then the call is on.
        assert wait_for(lambda: [j for j in jobs_of(tenant, "poll_question")
                                 if j["state"] == "running"], timeout=8)
        time.sleep(0.5)
        old = jobd_pid(stack)
        os.kill(old, signal.SIGKILL)
        # The keeper starts another; it finds the attempt and reports it.
        job = wait_for(lambda: [j for j in jobs_of(tenant, "poll_question")
                                if j["state"] == "unknown"], timeout=15)
        assert job, jobs_of(tenant)
        job = job[0]
        assert jobd_pid(stack) != old
        assert job["attempts"] == 1
        assert job["error"]["code"] == "outcome_unknown"
        assert "job %d (poll_question" % job["id"] in jobd_log(stack)
        # The call that was in flight reached Meta (the simulator records
        # it when its delay ends) ...
        assert wait_for(lambda: questions(tenant, frm), timeout=10)
    finally:
        requests.delete(stack.sim + "/_sim/fail", timeout=5)
    # ... and the queue goes on: a later poll is asked and started.
    other = phone()
    r = tenant.stack.post_webhook(body(tenant, other, text(other, "/poll")))
    assert r.status_code == 200, r.text
    assert wait_for(lambda: events(tenant, "poll_started",
                                   phone="+" + other), timeout=10)
    assert len(questions(tenant, frm)) == 1
    assert [j["state"] for j in jobs_of(tenant, "poll_question")] == \
        ["unknown", "done"]
    # The poll stays open: its deadline is a job of its own, safe to run.
    assert polls(tenant, frm)[0]["status"] == "open"


def test_poll_timeout_is_a_job_that_ends_the_poll(tenant):
    enable(tenant, timeout_s=1)
    frm = phone()
    r = tenant.stack.post_webhook(body(tenant, frm, text(frm, "/poll")))
    assert r.status_code == 200, r.text
    end = wait_for(lambda: events(tenant, "poll_ended"), timeout=6)
    assert end and end[0]["reason"] == "timeout"
    t = wait_for(lambda: [j for j in jobs_of(tenant, "poll_timeout")
                          if j["state"] == "done"], timeout=5)
    assert t and t[0]["note"] == "timed out"
