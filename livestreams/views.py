"""HTML pages. The full fan and studio pages come with the web issue; these are the minimum
a newcomer needs to find a stream and its OBS settings."""

from django.http import Http404
from django.shortcuts import render

from livestreams.models import Stream
from livestreams.selectors import stream_can_manage, stream_get, stream_list_public


def home(request):
    streams = stream_list_public()
    context = {
        "live": streams.filter(status=Stream.Status.LIVE).order_by("-viewer_count")[:24],
        "upcoming": streams.filter(status=Stream.Status.SCHEDULED).order_by("scheduled_at")[:24],
        "recent": streams.filter(status__in=[Stream.Status.ENDED, Stream.Status.ARCHIVED]).order_by("-ended_at")[:12],
    }
    return render(request, "livestreams/home.html", context)


def watch(request, stream_id):
    stream = stream_get(stream_id=stream_id)
    if stream is None:
        raise Http404("No such stream.")
    return render(request, "livestreams/watch.html", {
        "stream": stream, "can_manage": stream_can_manage(stream=stream, user=request.user),
    })
