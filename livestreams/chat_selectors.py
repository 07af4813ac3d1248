"""Reads of chat: history pages, the replay log, moderation lists. Writes live in services/chat.py."""

from livestreams.models import BlockedWord, ChatEvent, ChatMessage, ChatModerator, ChatSanction, Stream
from livestreams.services.chat import SYNC_LIMIT, chat_message_data


def chat_history(*, stream: Stream, before: int | None = None, limit: int = 50) -> dict:
    """A page of visible messages, oldest to newest, ending just before message id `before`
    (the newest page without it). `next_before` pages further back; None at the start."""
    qs = ChatMessage.objects.filter(stream=stream, deleted_at=None).select_related("user").order_by("-id")
    if before is not None:
        qs = qs.filter(id__lt=before)
    page = list(qs[: limit + 1])
    more = len(page) > limit
    page = page[:limit][::-1]
    pinned_id = stream.pinned_message_id
    return {
        "results": [chat_message_data(m, pinned=m.pk == pinned_id) for m in page],
        "next_before": page[0].pk if more and page else None,
        "last_seq": stream.chat_seq,
    }


def chat_events_after(*, stream_id, after_seq: int, limit: int = SYNC_LIMIT) -> dict:
    """Chat-area events with seq > after_seq, in order: what a reconnecting browser missed.
    Messages deleted since are replayed with empty text (their deletion event follows)."""
    rows = list(ChatEvent.objects.filter(stream_id=stream_id, seq__gt=after_seq).order_by("seq")[: limit + 1])
    more = len(rows) > limit
    rows = rows[:limit]
    message_ids = [r.payload["message"]["id"] for r in rows if r.type == "stream:chat-message"]
    deleted = set(
        ChatMessage.objects.filter(pk__in=message_ids).exclude(deleted_at=None).values_list("pk", flat=True)
    ) if message_ids else set()
    events = []
    for row in rows:
        event = row.payload
        if row.type == "stream:chat-message" and event["message"]["id"] in deleted:
            event = {**event, "message": {**event["message"], "text": ""}}
        events.append(event)
    last_seq = events[-1]["seq"] if events else after_seq
    return {"events": events, "last_seq": last_seq, "more": more}


def chat_pinned(*, stream: Stream) -> dict | None:
    if stream.pinned_message_id is None:
        return None
    message = ChatMessage.objects.select_related("user").get(pk=stream.pinned_message_id)
    return chat_message_data(message, pinned=True)


def chat_moderators(*, stream: Stream) -> list[str]:
    return list(
        ChatModerator.objects.filter(artist_id=stream.artist_id).order_by("user__username")
        .values_list("user__username", flat=True)
    )


def chat_blocked_words(*, stream: Stream) -> list[str]:
    return list(BlockedWord.objects.filter(artist_id=stream.artist_id).order_by("word").values_list("word", flat=True))


def chat_sanctions(*, stream: Stream):
    return ChatSanction.objects.filter(artist_id=stream.artist_id).select_related("user").order_by("-created_at")
