"""The one door to the channel layer: every realtime event leaves through publish_on_commit().

Only services call it, so one grep finds every realtime side effect. Events are sent after the
current transaction commits: a rolled-back change is never broadcast. Imports no other module of ours.
"""

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

PUBLIC = "public"
STAFF = "staff"  # the stream's owner, its moderators and site staff


def stream_group(stream_id, audience: str = PUBLIC) -> str:
    # Group names: ASCII letters, digits, "-", "_", "." and under 100 characters.
    return f"stream-{stream_id}" if audience == PUBLIC else f"stream-{stream_id}.{audience}"


def publish_on_commit(stream_id, event: dict, *, audience: str = PUBLIC) -> None:
    """Send `event` (a dict whose "type" is the browser-facing name, e.g. "stream:start") to
    every socket watching the stream, after the current transaction commits."""
    event = {**event, "stream_id": str(stream_id)}
    transaction.on_commit(lambda: _deliver(stream_group(stream_id, audience), event))


def _deliver(group: str, event: dict) -> None:  # the seam that tests patch
    layer = get_channel_layer()
    if layer is not None:
        async_to_sync(layer.group_send)(group, {"type": "stream.event", "event": event})
