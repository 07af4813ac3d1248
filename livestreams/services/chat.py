"""Chat and its moderation. Every chat-area change takes the next per-stream `seq` under the
stream's row lock, is logged as a ChatEvent (what reconnecting browsers replay) and published
after commit, so the log, the database and the sockets agree on one order."""

import re
import time
import unicodedata
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.models import Follow, User
from config.exceptions import ApplicationError
from livestreams import realtime
from livestreams.services.redis import redis_async, redis_sync
from livestreams.models import BlockedWord, ChatEvent, ChatMessage, ChatModerator, ChatSanction, Stream

MAX_TEXT = 500
SYNC_LIMIT = 500
CHAT_STATUSES = (Stream.Status.SCHEDULED, Stream.Status.PREPARING, Stream.Status.LIVE)
# Control characters other than newline and tab; bidi overrides that can spoof a line.
_STRIP = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\u202a-\u202e\u2066-\u2069]")


class ChatRefused(ApplicationError):
    """A chat or reaction attempt was refused. `code` is the socket's error code (docs/realtime.md)."""

    def __init__(self, code: str, message: str, status_code: int = 403, **extra):
        super().__init__(message, {"code": code, **extra})
        self.code, self.status_code = code, status_code


class ModerationDenied(ChatRefused):
    def __init__(self, message: str = "Only the artist, staff and the artist's moderators may do this."):
        super().__init__("forbidden", message, status_code=403)


@dataclass(frozen=True)
class Rate:
    limit: int
    seconds: int


def _rate_key(key: str, rate: Rate, now: float) -> tuple[str, int]:
    window = int(now) // rate.seconds
    return f"rl:{key}:{window}", rate.seconds - int(now) % rate.seconds


def rate_limit_hit(*, key: str, rate: Rate) -> int:
    """Count one action in a fixed window; returns seconds to wait (0 = allowed). Shared by every
    process through Redis."""
    cache_key, wait = _rate_key(key, rate, time.time())
    pipe = redis_sync().pipeline(transaction=False)
    pipe.incr(cache_key)
    pipe.expire(cache_key, rate.seconds + 1)
    count = pipe.execute()[0]
    return wait if count > rate.limit else 0


async def rate_limit_hit_async(*, key: str, rate: Rate) -> int:
    """rate_limit_hit() for the socket's hot path: no thread hop."""
    cache_key, wait = _rate_key(key, rate, time.time())
    pipe = redis_async().pipeline(transaction=False)
    pipe.incr(cache_key)
    pipe.expire(cache_key, rate.seconds + 1)
    count = (await pipe.execute())[0]
    return wait if count > rate.limit else 0


def chat_rate() -> Rate:
    return Rate(settings.REALTIME_CHAT_PER_10S, 10)


# --- Who may do what ---------------------------------------------------------------------------


def chat_is_moderator(*, stream: Stream, user) -> bool:
    """The artist, staff, or a moderator the artist appointed."""
    if not user or not user.is_authenticated:
        return False
    if user.is_staff or stream.artist_id == user.pk:
        return True
    return ChatModerator.objects.filter(artist_id=stream.artist_id, user_id=user.pk).exists()


def chat_active_sanction(*, artist_id: int, user_id: int) -> ChatSanction | None:
    """The strongest sanction in force: a ban, else the timeout ending last."""
    now = timezone.now()
    sanctions = list(ChatSanction.objects.filter(artist_id=artist_id, user_id=user_id).order_by("-created_at")[:20])
    bans = [s for s in sanctions if s.until is None]
    if bans:
        return bans[0]
    running = [s for s in sanctions if s.until > now]
    return max(running, key=lambda s: s.until) if running else None


def _check_may_chat(*, stream: Stream, user, is_moderator: bool) -> None:
    if not user or not user.is_authenticated:
        raise ChatRefused("auth_required", "Sign in to chat.", status_code=401)
    if stream.status not in CHAT_STATUSES:
        raise ChatRefused("not_live", f"The stream is {stream.status}; its chat is closed.", status_code=409)
    if not stream.chat_enabled:
        raise ChatRefused("chat_disabled", "Chat is disabled for this stream.")
    if is_moderator:
        return
    if stream.chat_mode == Stream.ChatMode.OFF:
        raise ChatRefused("chat_off", "Chat is turned off.")
    _check_not_sanctioned(stream=stream, user=user)
    if stream.chat_mode == Stream.ChatMode.FOLLOWERS and not Follow.objects.filter(
        follower_id=user.pk, channel__owner_id=stream.artist_id
    ).exists():
        raise ChatRefused("followers_only", "Only followers of this channel may chat.")


def _check_not_sanctioned(*, stream: Stream, user) -> None:
    sanction = chat_active_sanction(artist_id=stream.artist_id, user_id=user.pk)
    if sanction is None:
        return
    if sanction.is_ban:
        raise ChatRefused("banned", "You are banned from this artist's chats.")
    raise ChatRefused(
        "timed_out", f"You are timed out until {sanction.until:%H:%M:%S} UTC.", until=sanction.until.isoformat()
    )


def chat_permissions(*, stream: Stream, user) -> dict:
    """What the watch page may offer this user: `can_chat`, `can_moderate`."""
    is_moderator = chat_is_moderator(stream=stream, user=user)
    try:
        _check_may_chat(stream=stream, user=user, is_moderator=is_moderator)
        can_chat = True
    except ChatRefused:
        can_chat = False
    return {"can_chat": can_chat, "can_moderate": is_moderator}


def _require_moderator(*, stream: Stream, user) -> None:
    if not chat_is_moderator(stream=stream, user=user):
        raise ModerationDenied()


def _clean_text(text) -> str:
    if not isinstance(text, str):
        raise ChatRefused("invalid", "Text must be a string.", status_code=400)
    text = unicodedata.normalize("NFC", _STRIP.sub("", text)).strip()
    if not text:
        raise ChatRefused("invalid", "The message is empty.", status_code=400)
    if len(text) > MAX_TEXT:
        raise ChatRefused("invalid", f"Messages are at most {MAX_TEXT} characters.", status_code=400)
    return text


def _check_blocked_words(*, artist_id: int, text: str) -> None:
    lowered = text.casefold()
    for word in BlockedWord.objects.filter(artist_id=artist_id).values_list("word", flat=True):
        if word in lowered:
            raise ChatRefused("invalid", "The message contains a word this channel does not allow.", status_code=400)


# --- Serialization and the event log ----------------------------------------------------------


def chat_message_data(message: ChatMessage, *, pinned: bool = False) -> dict:
    user = message.user
    return {
        "id": message.pk,
        "user": {"username": user.username, "display_name": user.get_full_name() or user.username},
        "text": "" if message.deleted_at else message.text,
        "created_at": message.created_at.isoformat(),
        "pinned": pinned,
    }


def _next_seq(stream: Stream) -> int:
    """Callers hold the stream's row lock (select_for_update) inside their transaction."""
    stream.chat_seq += 1
    Stream.objects.filter(pk=stream.pk).update(chat_seq=stream.chat_seq)
    return stream.chat_seq


def _emit(stream: Stream, event_type: str, payload: dict) -> dict:
    seq = _next_seq(stream)
    event = {"type": event_type, "seq": seq, **payload}
    ChatEvent.objects.create(stream=stream, seq=seq, type=event_type, payload=event)
    realtime.publish_on_commit(stream.pk, event)
    return event


def _locked(stream: Stream) -> Stream:
    return Stream.objects.select_for_update().select_related("artist").get(pk=stream.pk)


# --- Writes ------------------------------------------------------------------------------------


def chat_message_post(*, stream: Stream, user: User, text) -> ChatMessage:
    """Store a message, then broadcast it. Called by the socket's chat.send and POST .../chat/.

    Raises ChatRefused (with a socket error code) for every refusal; nothing is written then.
    """
    text = _clean_text(text)
    is_moderator = chat_is_moderator(stream=stream, user=user)
    _check_may_chat(stream=stream, user=user, is_moderator=is_moderator)
    if not is_moderator:
        _check_blocked_words(artist_id=stream.artist_id, text=text)
        wait = rate_limit_hit(key=f"chat:{user.pk}", rate=chat_rate())
        if wait:
            raise ChatRefused("rate_limited", f"Too many messages; wait {wait} s.", status_code=429, retry_after=wait)
    with transaction.atomic():
        stream = _locked(stream)
        _check_may_chat(stream=stream, user=user, is_moderator=is_moderator)  # settings may have changed
        if stream.slow_mode_seconds and not is_moderator:
            since = timezone.now() - timedelta(seconds=stream.slow_mode_seconds)
            last = (
                ChatMessage.objects.filter(stream=stream, user=user, created_at__gt=since)
                .order_by("-created_at").values_list("created_at", flat=True).first()
            )
            if last is not None:
                wait = max(1, int((last - since).total_seconds()) + 1)
                raise ChatRefused(
                    "slow_mode", f"Slow mode: one message every {stream.slow_mode_seconds} s; wait {wait} s.",
                    status_code=429, retry_after=wait,
                )
        message = ChatMessage(stream=stream, user=user, text=text, seq=stream.chat_seq + 1)
        message.save()
        _emit(stream, "stream:chat-message", {"message": chat_message_data(message)})
    return message


def _message(stream: Stream, message_id) -> ChatMessage:
    try:
        return ChatMessage.objects.select_related("user").get(pk=int(message_id), stream_id=stream.pk)
    except (ChatMessage.DoesNotExist, ValueError, TypeError):
        raise ChatRefused("not_found", "No such message in this stream.", status_code=404) from None


@transaction.atomic
def chat_message_delete(*, stream: Stream, message_id, actor: User) -> None:
    """Hide a message (moderators). Idempotent: deleting a deleted message changes nothing."""
    _require_moderator(stream=stream, user=actor)
    stream = _locked(stream)
    message = _message(stream, message_id)
    if message.deleted_at:
        return
    message.deleted_at, message.deleted_by = timezone.now(), actor
    message.save(update_fields=["deleted_at", "deleted_by"])
    if stream.pinned_message_id == message.pk:
        stream.pinned_message = None
        stream.save(update_fields=["pinned_message", "updated_at"])
        _emit(stream, "stream:chat-pinned", {"message": None})
    _emit(stream, "stream:chat-deleted", {"message_id": message.pk})


@transaction.atomic
def chat_message_pin(*, stream: Stream, message_id, actor: User) -> ChatMessage:
    """Pin one message; it replaces any pinned one."""
    _require_moderator(stream=stream, user=actor)
    stream = _locked(stream)
    message = _message(stream, message_id)
    if message.deleted_at:
        raise ChatRefused("invalid", "A deleted message cannot be pinned.", status_code=409)
    stream.pinned_message = message
    stream.save(update_fields=["pinned_message", "updated_at"])
    _emit(stream, "stream:chat-pinned", {"message": chat_message_data(message, pinned=True)})
    return message


@transaction.atomic
def chat_message_unpin(*, stream: Stream, actor: User) -> None:
    _require_moderator(stream=stream, user=actor)
    stream = _locked(stream)
    if stream.pinned_message_id is None:
        return
    stream.pinned_message = None
    stream.save(update_fields=["pinned_message", "updated_at"])
    _emit(stream, "stream:chat-pinned", {"message": None})


@transaction.atomic
def chat_clear(*, stream: Stream, actor: User) -> None:
    """Hide every message so far and unpin."""
    _require_moderator(stream=stream, user=actor)
    stream = _locked(stream)
    ChatMessage.objects.filter(stream=stream, deleted_at=None).update(deleted_at=timezone.now(), deleted_by=actor)
    if stream.pinned_message_id:
        stream.pinned_message = None
        stream.save(update_fields=["pinned_message", "updated_at"])
    _emit(stream, "stream:chat-cleared", {})


def _target(username) -> User:
    try:
        return User.objects.get(username=username)
    except User.DoesNotExist:
        raise ChatRefused("not_found", f"No user {username!r}.", status_code=404) from None


def _check_target(stream: Stream, target: User) -> None:
    if chat_is_moderator(stream=stream, user=target):
        raise ChatRefused("invalid", "Moderators cannot be timed out or banned; remove them first.", status_code=409)


@transaction.atomic
def chat_user_timeout(*, stream: Stream, username: str, minutes: int, actor: User, reason: str = "") -> ChatSanction:
    """No chat in any of the artist's streams for `minutes`."""
    _require_moderator(stream=stream, user=actor)
    if not 1 <= minutes <= 7 * 24 * 60:
        raise ChatRefused("invalid", "Minutes must be between 1 and 10080.", status_code=400)
    target = _target(username)
    _check_target(stream, target)
    return ChatSanction.objects.create(
        artist_id=stream.artist_id, user=target, until=timezone.now() + timedelta(minutes=minutes),
        reason=reason, created_by=actor,
    )


@transaction.atomic
def chat_user_ban(*, stream: Stream, username: str, actor: User, reason: str = "") -> ChatSanction:
    """No chat in any of the artist's streams until unbanned."""
    _require_moderator(stream=stream, user=actor)
    target = _target(username)
    _check_target(stream, target)
    existing = ChatSanction.objects.filter(artist_id=stream.artist_id, user=target, until=None).first()
    return existing or ChatSanction.objects.create(
        artist_id=stream.artist_id, user=target, until=None, reason=reason, created_by=actor
    )


@transaction.atomic
def chat_user_unban(*, stream: Stream, username: str, actor: User) -> None:
    """Lift bans and running timeouts of the user in the artist's chats."""
    _require_moderator(stream=stream, user=actor)
    target = _target(username)
    ChatSanction.objects.filter(artist_id=stream.artist_id, user=target).delete()


def _settings_event(stream: Stream) -> None:
    realtime.publish_on_commit(stream.pk, {
        "type": "stream:settings", "chat_enabled": stream.chat_enabled, "reactions_enabled": stream.reactions_enabled,
        "chat_mode": stream.chat_mode, "slow_mode_seconds": stream.slow_mode_seconds,
    })


@transaction.atomic
def chat_set_slow_mode(*, stream: Stream, seconds: int, actor: User) -> Stream:
    _require_moderator(stream=stream, user=actor)
    if not 0 <= seconds <= 3600:
        raise ChatRefused("invalid", "Slow mode is 0 (off) to 3600 seconds.", status_code=400)
    stream = _locked(stream)
    if stream.slow_mode_seconds != seconds:
        stream.slow_mode_seconds = seconds
        stream.save(update_fields=["slow_mode_seconds", "updated_at"])
        _settings_event(stream)
    return stream


@transaction.atomic
def chat_set_mode(*, stream: Stream, chat_mode: str, actor: User) -> Stream:
    _require_moderator(stream=stream, user=actor)
    if chat_mode not in Stream.ChatMode.values:
        raise ChatRefused("invalid", f"chat_mode is one of {', '.join(Stream.ChatMode.values)}.", status_code=400)
    stream = _locked(stream)
    if stream.chat_mode != chat_mode:
        stream.chat_mode = chat_mode
        stream.save(update_fields=["chat_mode", "updated_at"])
        _settings_event(stream)
    return stream


def _require_owner(stream: Stream, actor: User) -> None:
    if not (actor.is_authenticated and (actor.is_staff or stream.artist_id == actor.pk)):
        raise ChatRefused("forbidden", "Only the artist or staff may appoint moderators.", status_code=403)


def chat_moderator_add(*, stream: Stream, username: str, actor: User) -> ChatModerator:
    _require_owner(stream, actor)
    target = _target(username)
    if target.pk == stream.artist_id:
        raise ChatRefused("invalid", "The artist already moderates their chats.", status_code=400)
    return ChatModerator.objects.get_or_create(artist_id=stream.artist_id, user=target)[0]


def chat_moderator_remove(*, stream: Stream, username: str, actor: User) -> None:
    _require_owner(stream, actor)
    ChatModerator.objects.filter(artist_id=stream.artist_id, user__username=username).delete()


def chat_blocked_word_add(*, stream: Stream, word, actor: User) -> BlockedWord:
    _require_moderator(stream=stream, user=actor)
    if not isinstance(word, str) or not word.strip() or len(word.strip()) > 50:
        raise ChatRefused("invalid", "A blocked word is 1-50 characters.", status_code=400)
    return BlockedWord.objects.get_or_create(artist_id=stream.artist_id, word=word.strip().casefold())[0]


def chat_blocked_word_remove(*, stream: Stream, word: str, actor: User) -> None:
    _require_moderator(stream=stream, user=actor)
    BlockedWord.objects.filter(artist_id=stream.artist_id, word=word.strip().casefold()).delete()
