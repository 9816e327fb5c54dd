"""Social handles, typed bare, with an @, or pasted as a profile link.

Handles are stored lowercase and without the @ so one account has one spelling, whatever the
influencer pasted. Each network's rules are its own sign-up rules, so a handle that passes here
can exist there.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final
from urllib.parse import SplitResult, parse_qs, unquote, urlsplit

from bot.i18n import N_
from handlers.validators.errors import Invalid
from handlers.validators.text import TOO_LONG

NETWORKS: Final[tuple[str, ...]] = ("instagram", "tiktok", "youtube", "x", "facebook", "twitch")
NETWORK_LABELS: Final[dict[str, str]] = {
    "instagram": "Instagram",
    "tiktok": "TikTok",
    "youtube": "YouTube",
    "x": "X",
    "facebook": "Facebook",
    "twitch": "Twitch",
}

MAX_RAW_LENGTH: Final = 200

HANDLE_EMPTY: Final = N_("Please send your {network} handle or a link to your profile.")
HANDLE_LENGTH: Final = N_("{network} handles are {min} to {max} characters long.")
WRONG_NETWORK: Final = N_("That link does not lead to a profile on {network}.")
NOT_A_PROFILE: Final = N_(
    "That link points to a post or a page, not a profile: please send your profile link or just"
    " your handle."
)
YOUTUBE_CHANNEL_ID: Final = N_(
    "Channel IDs and old channel links are not handles: please send your YouTube @handle."
)
INSTAGRAM_FORMAT: Final = N_(
    "Instagram handles use letters, digits, dots and underscores, and cannot start or end with a"
    " dot or have two dots in a row."
)
TIKTOK_FORMAT: Final = N_(
    "TikTok handles use letters, digits, dots and underscores, and cannot end with a dot."
)
YOUTUBE_FORMAT: Final = N_("YouTube handles use letters, digits, dots, hyphens and underscores.")
X_FORMAT: Final = N_("X handles use only letters, digits and underscores.")
FACEBOOK_FORMAT: Final = N_("Facebook usernames use only letters, digits and dots.")
TWITCH_FORMAT: Final = N_(
    "Twitch usernames use letters, digits and underscores, and cannot start with an underscore."
)


@dataclass(frozen=True, slots=True)
class _Rules:
    min_length: int
    max_length: int
    pattern: re.Pattern[str]
    format_message: str
    # Hosts that serve this network; a link to any other host is refused outright.
    domains: tuple[str, ...]
    # First path segments that name a page, not an account.
    reserved: frozenset[str] = frozenset()


_RULES: Final[dict[str, _Rules]] = {
    "instagram": _Rules(
        1,
        30,
        re.compile(r"(?!\.)(?!.*\.\.)[a-z0-9._]+(?<!\.)"),
        INSTAGRAM_FORMAT,
        ("instagram.com", "instagr.am"),
        frozenset(
            {"p", "reel", "reels", "tv", "stories", "explore", "accounts", "direct", "about"}
            | {"developer", "legal", "web", "challenge", "s", "tags", "locations", "privacy"}
        ),
    ),
    "tiktok": _Rules(2, 24, re.compile(r"[a-z0-9._]+(?<!\.)"), TIKTOK_FORMAT, ("tiktok.com",)),
    "youtube": _Rules(
        3, 30, re.compile(r"[a-z0-9._-]+"), YOUTUBE_FORMAT, ("youtube.com", "youtu.be")
    ),
    "x": _Rules(
        1,
        15,
        re.compile(r"[a-z0-9_]+"),
        X_FORMAT,
        ("x.com", "twitter.com"),
        frozenset(
            {"i", "home", "explore", "search", "hashtag", "notifications", "messages"}
            | {"settings", "intent", "share", "compose", "login", "logout", "signup", "tos"}
            | {"privacy"}
        ),
    ),
    "facebook": _Rules(
        5,
        50,
        re.compile(r"[a-z0-9.]+"),
        FACEBOOK_FORMAT,
        ("facebook.com", "fb.com", "fb.me", "fb.watch"),
        frozenset(
            {"profile.php", "people", "pages", "pg", "groups", "events", "watch", "photo"}
            | {"photos", "share", "sharer", "login", "marketplace", "gaming", "p", "reel"}
            | {"reels", "hashtag", "help", "settings", "stories", "videos", "notes", "media"}
            | {"plugins", "dialog", "friends", "messages", "permalink", "story", "home"}
        ),
    ),
    "twitch": _Rules(
        4,
        25,
        re.compile(r"(?!_)[a-z0-9_]+"),
        TWITCH_FORMAT,
        ("twitch.tv",),
        frozenset(
            {"directory", "videos", "settings", "p", "downloads", "jobs", "search", "login"}
            | {"subscriptions", "inventory", "wallet", "drops", "friends", "messages"}
            | {"turbo", "prime", "store", "signup", "moderator", "popout", "embed"}
        ),
    ),
}

# Subdomains that serve the same profile pages as the bare domain; any other subdomain
# (clips.twitch.tv, vm.tiktok.com, music.youtube.com) or short domain serves something else.
_PROFILE_SUBDOMAINS: Final = ("", "www.", "m.", "mobile.", "web.", "mbasic.", "touch.")
_SHORT_DOMAINS: Final = frozenset({"youtu.be", "fb.me", "fb.watch"})
_YOUTUBE_LEGACY: Final = frozenset({"channel", "c", "user"})
# Facebook shows accounts without a username at profile.php?id=<id> or people/<name>/<id>.
_FACEBOOK_ID: Final = re.compile(r"[0-9]{1,20}")
# "UC" and 22 characters of mixed-case base64: random enough that no one picks it as a handle.
_YOUTUBE_CHANNEL_ID: Final = re.compile(r"UC(?=.*[a-z])(?=.*[A-Z])[A-Za-z0-9_-]{22}")


def _network_of(host: str) -> tuple[str, str] | None:
    """The network and registered domain a host belongs to, if any of ours."""
    for network, rules in _RULES.items():
        for domain in rules.domains:
            if host == domain or host.endswith("." + domain):
                return network, domain
    return None


def _looks_like_link(text: str) -> bool:
    # A bare "some.user" is a valid Instagram handle, so only a slash, a scheme or one of our
    # own domains makes the answer a link.
    return "/" in text or _network_of(text.lower().rstrip(".")) is not None


def _handle_from_link(network: str, text: str) -> str:
    label = NETWORK_LABELS[network]
    if "://" not in text:
        text = "https://" + text.lstrip("/")
    try:
        parts = urlsplit(text)
        host = (parts.hostname or "").rstrip(".")
    except ValueError:
        raise Invalid(WRONG_NETWORK, network=label) from None
    owner = _network_of(host)
    if parts.scheme.lower() not in {"http", "https"} or owner is None or owner[0] != network:
        raise Invalid(WRONG_NETWORK, network=label)
    domain = owner[1]
    if domain in _SHORT_DOMAINS or host.removesuffix(domain) not in _PROFILE_SUBDOMAINS:
        raise Invalid(NOT_A_PROFILE)
    segments = [unquote(segment) for segment in parts.path.split("/") if segment]
    if not segments:
        raise Invalid(NOT_A_PROFILE)
    first = segments[0]
    if network in {"tiktok", "youtube"}:
        # Both put profiles under /@handle; anything else is a video, a search or a legacy URL.
        if first.startswith("@"):
            return first
        if network == "youtube" and first.lower() in _YOUTUBE_LEGACY:
            raise Invalid(YOUTUBE_CHANNEL_ID)
        raise Invalid(NOT_A_PROFILE)
    if network == "facebook":
        account_id = _facebook_id(segments, parts.query)
        if account_id is not None:
            return account_id
    if first.lower() in _RULES[network].reserved or first.lower().endswith(".php"):
        raise Invalid(NOT_A_PROFILE)
    return first


def _facebook_id(segments: list[str], query: str) -> str | None:
    """The numeric id in a link to an account that has no username."""
    first = segments[0].lower()
    if first == "profile.php" and len(segments) == 1:
        ids = parse_qs(query).get("id", [])
        return ids[0] if len(ids) == 1 and _FACEBOOK_ID.fullmatch(ids[0]) else None
    if first == "people" and len(segments) == 3 and _FACEBOOK_ID.fullmatch(segments[2]):
        return segments[2]
    return None


def parse_handle(network: str, raw: str) -> str:
    """The handle for ``network`` as stored: lowercase, no @, checked against that network."""
    rules = _RULES[network]
    label = NETWORK_LABELS[network]
    text = raw.strip()
    if len(text) > MAX_RAW_LENGTH:
        raise Invalid(TOO_LONG, max=MAX_RAW_LENGTH)
    if not text:
        raise Invalid(HANDLE_EMPTY, network=label)
    is_link = _looks_like_link(text)
    handle = _handle_from_link(network, text) if is_link else text
    if is_link and network == "facebook" and _FACEBOOK_ID.fullmatch(handle):
        # An id, not a username: usernames have letters, and their length rules do not apply.
        return handle
    handle = handle.removeprefix("@")
    if network == "youtube" and _YOUTUBE_CHANNEL_ID.fullmatch(handle):
        raise Invalid(YOUTUBE_CHANNEL_ID)
    if not handle:
        raise Invalid(HANDLE_EMPTY, network=label)
    if not rules.min_length <= len(handle) <= rules.max_length:
        raise Invalid(HANDLE_LENGTH, network=label, min=rules.min_length, max=rules.max_length)
    # isascii() first: str.lower() turns a few non-ASCII look-alikes (the Kelvin sign) into ASCII.
    if not handle.isascii() or not rules.pattern.fullmatch(handle.lower()):
        raise Invalid(rules.format_message)
    return handle.lower()


MAX_POST_LINK_LENGTH: Final = 500
NOT_A_LINK: Final = N_("Please send the link to your post, starting with https://")
NOT_YOUR_NETWORKS: Final = N_(
    "That link is not on one of your social accounts' networks ({networks}). Please send the "
    "link to the post you published there."
)
NOT_A_POST: Final = N_(
    "That link leads to a home page, not to a post: please send the post's link."
)
NOT_YOUR_ACCOUNT: Final = N_(
    "That link is to a post of {account} on {network}, and your account there is {yours}. "
    "Please send the link to the post you published."
)
# Facebook links that name their poster only by the id in their query.
_FACEBOOK_POSTS_BY_ID: Final = frozenset({"permalink.php", "story.php"})


@dataclass(frozen=True, slots=True)
class PostLink:
    """A post's link as sent, its network, and the person's account it names there: None
    when the link names none (instagram.com/p/…, youtube.com/watch?v=…, a short link)."""

    url: str
    network: str
    handle: str | None


def _named_in_post(network: str, segments: list[str], query: str) -> str | None:
    """What the link's path names as its account, as typed; None for a path that names
    none (a post's own address, a page of the network's)."""
    first = segments[0]
    lower = first.lower()
    if network in {"tiktok", "youtube"}:
        # /@handle/video/1 and /@handle/community: any other path is the post's own address
        # (watch, shorts, live) or a channel id, which no handle can be compared with.
        return first[1:] if first.startswith("@") else None
    if network == "instagram" and lower == "stories" and len(segments) > 1:
        return segments[1]
    if network == "facebook":
        if lower in _FACEBOOK_POSTS_BY_ID:
            ids = parse_qs(query).get("id", [])
            return ids[0] if len(ids) == 1 and _FACEBOOK_ID.fullmatch(ids[0]) else None
        account_id = _facebook_id(segments, query)
        if account_id is not None:
            return account_id
    if lower in _RULES[network].reserved or lower.endswith(".php"):
        return None
    return first


def _account_in_post(network: str, host: str, domain: str, parts: SplitResult) -> str | None:
    """The account a post's link names, as handles are stored; None when it names none that
    could be a handle (short links and other subdomains name none: vm.tiktok.com, youtu.be)."""
    if domain in _SHORT_DOMAINS or host.removesuffix(domain) not in _PROFILE_SUBDOMAINS:
        return None
    segments = [unquote(segment) for segment in parts.path.split("/") if segment]
    named = _named_in_post(network, segments, parts.query) if segments else None
    if named is None:
        return None
    if network == "facebook" and _FACEBOOK_ID.fullmatch(named):
        return named
    rules = _RULES[network]
    handle = named.lower()
    fits = rules.min_length <= len(handle) <= rules.max_length and rules.pattern.fullmatch(handle)
    return handle if named.isascii() and fits else None


def parse_post_link(raw: str, accounts: Sequence[tuple[str, str]]) -> PostLink:
    """A link to a published post on a network of ``accounts`` (the person's own, as
    (network, handle)); any subdomain and short link of the network counts, a bare home page
    does not. A link that names an account must name one of these; one that names none is
    taken, with no account."""
    text = raw.strip()
    if len(text) > MAX_POST_LINK_LENGTH:
        raise Invalid(TOO_LONG, max=MAX_POST_LINK_LENGTH)
    networks = tuple(dict.fromkeys(network for network, _ in accounts))
    labels = ", ".join(NETWORK_LABELS[n] for n in networks if n in NETWORK_LABELS)
    if not text or any(char.isspace() for char in text):
        raise Invalid(NOT_A_LINK)
    link = text if "://" in text else "https://" + text
    try:
        parts = urlsplit(link)
        host = (parts.hostname or "").rstrip(".").lower()
    except ValueError:
        raise Invalid(NOT_A_LINK) from None
    # A word ("hello") is no address: every host a post can be on has a dot in its name.
    if parts.scheme.lower() not in {"http", "https"} or "." not in host:
        raise Invalid(NOT_A_LINK)
    owner = _network_of(host)
    if owner is None or owner[0] not in networks:
        raise Invalid(NOT_YOUR_NETWORKS, networks=labels)
    network, domain = owner
    if not parts.path.strip("/") and not parts.query:
        raise Invalid(NOT_A_POST)
    named = _account_in_post(network, host, domain, parts)
    mine = sorted(handle for each, handle in accounts if each == network)
    if named is None or named in mine:
        return PostLink(link, network, named)
    if (
        network == "facebook"
        and _FACEBOOK_ID.fullmatch(named)
        and not any(_FACEBOOK_ID.fullmatch(handle) for handle in mine)
    ):
        # A numeric id cannot be compared with a username: the link names no account we know.
        return PostLink(link, network, None)
    raise Invalid(
        NOT_YOUR_ACCOUNT,
        account=f"@{named}",
        network=NETWORK_LABELS[network],
        yours=", ".join(f"@{handle}" for handle in mine),
    )
