"""A fake Discord on 127.0.0.1: REST API and gateway websocket, for the real discord.py.

It speaks the wire protocol discord.py expects, checks what the bot sends against Discord's
rules (lengths, component layout, command names, the 3-second acknowledgement, one response per
interaction, 15-minute interaction tokens), records every request with its arrival time, injects
429s, 403s, other failures (some after doing what was asked) and slowness, and plays the users:
slash commands, button presses, select menus and typed DMs. Like Discord, it echoes the bot's
own DMs back through the gateway and shows an ephemeral message to the interaction's user alone.

Anything it does not know, or any rule broken, lands in ``errors``; a test's fixture asserts
that list is empty, so a fake that accepted anything could not hide a bug.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import socket
import time
import unicodedata
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

from aiohttp import BodyPartReader, WSMsgType, web

API: Final = "/api/v10"
DISCORD_EPOCH_MS: Final = 1_420_070_400_000
EPHEMERAL: Final = 1 << 6
LOADING: Final = 1 << 7
ADMINISTRATOR: Final = 1 << 3
MANAGE_CHANNELS: Final = 1 << 4
# The server's roles besides @everyone: one with Administrator, one with Manage Channels.
ADMIN_ROLE: Final = "900000000000000001"
MANAGER_ROLE: Final = "900000000000000002"
ACK_DEADLINE: Final = 3.0
TOKEN_TTL: Final = 15 * 60.0
NOT_A_MEMBER: Final = -1
MISSING_ACCESS: Final = {"message": "Missing Access", "code": 50001}
MESSAGE_CREATE_ROUTE: Final = "POST /channels/{channel_id}/messages"
HISTORY_ROUTE: Final = "GET /channels/{channel_id}/messages"
DM_OPEN_ROUTE: Final = "POST /users/@me/channels"
CALLBACK_ROUTE: Final = "POST /interactions/{interaction_id}/{token}/callback"
FOLLOWUP_ROUTE: Final = "POST /webhooks/{application_id}/{token}"
GLOBAL_COMMANDS_ROUTE: Final = "/applications/{application_id}/commands"
GUILD_COMMANDS_ROUTE: Final = "/applications/{application_id}/guilds/{guild_id}/commands"
INTENT_MEMBERS: Final = 1 << 1
INTENT_DM_MESSAGES: Final = 1 << 12
INTENT_MESSAGE_CONTENT: Final = 1 << 15
LOCALES: Final = frozenset(
    [
        "id",
        "da",
        "de",
        "en-GB",
        "en-US",
        "es-ES",
        "es-419",
        "fr",
        "hr",
        "it",
        "lt",
        "hu",
        "nl",
        "no",
        "pl",
        "pt-BR",
        "ro",
        "fi",
        "sv-SE",
        "vi",
        "tr",
        "cs",
        "el",
        "bg",
        "ru",
        "uk",
        "hi",
        "th",
        "zh-CN",
        "ja",
        "zh-TW",
        "ko",
    ]
)

Json = dict[str, Any]


def now_iso(ahead: float = 0.0) -> str:
    return datetime.fromtimestamp(time.time() + ahead, UTC).isoformat()


def valid_command_name(name: str) -> bool:
    """Discord: ``^[-_\\p{L}\\p{N}\\p{sc=Deva}\\p{sc=Thai}]{1,32}$``, lowercase where it can be."""

    def allowed(char: str) -> bool:
        return (
            char in "-_"
            or unicodedata.category(char)[0] in "LN"
            or "\u0900" <= char <= "\u097f"
            or "\u0e00" <= char <= "\u0e7f"
        )

    return 0 < len(name) <= 32 and name == name.lower() and all(map(allowed, name))


def busiest_window(times: Iterable[float], window: float) -> int:
    """The most timestamps found in any half-open interval ``window`` seconds long."""
    ordered = sorted(times)
    most, start = 0, 0
    for end, moment in enumerate(ordered):
        while moment - ordered[start] >= window:
            start += 1
        most = max(most, end - start + 1)
    return most


@dataclass
class FakeUser:
    id: int
    username: str
    global_name: str | None = None
    locale: str = "en-US"

    def payload(self) -> Json:
        return {
            "id": str(self.id),
            "username": self.username,
            "global_name": self.global_name,
            "discriminator": "0",
            "avatar": None,
            "bot": False,
            "public_flags": 0,
        }


@dataclass
class RecordedRequest:
    at: float
    method: str
    route: str  # "POST /channels/{channel_id}/messages", without the /api/v10 prefix
    params: dict[str, str]
    status: int = 0

    def channel_id(self) -> int | None:
        value = self.params.get("channel_id")
        return int(value) if value is not None and value.isdigit() else None


@dataclass
class FakeInteraction:
    id: int
    token: str
    type: int  # 2 application command, 3 component
    created: float
    channel_id: int
    user: FakeUser
    guild_id: int | None
    data: Json
    message_id: int | None = None  # the message whose component was used
    responses: list[Json] = field(default_factory=list)
    responded_at: float | None = None
    original_id: int | None = None
    followups: list[Json] = field(default_factory=list)
    edits: list[Json] = field(default_factory=list)

    @property
    def response_type(self) -> int | None:
        return self.responses[0]["type"] if self.responses else None


@dataclass
class Fault:
    route: str
    status: int
    body: Json
    headers: dict[str, str]
    times: int
    channel_id: int | None = None
    done: bool = False  # the request is carried out, then answered with the error


@dataclass
class Slowness:
    route: str
    delay: float
    times: int | None  # None: every request
    until: asyncio.Event | None = None  # instead of the delay: until it is set


class FakeDiscord:
    def __init__(self, *, token: str = "fake-bot-token") -> None:
        self.token = token
        # Snowflakes as Discord makes them: milliseconds since its epoch, then a counter.
        self._last_id = 0
        # How far ahead of the real time the fake's wall clock runs (see ``advance``).
        self.ahead = 0.0
        self.application_id = self._snowflake()
        self.bot = {
            "id": str(self.application_id),
            "username": "kolbot",
            "global_name": None,
            "discriminator": "0",
            "avatar": None,
            "bot": True,
            "verified": True,
            "mfa_enabled": False,
            "flags": 0,
            "public_flags": 0,
        }
        self.guild_id = self._snowflake()
        self.guild_channel_id = self._snowflake()
        self.errors: list[str] = []
        self.requests: list[RecordedRequest] = []
        self.identifies: list[Json] = []
        self.users: dict[int, FakeUser] = {}
        self.channels: dict[int, Json] = {
            self.guild_channel_id: {
                "id": str(self.guild_channel_id),
                "type": 0,
                "guild_id": str(self.guild_id),
                "name": "general",
                "position": 0,
                "permission_overwrites": [],
                "nsfw": False,
                "parent_id": None,
                "topic": None,
                "last_message_id": None,
                "rate_limit_per_user": 0,
                "flags": 0,
            }
        }
        self.messages: dict[int, list[Json]] = {self.guild_channel_id: []}
        self.dm_channels: dict[int, int] = {}  # user id → DM channel id
        self.commands: dict[int | None, list[Json]] = {}  # None: global; else a guild id
        self.interactions: dict[int, FakeInteraction] = {}
        self.blocked_dms: set[int] = set()
        # user id → the server roles they hold (ADMIN_ROLE, MANAGER_ROLE)
        self.roles: dict[int, list[str]] = {}
        self.faults: list[Fault] = []
        self.slowness: list[Slowness] = []
        # Interactions a test expects to go unacknowledged (arriving as the bot stops).
        self.unanswered: set[int] = set()
        self.echoed: list[str] = []  # ids of the bot's DMs sent back to it
        # Every history page served: the channel and the query it was asked with.
        self.history_reads: list[tuple[int, dict[str, str]]] = []
        # Ephemeral message id → the one user who sees it.
        self.ephemeral_viewers: dict[str, int] = {}
        # Interaction times (created, acknowledged, tokens expiring); a test may move it on.
        self.clock: Callable[[], float] = time.monotonic
        self._sockets: list[web.WebSocketResponse] = []
        self._sequence = itertools.count(1)
        self._runner: web.AppRunner | None = None
        self.port = 0

    # Server lifecycle -----------------------------------------------------------------------

    @property
    def api_base(self) -> str:
        return f"http://127.0.0.1:{self.port}{API}"

    @property
    def gateway_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/"

    async def start(self) -> None:
        app = web.Application(middlewares=[self._record])
        add = app.router.add_route
        add("GET", "/", self._gateway)
        add("GET", API + "/users/@me", self._get_me)
        add("GET", API + "/oauth2/applications/@me", self._get_application)
        add("POST", API + "/users/@me/channels", self._open_dm)
        add("GET", API + "/guilds/{guild_id}/members/{user_id}", self._get_member)
        add("GET", API + "/channels/{channel_id}/messages", self._history)
        add("POST", API + "/channels/{channel_id}/messages", self._create_message)
        add("PATCH", API + "/channels/{channel_id}/messages/{message_id}", self._edit_message)
        for scope in ("", "/guilds/{guild_id}"):
            path = API + "/applications/{application_id}" + scope + "/commands"
            add("GET", path, self._get_commands)
            add("PUT", path, self._put_commands)
        add("POST", API + "/interactions/{interaction_id}/{token}/callback", self._callback)
        add("POST", API + "/webhooks/{application_id}/{token}", self._followup)
        webhook_message = API + "/webhooks/{application_id}/{token}/messages/{message_id}"
        add("PATCH", webhook_message, self._edit_webhook_message)
        add("DELETE", webhook_message, self._delete_webhook_message)
        add("*", "/{tail:.*}", self._unknown)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        await web.SockSite(self._runner, sock).start()

    async def close(self) -> None:
        for ws in list(self._sockets):
            await ws.close()
        if self._runner is not None:
            await self._runner.cleanup()
        for interaction in self.interactions.values():
            if not interaction.responses and interaction.id not in self.unanswered:
                self.errors.append(f"interaction {interaction.id} was never acknowledged")

    # Recording, auth and injected failures ---------------------------------------------------

    @web.middleware
    async def _record(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        info = request.match_info
        canonical = info.route.resource.canonical if info.route.resource else request.path
        route = f"{request.method} {canonical.removeprefix(API)}"
        entry = RecordedRequest(time.monotonic(), request.method, route, dict(info))
        self.requests.append(entry)
        needs_auth = canonical.startswith(API) and not re.match(
            API + r"/(interactions|webhooks)/", canonical
        )
        if needs_auth and request.headers.get("Authorization") != f"Bot {self.token}":
            self.errors.append(f"{route} without the bot token")
            response: web.StreamResponse = _json({"message": "401: Unauthorized", "code": 0}, 401)
        else:
            await self._slow_down(route, request)
            fault = self._fault(route, entry.channel_id())
            if fault is None or fault.done:
                response = await handler(request)
            if fault is not None:
                response = _json(fault.body, fault.status, fault.headers)
            if 200 <= response.status < 300 and canonical.startswith(API):
                response.headers.update(_bucket_headers(route))
        entry.status = response.status
        return response

    def _fault(self, route: str, channel_id: int | None) -> Fault | None:
        for fault in self.faults:
            if fault.route == route and fault.channel_id in (None, channel_id):
                fault.times -= 1
                if fault.times <= 0:
                    self.faults.remove(fault)
                return fault
        return None

    async def _slow_down(self, route: str, request: web.Request) -> None:
        for slowness in self.slowness:
            if slowness.route == route:
                if not request.content_type.startswith("multipart/"):
                    # Taken whole before the wait: a slow Discord has the request, and acts
                    # on it even if the bot stopped waiting.
                    await request.read()
                if slowness.times is not None:
                    slowness.times -= 1
                    if slowness.times <= 0:
                        self.slowness.remove(slowness)
                if slowness.until is not None:
                    await slowness.until.wait()
                else:
                    await asyncio.sleep(slowness.delay)
                return

    def hold(self, route: str, *, times: int | None = None) -> asyncio.Event:
        """Answer requests to ``route`` only once the returned event is set."""
        released = asyncio.Event()
        self.slowness.append(Slowness(route, 0.0, times, released))
        return released

    def slow(self, route: str, delay: float, *, times: int | None = None) -> None:
        """Answer requests to ``route`` ``delay`` seconds late (every one unless ``times``);
        they are recorded as they arrive."""
        self.slowness.append(Slowness(route, delay, times))

    def fail(
        self,
        route: str,
        status: int,
        *,
        code: int = 0,
        message: str = "injected failure",
        channel_id: int | None = None,
        times: int = 1,
        done: bool = False,
    ) -> None:
        """Answer the next ``times`` requests to ``route`` (optionally in one channel) with
        an error; ``done``: carry each out first (a server that failed after posting)."""
        body = {"message": message, "code": code}
        self.faults.append(Fault(route, status, body, {}, times, channel_id, done))

    def rate_limit(
        self,
        route: str,
        *,
        retry_after: float,
        channel_id: int | None = None,
        via_proxy: bool = True,
        scope: str = "user",
        times: int = 1,
    ) -> None:
        """A 429 as Discord sends it. Without the ``Via`` header discord.py takes it for a
        Cloudflare ban and raises instead of retrying."""
        headers = {
            "Retry-After": str(max(1, round(retry_after))),
            "X-RateLimit-Limit": "5",
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset": f"{time.time() + retry_after:.3f}",
            "X-RateLimit-Reset-After": f"{retry_after:.3f}",
            "X-RateLimit-Bucket": "fake-bucket",
            "X-RateLimit-Scope": scope,
        }
        if via_proxy:
            headers["Via"] = "1.1 google"
        body = {"message": "You are being rate limited.", "retry_after": retry_after}
        body["global"] = scope == "global"
        self.faults.append(Fault(route, 429, body, headers, times, channel_id))

    def block_dms(self, user: FakeUser) -> None:
        """The person closed their DMs: messages to them get 403, code 50007."""
        self.blocked_dms.add(user.id)

    def unblock_dms(self, user: FakeUser) -> None:
        self.blocked_dms.discard(user.id)

    def times(self, route: str, *, channel_id: int | None = None) -> list[float]:
        return [
            r.at
            for r in self.requests
            if r.route == route and (channel_id is None or r.channel_id() == channel_id)
        ]

    async def _unknown(self, request: web.Request) -> web.Response:
        self.errors.append(f"unknown route {request.method} {request.path}")
        return _json({"message": "404: Not Found", "code": 0}, 404)

    # Gateway --------------------------------------------------------------------------------

    async def _gateway(self, request: web.Request) -> web.StreamResponse:
        if request.query.get("v") != "10" or request.query.get("encoding") != "json":
            self.errors.append(f"gateway connect with {dict(request.query)}")
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self._sockets.append(ws)
        await ws.send_json({"op": 10, "d": {"heartbeat_interval": 41250}, "s": None, "t": None})
        try:
            async for frame in ws:
                if frame.type is not WSMsgType.TEXT:
                    continue
                packet = json.loads(frame.data)
                op = packet.get("op")
                if op == 1:
                    await ws.send_json({"op": 11, "d": None, "s": None, "t": None})
                elif op == 2:
                    await self._identify(ws, packet["d"])
                elif op != 3:  # presence updates are harmless
                    self.errors.append(f"unexpected gateway op {op}")
        finally:
            self._sockets.remove(ws)
        return ws

    async def _identify(self, ws: web.WebSocketResponse, data: Json) -> None:
        self.identifies.append(data)
        if data.get("token") != self.token:
            self.errors.append("IDENTIFY with a wrong token")
            await ws.close(code=4004, message=b"Authentication failed.")
            return
        intents = int(data.get("intents", 0))
        if intents & INTENT_MEMBERS:
            self.errors.append("IDENTIFY asked for the privileged members intent")
            await ws.close(code=4014, message=b"Disallowed intent(s).")
            return
        for bit, name in ((INTENT_MESSAGE_CONTENT, "message_content"), (INTENT_DM_MESSAGES, "dm")):
            if not intents & bit:
                self.errors.append(f"IDENTIFY without the {name} intent")
        ready = {
            "v": 10,
            "user": self.bot,
            "guilds": [{"id": str(self.guild_id), "unavailable": True}],
            "session_id": f"session-{len(self.identifies)}",
            "resume_gateway_url": self.gateway_url,
            "application": {"id": str(self.application_id), "flags": 0},
            "private_channels": [],
            "relationships": [],
            "user_settings": {},
            "_trace": ["fake-discord"],
        }
        await self._dispatch_to(ws, "READY", ready)
        await self._dispatch_to(ws, "GUILD_CREATE", self._guild())

    async def _dispatch_to(self, ws: web.WebSocketResponse, event: str, data: Json) -> None:
        await ws.send_json({"op": 0, "t": event, "s": next(self._sequence), "d": data})

    @property
    def connected(self) -> bool:
        """Whether a gateway session is open."""
        return bool(self._sockets)

    async def close_gateway(self, code: int) -> None:
        """End every gateway session as Discord does, e.g. 4004 when the token was revoked."""
        for ws in list(self._sockets):
            await ws.close(code=code)

    async def dispatch(self, event: str, data: Json) -> None:
        if not self._sockets:
            raise AssertionError(f"no gateway connection to send {event} to")
        for ws in self._sockets:
            await self._dispatch_to(ws, event, data)

    def _guild(self) -> Json:
        return {
            "id": str(self.guild_id),
            "name": "Kolbot fans",
            "icon": None,
            "owner_id": str(self._snowflake()),
            "unavailable": False,
            "member_count": 2,
            "large": False,
            "joined_at": now_iso(),
            "features": [],
            "roles": [
                self._role(
                    str(self.guild_id),
                    "@everyone",
                    (1 << 10) | (1 << 11) | (1 << 14) | (1 << 16) | (1 << 31),
                    0,
                ),
                self._role(ADMIN_ROLE, "Admins", ADMINISTRATOR, 2),
                self._role(MANAGER_ROLE, "Channel managers", MANAGE_CHANNELS, 1),
            ],
            "emojis": [],
            "stickers": [],
            "channels": [self.channels[self.guild_channel_id]],
            "threads": [],
            "members": [self._member_payload(self.bot)],
            "voice_states": [],
            "presences": [],
            "stage_instances": [],
            "guild_scheduled_events": [],
            "soundboard_sounds": [],
            "verification_level": 0,
            "default_message_notifications": 0,
            "explicit_content_filter": 0,
            "mfa_level": 0,
            "nsfw_level": 0,
            "premium_tier": 0,
            "premium_subscription_count": 0,
            "preferred_locale": "en-US",
            "system_channel_id": None,
            "afk_channel_id": None,
            "afk_timeout": 300,
            "description": None,
            "banner": None,
            "splash": None,
            "discovery_splash": None,
            "vanity_url_code": None,
        }

    @staticmethod
    def _role(role_id: str, name: str, permissions: int, position: int) -> Json:
        return {
            "id": role_id,
            "name": name,
            "permissions": str(permissions),
            "color": 0,
            "hoist": False,
            "position": position,
            "managed": False,
            "mentionable": False,
            "flags": 0,
        }

    def grant(self, user: FakeUser, role: str) -> None:
        """Give a server role (ADMIN_ROLE: Administrator; MANAGER_ROLE: Manage Channels)."""
        self.roles.setdefault(user.id, []).append(role)

    async def _get_member(self, request: web.Request) -> web.Response:
        """GET a server member: Discord answers 10007 Unknown Member for anyone not in it."""
        user_id = int(request.match_info["user_id"])
        if int(request.match_info["guild_id"]) != self.guild_id or user_id not in self.users:
            return _json({"message": "Unknown Member", "code": 10007}, status=404)
        member = self._member_payload(self.users[user_id].payload())
        return _json({**member, "roles": self.roles.get(user_id, [])})

    @staticmethod
    def _member_payload(user: Json) -> Json:
        return {
            "user": user,
            "roles": [],
            "joined_at": now_iso(),
            "deaf": False,
            "mute": False,
            "flags": 0,
            "nick": None,
            "avatar": None,
            "pending": False,
            "premium_since": None,
            "communication_disabled_until": None,
        }

    # REST: identity, DMs, messages ----------------------------------------------------------

    async def _get_me(self, request: web.Request) -> web.Response:
        return _json(self.bot)

    async def _get_application(self, request: web.Request) -> web.Response:
        owner = {**self.bot, "id": str(self._snowflake()), "username": "owner", "bot": False}
        return _json(
            {
                "id": str(self.application_id),
                "name": "kolbot",
                "description": "",
                "icon": None,
                "bot_public": True,
                "bot_require_code_grant": False,
                "owner": owner,
                "team": None,
                "verify_key": "0" * 64,
                "flags": 0,
                "summary": "",
                "interactions_endpoint_url": None,
            }
        )

    async def _open_dm(self, request: web.Request) -> web.Response:
        body = await request.json()
        user = self.users.get(int(body.get("recipient_id", 0)))
        if user is None:
            self.errors.append(f"DM opened with unknown user {body!r}")
            return _json({"message": "Invalid Recipient(s)", "code": 50033}, 400)
        return _json(self._dm_channel_payload(user))

    def dm_channel(self, user: FakeUser) -> int:
        channel_id = self.dm_channels.get(user.id)
        if channel_id is None:
            channel_id = self.dm_channels[user.id] = self._snowflake()
            self.channels[channel_id] = {"id": str(channel_id), "type": 1, "recipient": user.id}
            self.messages[channel_id] = []
        return channel_id

    def _dm_channel_payload(self, user: FakeUser) -> Json:
        return {
            "id": str(self.dm_channel(user)),
            "type": 1,
            "last_message_id": None,
            "flags": 0,
            "recipients": [user.payload()],
        }

    async def _history(self, request: web.Request) -> web.Response:
        """A channel's messages as Discord lists them: at most ``limit`` (1-100, default 50),
        newest first; ``after`` gives the oldest ones after it, ``before`` the newest ones
        before it (one of the two at most, each a snowflake). Ephemeral messages are nobody's
        history."""
        channel_id = int(request.match_info["channel_id"])
        if channel_id not in self.messages:
            self.errors.append(f"history of unknown channel {channel_id}")
            return _json({"message": "Unknown Channel", "code": 10003}, 404)
        problems = []
        query = request.query
        for name in query:
            if name not in ("limit", "after", "before", "around"):
                problems.append(f"history parameter {name!r}")
        if "around" in query:
            problems.append("history around a message: the fake does not serve it")
        limit_text = query.get("limit", "50")
        limit = int(limit_text) if limit_text.isdigit() else 0
        if not 1 <= limit <= 100:
            problems.append(f"history limit {limit_text!r}")
        bounds = {name: query[name] for name in ("after", "before") if name in query}
        if len(bounds) > 1:
            problems.append(f"history with both {sorted(bounds)}")
        for name, value in bounds.items():
            if not re.fullmatch(r"\d{1,20}", value) or int(value) >= 1 << 64:
                problems.append(f"history {name}={value!r} is not a snowflake")
        if problems:
            return self._invalid("history", problems)
        listed = sorted(
            (m for m in self.messages[channel_id] if not m["flags"] & (EPHEMERAL | LOADING)),
            key=lambda m: int(m["id"]),
        )
        if "after" in bounds:
            page = [m for m in listed if int(m["id"]) > int(bounds["after"])][:limit]
        elif "before" in bounds:
            page = [m for m in listed if int(m["id"]) < int(bounds["before"])][-limit:]
        else:
            page = listed[-limit:]
        self.history_reads.append((channel_id, dict(query)))
        return _json(page[::-1])

    async def _create_message(self, request: web.Request) -> web.Response:
        channel_id = int(request.match_info["channel_id"])
        if channel_id not in self.messages:
            self.errors.append(f"message to unknown channel {channel_id}")
            return _json({"message": "Unknown Channel", "code": 10003}, 404)
        if self.channels[channel_id].get("recipient") in self.blocked_dms:
            return _json({"message": "Cannot send messages to this user", "code": 50007}, 403)
        payload, files = await _read_body(request)
        if problems := self._message_problems(payload, files, creating=True):
            return self._invalid("message", problems)
        message = self._store(channel_id, payload, files)
        await self._echo(message)
        return _json(message)

    async def _edit_message(self, request: web.Request) -> web.Response:
        channel_id = int(request.match_info["channel_id"])
        message = self._find(channel_id, int(request.match_info["message_id"]))
        if (
            message is None
            or message["author"]["id"] != self.bot["id"]
            or message["flags"] & (EPHEMERAL)
        ):
            self.errors.append(f"edit of a message the bot cannot edit in {channel_id}")
            return _json({"message": "Unknown Message", "code": 10008}, 404)
        payload, files = await _read_body(request)
        if problems := self._message_problems(payload, files, creating=False):
            return self._invalid("edit", problems)
        return _json(self._apply_edit(message, payload, files))

    def _store(
        self,
        channel_id: int,
        payload: Json,
        files: list[tuple[str, bytes]],
        flags: int = 0,
        *,
        viewer: FakeUser | None = None,
    ) -> Json:
        """A message by the bot; an ephemeral one is shown to ``viewer`` alone."""
        message = self._message_payload(channel_id, self.bot, payload, files, flags)
        if message["flags"] & EPHEMERAL:
            if viewer is None:
                self.errors.append(f"an ephemeral message outside an interaction: {payload}")
            else:
                self.ephemeral_viewers[message["id"]] = viewer.id
        self.messages[channel_id].append(message)
        return message

    async def _echo(self, message: Json) -> None:
        """Discord sends a bot its own DMs as MESSAGE_CREATE, like anyone else's."""
        channel = self.channels.get(int(message["channel_id"]), {})
        if channel.get("type") == 1 and not message["flags"] & EPHEMERAL and self._sockets:
            await self.dispatch("MESSAGE_CREATE", message)
            self.echoed.append(message["id"])

    def plant(self, channel_id: int, content: str, components: list[Json]) -> Json:
        """A message the bot posted earlier, by an older version say, with any components."""
        payload = {"content": content, "components": components}
        return self._store(channel_id, payload, [])

    def _message_payload(
        self,
        channel_id: int,
        author: Json,
        payload: Json,
        files: list[tuple[str, bytes]],
        flags: int = 0,
    ) -> Json:
        message: Json = {
            "id": str(self._snowflake()),
            "channel_id": str(channel_id),
            "author": author,
            "content": payload.get("content") or "",
            "timestamp": now_iso(self.ahead),
            "edited_timestamp": None,
            "tts": False,
            "mention_everyone": False,
            "mentions": [],
            "mention_roles": [],
            "attachments": _attachments(files),
            "embeds": payload.get("embeds") or [],
            "components": payload.get("components") or [],
            "pinned": False,
            "type": 0,
            "flags": flags | (int(payload.get("flags") or 0) & EPHEMERAL),
            "allowed_mentions": payload.get("allowed_mentions"),
        }
        guild_id = self.channels.get(channel_id, {}).get("guild_id")
        if guild_id is not None:
            message["guild_id"] = guild_id
        return message

    def _apply_edit(self, message: Json, payload: Json, files: list[tuple[str, bytes]]) -> Json:
        for key in ("content", "embeds", "components"):
            if key in payload:
                message[key] = payload[key] or ([] if key != "content" else "")
        if "attachments" in payload or files:
            message["attachments"] = _attachments(files)
        if "allowed_mentions" in payload:
            message["allowed_mentions"] = payload["allowed_mentions"]
        message["flags"] &= ~LOADING
        message["edited_timestamp"] = now_iso(self.ahead)
        return message

    def _find(self, channel_id: int, message_id: int) -> Json | None:
        for message in self.messages.get(channel_id, []):
            if int(message["id"]) == message_id:
                return message
        return None

    def _invalid(self, what: str, problems: list[str]) -> web.Response:
        self.errors.extend(f"{what}: {problem}" for problem in problems)
        # Discord nests the reasons under the offending fields; the fake names no field.
        reasons = [{"code": "BASE_TYPE_INVALID", "message": problem} for problem in problems]
        body = {"message": "Invalid Form Body", "code": 50035, "errors": {"_errors": reasons}}
        return _json(body, 400)

    def _message_problems(
        self, payload: Json, files: list[tuple[str, bytes]], *, creating: bool
    ) -> list[str]:
        problems: list[str] = []
        content = payload.get("content") or ""
        if len(content) > 2000:
            problems.append(f"content of {len(content)} characters")
        empty = not (content or payload.get("embeds") or payload.get("components") or files)
        if creating and empty:
            problems.append("an empty message")
        if payload.get("allowed_mentions") != {"parse": []} and (creating or "content" in payload):
            problems.append(f"allowed_mentions {payload.get('allowed_mentions')!r} may ping")
        names = {name for name, _ in files}
        problems += _embed_problems(payload.get("embeds") or [], names)
        problems += _component_problems(payload.get("components") or [])
        return problems

    # REST: application commands -------------------------------------------------------------

    async def _get_commands(self, request: web.Request) -> web.Response:
        scope = self._command_scope(request)
        if scope == NOT_A_MEMBER:
            return _json(MISSING_ACCESS, 403)
        registered = self.commands.get(scope, [])
        if request.query.get("with_localizations") not in ("true", "True", "1"):
            # Discord leaves the localization dictionaries out unless asked.
            registered = [
                {k: v for k, v in c.items() if not k.endswith("_localizations")}
                for c in registered
            ]
        return _json(registered)

    async def _put_commands(self, request: web.Request) -> web.Response:
        scope = self._command_scope(request)
        if scope == NOT_A_MEMBER:
            return _json(MISSING_ACCESS, 403)
        payload = await request.json()
        if problems := _command_problems(payload):
            return self._invalid("commands", problems)
        stored = []
        for command in payload:
            entry = {
                **command,
                "id": str(self._snowflake()),
                "application_id": str(self.application_id),
                "version": str(self._snowflake()),
                "default_member_permissions": command.get("default_member_permissions"),
            }
            # Discord fills in what a command leaves to it, and omits what does not apply.
            if not entry.get("options"):
                entry.pop("options", None)
            if scope is not None:
                entry["guild_id"] = str(scope)
                entry.pop("dm_permission", None)
            elif entry.get("integration_types") is None:
                entry["integration_types"] = [0]
            stored.append(entry)
        self.commands[scope] = stored
        return _json(stored)

    def _command_scope(self, request: web.Request) -> int | None:
        """The guild, None for global commands, or NOT_A_MEMBER for a guild the bot is not in
        (a configuration mistake Discord answers with 403, not a bug)."""
        if request.match_info["application_id"] != str(self.application_id):
            self.errors.append(f"commands for application {request.match_info['application_id']}")
        guild = request.match_info.get("guild_id")
        if guild is None:
            return None
        return int(guild) if int(guild) == self.guild_id else NOT_A_MEMBER

    # REST: interaction responses and followups ----------------------------------------------

    async def _callback(self, request: web.Request) -> web.Response:
        interaction = self.interactions.get(int(request.match_info["interaction_id"]))
        if interaction is None or interaction.token != request.match_info["token"]:
            self.errors.append("callback for an unknown interaction")
            return _json({"message": "Unknown interaction", "code": 10062}, 404)
        late = self.clock() - interaction.created
        if late > ACK_DEADLINE:
            self.errors.append(f"interaction {interaction.id} acknowledged after {late:.2f}s")
            return _json({"message": "Unknown interaction", "code": 10062}, 404)
        if interaction.responses:
            self.errors.append(f"interaction {interaction.id} responded to twice")
            return _json(
                {"message": "Interaction has already been acknowledged.", "code": 40060}, 400
            )
        payload, files = await _read_body(request)
        kind = payload.get("type")
        data = payload.get("data") or {}
        allowed = {4, 5} if interaction.type == 2 else {4, 5, 6, 7}
        if kind not in allowed:
            return self._invalid("callback", [f"response type {kind} to type {interaction.type}"])
        if kind in (4, 7) and (problems := self._message_problems(data, files, creating=True)):
            return self._invalid("callback", problems)
        interaction.responses.append(payload)
        interaction.responded_at = self.clock()
        message: Json | None = None
        ephemeral = bool(int(data.get("flags") or 0) & EPHEMERAL)
        if kind in (4, 5):
            flags = (EPHEMERAL if ephemeral else 0) | (LOADING if kind == 5 else 0)
            message = self._store(
                interaction.channel_id,
                data if kind == 4 else {},
                files,
                flags,
                viewer=interaction.user,
            )
            interaction.original_id = int(message["id"])
        elif kind == 7:
            message = self._pressed(interaction)
            if message is not None:
                self._apply_edit(message, data, files)
        if request.query.get("with_response") not in ("1", "true", "True"):
            return web.Response(status=204)
        body: Json = {
            "interaction": {
                "id": str(interaction.id),
                "type": interaction.type,
                "response_message_loading": kind == 5,
                "response_message_ephemeral": ephemeral,
            }
        }
        if message is not None:
            body["interaction"]["response_message_id"] = message["id"]
            body["resource"] = {"type": kind, "message": message}
        return _json(body)

    def _by_token(self, request: web.Request) -> FakeInteraction | None:
        token = request.match_info["token"]
        for interaction in self.interactions.values():
            if interaction.token == token:
                if request.match_info["application_id"] != str(self.application_id):
                    self.errors.append("webhook for another application")
                if not interaction.responses:
                    self.errors.append(f"webhook use before acknowledging {interaction.id}")
                if self.clock() - interaction.created > TOKEN_TTL:
                    self.errors.append(f"interaction {interaction.id} used after 15 minutes")
                    return None
                return interaction
        self.errors.append("webhook for an unknown interaction token")
        return None

    async def _followup(self, request: web.Request) -> web.Response:
        interaction = self._by_token(request)
        if interaction is None:
            return _json({"message": "Unknown Webhook", "code": 10015}, 404)
        payload, files = await _read_body(request)
        if problems := self._message_problems(payload, files, creating=True):
            return self._invalid("followup", problems)
        interaction.followups.append(payload)
        original = self._original(interaction)
        if original is not None and original["flags"] & LOADING:
            # After a "thinking" deferral the first followup becomes that message, ephemeral
            # or not as the deferral was; later ones are as their own flags say.
            message = self._apply_edit(original, payload, files)
        else:
            message = self._store(interaction.channel_id, payload, files, viewer=interaction.user)
            await self._echo(message)
        return _json(message)

    async def _edit_webhook_message(self, request: web.Request) -> web.Response:
        interaction = self._by_token(request)
        message = self._webhook_target(interaction, request.match_info["message_id"])
        if interaction is None or message is None:
            return _json({"message": "Unknown Message", "code": 10008}, 404)
        payload, files = await _read_body(request)
        if problems := self._message_problems(payload, files, creating=False):
            return self._invalid("webhook edit", problems)
        interaction.edits.append(payload)
        return _json(self._apply_edit(message, payload, files))

    async def _delete_webhook_message(self, request: web.Request) -> web.Response:
        interaction = self._by_token(request)
        message = self._webhook_target(interaction, request.match_info["message_id"])
        if interaction is None or message is None:
            return _json({"message": "Unknown Message", "code": 10008}, 404)
        self.messages[int(message["channel_id"])].remove(message)
        return web.Response(status=204)

    def _webhook_target(self, interaction: FakeInteraction | None, which: str) -> Json | None:
        if interaction is None:
            return None
        if which == "@original":
            return self._original(interaction)
        message = self._find(interaction.channel_id, int(which))
        if message is None:
            self.errors.append(f"webhook edit of unknown message {which}")
        return message

    def _original(self, interaction: FakeInteraction) -> Json | None:
        if interaction.original_id is not None:
            return self._find(interaction.channel_id, interaction.original_id)
        if interaction.response_type in (6, 7):
            return self._pressed(interaction)
        return None

    def _pressed(self, interaction: FakeInteraction) -> Json | None:
        if interaction.message_id is None:
            return None
        return self._find(interaction.channel_id, interaction.message_id)

    # Playing the users ----------------------------------------------------------------------

    def add_user(
        self, username: str, *, locale: str = "en-US", global_name: str | None = None
    ) -> FakeUser:
        user = FakeUser(self._snowflake(), username, global_name, locale)
        self.users[user.id] = user
        return user

    async def slash(
        self, user: FakeUser, name: str, *, channel_id: int | None = None
    ) -> FakeInteraction:
        """``/name`` typed by ``user`` in a server channel, or in their DM with the bot."""
        channel_id = channel_id or self.dm_channel(user)
        guild_id = self._guild_of(channel_id)
        scopes = [None] if guild_id is None else [None, guild_id]
        registered = [c for scope in scopes for c in self.commands.get(scope, [])]
        command = next((c for c in registered if c["name"] == name), None)
        if command is None:
            raise AssertionError(f"/{name} is not registered where {channel_id} is")
        data = {"id": command["id"], "name": name, "type": 1}
        return await self._interact(user, channel_id, 2, data)

    async def press(
        self, user: FakeUser, label: str, *, channel_id: int | None = None
    ) -> FakeInteraction:
        """Press the button labelled ``label`` on the latest message in the channel that has
        one (the user's DM by default)."""
        channel_id = channel_id or self.dm_channel(user)
        for message in reversed(self.visible(channel_id, user)):
            for component in _components(message):
                if component["type"] == 2 and component.get("label") == label:
                    if "custom_id" not in component:
                        raise AssertionError(f"{label!r} is a link button")
                    data = {"custom_id": component["custom_id"], "component_type": 2}
                    return await self._interact(user, channel_id, 3, data, message)
        raise AssertionError(f"no button {label!r} in {self.texts(channel_id, user)[-3:]}")

    async def press_forged(self, user: FakeUser, custom_id: str, message: Json) -> FakeInteraction:
        """A press on ``message`` carrying any ``custom_id``, whatever its buttons say: what a
        modified client can send."""
        data = {"custom_id": custom_id, "component_type": 2}
        return await self._interact(user, int(message["channel_id"]), 3, data, message)

    async def choose(
        self, user: FakeUser, labels: list[str], *, channel_id: int | None = None
    ) -> FakeInteraction:
        """Submit the latest select menu with the options labelled ``labels``."""
        channel_id = channel_id or self.dm_channel(user)
        for message in reversed(self.visible(channel_id, user)):
            for component in _components(message):
                if component["type"] != 3:
                    continue
                by_label = {o["label"]: o["value"] for o in component["options"]}
                values = [by_label[label] for label in labels]
                if not component.get("min_values", 1) <= len(values) <= component["max_values"]:
                    raise AssertionError(f"{len(values)} values for {component}")
                data = {"custom_id": component["custom_id"], "component_type": 3}
                data["values"] = values
                return await self._interact(user, channel_id, 3, data, message)
        raise AssertionError(f"no select menu in {self.texts(channel_id, user)[-3:]}")

    async def write(self, user: FakeUser, text: str, *, online: bool = True) -> Json:
        """A DM the user types to the bot (MESSAGE_CREATE); with ``online`` False, while the
        bot is not connected: it stays in the DM's history, and the gateway never tells."""
        channel_id = self.dm_channel(user)
        message = self._message_payload(channel_id, user.payload(), {"content": text}, [])
        self.messages[channel_id].append(message)
        if online:
            await self.dispatch("MESSAGE_CREATE", message)
        elif self._sockets:
            raise AssertionError("the bot is connected: it would see this message")
        return message

    async def _interact(
        self,
        user: FakeUser,
        channel_id: int,
        kind: int,
        data: Json,
        message: Json | None = None,
    ) -> FakeInteraction:
        guild_id = self._guild_of(channel_id)
        interaction = FakeInteraction(
            id=self._snowflake(),
            token=f"token-{self._snowflake()}",
            type=kind,
            created=self.clock(),
            channel_id=channel_id,
            user=user,
            guild_id=guild_id,
            data=data,
            message_id=int(message["id"]) if message else None,
        )
        self.interactions[interaction.id] = interaction
        payload: Json = {
            "id": str(interaction.id),
            "application_id": str(self.application_id),
            "type": kind,
            "token": interaction.token,
            "version": 1,
            "data": data,
            "channel_id": str(channel_id),
            "locale": user.locale,
            "app_permissions": str((1 << 11) | (1 << 14) | (1 << 16)),
            "entitlements": [],
            "attachment_size_limit": 8 * 1024 * 1024,
        }
        if guild_id is None:
            payload["channel"] = self._dm_channel_payload(user)
            payload["user"] = user.payload()
            payload["context"] = 1
            payload["authorizing_integration_owners"] = {"0": str(user.id)}
        else:
            payload["channel"] = self.channels[channel_id]
            payload["guild_id"] = str(guild_id)
            payload["guild"] = {"id": str(guild_id), "locale": "en-US", "features": []}
            payload["guild_locale"] = "en-US"
            payload["member"] = {
                **self._member_payload(user.payload()),
                "roles": self.roles.get(user.id, []),
                "permissions": "0",
            }
            payload["context"] = 0
            payload["authorizing_integration_owners"] = {"0": str(guild_id)}
        if message is not None:
            payload["message"] = message
        await self.dispatch("INTERACTION_CREATE", payload)
        return interaction

    def _guild_of(self, channel_id: int) -> int | None:
        guild = self.channels[channel_id].get("guild_id")
        return int(guild) if guild is not None else None

    # Reading what the bot did ---------------------------------------------------------------

    def visible(self, channel_id: int, user: FakeUser | None = None) -> list[Json]:
        """Messages the bot posted in a channel, as ``user`` sees them: ephemeral ones are
        theirs alone, and a "thinking" placeholder is not a message yet."""
        shown = []
        for message in self.messages.get(channel_id, []):
            if message["author"]["id"] != self.bot["id"] or message["flags"] & LOADING:
                continue
            if message["flags"] & EPHEMERAL and (
                user is None or self.ephemeral_viewers.get(message["id"]) != user.id
            ):
                continue
            shown.append(message)
        return shown

    def inbox(self, user: FakeUser) -> list[Json]:
        """Everything the bot wrote in the user's DM."""
        return self.visible(self.dm_channel(user), user)

    def texts(self, channel_id: int, user: FakeUser | None = None) -> list[str]:
        return [message["content"] for message in self.visible(channel_id, user)]

    async def until(
        self, condition: Callable[[], object], *, seconds: float = 10.0, what: str = ""
    ) -> None:
        """Poll until ``condition()`` holds; fail naming ``what`` after ``seconds``."""
        deadline = time.monotonic() + seconds
        while not condition():
            if self.errors:
                raise AssertionError(f"the fake Discord saw errors: {self.errors}")
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what or condition}")
            await asyncio.sleep(0.01)

    async def reply_to(
        self,
        user: FakeUser,
        action: Awaitable[object],
        *,
        containing: str = "",
        label: str | None = None,
        seconds: float = 10.0,
    ) -> Json:
        """Do ``action`` and return the first new (or edited) DM message that contains the text
        and, if ``label`` is given, a component with that label."""
        seen = {m["id"]: (m["content"], m["edited_timestamp"]) for m in self.inbox(user)}
        await action

        def fresh() -> Json | None:
            for message in self.inbox(user):
                changed = seen.get(message["id"]) != (
                    message["content"],
                    message["edited_timestamp"],
                )
                labelled = label is None or label in labels(message)
                if changed and labelled and containing in _all_text(message):
                    return message
            return None

        what = f"a reply with {containing!r}" + (f" and {label!r}" if label else "")
        await self.until(lambda: fresh() is not None, seconds=seconds, what=what)
        found = fresh()
        assert found is not None
        return found

    def _snowflake(self) -> int:
        """A new id, later than every earlier one, carrying the (fake) time it was made."""
        millis = int((time.time() + self.ahead) * 1000) - DISCORD_EPOCH_MS
        self._last_id = max(self._last_id + 1, millis << 22)
        return self._last_id

    def advance(self, seconds: float) -> None:
        """Move the fake's wall clock on: what is made from now on (messages, their ids and
        timestamps) says it is that much later."""
        self.ahead += seconds


def _bucket_headers(route: str) -> dict[str, str]:
    """Discord names every response's rate limit bucket. Without these discord.py allows one
    request at a time per route; the fake's buckets are roomy, as pacing is the bot's job."""
    return {
        "X-RateLimit-Limit": "1000",
        "X-RateLimit-Remaining": "999",
        "X-RateLimit-Reset": f"{time.time() + 1:.3f}",
        "X-RateLimit-Reset-After": "1.000",
        "X-RateLimit-Bucket": f"bucket-{abs(hash(route)):x}",
    }


def _json(data: object, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    # discord.py parses a body only when Content-Type is exactly application/json.
    return web.Response(
        body=json.dumps(data).encode(),
        status=status,
        headers={"Content-Type": "application/json", **(headers or {})},
    )


async def _read_body(request: web.Request) -> tuple[Json, list[tuple[str, bytes]]]:
    """The JSON payload, and any uploaded files (multipart ``payload_json`` + ``files[n]``)."""
    if not request.body_exists:
        return {}, []
    if not request.content_type.startswith("multipart/"):
        body = await request.json()
        return body if isinstance(body, dict) else {"": body}, []
    payload: Json = {}
    files: list[tuple[str, bytes]] = []
    reader = await request.multipart()
    async for part in reader:
        if not isinstance(part, BodyPartReader):
            continue
        data = await part.read()
        if part.name == "payload_json":
            payload = json.loads(data)
        else:
            files.append((part.filename or "", bytes(data)))
    return payload, files


def _attachments(files: list[tuple[str, bytes]]) -> list[Json]:
    return [
        {
            "id": str(1_000_000 + index),
            "filename": name,
            "size": len(data),
            "url": f"https://cdn.fake/{name}",
            "proxy_url": f"https://media.fake/{name}",
        }
        for index, (name, data) in enumerate(files)
    ]


def labels(message: Json) -> list[str]:
    """The labels of a message's buttons and select options, in order."""
    found = []
    for component in _components(message):
        if component["type"] == 3:
            found += [option["label"] for option in component["options"]]
        else:
            found.append(component.get("label", ""))
    return found


def _components(message: Json) -> list[Json]:
    return [item for row in message.get("components", []) for item in row.get("components", [])]


def _all_text(message: Json) -> str:
    parts = [message["content"]]
    parts += [embed.get("description") or "" for embed in message.get("embeds", [])]
    return "\n".join(parts)


def _embed_problems(embeds: list[Json], files: set[str]) -> list[str]:
    problems = []
    if len(embeds) > 10:
        problems.append(f"{len(embeds)} embeds")
    total = 0
    for embed in embeds:
        for key, limit in (("title", 256), ("description", 4096)):
            value = embed.get(key) or ""
            total += len(value)
            if len(value) > limit:
                problems.append(f"embed {key} of {len(value)} characters")
        footer = (embed.get("footer") or {}).get("text") or ""
        total += len(footer)
        if len(footer) > 2048:
            problems.append(f"embed footer of {len(footer)} characters")
        url = (embed.get("image") or {}).get("url")
        if url is not None and not (
            url.startswith("https://") or url.removeprefix("attachment://") in files
        ):
            problems.append(f"embed image {url!r}")
    if total > 6000:
        problems.append(f"embeds of {total} characters")
    return problems


def _component_problems(rows: list[Json]) -> list[str]:
    problems = []
    if len(rows) > 5:
        problems.append(f"{len(rows)} component rows")
    custom_ids: list[str] = []
    for row in rows:
        items = row.get("components") or []
        if row.get("type") != 1 or not 1 <= len(items) <= 5:
            problems.append(f"bad action row {row}")
            continue
        if any(item.get("type") == 3 for item in items) and len(items) > 1:
            problems.append("a select menu shares its row")
        for item in items:
            problems += _item_problems(item)
            if "custom_id" in item:
                custom_ids.append(item["custom_id"])
    if len(custom_ids) != len(set(custom_ids)):
        problems.append(f"duplicate custom_ids {custom_ids}")
    return problems


def _item_problems(item: Json) -> list[str]:
    problems = []
    custom_id = item.get("custom_id")
    if custom_id is not None and not 1 <= len(custom_id) <= 100:
        problems.append(f"custom_id of {len(custom_id)} characters")
    if item.get("type") == 2:
        if len(item.get("label") or "") > 80:
            problems.append(f"button label {item.get('label')!r}")
        if item.get("style") == 5:
            if "url" not in item or custom_id is not None:
                problems.append(f"link button {item}")
        elif custom_id is None:
            problems.append(f"button without a custom_id {item}")
    elif item.get("type") == 3:
        options = item.get("options") or []
        if not 1 <= len(options) <= 25:
            problems.append(f"select with {len(options)} options")
        for option in options:
            if not 1 <= len(option.get("label", "")) <= 100 or len(option["value"]) > 100:
                problems.append(f"select option {option}")
        values = [option.get("value") for option in options]
        if len(values) != len(set(values)):
            problems.append(f"duplicate select option values {values}")
        low, high = item.get("min_values", 1), item.get("max_values", 1)
        if not (0 <= low <= 25 and 1 <= high <= 25 and low <= high <= len(options)):
            problems.append(f"select with min {low} max {high} of {len(options)}")
        if len(item.get("placeholder") or "") > 150:
            problems.append("select placeholder over 150 characters")
        if custom_id is None:
            problems.append("select without a custom_id")
    else:
        problems.append(f"unexpected component {item}")
    return problems


def _command_problems(commands: object) -> list[str]:
    if not isinstance(commands, list):
        return [f"commands payload {commands!r}"]
    problems = []
    if len(commands) > 100:
        problems.append(f"{len(commands)} commands")
    names = [command.get("name", "") for command in commands]
    if len(names) != len(set(names)):
        problems.append(f"duplicate command names {names}")
    localized = {
        locale for command in commands for locale in command.get("name_localizations") or {}
    }
    for locale in sorted(localized):
        shown = [(c.get("name_localizations") or {}).get(locale, c.get("name")) for c in commands]
        if len(shown) != len(set(shown)):
            problems.append(f"duplicate command names in {locale}: {shown}")
    for command in commands:
        name = command.get("name", "")
        if command.get("type", 1) != 1 or not valid_command_name(name):
            problems.append(f"command name {name!r}")
        if not 1 <= len(command.get("description", "")) <= 100:
            problems.append(f"/{name} description {command.get('description')!r}")
        for locale, value in (command.get("name_localizations") or {}).items():
            if locale not in LOCALES or not valid_command_name(value):
                problems.append(f"/{name} name in {locale}: {value!r}")
        for locale, value in (command.get("description_localizations") or {}).items():
            if locale not in LOCALES or not 1 <= len(value) <= 100:
                problems.append(f"/{name} description in {locale}: {value!r}")
    return problems
