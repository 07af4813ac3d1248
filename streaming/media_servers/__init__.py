from streaming.media_servers.base import (
    CallbackError,
    IngestEvent,
    MediaServer,
    MediaServerError,
    StreamStats,
    get_media_server,
)

__all__ = ["CallbackError", "IngestEvent", "MediaServer", "MediaServerError", "StreamStats", "get_media_server"]
