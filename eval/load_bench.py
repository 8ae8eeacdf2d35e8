"""Load benchmark: a real `qa serve` on 127.0.0.1 under 32 honest clients, alone and beside 2 clients
sending worst-case questions (500 random CJK characters).

    python eval/load_bench.py [--index index/] [--clients 32] [--requests 30] [--worst-clients 2] [--json]

Reports, for each run, honest requests, errors, requests per second, p50/p99 latency, and the
server's RSS before and after (after a warm-up run); the honest throughput lost to the worst-case
clients; and the cost of one worst-case question against a typical one, each asked alone
(median latency ratio). Every loop is bounded in count; traffic goes only to the server started here.
"""

from __future__ import annotations

import argparse
import json
import random
import signal
import statistics
import sys
import time

import httpx

from qa.loadtest import HONEST_QUESTIONS, run_load, running_server, worst_question
from qa.settings import get_settings


def alone_ms(url: str, questions: list[str], rounds: int) -> float:
    """Median latency of questions asked one at a time, in ms."""
    latencies = []
    with httpx.Client(base_url=url, timeout=600) as client:
        for _ in range(rounds):
            for question in questions:
                started = time.perf_counter()
                client.post("/api/ask", json={"question": question}).raise_for_status()
                latencies.append((time.perf_counter() - started) * 1000)
    return statistics.median(latencies)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--index", default=None, help="index folder (default: QA_INDEX_DIR or index/)")
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--requests", type=int, default=30, help="requests per honest client")
    parser.add_argument("--worst-clients", type=int, default=2)
    parser.add_argument("--worst-most", type=int, default=50, help="bound on questions per worst-case client")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    index = args.index or str(get_settings().index_dir)
    # Stopped from outside (timeout, kill): unwind, so the server started here is stopped too.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    with running_server(index) as server:
        run_load(server.url, args.clients, 3, worst_clients=args.worst_clients, worst_most=1, seed=1)  # warm-up
        rss_start = server.rss_mb()
        alone, _ = run_load(server.url, args.clients, args.requests)
        rss_alone = server.rss_mb()
        beside, worst = run_load(
            server.url, args.clients, args.requests, worst_clients=args.worst_clients, worst_most=args.worst_most,
            seed=2,
        )
        rss_beside = server.rss_mb()
        rng = random.Random(3)
        typical = alone_ms(server.url, HONEST_QUESTIONS, rounds=3)
        costly = alone_ms(server.url, [worst_question(rng) for _ in range(3)], rounds=1)

    result = {
        "honest_alone": {**alone.summary(), "rss_mb_before": round(rss_start), "rss_mb_after": round(rss_alone)},
        "honest_beside_worst": {**beside.summary(), "rss_mb_before": round(rss_alone), "rss_mb_after": round(rss_beside)},
        "worst_clients": worst.summary(),
        "throughput_loss": round(1 - beside.per_second / alone.per_second, 3),
        "typical_question_ms": round(typical, 1),
        "worst_question_ms": round(costly, 1),
        "worst_cost_ratio": round(costly / typical, 1),
    }
    if args.json:
        print(json.dumps(result, ensure_ascii=False, indent=2))
        return
    print(f"{args.clients} honest clients × {args.requests} requests; {args.worst_clients} worst-case clients beside")
    print()
    print("| run | requests | errors | req/s | p50 ms | p99 ms | RSS MB before → after |")
    print("|---|---:|---:|---:|---:|---:|---|")
    for name, key in (("honest alone", "honest_alone"), ("honest beside worst", "honest_beside_worst")):
        row = result[key]
        print(f"| {name} | {row['requests']} | {row['errors']} | {row['requests_per_second']} | {row['p50_ms']} "
              f"| {row['p99_ms']} | {row['rss_mb_before']} → {row['rss_mb_after']} |")
    row = result["worst_clients"]
    print(f"| worst-case clients | {row['requests']} | {row['errors']} | {row['requests_per_second']} "
          f"| {row['p50_ms']} | {row['p99_ms']} | |")
    print()
    print(f"honest throughput lost beside the worst-case clients: {result['throughput_loss']:.0%}")
    print(f"one question alone: typical {typical:.1f} ms, worst case {costly:.1f} ms "
          f"(ratio {result['worst_cost_ratio']})")


if __name__ == "__main__":
    main()
