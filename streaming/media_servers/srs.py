"""SRS 5/6: JSON callbacks (http_hooks) and the HTTP API. Shapes follow the bodies captured from a
real SRS 6.0.155 (docs/reference: srs-captured/)."""

import json
from urllib.parse import parse_qs

import requests
from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse

from streaming.media_servers.base import CallbackError, IngestEvent, MediaServerError, StreamStats, check_size

ACTIONS = {"on_publish": "publish", "on_unpublish": "unpublish", "on_play": "play", "on_stop": "stop",
           "on_hls": "hls"}
REQUIRED = ("action", "client_id", "app", "stream")
ERROR_CLIENT_NOT_FOUND = 2049
# SRS pages its lists at max(10, count): ask for more than Backline will ever have live at once.
LIST_COUNT = 10000


def _key_from_param(param: str) -> str:
    values = parse_qs(param.lstrip("?"), keep_blank_values=True).get("key") or [""]
    return values[0]


def stream_stats(item: dict) -> StreamStats:
    """One entry of /api/v1/streams (or the `stream` of /api/v1/streams/{id})."""
    publish = item.get("publish") or {}
    video, audio = item.get("video") or {}, item.get("audio") or {}
    publishing = bool(publish.get("active"))
    clients = item.get("clients")
    return StreamStats(
        name=str(item.get("name") or str(item.get("url", "")).rsplit("/", 1)[-1]),
        publishing=publishing,
        client_id=str(publish.get("cid") or ""),
        bytes_in=int(item.get("recv_bytes") or 0),
        bitrate_kbps=int((item.get("kbps") or {}).get("recv_30s") or 0),
        frames=int(item["frames"]) if isinstance(item.get("frames"), int) else None,
        width=video.get("width"), height=video.get("height"),
        video_codec=str(video.get("codec") or ""), audio_codec=str(audio.get("codec") or ""),
        # `clients` counts every connection, the publisher included.
        clients=max(0, clients - (1 if publishing else 0)) if isinstance(clients, int) else None,
    )


class SrsServer:
    kind = "srs"

    def __init__(self, api_url: str | None = None):
        self.api_url = (api_url or settings.SRS_API_URL).rstrip("/")
        self.timeout = settings.MEDIA_SERVER_HTTP_TIMEOUT

    # --- callbacks ---------------------------------------------------------------------------
    def parse_callback(self, request: HttpRequest) -> IngestEvent:
        body = check_size(request)
        if request.content_type != "application/json":
            raise CallbackError(f"Expected application/json, got {request.content_type or 'nothing'}.", status=415)
        try:
            data = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            raise CallbackError("The body is not valid JSON.") from None
        if not isinstance(data, dict):
            raise CallbackError("The body must be a JSON object.")
        missing = [name for name in REQUIRED if not isinstance(data.get(name), str) or not data.get(name)]
        if missing:
            raise CallbackError(f"Missing fields: {', '.join(missing)}.")
        action = ACTIONS.get(data["action"])
        if action is None:
            raise CallbackError(f"Unknown action {data['action'][:40]!r}.")
        # Match on stream_url ("/live/K"): for HLS players `stream` is "K.m3u8".
        stream_url = data.get("stream_url") if isinstance(data.get("stream_url"), str) else ""
        name = stream_url.rsplit("/", 1)[-1] if stream_url else data["stream"]
        param = data.get("param") if isinstance(data.get("param"), str) else ""
        return IngestEvent(action=action, app=data["app"], name=name, key=_key_from_param(param),
                           client_id=data["client_id"], addr=str(data.get("ip") or ""))

    def answer(self, *, allowed: bool, reason: str = "") -> HttpResponse:
        # SRS allows only HTTP 200/201 whose body is 0 or {"code": 0}; anything else refuses.
        if allowed:
            return JsonResponse({"code": 0})
        return JsonResponse({"code": 403, "msg": reason or "refused"}, status=403)

    # --- HTTP API ------------------------------------------------------------------------------
    def _call(self, method: str, path: str, **params) -> dict:
        try:
            response = requests.request(method, f"{self.api_url}{path}", params=params or None, timeout=self.timeout)
        except requests.RequestException as exc:
            raise MediaServerError(f"SRS API {method} {path}: {exc.__class__.__name__}") from exc
        if response.status_code != 200:
            raise MediaServerError(f"SRS API {method} {path}: HTTP {response.status_code}")
        try:
            data = response.json()
        except ValueError:
            raise MediaServerError(f"SRS API {method} {path}: not JSON") from None
        if not isinstance(data, dict) or not isinstance(data.get("code"), int):
            raise MediaServerError(f"SRS API {method} {path}: no code in the answer")
        return data

    def fetch_stats(self) -> list[StreamStats]:
        data = self._call("GET", "/api/v1/streams/", start=0, count=LIST_COUNT)
        if data["code"] != 0:
            raise MediaServerError(f"SRS API streams: code {data['code']}")
        return [stream_stats(item) for item in data.get("streams") or [] if item.get("app") == settings.RTMP_APP]

    def version(self) -> str:
        """GET /api/v1/versions: the server's version, e.g. "6.0.155" (a reachability check)."""
        data = self._call("GET", "/api/v1/versions")
        if data["code"] != 0:
            raise MediaServerError(f"SRS API versions: code {data['code']}")
        return f"SRS {(data.get('data') or {}).get('version', '?')}"

    def kick_publisher(self, *, stream_name: str, client_id: str = "") -> bool:
        """DELETE /api/v1/clients/{id}. False when SRS no longer has that client (HTTP 200, code 2049)."""
        if not client_id:
            live = {s.name: s for s in self.fetch_stats()}
            client_id = live[stream_name].client_id if stream_name in live else ""
            if not client_id:
                return False
        data = self._call("DELETE", f"/api/v1/clients/{client_id}")
        if data["code"] == ERROR_CLIENT_NOT_FOUND:
            return False
        if data["code"] != 0:
            raise MediaServerError(f"SRS API kick: code {data['code']}")
        return True
