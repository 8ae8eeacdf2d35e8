"""A bounded load test on a real server: 32 honest clients (ask, chat, documents) beside 2 clients
sending worst-case questions; zero errors, and memory flat after warm-up. Throughput is measured
by eval/load_bench.py, not here."""

from __future__ import annotations

from qa.loadtest import run_load, running_server

CLIENTS = 32
REQUESTS = 5  # per honest client: 160 requests (worst-case questions take seconds each: kept few)
MEMORY_GROWTH = 1.10


def test_32_clients_beside_2_worst_case_clients_get_no_errors_and_memory_stays_flat(seed_index):
    with running_server(seed_index) as server:
        warm_honest, warm_worst = run_load(server.url, CLIENTS, 2, worst_clients=2, worst_most=1, seed=1)
        before = server.rss_mb()
        honest, worst = run_load(server.url, CLIENTS, REQUESTS, worst_clients=2, worst_most=1, seed=2)
        after = server.rss_mb()
    assert warm_honest.errors == warm_worst.errors == honest.errors == worst.errors == []
    assert honest.requests == CLIENTS * REQUESTS and set(honest.kinds) == {"ask", "chat", "documents"}
    assert worst.requests >= 1
    assert after <= before * MEMORY_GROWTH, f"RSS {before:.0f} MB after warm-up, {after:.0f} MB after the load"
