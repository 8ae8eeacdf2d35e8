"""Latency overhead of the OpenAI-compatible route: /v1/chat/completions against /api/chat.

    qa serve --port 8000 &                       # any running server (with QA_API_KEY if it has one)
    python eval/bench_openai.py [--url http://127.0.0.1:8000] [--requests 200] [--api-key KEY]

The questions of eval/seeds.jsonl are sent in turn, one request at a time over one keep-alive
httpx connection per route, `requests` times to each of: /api/chat (a new conversation each
time), /v1/chat/completions, and /v1/chat/completions with stream (timed to [DONE]). The
three are interleaved, in rotating order, so that load from other processes hits them alike.
Prints the client-side p50/p95 of each as Markdown and the overhead against /api/chat.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path

import httpx
import numpy as np

from bench import cpu_name  # eval/bench.py, beside this script

MODEL = "qa-extractive"


def _chat(client: httpx.Client, question: str) -> None:
    client.post("/api/chat", json={"message": question}).raise_for_status()


def _completion(client: httpx.Client, question: str) -> None:
    client.post("/v1/chat/completions", json={"model": MODEL, "messages": [{"role": "user", "content": question}]}
                ).raise_for_status()


def _streamed(client: httpx.Client, question: str) -> None:
    body = {"model": MODEL, "stream": True, "messages": [{"role": "user", "content": question}]}
    with client.stream("POST", "/v1/chat/completions", json=body) as response:
        response.raise_for_status()
        last = [line for line in response.iter_lines() if line][-1]
    assert last == "data: [DONE]", last


ROUTES = {"/api/chat": _chat, "/v1/chat/completions": _completion, "/v1/chat/completions (stream)": _streamed}


def benchmark(url: str, api_key: str | None, questions: list[str], requests: int) -> str:
    """Time `requests` sequential requests per route (after a warm-up); a Markdown table."""
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    clients = {name: httpx.Client(base_url=url, headers=headers, timeout=120) for name in ROUTES}
    times: dict[str, list[float]] = {name: [] for name in ROUTES}
    names = list(ROUTES)
    try:
        for question in questions[:10]:  # warm-up: connections, jieba and the encoder's first calls
            for name in names:
                ROUTES[name](clients[name], question)
        for number in range(requests):
            question = questions[number % len(questions)]
            for name in names[number % 3:] + names[: number % 3]:  # rotate which route goes first
                started = time.perf_counter()
                ROUTES[name](clients[name], question)
                times[name].append((time.perf_counter() - started) * 1000)
    finally:
        for client in clients.values():
            client.close()
    base = times["/api/chat"]
    lines = [f"{requests} sequential requests per route over httpx to {url}, on {cpu_name()}", "",
             "| route | p50 ms | p95 ms | overhead vs /api/chat: median of paired differences |",
             "|---|---:|---:|---:|"]
    for name, values in times.items():
        # Paired: the same question, sent moments apart, so that load from elsewhere mostly cancels out.
        paired = statistics.median(np.subtract(values, base)) if name != "/api/chat" else None
        overhead = "—" if paired is None else f"{paired:+.2f} ms"
        lines.append(f"| {name} | {statistics.median(values):.2f} | {np.percentile(values, 95):.2f} | {overhead} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--api-key", default=os.environ.get("QA_API_KEY"))
    parser.add_argument("--questions", default=str(Path(__file__).with_name("seeds.jsonl")))
    args = parser.parse_args()
    lines = Path(args.questions).read_text("utf-8").splitlines()
    questions = [json.loads(line)["question"] for line in lines if line.strip()]
    print(benchmark(args.url, args.api_key, questions, args.requests))


if __name__ == "__main__":
    main()
