"""The artist's studio: /studio/ (their streams and the "New stream" form) and the control room
/studio/livestreams/<id>/ (OBS credentials, status, health, chat, end). Only the stream's artist
and staff reach a control room; only artists reach the dashboard. Every action is a POST form
(CSRF-protected, works without JavaScript) that calls one service."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from config.exceptions import ApplicationError, form_add_application_error
from livestreams import services
from livestreams.forms import StreamDetailsForm, StreamForm, StreamSettingsForm
from livestreams.models import Replay, Stream
from livestreams.selectors import (
    stream_can_manage,
    stream_get,
    stream_list_for_artist,
    stream_list_recent,
    stream_list_upcoming,
)
from livestreams.services import chat as chat_services
from livestreams.services import replays as replay_services

ACTIONS = {
    "start": (services.stream_start, "Ready: start your encoder and you are live."),
    "end": (services.stream_end, "Stream ended. Thank you for playing!"),
    "cancel": (services.stream_cancel, "Stream cancelled."),
    "rotate-key": (services.stream_rotate_key, "New stream key issued. Update it in OBS."),
}


def _require_artist(request):
    if not request.user.is_artist:
        raise PermissionDenied("The studio is for artists. Become one from your profile.")


@login_required
@require_http_methods(["GET", "POST"])
def studio(request):
    _require_artist(request)
    form = StreamForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            stream = services.stream_create(artist=request.user, **form.service_fields())
        except ApplicationError as exc:
            form_add_application_error(form, exc)
        else:
            messages.success(request, "Stream created. Your OBS settings are below.")
            return redirect("livestreams:control-room", stream_id=stream.pk)
    streams = stream_list_for_artist(artist=request.user)
    return render(request, "studio/dashboard.html", {
        "form": form,
        "live": list(streams.filter(status=Stream.Status.LIVE)),
        "upcoming": list(stream_list_upcoming(streams)),
        "past": list(stream_list_recent(streams)[:30]),
    }, status=400 if request.method == "POST" else 200)


@login_required
@require_http_methods(["GET", "POST"])
def control_room(request, stream_id):
    stream = stream_get(stream_id=stream_id)
    if stream is None:
        raise Http404("No such stream.")
    if not stream_can_manage(stream=stream, user=request.user):
        raise PermissionDenied("Only the stream's artist and staff can open its control room.")
    settings_form = StreamSettingsForm(initial={
        "chat_enabled": stream.chat_enabled, "chat_mode": stream.chat_mode,
        "reactions_enabled": stream.reactions_enabled})
    editable = stream.status not in (Stream.Status.ARCHIVED, Stream.Status.CANCELLED)
    details_form = StreamDetailsForm(stream=stream) if editable else None
    if request.method == "POST":
        action = request.POST.get("action", "")
        try:
            if action == "settings":
                settings_form = StreamSettingsForm(request.POST)
                if settings_form.is_valid():
                    services.stream_update(stream=stream, data=settings_form.cleaned_data)
                    messages.success(request, "Settings saved.")
                    return redirect("livestreams:control-room", stream_id=stream.pk)
            elif action == "details" and editable:
                details_form = StreamDetailsForm(request.POST, request.FILES, stream=stream)
                if details_form.is_valid():
                    services.stream_update(stream=stream, data=details_form.changed_fields())
                    messages.success(request, "Details saved.")
                    return redirect("livestreams:control-room", stream_id=stream.pk)
            elif action in REPLAY_ACTIONS:
                done = _replay_action(stream, action, request.POST)
                messages.success(request, done)
                return redirect("livestreams:control-room", stream_id=stream.pk)
            elif action in ACTIONS:
                service, done = ACTIONS[action]
                service(stream=stream)
                messages.success(request, done)
                return redirect("livestreams:control-room", stream_id=stream.pk)
            else:
                messages.error(request, "Unknown action.")
        except ApplicationError as exc:
            messages.error(request, exc.message)
            return redirect("livestreams:control-room", stream_id=stream.pk)
    replay = Replay.objects.filter(stream=stream).first()
    return render(request, "studio/control_room.html", {
        "stream": stream,
        "replay": replay,
        "replay_duration": _clock(replay.duration_seconds) if replay and replay.duration_seconds else "",
        "settings_form": settings_form,
        "details_form": details_form,
        "rtmp_publish_url": f"{stream.rtmp_url.rstrip('/')}/{stream.obs_stream_key}",
        "hls_url": stream.hls_url,
        "chat_max_length": chat_services.MAX_TEXT,
        "config": {
            "streamId": str(stream.pk), "status": stream.status, "interrupted": stream.is_interrupted,
            "hlsUrl": stream.hls_url, "startedAt": stream.started_at.isoformat() if stream.started_at else None,
            "authenticated": True, "username": request.user.username, "canManage": True, "artistUsername": stream.artist.username,
            "chatEnabled": stream.chat_enabled, "reactionsEnabled": stream.reactions_enabled,
            "chatMode": stream.chat_mode, "chatMaxLength": chat_services.MAX_TEXT,
            "health": stream.health, "healthReason": stream.health_reason,
            "viewerCount": stream.viewer_count, "preview": True,
        },
    })


REPLAY_ACTIONS = {"replay-publish", "replay-unpublish", "replay-delete"}


def _replay_action(stream: Stream, action: str, data) -> str:
    replay = Replay.objects.filter(stream=stream).first()
    if replay is None:
        raise ApplicationError("This stream has no replay.")
    if action == "replay-delete":
        if data.get("confirm") != "yes":
            raise ApplicationError("Tick the box to confirm the deletion.")
        replay_services.replay_delete(replay=replay)
        return "Replay deleted."
    if replay.status != Replay.Status.READY:
        raise ApplicationError("Only a finished replay can be published or unpublished.")
    replay_services.replay_set_published(replay=replay, published=action == "replay-publish")
    return "Replay published." if action == "replay-publish" else "Replay unpublished: only you and staff see it."


def _clock(seconds: float) -> str:
    seconds = max(0, round(seconds))
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
