"""How every API view reaches a stream: 404 when there is none, 403 when the caller may not manage it."""

from rest_framework.exceptions import NotFound, PermissionDenied

from livestreams.models import Stream
from livestreams.selectors import stream_can_manage, stream_get


def stream_or_404(stream_id) -> Stream:
    stream = stream_get(stream_id=stream_id)
    if stream is None:
        raise NotFound("No such stream.")
    return stream


def managed_stream_or_403(user, stream_id, *, what: str = "do that") -> Stream:
    """The stream, if `user` is its artist or staff. `what` finishes "Only the stream's artist or staff can ..."."""
    stream = stream_or_404(stream_id)
    if not stream_can_manage(stream=stream, user=user):
        raise PermissionDenied(f"Only the stream's artist or staff can {what}.")
    return stream
