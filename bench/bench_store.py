"""Time the store's hot writes: a 500-entry inventory, a 500-resource operation record, and the
records of one small synced app (what a cold sync writes per app: the operation's start, then one batch
with inventory, verdicts, the closed operation, an event and the status).

Run: ``.venv/bin/python -m bench.bench_store [--entries 500] [--repeat 20] [--postgres]``. Prints a
Markdown table (median and worst of ``repeat`` runs, milliseconds) for docs/benchmarks.md. Uses a fresh
SQLite file in a temporary directory, so the figures include WAL commits on the local disk; with
``--postgres``, a database on a throw-away PostgreSQL server on loopback (``devtools/postgres.py``,
default durability: every commit is flushed to disk), reached over TCP with a password as ``gitward
run --state postgresql://...`` does; ``--state URL`` names another database.
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from gitward.core.changes import Action, Change
from gitward.core.keys import InventoryEntry, ResourceKey
from gitward.store import Store


def _keys(n: int) -> list[ResourceKey]:
    return [ResourceKey("apps", "Deployment", f"ns{i % 10}", f"deploy-{i}") for i in range(n)]


def _time(fn: Callable[[], object], repeat: int) -> list[float]:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    return samples


@contextlib.contextmanager
def _location(args: argparse.Namespace) -> Iterator[str | Path]:
    if args.state:
        yield args.state
    elif args.postgres:
        from devtools.postgres import PostgresServer

        with PostgresServer(durable=True) as server:
            yield server.create_database("bench")
    else:
        with tempfile.TemporaryDirectory() as tmp:
            yield Path(tmp) / "bench.db"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--entries", type=int, default=500)
    parser.add_argument("--waves", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--postgres", action="store_true", help="a throw-away PostgreSQL server")
    parser.add_argument("--state", default=None, help="a database URL (an empty database)")
    args = parser.parse_args()

    keys = _keys(args.entries)
    inventory = [InventoryEntry(k, "v1") for k in keys]
    resources = [Change(k, Action.CONFIGURED, "v1").to_dict() for k in keys]
    per_wave = max(1, len(resources) // args.waves)

    with _location(args) as location, Store.open(location) as store:

        def save_inventory() -> None:
            store.save_inventory("bench", inventory)

        def record_operation() -> None:
            op_id = store.start_operation(
                "bench", revision="main", commit="c", trigger="bench", started_at=0.0
            )
            for wave in range(1, args.waves + 1):
                store.update_operation(
                    op_id, phase="Running", message="", resources=resources[: wave * per_wave]
                )
            store.finish_operation(op_id, phase="Succeeded", message="", resources=resources, finished_at=1.0)

        small = [InventoryEntry(k, "v1") for k in keys[:4]]
        small_resources = resources[:4]
        status = {
            "sync": {"status": "Synced", "revision": "c" * 40},
            "health": {"status": "Healthy", "message": ""},
            "resources": [{"kind": "Deployment", "name": f"x{i}", "status": "Synced"} for i in range(4)],
        }
        synced = [0]

        def record_synced_app() -> None:
            synced[0] += 1
            app = f"app-{synced[0]}"
            op_id = store.start_operation(app, revision="main", commit="c", trigger="bench", started_at=0.0)
            with store.batch():
                store.save_inventory(app, small)
                store.save_verdicts(app, {"rows": [["id", "1", "d" * 64]] * 4})
                store.finish_operation(
                    op_id, phase="Succeeded", message="", resources=small_resources, finished_at=1.0
                )
                store.add_event(app, type="Normal", reason="Synced", message="synced", time=1.0)
                store.save_status(app, status)

        def read_back() -> None:
            store.load_inventory("bench")
            store.list_operations("bench", limit=1)

        rows = [
            (f"save_inventory ({args.entries} entries)", _time(save_inventory, args.repeat)),
            (
                f"operation record ({args.entries} resources, start + {args.waves} waves + finish)",
                _time(record_operation, args.repeat),
            ),
            ("load_inventory + latest operation", _time(read_back, args.repeat)),
            ("one small synced app (4 objects: start + outcome batch)", _time(record_synced_app, 500)),
        ]

    print("| store write | median ms | max ms |")
    print("|---|---:|---:|")
    for name, samples in rows:
        print(f"| {name} | {statistics.median(samples):.2f} | {max(samples):.2f} |")


if __name__ == "__main__":
    main()
