"""REST counterparts of chat, moderation, reactions and viewers: permissions, bad input, events."""

import pytest

from accounts.tests.factories import UserFactory
from livestreams.models import BlockedWord, ChatMessage, ChatModerator, ChatSanction, Stream
from livestreams.services import chat
from livestreams.tests.factories import LiveStreamFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def redis_settings(settings, redis_server):
    settings.REDIS_URL = redis_server
    from livestreams.services.redis import redis_sync

    for key in redis_sync().scan_iter(match="rl:*"):  # rate-limit windows must not leak between tests
        redis_sync().delete(key)


@pytest.fixture
def live(artist):
    return LiveStreamFactory(artist=artist)


@pytest.fixture
def moderator(live):
    user = UserFactory(username="mod")
    ChatModerator.objects.create(artist=live.artist, user=user)
    return user


def base(stream) -> str:
    return f"/api/v1/livestreams/{stream.pk}"


def test_post_chat_stores_then_publishes(client_for, fan, live, published_events, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(fan).post(f"{base(live)}/chat/", {"text": "hi all"}, format="json")
    assert response.status_code == 201, response.data
    assert response.data["text"] == "hi all" and response.data["user"]["username"] == "fan"
    assert ChatMessage.objects.get().seq == 1
    (group, event), = published_events
    assert group == f"stream-{live.pk}" and event["type"] == "stream:chat-message" and event["seq"] == 1


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [({}, 400, "text"), ({"text": ""}, 400, "text"), ({"text": "x" * 501}, 400, "text"),
     ({"text": "ok", "seq": 9}, 400, "seq"), ({"text": ["a"]}, 400, "text")],
)
def test_post_chat_bad_input_writes_nothing(client_for, fan, live, body, status, field):
    response = client_for(fan).post(f"{base(live)}/chat/", body, format="json")
    assert response.status_code == status and field in response.data
    assert ChatMessage.objects.count() == 0


def test_post_chat_refusals(client_for, api, fan, artist, live):
    assert api.post(f"{base(live)}/chat/", {"text": "hi"}, format="json").status_code == 401
    chat.chat_user_ban(stream=live, username="fan", actor=artist)
    response = client_for(fan).post(f"{base(live)}/chat/", {"text": "hi"}, format="json")
    assert response.status_code == 403 and response.data["code"] == "banned"
    assert client_for(fan).post("/api/v1/livestreams/00000000-0000-0000-0000-000000000000/chat/",
                                {"text": "hi"}, format="json").status_code == 404
    assert ChatMessage.objects.count() == 0


def test_history_is_paged_by_cursor_and_hides_deleted(api, fan, artist, live, django_assert_max_num_queries):
    messages = [chat.chat_message_post(stream=live, user=fan if i % 2 else artist, text=f"m{i}") for i in range(7)]
    chat.chat_message_delete(stream=live, message_id=messages[6].pk, actor=artist)
    with django_assert_max_num_queries(4):
        first = api.get(f"{base(live)}/chat/?limit=3").data
    assert [m["text"] for m in first["results"]] == ["m3", "m4", "m5"]
    assert first["last_seq"] == 8
    second = api.get(f"{base(live)}/chat/?limit=3&before={first['next_before']}").data
    assert [m["text"] for m in second["results"]] == ["m0", "m1", "m2"] and second["next_before"] is None
    assert api.get(f"{base(live)}/chat/?limit=0").status_code == 400
    assert api.get(f"{base(live)}/chat/?before=abc").status_code == 400


def test_history_after_seq_replays_events(api, fan, artist, live):
    chat.chat_message_post(stream=live, user=fan, text="a")
    m = chat.chat_message_post(stream=live, user=fan, text="b")
    chat.chat_message_pin(stream=live, message_id=m.pk, actor=artist)
    data = api.get(f"{base(live)}/chat/?after_seq=1").data
    assert [(e["seq"], e["type"]) for e in data["events"]] == [(2, "stream:chat-message"), (3, "stream:chat-pinned")]
    assert data["last_seq"] == 3 and data["more"] is False
    assert api.get(f"{base(live)}/chat/?after_seq=-1").status_code == 400


@pytest.mark.parametrize("who", ["anonymous", "fan", "other_artist"])
def test_moderation_is_refused_to_non_moderators(who, request, api, client_for, fan, live):
    message = chat.chat_message_post(stream=live, user=fan, text="x")
    client = api if who == "anonymous" else client_for(request.getfixturevalue(who))
    expected = {401} if who == "anonymous" else {403}
    calls = [
        client.delete(f"{base(live)}/chat/{message.pk}/"),
        client.post(f"{base(live)}/chat/{message.pk}/pin/"),
        client.post(f"{base(live)}/chat/{message.pk}/unpin/"),
        client.post(f"{base(live)}/moderation/clear/"),
        client.post(f"{base(live)}/moderation/timeout/", {"username": "fan", "minutes": 5}, format="json"),
        client.post(f"{base(live)}/moderation/ban/", {"username": "fan"}, format="json"),
        client.post(f"{base(live)}/moderation/unban/", {"username": "fan"}, format="json"),
        client.post(f"{base(live)}/moderation/slow-mode/", {"seconds": 5}, format="json"),
        client.post(f"{base(live)}/moderation/chat-mode/", {"chat_mode": "off"}, format="json"),
        client.get(f"{base(live)}/moderation/moderators/"),
        client.post(f"{base(live)}/moderation/moderators/", {"username": "fan"}, format="json"),
        client.get(f"{base(live)}/moderation/blocked-words/"),
        client.post(f"{base(live)}/moderation/blocked-words/", {"word": "x"}, format="json"),
    ]
    assert [c.status_code for c in calls if c.status_code not in expected] == []
    message.refresh_from_db()
    live.refresh_from_db()
    assert message.deleted_at is None and live.pinned_message_id is None and live.slow_mode_seconds == 0
    assert not ChatSanction.objects.exists() and not BlockedWord.objects.exists()


@pytest.mark.parametrize("who", ["artist", "staff", "moderator"])
def test_moderation_works_for_artist_staff_and_moderators(who, request, client_for, fan, live):
    client = client_for(request.getfixturevalue(who))
    message = chat.chat_message_post(stream=live, user=fan, text="x")
    assert client.post(f"{base(live)}/chat/{message.pk}/pin/").data["pinned"] is True
    assert client.post(f"{base(live)}/chat/{message.pk}/unpin/").status_code == 204
    assert client.delete(f"{base(live)}/chat/{message.pk}/").status_code == 204
    assert client.post(f"{base(live)}/moderation/timeout/", {"username": "fan", "minutes": 5},
                       format="json").status_code == 201
    assert client.post(f"{base(live)}/moderation/ban/", {"username": "fan"}, format="json").status_code == 201
    assert client.post(f"{base(live)}/moderation/unban/", {"username": "fan"}, format="json").status_code == 204
    assert client.post(f"{base(live)}/moderation/slow-mode/", {"seconds": 10},
                       format="json").data["slow_mode_seconds"] == 10
    assert client.post(f"{base(live)}/moderation/chat-mode/", {"chat_mode": "followers"},
                       format="json").data["chat_mode"] == "followers"
    assert client.post(f"{base(live)}/moderation/blocked-words/", {"word": "Rude"},
                       format="json").data["words"] == ["rude"]
    assert client.delete(f"{base(live)}/moderation/blocked-words/rude/").status_code == 204
    assert client.post(f"{base(live)}/moderation/clear/").status_code == 204
    message.refresh_from_db()
    live.refresh_from_db()
    assert message.deleted_at is not None and live.slow_mode_seconds == 10 and live.chat_mode == "followers"
    assert not ChatSanction.objects.exists() and not BlockedWord.objects.exists()


def test_only_owner_or_staff_appoint_moderators(client_for, moderator, artist, fan, live):
    assert client_for(moderator).post(f"{base(live)}/moderation/moderators/", {"username": "fan"},
                                      format="json").status_code == 403
    response = client_for(artist).post(f"{base(live)}/moderation/moderators/", {"username": "fan"}, format="json")
    assert response.status_code == 201 and response.data["moderators"] == ["fan", "mod"]
    assert client_for(artist).delete(f"{base(live)}/moderation/moderators/fan/").status_code == 204
    assert list(ChatModerator.objects.values_list("user__username", flat=True)) == ["mod"]


@pytest.mark.parametrize(
    ("path", "body"),
    [("moderation/timeout/", {"username": "fan", "minutes": 0}),
     ("moderation/timeout/", {"username": "fan", "minutes": 99999}),
     ("moderation/timeout/", {"username": "fan"}),
     ("moderation/slow-mode/", {"seconds": -1}),
     ("moderation/slow-mode/", {"seconds": 3601}),
     ("moderation/chat-mode/", {"chat_mode": "loud"}),
     ("moderation/blocked-words/", {"word": ""}),
     ("moderation/ban/", {"username": "fan", "extra": 1})],
)
def test_moderation_bad_input(client_for, artist, fan, live, path, body):
    response = client_for(artist).post(f"{base(live)}/{path}", body, format="json")
    assert response.status_code == 400
    live.refresh_from_db()
    assert live.slow_mode_seconds == 0 and live.chat_mode == "open" and not ChatSanction.objects.exists()


def test_moderation_targets(client_for, artist, moderator, live):
    assert client_for(artist).post(f"{base(live)}/moderation/ban/", {"username": "nobody"},
                                   format="json").status_code == 404
    assert client_for(artist).post(f"{base(live)}/moderation/ban/", {"username": "mod"},
                                   format="json").status_code == 409
    assert client_for(artist).delete(f"{base(live)}/chat/999999/").status_code == 404
    assert not ChatSanction.objects.exists()


def test_reactions_api(client_for, api, fan, live, artist):
    assert api.post(f"{base(live)}/reactions/", {"emoji": "🔥"}, format="json").status_code == 401
    assert client_for(fan).post(f"{base(live)}/reactions/", {"emoji": "🔥"}, format="json").status_code == 202
    assert client_for(fan).post(f"{base(live)}/reactions/", {"emoji": "💩"}, format="json").status_code == 400
    assert client_for(fan).post(f"{base(live)}/reactions/", {}, format="json").status_code == 400
    Stream.objects.filter(pk=live.pk).update(reactions_enabled=False)
    response = client_for(fan).post(f"{base(live)}/reactions/", {"emoji": "🔥"}, format="json")
    assert response.status_code == 403 and response.data["code"] == "reactions_disabled"


def test_viewers_api(api, live):
    assert api.get(f"{base(live)}/viewers/").data == {"count": 0}
    assert api.get("/api/v1/livestreams/00000000-0000-0000-0000-000000000000/viewers/").status_code == 404
