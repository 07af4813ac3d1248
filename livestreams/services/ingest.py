"""Writes the media plane asks of the domain besides status moves: the streams' health verdicts."""

from django.utils import timezone

from livestreams import realtime
from livestreams.models import Stream


def stream_record_health(*, verdicts: dict) -> None:
    """Store the latest health verdict of live streams and tell each stream's staff audience.

    verdicts: {stream_id: (health, reason, sample dict)}. Called by the media plane's stats poll,
    once per poll for every live stream: one UPDATE for all of them, no row lock (the poll is the
    only writer of these fields, and a later poll simply overwrites).
    """
    now = timezone.now()
    rows = []
    for stream_id, (health, reason, _sample) in verdicts.items():
        if health not in Stream.Health.values:
            raise ValueError(f"unknown health {health!r}")
        rows.append(Stream(pk=stream_id, health=health, health_reason=reason[:200], health_updated_at=now))
    Stream.objects.bulk_update(rows, ["health", "health_reason", "health_updated_at"])
    for stream_id, (health, reason, sample) in verdicts.items():
        realtime.publish_on_commit(
            stream_id,
            {"type": "stream:quality-update", "health": health, "reason": reason, "sample": sample or {}},
            audience=realtime.STAFF,
        )
