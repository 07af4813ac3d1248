"""The media-server callback endpoint: check the secret, parse, call one service, answer in the
server's own way. Unauthenticated or malformed calls get a 4xx with a reason and change nothing."""

import hmac
import logging

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.views.decorators.csrf import csrf_exempt

from streaming.hooks import ingest_handle_event
from streaming.media_servers import CallbackError
from streaming.media_servers.base import adapters

logger = logging.getLogger(__name__)


def _refuse(status: int, reason: str) -> HttpResponse:
    return HttpResponse(reason, status=status, content_type="text/plain; charset=utf-8")


@csrf_exempt
def media_server_callback(request: HttpRequest, server: str, secret: str) -> HttpResponse:
    response = _callback(request, server, secret)
    if response.status_code >= 400:
        # Django would log "Forbidden: <path>", and the path holds the callback secret: say it here
        # without the path instead, and mark the response as logged.
        logger.warning("media-server callback (%s) answered %s", server[:20], response.status_code)
        response._has_been_logged = True
    return response


def _callback(request: HttpRequest, server: str, secret: str) -> HttpResponse:
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    if not hmac.compare_digest(secret.encode(), settings.MEDIA_SERVER_CALLBACK_SECRET.encode()):
        return _refuse(403, "Wrong callback secret.")
    adapter_class = adapters().get(server)
    if adapter_class is None:
        return _refuse(404, "Unknown media server.")
    adapter = adapter_class()
    try:
        event = adapter.parse_callback(request)
    except CallbackError as exc:
        return _refuse(exc.status, exc.message)
    decision = ingest_handle_event(event=event, media_server=server)
    return adapter.answer(allowed=decision.allowed, reason=decision.reason)
