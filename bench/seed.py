#!/usr/bin/env python3
"""Seeds a running rodeo for the read benchmarks, through the public API.

- `status`: 500 services x 4 environments (staging, prod-eu, prod-us, production), each
  deployment with commits so every cell has a drift value to show.
- `big`: one service whose second deployment ships 500 commits; prints its id.

Usage: seed.py <base-url> <token> status|big
"""
import json
import sys
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

BASE, TOKEN, WHAT = sys.argv[1], sys.argv[2], sys.argv[3]
NOW = "2026-01-01T00:00:00Z"


def post(path, body, method="POST"):
    req = urllib.request.Request(
        BASE + path,
        data=json.dumps(body).encode(),
        headers={"Authorization": "Bearer " + TOKEN, "Content-Type": "application/json"},
        method=method,
    )
    with urllib.request.urlopen(req) as r:
        return json.loads(r.read())


def sha(*parts):
    return "".join("%08x" % p for p in parts).ljust(40, "0")[:40]


def commit(s, parent):
    return {"sha": s, "parents": [parent] if parent else [], "author": "Seeder",
            "authored_at": NOW, "committed_at": NOW, "message": "chore: seed " + s[:8]}


def seed_status():
    for i, (env, order, prod) in enumerate(
        [("staging", 100, False), ("prod-eu", 200, True), ("prod-us", 200, True), ("production", 300, True)]
    ):
        try:
            post("/api/v1/environments", {"name": env, "order": order, "production": prod})
        except urllib.error.HTTPError as e:  # registered on first sight by the ingest run
            if e.code != 409:
                raise
            post("/api/v1/environments/" + env, {"order": order, "production": prod}, "PATCH")

    def one(svc):
        chain = [sha(0xbe, svc, k) for k in range(4)]
        commits = [commit(chain[k], chain[k - 1] if k else None) for k in range(4)]
        # production lags most: staging runs the newest commit, production the oldest.
        for k, env in enumerate(["production", "prod-us", "prod-eu", "staging"]):
            post("/api/v1/deployments", {
                "service": "svc-%03d" % svc, "environment": env, "version": "1.%d" % k,
                "commit_sha": chain[k], "finished_at": NOW,
                "commits": commits if k == 0 else [],
            })

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(one, range(500)))
    print("seeded 500 services x 4 environments")


def seed_big():
    first = sha(0xb1, 0, 0)
    post("/api/v1/deployments", {"service": "big", "environment": "production", "version": "1",
                                 "commit_sha": first, "finished_at": NOW, "commits": [commit(first, None)]})
    chain, parent = [], first
    for k in range(1, 501):
        s = sha(0xb1, 1, k)
        chain.append(commit(s, parent))
        parent = s
    d = post("/api/v1/deployments", {"service": "big", "environment": "production", "version": "2",
                                     "commit_sha": parent, "finished_at": NOW, "commits": chain})
    assert d["change_count"] == 500, d
    print(d["id"])


def cold_status():
    """The status right after a write, when no cached answer can be used: median and
    spread of 60 samples, each after one deployment."""
    import statistics
    import time
    times = []
    for k in range(60):
        post("/api/v1/deployments", {"service": "svc-000", "environment": "staging", "version": "cold-%d" % k,
                                     "commit_sha": sha(0xc0, k, 1), "finished_at": NOW})
        req = urllib.request.Request(BASE + "/api/v1/status", headers={"Authorization": "Bearer " + TOKEN})
        t = time.perf_counter()
        with urllib.request.urlopen(req) as r:
            r.read()
        times.append((time.perf_counter() - t) * 1000)
    times.sort()
    print("cold status: p50 %.2f ms, min %.2f, p90 %.2f, max %.2f (n=%d)" % (
        statistics.median(times), times[0], times[int(len(times) * 0.9)], times[-1], len(times)))


{"status": seed_status, "big": seed_big, "cold-status": cold_status}[WHAT]()
