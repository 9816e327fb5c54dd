"""Keep the bot token out of logs and error messages: it sits in every Bot API URL."""

from __future__ import annotations

import logging
import re
from typing import Final

_IN_URL: Final = re.compile(r"/bot\d+:[A-Za-z0-9_-]+")
PLACEHOLDER: Final = "/bot<token>"
# A user and password in a Bot API root (a proxy's): ``http://user:secret@host`` → ``<user>@``.
_USERINFO: Final = re.compile(r"(\w+://)[^/@\s]+@")
# The tokens in use: hidden wherever they appear, since a Bot API root without /bot in it
# (a self-hosted server, a mistyped setting) puts the token anywhere in a URL.
_TOKENS: Final[set[str]] = set()


def remember(token: str) -> None:
    _TOKENS.add(token)


def redact(text: str) -> str:
    """``https://api.telegram.org/bot123:ABC/getMe`` → ``https://api.telegram.org/bot<token>/getMe``;
    a remembered token is hidden wherever it is."""
    text = _IN_URL.sub(PLACEHOLDER, text)
    text = _USERINFO.sub(r"\1<user>@", text)
    for token in _TOKENS:
        text = text.replace(token, "<token>")
    return text


class TokenFilter(logging.Filter):
    """Rewrites records that contain a token; PTB logs its API URL (with the token) at DEBUG."""

    def __init__(self) -> None:
        super().__init__("kolbot-token-redaction")

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


TOKEN_FILTER: Final = TokenFilter()
# PTB's Bot logs "Set Bot API URL: ..." with the token in it.
logging.getLogger("telegram.Bot").addFilter(TOKEN_FILTER)
