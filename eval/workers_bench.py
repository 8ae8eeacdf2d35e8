"""HTTP throughput of `qa serve --workers 1` against `--workers 2`: a real server on 127.0.0.1 driven by
qa.loadtest's honest clients (questions and two-turn chats, no document lists), as qa.bench.measure does.

    python eval/workers_bench.py --index .qa-cache/live/index-1000 [--clients 16] [--requests 25]
                                 [--rounds 3] [--workers 1,2] [--json] [--report bench/workers.md]

The index is copied first (the server writes its state folder beside the copy, never beside the
original). Each configuration is started, warmed up (one short run of every client), then measured
in rounds; the configurations are measured in the order given and then in reverse, so that a load
that grows or fades on a shared machine weighs on both alike. For each round: requests per second,
p50/p99 latency, errors, the CPU the server used (all its processes: cores busy on average, and ms a
request) and the clients used (this process), the server's RSS (all its processes) and the machine's
load average before and after. Every loop is bounded in count; traffic goes only to the servers
started here.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import signal
import statistics
import sys
import tempfile
from pathlib import Path

from qa.loadtest import run_load, running_server


def load_average() -> float:
    """The machine's one-minute load average."""
    return round(os.getloadavg()[0], 2)


def _own_cpu() -> float:
    """CPU seconds this process (the clients) has used."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def measure(index: Path, corpus: str | None, workers: int, clients: int, requests: int, rounds: int) -> dict:
    """The rounds of one configuration, on a server started for them."""
    env = {"QA_CORPUS_DIR": corpus} if corpus else {}
    with running_server(index, env=env, workers=workers) as server:
        run_load(server.url, clients, 2, documents=False)  # warm-up: first-use loads, connection pools
        results = {"workers": workers, "server_rss_mb_before": round(server.rss_mb(), 1),
                   "processes": len(server.processes()), "rounds": []}
        for number in range(rounds):
            before, server_cpu, client_cpu = load_average(), server.cpu_seconds(), _own_cpu()
            honest, _ = run_load(server.url, clients, requests, documents=False, seed=number)
            server_cpu, client_cpu = server.cpu_seconds() - server_cpu, _own_cpu() - client_cpu
            summary = honest.summary()
            results["rounds"].append({
                **{k: summary[k] for k in ("requests", "errors", "seconds", "requests_per_second", "p50_ms", "p99_ms")},
                "server_cores": round(server_cpu / honest.seconds, 2),
                "server_cpu_ms_per_request": round(1000 * server_cpu / max(1, len(honest.latencies_ms)), 1),
                "client_cores": round(client_cpu / honest.seconds, 2),
                "load_average_before": before, "load_average_after": load_average(),
            })
            if honest.errors:
                results["rounds"][-1]["first_errors"] = honest.errors[:3]
        results["server_rss_mb_after"] = round(server.rss_mb(), 1)
    return results


def table(runs: list[dict], clients: int, requests: int) -> str:
    """The runs as Markdown, one row per round, then the median of each configuration."""
    lines = [f"{clients} clients, {requests} requests each per round (questions and two-turn chats).", "",
             "| workers | round | req/s | p50 ms | p99 ms | errors | server cores | server CPU ms/req | client cores "
             "| load avg before → after | server RSS MB |",
             "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|"]
    for run in runs:
        for number, r in enumerate(run["rounds"], 1):
            lines.append(f"| {run['workers']} | {number} | {r['requests_per_second']} | {r['p50_ms']} | {r['p99_ms']} | "
                         f"{r['errors']} | {r['server_cores']} | {r['server_cpu_ms_per_request']} | {r['client_cores']} | "
                         f"{r['load_average_before']} → {r['load_average_after']} | "
                         f"{run['server_rss_mb_before']} → {run['server_rss_mb_after']} |")
    lines += ["", "| workers | median req/s | median p50 ms | median p99 ms | median server cores | rounds |",
              "|---:|---:|---:|---:|---:|---:|"]
    for workers in dict.fromkeys(run["workers"] for run in runs):
        rounds = [r for run in runs if run["workers"] == workers for r in run["rounds"]]
        lines.append(f"| {workers} | {statistics.median(r['requests_per_second'] for r in rounds):.1f} | "
                     f"{statistics.median(r['p50_ms'] for r in rounds):.1f} | "
                     f"{statistics.median(r['p99_ms'] for r in rounds):.1f} | "
                     f"{statistics.median(r['server_cores'] for r in rounds):.2f} | {len(rounds)} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--index", required=True, help="index folder (copied, never changed)")
    parser.add_argument("--corpus", help="the corpus it was built from (QA_CORPUS_DIR of the server)")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--requests", type=int, default=25, help="requests per client per round")
    parser.add_argument("--rounds", type=int, default=3, help="rounds per configuration and pass")
    parser.add_argument("--workers", default="1,2", help="configurations, e.g. 1,2")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--report", help="write the table here (Markdown)")
    args = parser.parse_args()
    # Stopped from outside (timeout, kill): unwind, so the server started here is stopped too.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    order = [int(w) for w in args.workers.split(",")]
    runs = []
    with tempfile.TemporaryDirectory(prefix="qa-workers-") as scratch:
        index = Path(scratch) / "index"
        shutil.copytree(args.index, index)
        for workers in order + order[::-1]:
            runs.append(measure(index, args.corpus, workers, args.clients, args.requests, args.rounds))
            print(f"workers {workers}: {[r['requests_per_second'] for r in runs[-1]['rounds']]} req/s", file=sys.stderr)
    text = table(runs, args.clients, args.requests)
    if args.report:
        Path(args.report).write_text(text, encoding="utf-8")
    print(json.dumps(runs, indent=2) if args.json else text)


if __name__ == "__main__":
    main()
