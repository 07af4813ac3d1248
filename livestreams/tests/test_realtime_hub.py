"""The per-process fan-out pieces that need no sockets: coalescing, framing, the publish seam."""

import json

import pytest

from livestreams import realtime
from livestreams.tests.factories import LiveStreamFactory


def test_coalesce_merges_reaction_bursts_and_orders_seq_events():
    events = [
        {"type": "stream:reaction", "counts": {"🔥": 2}, "window_ms": 250},
        {"type": "stream:chat-message", "seq": 8},
        {"type": "stream:viewer-count", "count": 3},
        {"type": "stream:chat-deleted", "seq": 7},
        {"type": "stream:reaction", "counts": {"🔥": 1, "❤️": 4}, "window_ms": 250},
    ]
    out = realtime.coalesce(events)
    assert [e.get("seq") for e in out if "seq" in e] == [7, 8]
    assert [e for e in out if e["type"] == "stream:reaction"] == [
        {"type": "stream:reaction", "counts": {"🔥": 3, "❤️": 4}, "window_ms": 250}
    ]
    assert out[1] == {"type": "stream:viewer-count", "count": 3}  # others keep their place


def test_frame_text_is_one_event_or_a_batch():
    one = {"type": "pong"}
    assert json.loads(realtime.frame_text([one])) == one
    assert json.loads(realtime.frame_text([one, one])) == {"type": "batch", "events": [one, one]}


@pytest.mark.parametrize("size", [0, 125, 126, 65535, 65536])
def test_ws_text_frame_header(size):
    frame = realtime.ws_text_frame(b"x" * size)
    assert frame[0] == 0x81  # FIN + text
    if size < 126:
        assert frame[1] == size and len(frame) == size + 2
    elif size < 65536:
        assert frame[1] == 126 and int.from_bytes(frame[2:4], "big") == size
    else:
        assert frame[1] == 127 and int.from_bytes(frame[2:10], "big") == size


def test_raw_writer_is_none_outside_daphne():
    async def send(message):
        pass

    assert realtime.raw_writer(send) is None


@pytest.mark.django_db
def test_publish_on_commit_goes_through_the_seam_after_commit(published_events, django_capture_on_commit_callbacks):
    stream = LiveStreamFactory()
    with django_capture_on_commit_callbacks(execute=True):
        realtime.publish_on_commit(stream.pk, {"type": "stream:status", "status": "live"})
        assert published_events == []  # nothing before commit
    with django_capture_on_commit_callbacks(execute=True):
        realtime.publish_on_commit(stream.pk, {"type": "stream:quality-update", "health": "bad"},
                                   audience=realtime.STAFF)
    assert published_events == [
        (f"stream-{stream.pk}", {"type": "stream:status", "status": "live", "stream_id": str(stream.pk)}),
        (f"stream-{stream.pk}.staff", {"type": "stream:quality-update", "health": "bad", "stream_id": str(stream.pk)}),
    ]
