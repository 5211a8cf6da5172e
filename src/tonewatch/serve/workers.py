"""``tonewatch serve --workers N``: N uvicorn processes, each with its own listening socket.

uvicorn's own ``workers=N`` shares one socket between the processes, and every new connection
wakes all of them; the first in the kernel's wait queue takes it, often the same one. A
browser keeps its connection (keep-alive) and so stays with that worker: measured with 20
clients, one worker got 15 of the 20 connections, sometimes all 20, and queued while the
other idled. Here each worker binds the port itself with ``SO_REUSEPORT``, and the kernel
spreads new connections over the workers by a hash of the client's address and port.

    serve_workers(options, workers=2)     # blocks; Ctrl-C or SIGTERM stops every worker
"""

from __future__ import annotations

import multiprocessing
import signal
import socket
from typing import Any


def _listen(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def _worker(options: dict[str, Any]) -> None:
    import uvicorn

    sock = _listen(options["host"], options["port"])
    config = uvicorn.Config("tonewatch.serve.app:app_from_environment", factory=True, **options)
    uvicorn.Server(config).run(sockets=[sock])


def serve_workers(options: dict[str, Any], workers: int) -> None:
    """Run ``workers`` uvicorn servers on ``options["host"]:options["port"]`` until SIGINT or
    SIGTERM, then stop them (each finishes its requests in flight). The app comes from
    ``TONEWATCH_SERVE_CONFIG`` in the environment, which the workers inherit."""
    if not hasattr(socket, "SO_REUSEPORT"):  # not on this platform: uvicorn's shared socket
        import uvicorn

        uvicorn.run("tonewatch.serve.app:app_from_environment", factory=True, workers=workers,
                    **options)  # fmt: skip
        return
    try:  # a taken port fails here, once, rather than in every worker
        _listen(options["host"], options["port"]).close()
    except OSError as exc:
        raise SystemExit(
            f"tonewatch serve: cannot listen on {options['host']}:{options['port']}: {exc}"
        ) from exc
    context = multiprocessing.get_context("spawn")  # no forked copies of this process's state
    processes = [context.Process(target=_worker, args=(options,)) for _ in range(workers)]
    stopping = False

    def stop(_signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True
        for process in processes:
            if process.is_alive():
                process.terminate()  # SIGTERM: uvicorn's graceful shutdown

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        for process in processes:
            process.start()
        for process in processes:
            process.join()
            if not stopping and process.exitcode not in (0, None):
                stop(signal.SIGTERM, None)  # one worker failed (bad port, bad store): all go
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    failed = [p.exitcode for p in processes if p.exitcode not in (0, -signal.SIGTERM)]
    if failed and not stopping:
        raise SystemExit(f"tonewatch serve: a worker exited with status {failed[0]}")
