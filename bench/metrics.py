#!/usr/bin/env python3
"""Latency of the metrics endpoints on a loaded database (issue 3's benchmark).

    python3 bench/metrics.py URL TOKEN [requests=20]

Sends each query `requests` times, one at a time after two warm-up requests, and prints
median, p90, min and max in milliseconds. Sequential on purpose: the targets are about
how long one answer takes, not throughput.
"""
import json
import statistics
import sys
import time
import urllib.request

QUERIES = [
    ("one service, 90 days", "/api/v1/metrics/dora?service=svc-042&window=90d", 20),
    ("organisation, 90 days, per service", "/api/v1/metrics/dora?window=90d", 500),
    ("team weekly series, 1 year", "/api/v1/metrics/dora/series?team=team-07&bucket=week&window=52w", 200),
    ("incident metrics, organisation, 90 days", "/api/v1/metrics/incidents?window=90d", None),
]


def get(base, token, path):
    req = urllib.request.Request(base + path, headers={"Authorization": "Bearer " + token})
    start = time.perf_counter()
    with urllib.request.urlopen(req) as r:
        body = r.read()
        status = r.status
    elapsed = (time.perf_counter() - start) * 1000
    if status != 200:
        raise SystemExit(f"{path}: status {status}")
    return elapsed, json.loads(body)


def main():
    base, token = sys.argv[1], sys.argv[2]
    n = int(sys.argv[3]) if len(sys.argv) > 3 else 20
    for label, path, target in QUERIES:
        for _ in range(2):
            _, body = get(base, token, path)
        times = sorted(get(base, token, path)[0] for _ in range(n))
        p90 = times[min(len(times) - 1, int(round(0.9 * (len(times) - 1))))]
        median = statistics.median(times)
        verdict = "" if target is None else (" MET" if median < target else " NOT MET")
        print(f"{label}\t{median:.1f}\t{p90:.1f}\t{times[0]:.1f}\t{times[-1]:.1f}\ttarget<{target}{verdict}")
        if "deployment_frequency" in body:
            print(f"  count={body['deployment_frequency'].get('count')}", file=sys.stderr)


if __name__ == "__main__":
    main()
