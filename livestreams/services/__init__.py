from .streams import (
    stream_archive,
    stream_cancel,
    stream_create,
    stream_end,
    stream_go_live,
    stream_mark_interrupted,
    stream_mark_resumed,
    stream_prepare,
    stream_rotate_key,
    stream_start,
    stream_update,
)

__all__ = [
    "stream_archive",
    "stream_cancel",
    "stream_create",
    "stream_end",
    "stream_go_live",
    "stream_mark_interrupted",
    "stream_mark_resumed",
    "stream_prepare",
    "stream_rotate_key",
    "stream_start",
    "stream_update",
]
