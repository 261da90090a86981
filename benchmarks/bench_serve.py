"""Benchmark: latency of the embedded feed server under a burst of concurrent subscribers.

Starts ``peertrain serve``'s embedded server (:func:`peertrain.calendars.serve.make_server`) of the demo
team on 127.0.0.1 and has N threads each fetch the team feed ``--requests`` times over fresh
connections (as calendar clients do), then reports p50 and p99 of the request latencies at each
concurrency. Target (issue "Calendars a scheduler can trust"): p99 under 100 ms at 20 concurrent.

    python benchmarks/bench_serve.py                       # 5 and 20 concurrent, 20 requests each
    python benchmarks/bench_serve.py --concurrency 5 20 50 --requests 50
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import io
import statistics
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from peertrain.calendars.serve import SECRET_ENV, feed_path, make_app, make_server

SECRET = "bench-secret-0123456789-abcdefghijklmnopqrstuvwxyz"


def fetch(port: int, path: str, count: int) -> list[float]:
    """``count`` GETs of ``path``, each on a new connection; their latencies in seconds."""
    times = []
    for _ in range(count):
        start = time.perf_counter()
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        try:
            connection.request("GET", path)
            response = connection.getresponse()
            response.read()
            if response.status != 200:
                raise RuntimeError(f"status {response.status}")
        finally:
            connection.close()
        times.append(time.perf_counter() - start)
    return times


def percentile(values: list[float], p: float) -> float:
    """The ``p``-th percentile (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]


def main() -> None:
    """Run the benchmark and print one line per concurrency."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--concurrency", type=int, nargs="+", default=[5, 20])
    parser.add_argument("--requests", type=int, default=20, help="requests per client (default 20)")
    args = parser.parse_args()
    app = make_app(["--demo", "--check-every", "3600"], environ={SECRET_ENV: SECRET})
    server = make_server(app, "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    path = feed_path(SECRET.encode(), "team")
    try:
        with contextlib.redirect_stderr(io.StringIO()):  # the access log
            fetch(server.server_port, path, 3)  # warm up: the feed is built on first request
            for clients in args.concurrency:
                with ThreadPoolExecutor(clients) as pool:
                    runs = pool.map(lambda _: fetch(server.server_port, path, args.requests), range(clients))
                    times = [t for run in runs for t in run]
                p50 = statistics.median(times) * 1000
                print(
                    f"{clients:3d} concurrent x {args.requests} requests: p50 {p50:7.1f} ms, "
                    f"p99 {percentile(times, 99) * 1000:7.1f} ms, max {max(times) * 1000:7.1f} ms",
                    flush=True,
                )
    finally:
        server.shutdown()
        server.server_close()


if __name__ == "__main__":
    main()
