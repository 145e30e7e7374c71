"""Summarises bench/compare.sh's JSON lines: one row per label with the
chat-server and ngircd figures side by side and their ratio, then case C's
p99 over all its runs ("C" and "C run N") per server."""
import json
import sys

rows = {}
order = []
for line in open(sys.argv[1]):
    r = json.loads(line)
    key = r["label"]
    if key not in rows:
        rows[key] = {}
        order.append(key)
    rows[key][r["server"]] = r


def fig(r):
    if r is None:
        return "-", None
    rep = r["report"]
    if not rep.get("passed"):
        note = " FAIL(%s; lost %s)" % (rep.get("failure"), rep.get("lost"))
    else:
        note = ""
    if rep.get("rate", 0) > 0:
        v = rep["latency_p99_ms"]
        return "p50 %.2f / p99 %.2f / max %.2f ms%s" % (
            rep["latency_p50_ms"], v, rep["latency_max_ms"], note), v
    if rep.get("expected", 0) == 0 or rep.get("members", 0) >= 10000:
        v = rep.get("server_rss_per_member_kib")
        cpu = rep.get("server_cpu_s_joined", 0) - rep.get("server_cpu_s_before", 0)
        return "%.2f KiB/member, joins %.1f s (server CPU %.1f s), %.2f M del/s%s" % (
            v, rep["connect_s"], cpu, rep["deliveries_per_s"] / 1e6, note), v
    v = rep["deliveries_per_s"] / 1e6
    cpu = rep.get("server_cpu_s_after", 0) - rep.get("server_cpu_s_joined", 0)
    per = cpu / max(rep["received"], 1) * 1e6
    return "%.2f M del/s (server %.2f us CPU/del, gen CPU %.2f s, p99 %.0f ms)%s" % (
        v, per, rep["own_cpu_msg_s"], rep["latency_p99_ms"], note), v


print("| case | chat-server | ngircd | ratio | load avg |")
print("| --- | --- | --- | --- | --- |")
for k in order:
    c, cv = fig(rows[k].get("chat"))
    i, iv = fig(rows[k].get("irc"))
    ratio = "-"
    if cv and iv:
        ratio = "%.2fx" % (cv / iv)
    loads = "/".join(r["load"] for r in rows[k].values())
    print("| %s | %s | %s | %s | %s |" % (k, c, i, ratio, loads))


# Case C over its repeated runs: the median p99 and the range, per server.
p99s = {}
for k in order:
    if k == "C" or k.startswith("C run "):
        for server, r in rows[k].items():
            if r["report"].get("passed"):
                p99s.setdefault(server, []).append(r["report"]["latency_p99_ms"])
if p99s:
    print()
    for server, v in sorted(p99s.items()):
        v.sort()
        n = len(v)
        median = v[n // 2] if n % 2 else (v[n // 2 - 1] + v[n // 2]) / 2
        print("C p99 over %d runs, %s: median %.2f ms (%.2f to %.2f)" % (
            n, server, median, v[0], v[-1]))
