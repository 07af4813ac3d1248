"""nginx-rtmp (Debian libnginx-mod-rtmp): form-encoded notify callbacks, the /stat XML and the
/control module. Shapes follow the bodies captured from the real module (nginx-rtmp-captured/)."""

import xml.etree.ElementTree as ET

import requests
from django.conf import settings
from django.http import HttpRequest, HttpResponse, QueryDict

from streaming.media_servers.base import CallbackError, IngestEvent, MediaServerError, StreamStats, check_size

CALLS = {"publish": "publish", "publish_done": "unpublish", "play": "play", "play_done": "stop",
         # Sent too, but Backline acts on the specific calls above: answer "yes" and move on.
         "done": "ignore", "update_publish": "ignore", "update_play": "ignore", "connect": "ignore",
         "disconnect": "ignore", "record_done": "ignore"}
REQUIRED = ("call", "app", "name", "clientid")


def _int(node, path: str) -> int | None:
    text = node.findtext(path)
    try:
        return int(float(text)) if text not in (None, "") else None
    except ValueError:
        return None


class NginxRtmpServer:
    kind = "nginx-rtmp"

    def __init__(self, control_url: str | None = None):
        self.control_url = (control_url or settings.NGINX_CONTROL_URL).rstrip("/")
        self.timeout = settings.MEDIA_SERVER_HTTP_TIMEOUT

    # --- callbacks ---------------------------------------------------------------------------
    def parse_callback(self, request: HttpRequest) -> IngestEvent:
        body = check_size(request)
        if request.content_type != "application/x-www-form-urlencoded":
            raise CallbackError(
                f"Expected application/x-www-form-urlencoded, got {request.content_type or 'nothing'}.", status=415)
        try:
            # The args after the stream name arrive as extra top-level fields (key=...).
            form = QueryDict(body.decode("utf-8"), encoding="utf-8")
        except UnicodeDecodeError:
            raise CallbackError("The body is not UTF-8.") from None
        missing = [name for name in REQUIRED if not form.get(name)]
        if missing:
            raise CallbackError(f"Missing fields: {', '.join(missing)}.")
        action = CALLS.get(form["call"])
        if action is None:
            raise CallbackError(f"Unknown call {form['call'][:40]!r}.")
        return IngestEvent(action=action, app=form["app"], name=form["name"], key=form.get("key", ""),
                           client_id=form["clientid"], addr=form.get("addr", ""))

    def answer(self, *, allowed: bool, reason: str = "") -> HttpResponse:
        # nginx-rtmp reads only the first digit of the status: 2xx allows, 3xx redirects, the rest refuses.
        if allowed:
            return HttpResponse("OK", content_type="text/plain")
        return HttpResponse(reason or "refused", status=403, content_type="text/plain")

    # --- /stat and /control ----------------------------------------------------------------------
    def _get(self, path: str, **params) -> requests.Response:
        try:
            response = requests.get(f"{self.control_url}{path}", params=params or None, timeout=self.timeout)
        except requests.RequestException as exc:
            raise MediaServerError(f"nginx-rtmp {path}: {exc.__class__.__name__}") from exc
        if response.status_code != 200:
            raise MediaServerError(f"nginx-rtmp {path}: HTTP {response.status_code}")
        return response

    def fetch_stats(self) -> list[StreamStats]:
        return self.parse_stat(self._get("/stat").content)

    def version(self) -> str:
        """The versions /stat reports (a reachability check)."""
        root = ET.fromstring(self._get("/stat").content)
        return f"nginx {root.findtext('nginx_version')}, nginx-rtmp {root.findtext('nginx_rtmp_version')}"

    @staticmethod
    def parse_stat(xml: bytes) -> list[StreamStats]:
        try:
            root = ET.fromstring(xml)
        except ET.ParseError as exc:
            raise MediaServerError(f"nginx-rtmp /stat: not XML ({exc})") from None
        found = []
        for application in root.iterfind("server/application"):
            if application.findtext("name") != settings.RTMP_APP:
                continue
            for stream in application.iterfind("live/stream"):
                publisher = next((c for c in stream.iterfind("client") if c.find("publishing") is not None), None)
                publishing = stream.find("publishing") is not None
                nclients = _int(stream, "nclients")
                time_ms = _int(stream, "time")
                found.append(StreamStats(
                    name=stream.findtext("name") or "",
                    publishing=publishing,
                    client_id=(publisher.findtext("id") or "") if publisher is not None else "",
                    bytes_in=_int(stream, "bytes_in") or 0,
                    bitrate_kbps=(_int(stream, "bw_in") or 0) // 1000,  # bits/s, 10 s average
                    fps=float(_int(stream, "meta/video/frame_rate") or 0) or None,
                    width=_int(stream, "meta/video/width"), height=_int(stream, "meta/video/height"),
                    video_codec=stream.findtext("meta/video/codec") or "",
                    audio_codec=stream.findtext("meta/audio/codec") or "",
                    uptime_seconds=time_ms // 1000 if time_ms is not None else None,
                    # nclients counts the publisher; HLS players are not counted at all.
                    clients=max(0, nclients - (1 if publishing else 0)) if nclients is not None else None,
                ))
        return found

    def kick_publisher(self, *, stream_name: str, client_id: str = "") -> bool:
        """/control/drop/publisher; the body is how many sessions were dropped."""
        params = {"app": settings.RTMP_APP, "name": stream_name}
        if client_id:
            params["clientid"] = client_id
        text = self._get("/control/drop/publisher", **params).text.strip()
        return text.isdigit() and int(text) > 0
