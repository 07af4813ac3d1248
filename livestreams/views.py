"""Fans' HTML pages: home, browse and watch. Server-rendered so that lists, schedules and the
stream's details work without JavaScript; the player and chat are progressive enhancements
(static/js/livestreams/)."""

from django.http import Http404
from django.shortcuts import render
from django.urls import reverse

from accounts.selectors import user_follows
from livestreams.forms import BrowseForm
from livestreams.models import Stream
from livestreams.selectors import (
    stream_can_manage,
    stream_get,
    stream_list_public,
    stream_list_recent,
    stream_list_upcoming,
    stream_search,
)
from livestreams.services import chat as chat_services
from livestreams.services import replays as replay_services


def home(request):
    streams = stream_list_public()
    context = {
        "live": list(streams.filter(status=Stream.Status.LIVE).order_by("-viewer_count", "-started_at")[:24]),
        "upcoming": list(stream_list_upcoming(streams)[:12]),
        "recent": list(stream_list_recent(streams)[:12]),
    }
    return render(request, "livestreams/home.html", context)


def browse(request):
    form = BrowseForm(request.GET or None)
    streams = stream_list_public().exclude(status=Stream.Status.CANCELLED)
    status = ""
    if form.is_valid():
        query, status = form.cleaned_data["q"].strip(), form.cleaned_data["status"]
        if query:
            streams = stream_search(streams, query=query)
        if status == "live":
            streams = streams.filter(status=Stream.Status.LIVE)
        elif status == "upcoming":
            streams = stream_list_upcoming(streams)
        elif status == "past":
            streams = stream_list_recent(streams)
    if status not in ("upcoming", "past"):
        streams = streams.order_by("-started_at", "-created_at")
    return render(request, "livestreams/browse.html", {"form": form, "streams": list(streams[:60])})


def watch(request, stream_id):
    stream = stream_get(stream_id=stream_id)
    if stream is None or stream.status == Stream.Status.CANCELLED and not stream_can_manage(
            stream=stream, user=request.user):
        raise Http404("No such stream.")
    channel = getattr(stream.artist, "channel", None)
    can_manage = stream_can_manage(stream=stream, user=request.user)
    chat_max_length = chat_services.MAX_TEXT
    replay, replay_preparing = _replay_context(request, stream, can_manage=can_manage)
    config = _player_config(request, stream, can_manage=can_manage, chat_max_length=chat_max_length)
    if replay is not None and replay.status == replay.Status.READY:
        config["replay"] = replay_services.replay_data(replay)
    return render(request, "livestreams/watch.html", {
        "stream": stream,
        "config": config,
        "replay": replay,
        "replay_ready": "replay" in config,
        "replay_preparing": replay_preparing,
        "channel": channel,
        "can_manage": can_manage,
        "follows": channel is not None and user_follows(user=request.user, channel=channel),
        "absolute_url": request.build_absolute_uri(stream.get_absolute_url()),
        "thumbnail_absolute": _thumbnail_absolute(request, stream),
        "chat_max_length": chat_max_length,
    })


def _replay_context(request, stream, *, can_manage: bool):
    """(the replay this visitor may watch or None, whether to say one is on its way). A recorded
    stream that just ended has no replay row until the next sweep: it is on its way too."""
    if stream.status not in (Stream.Status.ENDED, Stream.Status.ARCHIVED):
        return None, False
    replay = replay_services.replay_for_viewer(stream=stream, user=request.user)
    if replay is not None:
        return replay, replay.status == replay.Status.PROCESSING
    row = getattr(stream, "replay", None)  # one the visitor may not watch (yet)
    if row is None:
        return None, stream.status == Stream.Status.ENDED and stream.record
    return None, row.status == row.Status.PROCESSING and row.published


def _player_config(request, stream, *, can_manage: bool, chat_max_length: int) -> dict:
    """What static/js/livestreams/*.js needs, rendered with json_script (never the key)."""
    return {
        "streamId": str(stream.pk),
        "status": stream.status,
        "interrupted": stream.is_interrupted,
        "record": stream.record,
        "hlsUrl": stream.hls_url if stream.is_live else None,
        "startedAt": stream.started_at.isoformat() if stream.started_at else None,
        "authenticated": request.user.is_authenticated,
        "username": request.user.username if request.user.is_authenticated else "",
        "canManage": can_manage,
        "artistUsername": stream.artist.username,
        "chatEnabled": stream.chat_enabled,
        "reactionsEnabled": stream.reactions_enabled,
        "chatMode": stream.chat_mode,
        "chatMaxLength": chat_max_length,
        "loginUrl": f"{reverse('accounts:login')}?next={stream.get_absolute_url()}",
    }


def _thumbnail_absolute(request, stream) -> str:
    if stream.thumbnail:
        return request.build_absolute_uri(stream.thumbnail.url)
    return stream.thumbnail_url
