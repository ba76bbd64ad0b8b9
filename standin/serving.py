"""Run an ASGI app with uvicorn on a loopback port in a background thread: the stand-in
itself, and the apps the demo and the tests run beside it. Here, with the stand-in, because
the stand-in imitates GitHub and imports nothing of the product (tests/core/test_boundaries.py);
the bot never serves itself this way (`agent-os serve` runs uvicorn in the main thread)."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from typing import Any

import uvicorn


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


class QuickServer(uvicorn.Server):
    """uvicorn that stops as soon as it is asked (`request_stop`), not up to 0.2 s later.

    uvicorn notices `should_exit` at its next 0.1 s tick, then sleeps a fixed 0.1 s after
    asking its connections to close. Here `request_stop` wakes the loop at once, and the
    shutdown waits only as long as the idle connections take to close; requests in flight
    are waited for as uvicorn waits for them. A stop took 0.12-0.18 s and now ~1 ms; the
    test suite's ~230 stops a run had spent ~37 s of its workers' time waiting.
    """

    _loop: asyncio.AbstractEventLoop | None = None
    _wake: asyncio.Event | None = None

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self._tried = threading.Event()  # startup finished, listening or not

    def wait_started(self, timeout: float) -> bool:
        """Wait (from another thread) until the server listens; False if it failed or timed out."""
        self._tried.wait(timeout)
        return self.started

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        try:
            await super().startup(sockets)
        finally:  # uvicorn exits the thread (SystemExit) when it cannot listen
            self._tried.set()

    def request_stop(self) -> None:
        """Ask the server to shut down gracefully; returns at once (any thread)."""
        self.should_exit = True
        loop, wake = self._loop, self._wake
        if loop is not None and wake is not None:
            with contextlib.suppress(RuntimeError):  # its loop has already ended
                loop.call_soon_threadsafe(wake.set)

    async def main_loop(self) -> None:
        self._loop, self._wake = asyncio.get_running_loop(), asyncio.Event()
        if self.should_exit:  # asked before the loop existed to be woken
            return
        counter = 0
        while not await self.on_tick(counter):
            counter = (counter + 1) % 864000
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), 0.1)

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        # uvicorn's own shutdown, but for its fixed sleep after asking connections to close.
        for server in self.servers:
            server.close()
        for sock in sockets or []:
            sock.close()
        for connection in list(self.server_state.connections):
            connection.shutdown()
        for _ in range(20):  # idle keep-alive connections close within a few turns of the loop
            if not self.server_state.connections:
                break
            await asyncio.sleep(0.005)
        try:
            async with asyncio.timeout(self.config.timeout_graceful_shutdown):
                await self._wait_tasks_to_complete()
        except TimeoutError:
            for task in self.server_state.tasks:
                task.cancel(msg="Task cancelled, timeout graceful shutdown exceeded")
        if not self.force_exit:
            await self.lifespan.shutdown()


class BackgroundServer:
    """uvicorn serving `app` until `stop()`; `url` is where it listens."""

    def __init__(self, app: Any, host: str = "127.0.0.1", port: int | None = None) -> None:
        self.host = host
        self.port = port or free_port(host)
        config = uvicorn.Config(app, host=host, port=self.port, log_level="warning", lifespan="on")
        self.server = QuickServer(config)
        self.thread = threading.Thread(target=self.server.run, name=f"uvicorn:{self.port}", daemon=True)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, timeout: float = 20.0) -> BackgroundServer:
        """Start serving; raise if the server is not up within `timeout` seconds."""
        self.thread.start()
        if not self.server.wait_started(timeout):
            raise RuntimeError(f"the server on port {self.port} did not start")
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Ask uvicorn to shut down gracefully and wait for it."""
        self.server.request_stop()
        self.thread.join(timeout)

    def __enter__(self) -> BackgroundServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
