#!/usr/bin/python3
"""bench/report.py: turns bench/run.sh's per-scenario JSON into
bench/results/<stamp>.json and the table printed on stdout.

Every figure sits beside the ceiling measured in the same run, as a ratio;
the issue's target is shown too, for reading, never enforced (benchmarks do
not fail for being slow).

usage: report.py TMPDIR OUT.json STAMP
       report.py --markdown RESULTS.json
"""
import json
import os
import sys


def load(d, name):
    p = os.path.join(d, name + ".json")
    try:
        with open(p) as f:
            return json.load(f)
    except (OSError, ValueError):
        return {"skipped": "no result (the scenario did not run)"}


def num(v, nd=1):
    if v is None or v == "":
        return "-"
    if isinstance(v, bool):
        return "yes" if v else "NO"
    if isinstance(v, (int, float)):
        if abs(v) >= 100:
            return "{:,.0f}".format(v)
        return ("{:.%df}" % nd).format(v)
    return str(v)


def ratio(a, b):
    try:
        return a / b if b else None
    except TypeError:
        return None


def pcts(r):
    return r.get("ratio") if isinstance(r, dict) else None


class Table:
    def __init__(self):
        self.rows = []

    def add(self, scen, figure, value, ceiling=None, rat=None, target=""):
        self.rows.append({"scenario": scen, "figure": figure,
                          "value": value, "ceiling": ceiling,
                          "ratio": round(rat, 3) if isinstance(rat, float) else rat,
                          "target": target})

    def skip(self, scen, why):
        self.rows.append({"scenario": scen, "figure": "skipped: " + why,
                          "value": None, "ceiling": None, "ratio": None,
                          "target": ""})

    def text(self):
        hdr = ("scenario", "figure", "value", "ceiling", "ratio", "target")
        cells = [hdr]
        for r in self.rows:
            cells.append((r["scenario"], r["figure"], num(r["value"]),
                          num(r["ceiling"]),
                          "-" if r["ratio"] is None else "{:.0%}".format(r["ratio"]),
                          r["target"]))
        w = [max(len(c[i]) for c in cells) for i in range(len(hdr))]
        w[1] = min(w[1], 60)
        out = []
        for k, c in enumerate(cells):
            out.append("  ".join(c[i][:w[i]].ljust(w[i]) if i < 2 else
                                 c[i].rjust(w[i]) if i < 5 else c[i]
                                 for i in range(len(hdr))).rstrip())
            if k == 0:
                out.append("  ".join("-" * x for x in w))
        return "\n".join(out)


def markdown(path):
    """A results file's table as Markdown, for the README."""
    res = json.load(open(path))
    m = res["machine"]
    print("Run %s on %s x %s, %s MB, Linux %s; %s; %s; load average"
          " at start %s." % (
              res["stamp"], m.get("nproc"), m.get("cpu"), m.get("mem_mb"),
              m.get("kernel"), m.get("nginx"), m.get("postgres"),
              " ".join("%.1f" % x for x in m.get("load_avg_at_start", []))))
    print()
    print("| scenario | figure | value | ceiling | ratio | target |")
    print("|---|---|---:|---:|---:|---|")
    for r in res["table"]:
        print("| %s | %s | %s | %s | %s | %s |" % (
            r["scenario"], r["figure"].replace("|", "/"), num(r["value"]),
            num(r["ceiling"]),
            "-" if r["ratio"] is None else "{:.0%}".format(r["ratio"]),
            r["target"]))


def median(xs):
    xs = sorted(x for x in xs if isinstance(x, (int, float)))
    if not xs:
        return None
    m = len(xs) // 2
    return xs[m] if len(xs) % 2 else (xs[m - 1] + xs[m]) / 2


def dup_rows(r):
    db = r.get("db", {})
    return db.get("rows", 0) - db.get("distinct_rows", 0)


def publish_text(r):
    """The publish checks of one ingest run: yes, or what went wrong."""
    g, ws = r.get("publish", {}), r.get("ws", {})
    if "error" in g:
        return "NO: the check failed: " + g["error"][:80]
    if r.get("published_without_gaps"):
        return "yes"
    return ("NO: %d stored, %d without event, %d unnumbered, %d seq gaps; "
            "subscriber: %s not received, %d lost, %d id gaps; API: %s "
            "missing, %s id gaps" % (
                g.get("stored", 0), g.get("without_event", 0),
                g.get("events_unnumbered", 0), g.get("tenant_seq_gaps", 0),
                g.get("not_at_subscriber"), ws.get("lost", 0),
                ws.get("id_gaps", 0), g.get("not_in_api"),
                g.get("api_id_gaps")))


def scans_text(r):
    """Sequential scans per table during a run (approximate)."""
    sc = r.get("scans") or {}
    return ", ".join("%s %d" % (k, sc[k]["seq_scan"])
                     for k in ("messages", "contacts", "events") if k in sc)


def run_rows(t, s, r, base=None, base_name="", target="", rate=True):
    """The figures every ingest run has, compactly: rate (beside base when
    given), latency, exactly once, published without gaps, scans."""
    if "error" in r:
        t.skip(s, r["error"][:100])
        return
    if not rate:
        pass
    elif base is not None:
        t.add(s, "webhooks/s vs %s" % base_name, r["rps"], base,
              ratio(r["rps"], base), target)
    else:
        t.add(s, "webhooks/s (32 conns, 1 subscriber)", r["rps"])
    t.add(s, "p50 / p99 ms", "%.2f / %.2f" % (r["p50_ms"], r["p99_ms"]),
          target="p99 <= 10")
    t.add(s, "rows missing / duplicated (%d acked)" % r["db"]["acked"],
          "%d / %d" % (r["db"]["missing"], dup_rows(r)), target="0 / 0")
    t.add(s, "published: numbered gap-free, at the subscriber, in the API",
          publish_text(r), target="yes")
    t.add(s, "seq scans during the run (messages, contacts, events)",
          scans_text(r), target="none per webhook")


def cpu_rows(t, s, r):
    cpu = r["cpu_us_per_webhook"]
    t.add(s, "CPU us/webhook responder", cpu["responder"], target="<= 30")
    t.add(s, "CPU us/webhook nginx", cpu["nginx"])
    t.add(s, "CPU us/webhook PostgreSQL", cpu["postgres"], target="<= 150")
    t.add(s, "CPU us/webhook total server (responder + nginx + PostgreSQL)",
          cpu["total"], target="<= 300")
    if "pushd" in cpu:
        t.add(s, "CPU us/webhook wa-pushd (apart)", cpu["pushd"])


def peer_rows(t, pe):
    """Ours beside the seed stack, same load, same run: medians of the
    interleaved rounds."""
    if "skipped" in pe:
        t.skip("peer", pe["skipped"])
        return
    peers = [r for r in pe.get("peer_rounds", []) if "error" not in r]
    ours = [r for r in pe.get("ours_rounds", []) if "error" not in r]
    for r in pe.get("peer_rounds", []) + pe.get("ours_rounds", []):
        if "error" in r:
            t.skip("peer", "a round failed: " + r["error"][:80])
    if not peers or not ours:
        return
    s = "peer"
    pr, orr = median(r["rps"] for r in peers), median(r["rps"] for r in ours)
    t.add(s, "seed stack (%s worker) webhooks/s, median of %d" % (
        pe.get("workers", 1), len(peers)), pr)
    t.add(s, "ours webhooks/s vs the seed stack (medians)", orr, pr,
          ratio(orr, pr), ">= 200%")
    t.add(s, "  rounds, webhooks/s: seed stack | ours",
          "%s | %s" % (" ".join(num(r["rps"]) for r in peers),
                       " ".join(num(r["rps"]) for r in ours)))
    t.add(s, "p99 ms (medians): seed stack / ours", "%.1f / %.1f" % (
        median(r["p99_ms"] for r in peers), median(r["p99_ms"] for r in ours)),
        target="ours <= 10")
    t.add(s, "rows missing / duplicated, all rounds: seed stack | ours",
          "%d / %d | %d / %d" % (
              sum(r["db"]["missing"] for r in peers),
              sum(dup_rows(r) for r in peers),
              sum(r["db"]["missing"] for r in ours),
              sum(dup_rows(r) for r in ours)), target="0 / 0 | 0 / 0")
    t.add(s, "ours published without gaps, every round",
          all(r.get("published_without_gaps") for r in ours), target="yes")
    t.add(s, "CPU us/webhook, all: seed stack | ours (medians)",
          "%s | %s" % (median(r["cpu_us_per_webhook"]["total"] for r in peers),
                       median(r["cpu_us_per_webhook"]["total"] for r in ours)))
    t.add(s, "CPU us/webhook PostgreSQL, ours (median)",
          median(r["cpu_us_per_webhook"]["postgres"] for r in ours),
          target="<= 150")
    t.add(s, "CPU us/webhook total server, ours (median)",
          median(r["cpu_us_per_webhook"]["total"] for r in ours),
          target="<= 300")


def fresh_rows(t, fr):
    if "skipped" in fr:
        t.skip("fresh", fr["skipped"])
        return
    first, same = fr.get("first", {}), fr.get("warm_same", {})
    warm = fr.get("warm_restarted", {})
    w = warm.get("rps") if "error" not in warm else None
    s = "fresh"
    run_rows(t, s, first, w, "warm run (same data, stack restarted)",
             ">= 90%")
    if "per_s" in first:
        t.add(s, "  answers per second of that run",
              " ".join(str(x) for x in first["per_s"]))
    if "error" not in same:
        t.add(s, "webhooks/s, same processes warmed up, vs the warm run",
              same.get("rps"), w, ratio(same.get("rps"), w), ">= 90%")
        t.add(s, "  its seq scans (messages, contacts, events)",
              scans_text(same))
    if w is not None:
        t.add(s, "webhooks/s, same data, stack restarted, warmed up", w)
        t.add(s, "  its p99 ms", warm.get("p99_ms"))


def scale_rows(t, sc):
    if "skipped" in sc:
        t.skip("scale", sc["skipped"])
        return
    sizes = sc.get("sizes") or []
    if len(sizes) != 2:
        return
    a, b = sc.get("at_%d" % sizes[0], {}), sc.get("at_%d" % sizes[1], {})
    for n in sizes:
        p = sc.get("preload_%d" % n, {})
        if "error" in p:
            t.skip("scale", "preload to %d: %s" % (n, p["error"][:80]))
    if "rps" not in a:
        t.skip("scale", a.get("error", "no run at %d" % sizes[0])[:100])
        return
    for n, r in zip(sizes, (a, b)):
        s = "scale %s" % "{:,}".format(n)
        p, st = sc.get("preload_%d" % n, {}), sc.get("settle_%d" % n, {})
        if "loaded" in p:
            t.add(s, "history stored in SQL first (messages + events, "
                  "contacts)", "%s in %s s, %s contacts" % (
                      "{:,}".format(p["loaded"]), p["seconds"],
                      "{:,}".format(p.get("contacts", 0))))
        if st:
            t.add(s, "then autovacuum: " + ("the product's own settings"
                  if st.get("mode", "").startswith("auto") else
                  "none, VACUUM (ANALYZE) by hand"),
                  ("caught up in %s s" if st.get("caught_up") else
                   "NOT caught up after %s s") % st.get("seconds"))
        if "rps" not in r:
            t.skip(s, r.get("error", "no run")[:100])
        elif r is a:
            run_rows(t, s, r)
        else:
            run_rows(t, s, r, a["rps"], "%s stored" % "{:,}".format(
                sizes[0]), ">= 90%")


def ws_rows(t, ws, module):
    """Webhook -> WebSocket on one push module."""
    if "skipped" in ws:
        t.skip("ws %s" % module, ws["skipped"])
        return
    keys = [("small", "p99 <= 5"), ("large", "p99 <= 100")]
    keys += [(k, "0 lost") for k in sorted(ws) if k.startswith("small_p")
             and not k.endswith("_procs")]
    for k, tgt in keys:
        r = ws.get(k)
        if not r:
            continue
        s = "ws %s %s" % (module, k)
        if ws.get(k + "_procs"):
            s = "ws %s small x%s" % (module, ws[k + "_procs"])
        if "error" in r:
            t.skip(s, r["error"])
            continue
        t.add(s, "%d subs, %d/s: POST->frame p50/p99/max ms" %
              (r["subscribers"], r["rate"]),
              "%.2f / %.2f / %.1f" % (r["p50_ms"], r["p99_ms"], r["max_ms"]),
              target=tgt)
        if "p99_second_half_ms" in r:
            # A relay falling behind makes the second half the slower.
            t.add(s, "p99 ms, webhooks of the 1st / 2nd half",
                  "%.2f / %.2f" % (r["p99_first_half_ms"],
                                   r["p99_second_half_ms"]),
                  target="no growing backlog" if k == "large" else "")
        t.add(s, "frames lost / duplicated (of %d)" % r["frames_expected"],
              "%d / %d" % (r["lost"], r["duplicated"]), target="0 / 0")
        t.add(s, "webhooks acked / sent, late sends",
              "%d / %d, %d" % (r["post"]["ok"], r["post"]["sent"],
                               r["post"]["late_sends"]))
        el = r["post"].get("elapsed_s") or 0
        t.add(s, "webhooks/s achieved vs offered",
              round(r["post"]["ok"] / el, 1) if el else None, r["rate"],
              ratio(r["post"]["ok"] / el, float(r["rate"])) if el else None)
        t.add(s, "load generator + subscribers CPU s", r["client_cpu_s"])
    if ws.get("pushd_peak_rss_kb"):
        t.add("ws %s" % module, "wa-pushd peak RSS MB",
              round(ws["pushd_peak_rss_kb"] / 1024, 1), target="<= 5")


def relay_rows(t, rl, module):
    """The relay against a direct publish to the same module."""
    s = "relay %s" % module
    if "skipped" in rl:
        t.skip(s, rl["skipped"])
        return
    pd, dr = rl.get("pushd", {}), rl.get("direct", {})
    if "error" in pd:
        t.skip(s, pd["error"])
    else:
        t.add(s, "wa-pushd events/s (%s events) vs direct POST (1 conn)"
              % pd.get("events"), pd.get("events_per_s"), dr.get("rps"),
              ratio(pd.get("events_per_s"), dr.get("rps")), ">= 80%")
        t.add(s, "wa-pushd CPU us/event", pd.get("cpu_us_per_event"))
    if rl.get("pushd_peak_rss_kb"):
        t.add(s, "wa-pushd peak RSS MB (VmHWM; private now)",
              "%.1f (%.1f)" % (rl["pushd_peak_rss_kb"] / 1024,
                               rl.get("pushd_rss_anon_kb", 0) / 1024),
              target="<= 5")


def status_rows(t, st):
    """The general path: status webhooks for stored outgoing messages."""
    if "skipped" in st:
        t.skip("statuses", st["skipped"])
        return
    if "error" in st:
        t.skip("statuses", st["error"][:100])
        return
    t.add("statuses", "status webhooks/s (32 conns, general path)", st["rps"])
    t.add("statuses", "p50 / p99 ms", "%s / %s" % (num(st["p50_ms"], 2),
                                                  num(st["p99_ms"], 2)))
    t.add("statuses", "statuses applied / acknowledged (of %d messages)" %
          st["messages"], "%d / %d" % (st["applied"], st["ok"]),
          target="applied >= acknowledged")
    t.add("statuses", "errors / non-2xx", "%d / %d" % (st["errors"],
                                                       st["non2xx"]))
    cpu_rows(t, "statuses", st)


def main():
    if sys.argv[1] == "--markdown":
        return markdown(sys.argv[2])
    d, out, stamp = sys.argv[1], sys.argv[2], sys.argv[3]
    machine = load(d, "machine")
    try:
        modules = open(os.path.join(d, "modules.txt")).read().split()
    except OSError:
        modules = ["pushstream", "nchan"]
    names = ["fresh", "ceilings", "ingest", "peer", "statuses", "send",
             "media", "scale"]
    names += [p + m for m in modules for p in ("ws_", "relay_")]
    sc = {n: load(d, n) for n in names}
    t = Table()

    fresh_rows(t, sc["fresh"])
    c = sc["ceilings"]
    ret = c.get("nginx_return_200", {}).get("rps")
    hello = c.get("fcgi_hello", {}).get("rps")
    pgb = {k: v.get("tps") for k, v in c.items()
           if k.startswith("pgbench_c") and isinstance(v, dict)}
    pg_best = max([v for v in pgb.values() if v] or [0]) or None
    if "skipped" in c:
        t.skip("ceilings", c["skipped"])
    else:
        t.add("ceiling", "nginx return 200, req/s (wa-bench, 32 conns)", ret)
        if c.get("nginx_return_200_wrk_rps"):
            t.add("ceiling", "nginx return 200, req/s (wrk -t1)",
                  c["nginx_return_200_wrk_rps"])
        t.add("ceiling", "nginx -> wa-hello x%s, req/s" %
              c.get("fcgi_hello_procs", "?"), hello, ret, ratio(hello, ret))
        t.add("ceiling", "nginx -> wa-hello p99 ms",
              c.get("fcgi_hello", {}).get("p99_ms"))
        if isinstance(c.get("pgbench"), dict) and "skipped" in c["pgbench"]:
            t.skip("ceiling", "pgbench: " + c["pgbench"]["skipped"])
        for k in sorted(pgb, key=lambda s: int(s[9:])):
            t.add("ceiling", "pgbench webhook SQL -c %s, tx/s" % k[9:], pgb[k])
        prof = c.get("pg_function_profile") or []
        if prof:
            t.add("ceiling", "  where pgbench's time goes (self ms/call)",
                  None, target=", ".join("%s %.2f" % (
                      f["funcname"], f["self_ms_per_call"]) for f in prof[:3]))

    ing = sc["ingest"]
    best = None
    if "skipped" in ing:
        t.skip("ingest", ing["skipped"])
    else:
        for k in sorted((k for k in ing if k.startswith("procs_")),
                        key=lambda s: int(s[6:])):
            r = ing[k]
            if "error" in r:
                t.skip("ingest " + k, r["error"][:100])
                continue
            p = r.get("procs")
            s = "ingest x%s" % p
            t.add(s, "webhooks/s (32 conns) vs wa-hello", r["rps"], hello,
                  ratio(r["rps"], hello), ">= 27%")
            t.add(s, "webhooks/s vs pgbench (best)", r["rps"], pg_best,
                  ratio(r["rps"], pg_best), ">= 65%")
            run_rows(t, s, r, rate=False)
            t.add(s, "errors / non-2xx", "%d / %d" % (r["errors"], r["non2xx"]))
            cpu_rows(t, s, r)
            t.add(s, "responder peak RSS MB (VmHWM; private now)",
                  "%.1f (%.1f)" % (r["responder_peak_rss_kb"] / 1024,
                                   r.get("responder_rss_anon_kb", 0) / 1024),
                  target="<= 10")
            t.add(s, "load generator CPU s", r.get("client_cpu_s"))
            if best is None or r["rps"] > best["rps"]:
                best = r
        if best:
            t.add("ingest", "best process count", best["procs"])
    peer_rows(t, sc["peer"])
    status_rows(t, sc["statuses"])

    for m in modules:
        ws_rows(t, sc["ws_" + m], m)
        relay_rows(t, sc["relay_" + m], m)

    sd = sc["send"]
    if "skipped" in sd:
        t.skip("send", sd["skipped"])
    else:
        a, g = sd.get("instant", {}), sd.get("graph_instant", {})
        t.add("send", "sends/s, instant Graph (32 conns) vs Graph alone",
              a.get("rps"), g.get("rps"), ratio(a.get("rps"), g.get("rps")))
        o = sd.get("overhead_c1_ms", {})
        t.add("send", "our added ms/send p50 / p99 (1 conn)",
              "%s / %s" % (num(o.get("p50"), 3), num(o.get("p99"), 3)),
              target="p50 <= 0.3")
        o = sd.get("overhead_ms", {})
        t.add("send", "our added ms/send p50 / p99 (32 conns)",
              "%s / %s" % (num(o.get("p50"), 3), num(o.get("p99"), 3)))
        s = sd.get("slow_200ms_c64", {})
        t.add("send", "sends/s, Graph at 200 ms, 64 clients", s.get("rps"),
              320.0, ratio(s.get("rps"), 320.0), "64 / 0.2 s = 320")
        slots = sd.get("api_slots")
        if slots:
            t.add("send", "  same vs API pool's %d slots / 0.2 s" % slots,
                  s.get("rps"), slots / 0.2, ratio(s.get("rps"), slots / 0.2))
        i = sd.get("ingest_during_slow_sends", {})
        idle = sd.get("ingest_idle_p99_ms")
        if "skipped" in i:
            t.skip("send", "isolation: " + i["skipped"])
        elif i:
            t.add("send", "ingest p99 ms during slow sends vs idle",
                  i.get("p99_ms"), idle, ratio(i.get("p99_ms"), idle),
                  "<= 120%")
            t.add("send", "ingest webhooks/s during slow sends", i.get("rps"))

    md = sc["media"]
    if "skipped" in md:
        t.skip("media", md["skipped"])
    else:
        mb = 1024 * 1024
        for k in ("upload", "download"):
            r, cl = md.get(k, {}), md.get("ceiling_" + k, {})
            if "skipped" in r:
                t.skip("media", k + ": " + r["skipped"])
                continue
            v = r.get("bytes_per_s", 0) / mb
            cv = cl.get("bytes_per_s", 0) / mb
            t.add("media", "100 MB %s MB/s (HTTP %s) vs nginx alone"
                  % (k, r.get("status")), round(v, 1), round(cv, 1),
                  ratio(v, cv))
            t.add("media", "responder peak RSS growth MB (%s)" % k,
                  round(md.get(k + "_rss_growth_kb", 0) / 1024, 1),
                  target="<= 4")
        if "download_intact" in md:
            t.add("media", "download bytes intact (sha256)",
                  md["download_intact"])

    scale_rows(t, sc["scale"])

    result = {"stamp": stamp, "machine": machine, "table": t.rows,
              "scenarios": sc}
    with open(out, "w") as f:
        json.dump(result, f, indent=1)
    print()
    print("wa-backend benchmark %s on %s x %s (%s)" % (
        stamp, machine.get("nproc"), machine.get("cpu"), machine.get("kernel")))
    print()
    print(t.text())
    print()


if __name__ == "__main__":
    main()
