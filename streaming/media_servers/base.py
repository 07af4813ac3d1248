"""The one interface Backline has to a media server, and the factory that picks the configured one.

Each adapter turns its server's callbacks into an `IngestEvent`, answers them the way that server
understands, reads the stats of every stream in one request, and drops a publisher. Services use
this protocol, never a vendor module.
"""

from dataclasses import dataclass, field
from typing import Protocol

from django.conf import settings
from django.http import HttpRequest, HttpResponse

# Callbacks are small: the largest real body (SRS on_hls) is about 500 bytes.
MAX_CALLBACK_BYTES = 8 * 1024


class CallbackError(Exception):
    """A callback Backline cannot act on. `status` is the HTTP status to answer with."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.message, self.status = message, status


class MediaServerError(Exception):
    """The media server's API failed or said no."""


@dataclass(frozen=True)
class IngestEvent:
    """One callback, whatever server sent it.

    action: "publish", "unpublish", "play", "stop", "hls", or "ignore" (calls Backline has no use
    for, such as nginx-rtmp's on_done and on_update, still answered "yes").
    name: the stream name, i.e. the playback id. key: the secret from the query after the name.
    """

    action: str
    app: str
    name: str
    key: str = field(default="", repr=False)  # never in a repr, so never in a log line
    client_id: str = ""
    addr: str = ""


@dataclass
class StreamStats:
    """One stream as the media server reports it. None means "the server does not say"."""

    name: str
    publishing: bool
    client_id: str = ""
    bytes_in: int = 0
    bitrate_kbps: int = 0  # the server's own average; 0 during the first seconds on both servers
    frames: int | None = None  # SRS: running count of video frames (it reports no fps)
    fps: float | None = None  # nginx-rtmp: the frame rate the encoder declared
    width: int | None = None
    height: int | None = None
    video_codec: str = ""
    audio_codec: str = ""
    uptime_seconds: int | None = None
    clients: int | None = None  # players, the publisher not counted


class MediaServer(Protocol):
    kind: str

    def parse_callback(self, request: HttpRequest) -> IngestEvent: ...

    def answer(self, *, allowed: bool, reason: str = "") -> HttpResponse: ...

    def fetch_stats(self) -> list[StreamStats]: ...

    def kick_publisher(self, *, stream_name: str, client_id: str = "") -> bool: ...

    def version(self) -> str: ...


def check_size(request: HttpRequest) -> bytes:
    try:
        length = int(request.headers.get("Content-Length") or 0)
    except ValueError:
        raise CallbackError("Invalid Content-Length.") from None
    if length > MAX_CALLBACK_BYTES:
        raise CallbackError(f"Body too large ({length} bytes; at most {MAX_CALLBACK_BYTES}).", status=413)
    body = request.body
    if len(body) > MAX_CALLBACK_BYTES:
        raise CallbackError(f"Body too large (at most {MAX_CALLBACK_BYTES} bytes).", status=413)
    return body


def adapters() -> dict:
    from streaming.media_servers.nginx_rtmp import NginxRtmpServer
    from streaming.media_servers.srs import SrsServer

    return {"srs": SrsServer, "nginx-rtmp": NginxRtmpServer}


def get_media_server(kind: str | None = None) -> MediaServer:
    """The configured adapter (settings.MEDIA_SERVER), or the one named by `kind`."""
    return adapters()[kind or settings.MEDIA_SERVER]()
