"""Validators raise the core's Invalid, which the flow engine turns into a re-ask."""

from bot.core.errors import Invalid

__all__ = ["Invalid"]
