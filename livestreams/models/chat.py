"""Chat, moderation, reactions and viewer sessions of a stream."""

from django.conf import settings
from django.db import models

from accounts.models import TimeStampedModel


class ChatMessage(models.Model):
    stream = models.ForeignKey("livestreams.Stream", on_delete=models.CASCADE, related_name="chat_messages")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="chat_messages")
    text = models.CharField(max_length=500)  # plain text; escaped wherever it is shown
    created_at = models.DateTimeField(auto_now_add=True)
    seq = models.PositiveBigIntegerField()  # the stream's chat sequence number when it was posted
    deleted_at = models.DateTimeField(null=True, blank=True)
    deleted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["id"]
        indexes = [
            # History pages: a stream's visible messages before a cursor id.
            models.Index(fields=["stream", "deleted_at", "id"], name="chat_stream_page_idx"),
            # Slow mode: a user's latest message in a stream.
            models.Index(fields=["stream", "user", "created_at"], name="chat_stream_user_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id}: {self.text[:40]}"


class ChatEvent(models.Model):
    """Every chat-area event as sent, by seq: what chat.sync and ?after_seq= replay."""

    stream = models.ForeignKey("livestreams.Stream", on_delete=models.CASCADE, related_name="chat_events")
    seq = models.PositiveBigIntegerField()
    type = models.CharField(max_length=32)
    payload = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["seq"]
        # One row per seq: the replay range after N, and a guard against a seq handed out twice.
        constraints = [models.UniqueConstraint(fields=["stream", "seq"], name="chat_event_seq_once")]


class ChatSanction(TimeStampedModel):
    """A ban (no `until`) or a timeout (`until`) from every chat of one artist."""

    artist = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="chat_sanctions")
    until = models.DateTimeField(null=True, blank=True)
    reason = models.CharField(max_length=200, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")

    class Meta:
        # "Is this user sanctioned in this artist's chats?": checked on every message.
        indexes = [models.Index(fields=["artist", "user"], name="sanction_artist_user_idx")]

    @property
    def is_ban(self) -> bool:
        return self.until is None


class ChatModerator(TimeStampedModel):
    artist = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="moderates")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["artist", "user"], name="moderator_once")]


class BlockedWord(TimeStampedModel):
    artist = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="blocked_words")
    word = models.CharField(max_length=50)  # stored lower-case; matched case-insensitively as a substring

    class Meta:
        constraints = [models.UniqueConstraint(fields=["artist", "word"], name="blocked_word_once")]


class ReactionTally(models.Model):
    """Per-minute reaction totals of a stream, for analytics."""

    stream = models.ForeignKey("livestreams.Stream", on_delete=models.CASCADE, related_name="reaction_tallies")
    minute = models.DateTimeField()  # UTC, truncated to the minute
    emoji = models.CharField(max_length=16)
    count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["stream", "minute", "emoji"], name="reaction_minute_once")]


class ViewerSession(models.Model):
    """One open watch socket: join, leave and watch time."""

    stream = models.ForeignKey("livestreams.Stream", on_delete=models.CASCADE, related_name="viewer_sessions")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True)
    viewer_key = models.CharField(max_length=64)  # "u<id>" or "a<anonymous browser id>"
    connection_id = models.CharField(max_length=32, unique=True)  # the socket's id: how its leave finds it
    joined_at = models.DateTimeField()
    left_at = models.DateTimeField(null=True, blank=True)
    watch_seconds = models.PositiveIntegerField(default=0)

    class Meta:
        # Closing sessions left open by a crashed server.
        indexes = [models.Index(fields=["stream", "left_at"], name="viewer_session_open_idx")]
