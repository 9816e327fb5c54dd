"""The one error every validator raises."""

from __future__ import annotations


class Invalid(ValueError):
    """An answer that does not fit; ``message`` is an untranslated msgid with ``{}`` params."""

    def __init__(self, message: str, /, **params: object) -> None:
        super().__init__(message)
        self.message = message
        self.params = params
