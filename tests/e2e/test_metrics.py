"""Prometheus metrics: GET /metrics on the loopback metrics port (nginx's
metrics server, answered by an API responder that sums every responder's
shared counters), valid text format, and counters that move with what the
stack does."""
import os
import signal
import subprocess
import time

import pytest
import requests
import websocket

import prom_text
from conftest import ROOT, new_wamid, pids, raw_request, wait_for
from send_helpers import PHONE, open_window, sim_clear_faults, sim_fail


def metrics_url(stack):
    return "http://127.0.0.1:%s/metrics" % stack.env["WA_METRICS_PORT"]


def scrape(stack):
    r = requests.get(metrics_url(stack), timeout=10)
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    return prom_text.parse(r.text)


def val(stack, name, **labels):
    return prom_text.value(scrape(stack), name, **labels)


def text_message(tenant, wamid, body="hi"):
    return tenant.webhook(tenant.webhook_value(
        contacts=[{"profile": {"name": "Asha"}, "wa_id": PHONE}],
        messages=[{"from": PHONE, "id": wamid, "timestamp": str(int(time.time())),
                   "type": "text", "text": {"body": body}}]))


def test_metrics_are_valid_prometheus_text_with_every_family(stack):
    fams = scrape(stack)
    for name in ("wa_http_requests_total", "wa_http_request_duration_seconds",
                 "wa_webhooks_stored_total", "wa_webhook_duplicates_total",
                 "wa_webhook_unplaced_total", "wa_webhook_items_total",
                 "wa_graph_calls_total", "wa_graph_call_duration_seconds",
                 "wa_db_errors_total", "wa_responder_processes",
                 "wa_relay_lag_events", "wa_push_stats_up",
                 "wa_push_subscribers", "wa_push_channels"):
        assert name in fams, name
    procs = fams["wa_responder_processes"]
    assert prom_text.value(fams, "wa_responder_processes", pool="webhook") == \
        int(stack.env["WA_WEBHOOK_PROCS"])
    assert prom_text.value(fams, "wa_responder_processes", pool="api") == \
        int(stack.env["WA_API_PROCS"]), procs.samples


def test_promtool_accepts_the_metrics(stack, tenant):
    """Prometheus's own checker (scripts/promtool.sh puts it in build/tools),
    on a scrape with every family filled in by real traffic."""
    tenant.api("GET", "/api/v1/conversations")
    assert stack.post_webhook(text_message(tenant, new_wamid())).status_code \
        == 200
    promtool = os.path.join(ROOT, "build", "tools", "promtool")
    r = requests.get(metrics_url(stack), timeout=10)
    assert r.status_code == 200
    out = subprocess.run([promtool, "check", "metrics"], input=r.text,
                         capture_output=True, text=True, timeout=30)
    # promtool exits 1 for lint problems too (names, help texts).
    assert out.returncode == 0, out.stdout + out.stderr


def test_the_checker_refuses_what_prometheus_would():
    good = ("# HELP x_total X.\n# TYPE x_total counter\nx_total{a=\"1\"} 2\n")
    prom_text.parse(good)
    for bad in (
            good.replace("x_total{", "x_total {"),                # grammar
            good + "x_total{a=\"1\"} 3\n",                        # series twice
            good.replace(" 2\n", " -1\n"),                        # counter < 0
            good.replace("# HELP x_total X.\n", ""),              # no HELP
            good.replace("x_total", "x"),                         # _total
            "# HELP h H.\n# TYPE h histogram\nh_bucket{le=\"1\"} 2\n"
            "h_bucket{le=\"+Inf\"} 1\nh_sum 0\nh_count 1\n",      # cumulative
            "# HELP h H.\n# TYPE h histogram\nh_bucket{le=\"+Inf\"} 1\n"
            "h_sum 0\nh_count 2\n",                               # count
            good + "# HELP y Y.\n# TYPE y gauge\ny 1\nx_total{a=\"2\"} 1\n"):
        with pytest.raises(prom_text.Invalid):
            prom_text.parse(bad)


def test_metrics_are_served_on_the_loopback_port_only(stack):
    # Not through the public port, by either name.
    for path in ("/metrics", "/_internal/metrics"):
        r = raw_request(stack, "GET", path,
                        headers={"WA-Metrics-Scrape": "1"})
        assert r.status_code == 404, (path, r.status_code)
        assert "wa_http_requests_total" not in r.text
    # The metrics server has nothing else.
    port = stack.env["WA_METRICS_PORT"]
    r = requests.get("http://127.0.0.1:%s/api/v1/me" % port, timeout=5)
    assert r.status_code == 404


def test_requests_are_counted_by_route_and_status(stack, tenant):
    fams = scrape(stack)
    ok0 = prom_text.value(fams, "wa_http_requests_total", pool="api",
                          method="GET", route="/api/v1/tenant", status="200")
    bad0 = prom_text.value(fams, "wa_http_requests_total", pool="api",
                           method="GET", route="/api/v1/tenant", status="401")
    hist0 = prom_text.value(fams, "wa_http_request_duration_seconds_count",
                            pool="api", route="/api/v1/tenant")
    none0 = prom_text.value(fams, "wa_http_requests_total", route="none",
                            status="404")
    for _ in range(3):
        assert tenant.api("GET", "/api/v1/tenant").status_code == 200
    r = requests.get(stack.url("/api/v1/tenant"), timeout=5)
    assert r.status_code == 401
    assert requests.get(stack.url("/api/v1/nothing"), timeout=5) \
        .status_code == 404
    fams = scrape(stack)
    assert prom_text.value(fams, "wa_http_requests_total", pool="api",
                           method="GET", route="/api/v1/tenant",
                           status="200") == ok0 + 3
    assert prom_text.value(fams, "wa_http_requests_total", pool="api",
                           method="GET", route="/api/v1/tenant",
                           status="401") == bad0 + 1
    assert prom_text.value(fams, "wa_http_request_duration_seconds_count",
                           pool="api", route="/api/v1/tenant") == hist0 + 4
    assert prom_text.value(fams, "wa_http_requests_total", route="none",
                           status="404") == none0 + 1


def test_a_stored_webhook_and_its_retry_move_stored_and_duplicates(stack, tenant):
    fams = scrape(stack)
    stored0 = prom_text.value(fams, "wa_webhooks_stored_total")
    dup0 = prom_text.value(fams, "wa_webhook_duplicates_total")
    msgs0 = prom_text.value(fams, "wa_webhook_items_total", kind="messages")
    posts0 = prom_text.value(fams, "wa_http_requests_total", pool="webhook",
                             method="POST", route="/webhook", status="200")
    body = text_message(tenant, new_wamid())
    r = stack.post_webhook(body)
    assert r.status_code == 200 and r.json()["messages"] == 1, r.text
    r = stack.post_webhook(body)        # Meta's retry
    assert r.status_code == 200 and r.json()["duplicates"] == 1, r.text
    fams = scrape(stack)
    assert prom_text.value(fams, "wa_webhooks_stored_total") >= stored0 + 2
    assert prom_text.value(fams, "wa_webhook_duplicates_total") >= dup0 + 1
    assert prom_text.value(fams, "wa_webhook_items_total",
                           kind="messages") >= msgs0 + 1
    assert prom_text.value(fams, "wa_http_requests_total", pool="webhook",
                           method="POST", route="/webhook",
                           status="200") >= posts0 + 2


def test_a_webhook_for_an_unknown_number_counts_as_unplaced(stack, tenant):
    before = val(stack, "wa_webhook_unplaced_total")
    body = text_message(tenant, new_wamid())
    # Tenants' numbers all start with 1 (conftest): this one is no one's.
    body["entry"][0]["changes"][0]["value"]["metadata"]["phone_number_id"] = \
        "2" + tenant.pnid[1:]
    r = stack.post_webhook(body)
    assert r.status_code == 200 and r.json()["unplaced"] == 1, r.text
    assert val(stack, "wa_webhook_unplaced_total") == before + 1


def test_a_database_refusal_is_counted_as_a_database_error(stack):
    # A signed body that is not JSON: PostgreSQL's jsonb refuses it.
    before = val(stack, "wa_db_errors_total", pool="webhook", kind="check")
    r = stack.post_webhook(b"{not json")
    assert r.status_code == 400, r.text
    assert val(stack, "wa_db_errors_total", pool="webhook",
               kind="check") == before + 1


def test_graph_calls_are_counted_by_outcome_with_their_duration(stack, tenant):
    fams = scrape(stack)
    ok0 = prom_text.value(fams, "wa_graph_calls_total", outcome="ok")
    client0 = prom_text.value(fams, "wa_graph_calls_total",
                              outcome="client_error")
    n0 = prom_text.value(fams, "wa_graph_call_duration_seconds_count")
    open_window(tenant)
    r = tenant.api("POST", "/api/v1/send/text", json={"to": PHONE,
                                                       "text": "hello"})
    assert r.status_code == 200, r.text
    sim_fail(stack, code=131026, to=PHONE, path="messages")
    try:
        r = tenant.api("POST", "/api/v1/send/text", json={"to": PHONE,
                                                           "text": "again"})
    finally:
        sim_clear_faults(stack)
    assert r.status_code == 422, r.text
    fams = scrape(stack)
    assert prom_text.value(fams, "wa_graph_calls_total",
                           outcome="ok") >= ok0 + 1
    assert prom_text.value(fams, "wa_graph_calls_total",
                           outcome="client_error") == client0 + 1
    assert prom_text.value(fams, "wa_graph_call_duration_seconds_count") >= \
        n0 + 2


def test_relay_lag_grows_while_pushd_is_down_and_drains_after(stack, tenant):
    stack.ctl("stop", "pushd")
    try:
        r = stack.post_webhook(text_message(tenant, new_wamid()))
        assert r.status_code == 200 and r.json()["events"] >= 1, r.text
        assert val(stack, "wa_relay_lag_events") >= 1
    finally:
        stack.ctl("start", "pushd")
    assert wait_for(lambda: val(stack, "wa_relay_lag_events") == 0,
                    timeout=10), "the lag never drained"


def test_websocket_subscribers_show_in_the_push_module_gauge(
        stack, tenant, push_module):
    labels = {"module": push_module}
    assert val(stack, "wa_push_stats_up", **labels) == 1
    before = val(stack, "wa_push_subscribers", **labels)
    r = requests.post(stack.url("/api/v1/ws-ticket"), timeout=10,
                      headers=tenant.headers)
    assert r.status_code == 200, r.text
    ws = websocket.create_connection(
        "ws://127.0.0.1:%s/ws/%s?ticket=%s" % (
            stack.env["WA_HTTP_PORT"], tenant.id, r.json()["ticket"]),
        timeout=5)
    try:
        assert wait_for(lambda: val(stack, "wa_push_subscribers", **labels)
                        > before, timeout=5), "the subscriber is not counted"
        assert val(stack, "wa_push_channels", **labels) >= 1
    finally:
        ws.close()


def test_a_responder_stopped_alone_leaves_its_pool_serving_and_counts_kept(
        stack):
    """A responder that stops (SIGTERM: an admin, systemd restarting one
    instance) must not take the pool's shared socket down with it, and its
    replacement carries on from its counts."""
    before = val(stack, "wa_http_requests_total", route="/healthz")
    victim = pids(stack, "fcgi-api.pid")[0]
    os.kill(victim, signal.SIGTERM)
    assert wait_for(lambda: not os.path.exists("/proc/%d" % victim) or
                    open("/proc/%d/stat" % victim).read().rsplit(")", 1)[1]
                    .split()[0] == "Z", timeout=5), "it did not stop"
    statuses = [requests.get(stack.url("/healthz"), timeout=10).status_code
                for _ in range(20)]
    assert set(statuses) == {200}, statuses
    assert wait_for(lambda: victim not in pids(stack, "fcgi-api.pid") and
                    len(pids(stack, "fcgi-api.pid")) ==
                    int(stack.env["WA_API_PROCS"]), timeout=5)
    assert val(stack, "wa_http_requests_total", route="/healthz") >= \
        before + 20
    # The replacement counts once it has taken its slot, soon after start.
    assert wait_for(lambda: val(stack, "wa_responder_processes", pool="api")
                    == int(stack.env["WA_API_PROCS"]), timeout=5)
