"""The one aiohttp server, owned by the app: /healthz, the Telegram webhook, and what comes
(postbacks, sign-in pages). Adapters mount routes before it starts; it knows no platform."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Awaitable, Callable

from aiohttp import web

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
Health = Callable[[], bool]


class CannotListen(Exception):
    """The address is taken or not this machine's: one line for the operator, naming it.
    Starting again is no use until the operator frees the port or corrects the address."""


def _reason(error: OSError) -> str:
    """asyncio words a failed bind as a sentence around the system's reason: the reason. An
    address that names no host is the resolver's error, with a negative number."""
    if error.errno is not None and error.errno > 0:
        return os.strerror(error.errno).lower()
    return (error.strerror or str(error)).lower()


def _cannot_listen(listen: str, port: int, error: OSError) -> CannotListen:
    return CannotListen(
        f"the web server cannot listen on {listen}:{port}: {_reason(error)} "
        "(KOLBOT_WEB_LISTEN, KOLBOT_WEB_PORT)"
    )


async def try_listen(listen: str, port: int) -> None:
    """Listen on the address and let it go at once, as the server will listen (asyncio's
    defaults, as aiohttp's site takes them): a port in use, or an address that is not this
    machine's, is told before the database is created, not after."""
    loop = asyncio.get_running_loop()
    try:
        server = await loop.create_server(asyncio.Protocol, listen, port)
    except OSError as error:
        raise _cannot_listen(listen, port, error) from None
    server.close()
    await server.wait_closed()


class WebServer:
    def __init__(self, listen: str, port: int) -> None:
        self.listen = listen
        self.port = port
        self._app = web.Application()
        self._runner: web.AppRunner | None = None
        self._checks: list[Health] = []
        self._app.router.add_get("/healthz", self._health)

    def add_post(self, path: str, handler: Handler) -> None:
        self._app.router.add_post(path, handler)

    def add_check(self, check: Health) -> None:
        """Healthy only while every check holds (the store open, the platforms receiving)."""
        self._checks.append(check)

    @property
    def routes(self) -> list[str]:
        return sorted(
            f"{route.method} {route.resource.canonical}"
            for route in self._app.router.routes()
            if route.resource is not None and route.method != "HEAD"
        )

    async def start(self) -> None:
        # No access log: at a million users it is noise, and a webhook path is a secret.
        self._runner = web.AppRunner(self._app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        try:
            await web.TCPSite(self._runner, self.listen, self.port).start()
        except OSError as error:
            await self._runner.cleanup()
            self._runner = None
            raise _cannot_listen(self.listen, self.port, error) from None
        log.info("web server on %s:%d", self.listen, self.port)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _health(self, _request: web.Request) -> web.Response:
        healthy = all(check() for check in self._checks)
        return web.json_response(
            {"status": "ok" if healthy else "unavailable"}, status=200 if healthy else 503
        )
