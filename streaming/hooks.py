"""Media-server callbacks -> livestreams services. The view authenticates and parses; this module
decides what each kind of event means."""

import logging

from livestreams.models import Stream
from streaming.media_servers import IngestEvent
from streaming.services import ALLOW, Decision, ingest_publish, ingest_unpublish

logger = logging.getLogger(__name__)


def ingest_handle_event(*, event: IngestEvent, media_server: str) -> Decision:
    """What to answer the media server. Only publish and play can be refused; the server ignores
    the answer to the others (SRS still needs a "0" for on_hls)."""
    if event.action == "publish":
        decision = ingest_publish(event=event, media_server=media_server)
        if not decision.allowed:
            logger.info("publish refused for %r from %s: %s", event.name[:40], event.addr, decision.reason)
        return decision
    if event.action == "unpublish":
        ingest_unpublish(event=event)
        return ALLOW
    if event.action == "play":
        # Players may only attach to a stream that is live; an unknown name gets nothing.
        if Stream.objects.filter(playback_id=event.name, status=Stream.Status.LIVE).exists():
            return ALLOW
        return Decision(False, "no such live stream")
    return ALLOW  # stop, hls, and the calls Backline ignores
