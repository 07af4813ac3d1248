"""Small presentation helpers for the pages (no queries)."""

import zlib

from django import template

register = template.Library()


@register.filter
def hue(value) -> int:
    """A stable colour (0-359) for a placeholder thumbnail, from any id."""
    return zlib.crc32(str(value).encode()) % 360


@register.filter
def initials(value) -> str:
    words = [w for w in str(value).replace("-", " ").split() if w[:1].isalnum()]
    return "".join(w[0] for w in words[:2]).upper() or "♪"


@register.filter
def artist_name(stream) -> str:
    channel = getattr(stream.artist, "channel", None)
    return channel.display_name if channel else stream.artist.username


@register.filter
def artist_slug(stream) -> str:
    channel = getattr(stream.artist, "channel", None)
    return channel.slug if channel else ""


@register.filter
def clock(duration) -> str:
    """A timedelta as H:MM:SS."""
    if duration is None:
        return ""
    seconds = max(0, int(duration.total_seconds()))
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
