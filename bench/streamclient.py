"""The event-stream clients of ``./dev bench streams``, as their own process (its CPU is its own).

    python -m bench.streamclient --url URL --apps N --out FILE  (token in $GITWARD_BENCH_TOKEN)

Opens ``--app-pages`` streams filtered to one app each (``/api/v1/stream?app=app-NNNN``, the app page),
``--dashboards`` streams of every app (the dashboard), through httpx, and ``--stalled`` raw connections
that send the request and never read. Prints ``open <n>`` once every stream has its answer headers,
then reads until SIGTERM or SIGINT, and writes what it saw as JSON to ``--out``: events received by the
dashboards, their delay (receipt time minus the operation's ``finishedAt``, counted once per
dashboard, app and operation), resets, and how many streams were still open at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import sys
import time
from pathlib import Path
from typing import Any

import httpx

TERMINAL = {"Succeeded", "Failed", "Error"}


class Tally:
    def __init__(self) -> None:
        self.opened = 0
        self.failed: list[str] = []
        self.events = 0  # status events received by the dashboards
        self.page_events = 0  # status events received by the app pages
        self.resets = 0
        self.ends = 0
        self.delays: list[float] = []
        self.open_streams = 0


async def _dashboard(client: httpx.AsyncClient, tally: Tally) -> None:
    seen: set[tuple[str, Any]] = set()
    async with client.stream("GET", "/api/v1/stream") as response:
        response.raise_for_status()
        tally.opened += 1
        tally.open_streams += 1
        try:
            async for line in response.aiter_lines():
                if line.startswith("event: reset"):
                    tally.resets += 1
                elif line.startswith("event: end"):
                    tally.ends += 1
                elif line.startswith("data: {") and '"app"' in line:
                    now = time.time()
                    tally.events += 1
                    event = json.loads(line[6:])
                    op = event.get("operation") or {}
                    finished = op.get("finishedAt")
                    key = (event.get("app", ""), op.get("id"))
                    if finished and op.get("phase") in TERMINAL and key not in seen:
                        seen.add(key)
                        tally.delays.append(now - float(finished))
        finally:
            tally.open_streams -= 1


async def _app_page(client: httpx.AsyncClient, app: str, tally: Tally) -> None:
    async with client.stream("GET", "/api/v1/stream", params={"app": app}) as response:
        response.raise_for_status()
        tally.opened += 1
        tally.open_streams += 1
        try:
            async for chunk in response.aiter_raw():
                tally.page_events += chunk.count(b"event: status")
                tally.resets += chunk.count(b"event: reset")
        finally:
            tally.open_streams -= 1


async def _stalled(host: str, port: int, token: str, sockets: list[socket.socket]) -> None:
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.setblocking(False)
    await asyncio.get_running_loop().sock_connect(sock, (host, port))
    request = f"GET /api/v1/stream HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\n\r\n"
    sock.send(request.encode())
    sockets.append(sock)  # never read from until the end


def _still_open(sock: socket.socket) -> bool:
    """Drain what the server sent; open unless the server closed the connection."""
    try:
        while True:
            data = sock.recv(1 << 16)
            if not data:
                return False
    except BlockingIOError:
        return True
    except OSError:
        return False


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = q / 100 * (len(ordered) - 1)
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


async def run(args: argparse.Namespace) -> dict[str, Any]:
    token = os.environ["GITWARD_BENCH_TOKEN"]
    url = httpx.URL(args.url)
    host, port = url.host, url.port or 80
    tally = Tally()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    limits = httpx.Limits(max_connections=None, max_keepalive_connections=0)
    timeout = httpx.Timeout(None, connect=60.0)
    client = httpx.AsyncClient(
        base_url=args.url, headers={"Authorization": f"Bearer {token}"}, limits=limits, timeout=timeout
    )
    tasks: list[asyncio.Task[None]] = []

    def track(task: asyncio.Task[None]) -> None:
        if not task.cancelled() and task.exception() is not None:
            tally.failed.append(repr(task.exception())[:200])

    sockets: list[socket.socket] = []
    pages = [f"app-{i % args.apps:04d}" for i in range(args.app_pages)]
    for start in range(0, len(pages), 100):  # open in steps: the server accepts 100 at a time easily
        for app in pages[start : start + 100]:
            tasks.append(asyncio.create_task(_app_page(client, app, tally)))
        await asyncio.sleep(0.2)
    for _ in range(args.dashboards):
        tasks.append(asyncio.create_task(_dashboard(client, tally)))
    for _ in range(args.stalled):
        await _stalled(host, port, token, sockets)
    for task in tasks:
        task.add_done_callback(track)
    deadline = time.monotonic() + 120
    while tally.opened < args.app_pages + args.dashboards and time.monotonic() < deadline:
        if tally.failed:
            break
        await asyncio.sleep(0.1)
    print(f"open {tally.opened + len(sockets)} failed {len(tally.failed)}", flush=True)
    started = time.time()
    await stop.wait()
    stalled_open = sum(_still_open(s) for s in sockets)
    streams_open = tally.open_streams
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    await client.aclose()
    for sock in sockets:
        sock.close()
    return {
        "opened": tally.opened + len(sockets),
        "failed": tally.failed[:5],
        "failed_count": len(tally.failed),
        "seconds": time.time() - started,
        "dashboard_events": tally.events,
        "app_page_events": tally.page_events,
        "resets": tally.resets,
        "ends": tally.ends,
        "delays_counted": len(tally.delays),
        "delay_p50_ms": 1000 * _percentile(tally.delays, 50),
        "delay_p99_ms": 1000 * _percentile(tally.delays, 99),
        "delay_max_ms": 1000 * max(tally.delays) if tally.delays else float("nan"),
        "streams_open": streams_open,
        "stalled_open": stalled_open,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.streamclient", description=__doc__)
    parser.add_argument("--url", required=True)
    parser.add_argument("--apps", type=int, required=True, help="app pages are spread over app-0000..")
    parser.add_argument("--app-pages", type=int, default=900)
    parser.add_argument("--dashboards", type=int, default=100)
    parser.add_argument("--stalled", type=int, default=20)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    result = asyncio.run(run(args))
    args.out.write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
