"""Writes of restream destinations: an artist's other RTMP services, and which streams simulcast
to them. Called by the studio pages (streaming/studio_views.py) and the API (streaming/api/views.py).

The supervisor (streaming.relays) reads `enabled` and `streams` on every pass; nothing here starts
or stops FFmpeg. Stream keys are secrets: no message raised here ever contains one.
"""

from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from config.exceptions import ApplicationError
from livestreams.models import Stream
from streaming.models import Relay, RestreamDestination

RTMP_SCHEMES = ("rtmp", "rtmps")
# Picking destinations for these would never start a relay: refuse instead of pretending.
FINISHED = (Stream.Status.ENDED, Stream.Status.ARCHIVED, Stream.Status.CANCELLED)


def validate_rtmp_url(value: str) -> None:
    """rtmp:// or rtmps:// with a host. Used by the studio form and the API serializer."""
    try:
        parts = urlsplit(value.strip())
        host = parts.hostname
    except ValueError:
        host, parts = None, None
    if parts is None or parts.scheme.lower() not in RTMP_SCHEMES:
        raise ValidationError("Enter an rtmp:// or rtmps:// address, e.g. rtmp://a.rtmp.youtube.com/live2.")
    if not host:
        raise ValidationError("The address needs a server name, e.g. rtmp://a.rtmp.youtube.com/live2.")
    if any(ch.isspace() for ch in value.strip()):
        raise ValidationError("The address cannot contain spaces.")


def _check(destination: RestreamDestination) -> None:
    """Field rules and the one-name-per-artist rule as ApplicationError with per-field reasons."""
    errors = {}
    if not destination.name.strip():
        errors["name"] = ["Give the destination a name."]
    try:
        validate_rtmp_url(destination.rtmp_url)
    except ValidationError as exc:
        errors["rtmp_url"] = exc.messages
    if not destination.stream_key.strip():
        errors["stream_key"] = ["The stream key is required."]
    elif any(ch.isspace() for ch in destination.stream_key):
        errors["stream_key"] = ["A stream key cannot contain spaces."]
    taken = RestreamDestination.objects.filter(artist_id=destination.artist_id, name__iexact=destination.name.strip())
    if destination.pk:
        taken = taken.exclude(pk=destination.pk)
    if destination.name.strip() and taken.exists():
        errors["name"] = ["You already have a destination with this name."]
    if errors:
        raise ApplicationError("Check the destination's details.", extra=errors)


def _save(destination: RestreamDestination, **kwargs) -> None:
    try:
        with transaction.atomic():  # a savepoint: a lost race on the unique name leaves the outer transaction usable
            destination.save(**kwargs)
    except IntegrityError:
        raise ApplicationError("Check the destination's details.",
                               extra={"name": ["You already have a destination with this name."]}) from None


@transaction.atomic
def restream_destination_create(*, artist, name: str, rtmp_url: str, stream_key: str,
                                enabled: bool = True) -> RestreamDestination:
    destination = RestreamDestination(artist=artist, name=name.strip(), rtmp_url=rtmp_url.strip(),
                                      stream_key=stream_key.strip(), enabled=enabled)
    _check(destination)
    _save(destination)
    return destination


@transaction.atomic
def restream_destination_update(*, destination: RestreamDestination, data: dict) -> RestreamDestination:
    """Change name, rtmp_url, stream_key or enabled. A blank or missing stream_key keeps the saved
    one: forms never show the key back, so an empty field means "unchanged"."""
    destination = RestreamDestination.objects.select_for_update().get(pk=destination.pk)
    unknown = set(data) - {"name", "rtmp_url", "stream_key", "enabled"}
    if unknown:
        raise ApplicationError(f"Unknown fields: {', '.join(sorted(unknown))}.")
    data = dict(data)
    if not (data.get("stream_key") or "").strip():
        data.pop("stream_key", None)
    for field, value in data.items():
        setattr(destination, field, value.strip() if isinstance(value, str) else value)
    _check(destination)
    _save(destination, update_fields=[*data, "updated_at"])
    return destination


@transaction.atomic
def restream_destination_delete(*, destination: RestreamDestination) -> None:
    """Delete a destination that no relay is pushing to.

    An active relay would lose its destination under the supervisor (the FK is SET_NULL): the
    artist disables it first, which stops the relay. Finished relay rows go with it, or their
    nulled destination would collide with the (stream, kind) uniqueness of non-restream relays.
    """
    destination = RestreamDestination.objects.select_for_update().get(pk=destination.pk)
    if destination.relays.filter(state__in=Relay.ACTIVE_STATES).exists():
        raise ApplicationError(f"“{destination.name}” is simulcasting right now. Disable it first, then delete it.")
    destination.relays.all().delete()
    destination.delete()


@transaction.atomic
def stream_set_restream_destinations(*, stream: Stream, destination_ids) -> list[RestreamDestination]:
    """Make exactly these destinations (all the stream's artist's own) simulcast `stream`.
    Called by the control room's form and the API; the caller has checked the user may manage it."""
    stream = Stream.objects.select_for_update().get(pk=stream.pk)
    ids = {int(i) for i in destination_ids}
    chosen = list(RestreamDestination.objects.filter(artist_id=stream.artist_id, pk__in=ids))
    if len(chosen) != len(ids):
        raise ApplicationError("Pick only destinations of the stream's artist.",
                               extra={"destination_ids": ["Unknown destination."]})
    if stream.status in FINISHED:
        raise ApplicationError(f"This stream is {stream.status}: it cannot simulcast any more.")
    stream.restream_destinations.set(chosen)
    return chosen
