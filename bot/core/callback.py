"""Typed button data, namespaced by a prefix (aiogram's CallbackData is the model).

A button's data comes back from the platform as a string anyone can forge, so it is parsed
into a model with validated fields, never split by hand; and each prefix belongs to one class,
so two routers cannot both claim a button (the router refuses a clash at start).
"""

from __future__ import annotations

from typing import Any, ClassVar, Self

from pydantic import BaseModel, ConfigDict, ValidationError

from bot.core.messages import MAX_BUTTON_DATA_BYTES

SEPARATOR = ":"


class CallbackData(BaseModel):
    """Subclass as ``class SetLanguage(CallbackData, prefix="setlang"): code: str``."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    prefix: ClassVar[str]

    def __init_subclass__(cls, prefix: str = "", **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if prefix:
            if not prefix.isascii() or not prefix.isidentifier():
                raise ValueError(f"a button prefix must be a plain name, not {prefix!r}")
            cls.prefix = prefix

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        if not getattr(cls, "prefix", ""):
            raise TypeError(
                f"{cls.__name__} needs a prefix: class {cls.__name__}(..., prefix=...)"
            )

    def pack(self) -> str:
        values = [str(value) for value in self.model_dump().values()]
        if any(SEPARATOR in value for value in values):
            raise ValueError(f"{SEPARATOR!r} cannot appear in button data fields")
        data = SEPARATOR.join([self.prefix, *values])
        if len(data.encode()) > MAX_BUTTON_DATA_BYTES:
            raise ValueError(f"button data longer than {MAX_BUTTON_DATA_BYTES} bytes: {data!r}")
        return data

    @classmethod
    def unpack(cls, data: str | None) -> Self | None:
        """The model, or None when ``data`` is not this class's or does not validate."""
        if data is None:
            return None
        prefix, *values = data.split(SEPARATOR)
        fields = list(cls.model_fields)
        if prefix != cls.prefix or len(values) != len(fields):
            return None
        try:
            return cls.model_validate(dict(zip(fields, values, strict=True)))
        except ValidationError:
            return None
