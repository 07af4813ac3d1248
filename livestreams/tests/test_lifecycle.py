"""Every legal and illegal status move, through the services that own them."""

import pytest

from config.exceptions import TransitionError
from livestreams import services
from livestreams.models import Stream
from livestreams.tests.factories import StreamFactory

pytestmark = pytest.mark.django_db

S = Stream.Status
MOVES = {
    S.PREPARING: services.stream_prepare,
    S.LIVE: services.stream_go_live,
    S.ENDED: services.stream_end,
    S.ARCHIVED: services.stream_archive,
    S.CANCELLED: services.stream_cancel,
}
STAMPS = {S.LIVE: "started_at", S.ENDED: "ended_at", S.ARCHIVED: "archived_at", S.CANCELLED: "cancelled_at"}
LEGAL = {(a, b) for a, targets in Stream.TRANSITIONS.items() for b in targets}


def test_the_legal_moves_are_exactly_the_documented_ones():
    assert LEGAL == {
        (S.SCHEDULED, S.PREPARING), (S.PREPARING, S.LIVE), (S.LIVE, S.ENDED), (S.ENDED, S.ARCHIVED),
        (S.SCHEDULED, S.LIVE), (S.SCHEDULED, S.CANCELLED), (S.PREPARING, S.CANCELLED),
    }


@pytest.mark.parametrize(("source", "target"), sorted(LEGAL))
def test_legal_move_changes_status_and_stamps_time(source, target, django_capture_on_commit_callbacks,
                                                   published_events):
    stream = StreamFactory(status=source)
    with django_capture_on_commit_callbacks(execute=True):
        moved = MOVES[target](stream=stream)
    stream.refresh_from_db()
    assert stream.status == moved.status == target
    if target in STAMPS:
        assert getattr(stream, STAMPS[target]) is not None
    assert [event["type"] for _, event in published_events] == [
        {S.LIVE: "stream:start", S.ENDED: "stream:end"}.get(target, "stream:status")
    ]
    assert all(group == f"stream-{stream.pk}" for group, _ in published_events)


ILLEGAL = [(a, b) for a in S for b in MOVES if (a, b) not in LEGAL]


@pytest.mark.parametrize(("source", "target"), ILLEGAL)
def test_illegal_move_raises_and_changes_nothing(source, target, published_events):
    stream = StreamFactory(status=source)
    before = Stream.objects.filter(pk=stream.pk).values().get()
    with pytest.raises(TransitionError) as excinfo:
        MOVES[target](stream=stream)
    assert excinfo.value.status_code == 409
    assert source in excinfo.value.message and target in excinfo.value.message
    assert Stream.objects.filter(pk=stream.pk).values().get() == before
    assert published_events == []


def test_nothing_moves_back_to_scheduled():
    assert all(S.SCHEDULED not in targets for targets in Stream.TRANSITIONS.values())


def test_start_prepares_without_an_encoder_and_goes_live_with_one():
    waiting = services.stream_start(stream=StreamFactory())
    assert waiting.status == S.PREPARING and waiting.started_at is None
    sending = services.stream_start(stream=StreamFactory(publisher_active=True))
    assert sending.status == S.LIVE and sending.started_at is not None


def test_a_stale_instance_cannot_move_twice():
    """The service reloads and locks the row: a copy read before the first move sees the truth."""
    stream = StreamFactory(status=S.LIVE)
    stale = Stream.objects.get(pk=stream.pk)
    services.stream_end(stream=stream)
    with pytest.raises(TransitionError):
        services.stream_end(stream=stale)


def test_ending_a_publishing_stream_revokes_its_encoder(django_capture_on_commit_callbacks):
    from livestreams.signals import publisher_revoked

    received = []

    def listener(**kwargs):
        received.append(kwargs)

    publisher_revoked.connect(listener)
    try:
        stream = StreamFactory(status=S.LIVE, publisher_active=True, publisher_client_id="c1")
        with django_capture_on_commit_callbacks(execute=True):
            services.stream_end(stream=stream)
    finally:
        publisher_revoked.disconnect(listener)
    assert [(r["stream_id"], r["playback_id"], r["client_id"]) for r in received] == [
        (stream.pk, stream.playback_id, "c1")
    ]


def test_rotate_key_issues_a_new_unguessable_key():
    stream = StreamFactory()
    old = stream.stream_key
    rotated = services.stream_rotate_key(stream=stream)
    assert rotated.stream_key != old and len(rotated.stream_key) >= 32
    assert rotated.key_rotated_at is not None
    assert Stream.objects.get(pk=stream.pk).stream_key == rotated.stream_key


@pytest.mark.parametrize("status", [S.ENDED, S.ARCHIVED, S.CANCELLED])
def test_rotate_key_refused_once_the_stream_is_over(status):
    stream = StreamFactory(status=status)
    with pytest.raises(TransitionError):
        services.stream_rotate_key(stream=stream)
    assert Stream.objects.get(pk=stream.pk).stream_key == stream.stream_key


def test_interrupt_and_resume_are_idempotent_and_publish_once(django_capture_on_commit_callbacks,
                                                              published_events):
    stream = StreamFactory(status=S.LIVE, publisher_active=True)
    with django_capture_on_commit_callbacks(execute=True):
        services.stream_mark_interrupted(stream=stream)
        services.stream_mark_interrupted(stream=stream)
        services.stream_mark_resumed(stream=stream, client_id="c2")
        services.stream_mark_resumed(stream=stream, client_id="c2")
    stream.refresh_from_db()
    assert stream.interrupted_at is None and stream.publisher_active and stream.publisher_client_id == "c2"
    assert [e["type"] for _, e in published_events] == ["stream:interrupted", "stream:resumed"]


def test_keys_and_playback_ids_are_random_and_distinct():
    streams = StreamFactory.create_batch(20)
    keys = {s.stream_key for s in streams}
    ids = {s.playback_id for s in streams}
    assert len(keys) == len(ids) == 20
    assert not keys & ids
    assert all(s.stream_key not in s.hls_url and s.playback_id in s.hls_url for s in streams)
