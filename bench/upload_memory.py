"""
Benchmark: peak memory and transfer rate of a large simplified-orders upload.

Generates a ~500 MB orders CSV and uploads it to a loopback HTTP sink that reads and discards the
body, once per client, each in its own process so that peak RSS is its own:

- ``baseline``: Python with the hook's imports, uploading nothing (the memory floor);
- ``hook``: ``MetrikaHook.upload_simple_orders`` (streamed multipart);
- ``requests-files``: naive ``requests.post(files=...)`` (builds the whole body in memory);
- ``curl``: ``curl -F``, a compiled client, for the rate a client can reach here.

Targets: hook peak RSS <= baseline + 64 MB; hook rate >= 300 MB/s (measured inside the process,
interpreter start excluded). Run: ``.venv/bin/python bench/upload_memory.py [--size-mb 500]``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from airflow_provider_metrika.delivery import upload_simple_orders

ROW = (
    "ord{n:09d},2024-01-10 11:56:00,user{n:07d},1234567890123456789,"
    '"mail{n}@example.com,second{n}@example.org",79995551111,PAID,1200.50,800,"goal_a:100,goal_b",RUB\n'
)
HEADER = (
    "id,create_date_time,client_uniq_id,client_ids,emails,phones,order_status,revenue,cost,goals,currency\n"
)
ANSWER = json.dumps(
    {
        "uploading": {
            "uploading_id": "00000000-0000-4000-8000-000000000000",
            "datetime": "2026-01-01T00:00:00Z",
            "api_validation_status": "PASSED",
            "elements_count": 0,
        }
    }
).encode()


def make_csv(path: Path, size_mb: int) -> int:
    """Write an orders CSV of about ``size_mb`` MB and return its size in bytes."""
    block = "".join(ROW.format(n=n) for n in range(5000)).encode()
    target = size_mb * 1_000_000
    with path.open("wb") as out:
        out.write(HEADER.encode())
        written = len(HEADER)
        while written < target:
            out.write(block)
            written += len(block)
    return path.stat().st_size


def _serve_one(conn: socket.socket) -> None:
    with conn:
        buffer = bytearray(1 << 20)
        view = memoryview(buffer)
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = conn.recv(65536)
            if not chunk:
                return
            head += chunk
        header_bytes, _, rest = head.partition(b"\r\n\r\n")
        headers = {
            k.strip().lower(): v.strip()
            for k, _, v in (line.partition(b":") for line in header_bytes.split(b"\r\n")[1:])
        }
        length = int(headers.get(b"content-length", b"0"))
        if headers.get(b"expect", b"").lower() == b"100-continue":
            conn.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
        remaining = length - len(rest)
        while remaining > 0:
            n = conn.recv_into(view, min(remaining, len(buffer)))
            if n == 0:
                return
            remaining -= n
        conn.sendall(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n"
            + f"Content-Length: {len(ANSWER)}\r\n\r\n".encode()
            + ANSWER
        )


def run_sink() -> tuple[socket.socket, int]:
    """Start a loopback HTTP sink in a thread; return the listening socket and its port."""
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", 0))
    server.listen(8)

    def loop() -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            threading.Thread(target=_serve_one, args=(conn,), daemon=True).start()

    threading.Thread(target=loop, daemon=True).start()
    return server, server.getsockname()[1]


def client(kind: str, url: str, path: str) -> None:
    """Run one client in this (child) process and print its in-process timing as JSON."""
    import requests

    from airflow_provider_metrika.hooks.metrika import MetrikaHook

    started = time.perf_counter()
    if kind == "hook":
        os.environ["AIRFLOW_CONN_METRIKA_DEFAULT"] = json.dumps(
            {"conn_type": "metrika", "host": url, "password": "bench-token"}
        )
        upload_simple_orders(MetrikaHook(), 12345, path)
    elif kind == "requests-files":
        with open(path, "rb") as stream:
            response = requests.post(
                f"{url}/cdp/api/v1/counter/12345/data/simple_orders",
                params={"merge_mode": "SAVE"},
                files={"file": ("data.csv", stream, "text/csv")},
                headers={"Authorization": "OAuth bench-token"},
                timeout=600,
            )
            response.raise_for_status()
    print(json.dumps({"seconds": time.perf_counter() - started}))


def measure(command: list[str]) -> dict[str, float]:
    """Run a command in a child process; return its wall time, peak RSS and reported timing."""
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    out = process.stdout.read().decode() if process.stdout else ""
    err = process.stderr.read().decode() if process.stderr else ""
    if status != 0:
        raise SystemExit(f"{command[0]} failed ({status}): {err[-2000:]}")
    timings = [line for line in out.splitlines() if line.startswith('{"seconds"')]
    inner = json.loads(timings[-1]) if timings else {}
    return {"wall": wall, "peak_rss_mb": usage.ru_maxrss / 1024, "seconds": inner.get("seconds", wall)}


def main() -> None:
    """Generate the file, run every client against the sink, print a side-by-side table."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size-mb", type=int, default=500)
    parser.add_argument("--client", choices=["baseline", "hook", "requests-files"], help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--path", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.client:
        client(args.client, args.url, args.path)
        return

    server, port = run_sink()
    url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory(prefix="metrika-bench-") as tmp:
        path = Path(tmp) / "orders.csv"
        size = make_csv(path, args.size_mb)
        me = [sys.executable, __file__, "--url", url, "--path", str(path), "--client"]
        results = {kind: measure([*me, kind]) for kind in ("baseline", "hook", "requests-files")}
        curl = shutil.which("curl")
        if curl:
            results["curl -F"] = measure(
                [
                    curl,
                    "-sS",
                    "-o",
                    os.devnull,
                    "-H",
                    "Authorization: OAuth bench-token",
                    "-F",
                    f"file=@{path};type=text/csv",
                    f"{url}/cdp/api/v1/counter/12345/data/simple_orders?merge_mode=SAVE",
                ]
            )
    server.close()

    print(f"file: {size / 1e6:,.0f} MB   machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}")
    print(f"{'client':<16}{'wall s':>9}{'upload s':>10}{'MB/s':>9}{'peak RSS MB':>13}{'vs baseline':>13}")
    base = results["baseline"]["peak_rss_mb"]
    for kind, r in results.items():
        rate = "" if kind == "baseline" else f"{size / 1e6 / r['seconds']:,.0f}"
        upload = "" if kind == "baseline" else f"{r['seconds']:.2f}"
        print(
            f"{kind:<16}{r['wall']:>9.2f}{upload:>10}{rate:>9}{r['peak_rss_mb']:>13,.0f}"
            f"{r['peak_rss_mb'] - base:>+13,.0f}"
        )
    hook = results["hook"]
    print(
        f"targets: hook RSS <= baseline + 64 MB: {'met' if hook['peak_rss_mb'] - base <= 64 else 'MISSED'}; "
        f"hook rate >= 300 MB/s: {'met' if size / 1e6 / hook['seconds'] >= 300 else 'MISSED'}"
    )


if __name__ == "__main__":
    main()
