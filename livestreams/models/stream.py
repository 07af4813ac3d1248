import secrets
import string
import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone

from accounts.models import TimeStampedModel

_ALPHABET = string.ascii_letters + string.digits


def new_playback_id() -> str:
    # 14 base62 characters (~83 bits): public, but not enumerable. Safe as a file and RTMP name.
    return "".join(secrets.choice(_ALPHABET) for _ in range(14))


def new_stream_key() -> str:
    # 32 bytes = 256 bits from the OS CSPRNG; URL-safe so it survives RTMP query strings.
    return secrets.token_urlsafe(32)


class Stream(TimeStampedModel):
    class Status(models.TextChoices):
        SCHEDULED = "scheduled", "Scheduled"
        PREPARING = "preparing", "Preparing"
        LIVE = "live", "Live"
        ENDED = "ended", "Ended"
        ARCHIVED = "archived", "Archived"
        CANCELLED = "cancelled", "Cancelled"

    # The only legal moves. Services consult this; nothing else writes `status`.
    TRANSITIONS = {
        Status.SCHEDULED: {Status.PREPARING, Status.LIVE, Status.CANCELLED},
        Status.PREPARING: {Status.LIVE, Status.CANCELLED},
        Status.LIVE: {Status.ENDED},
        Status.ENDED: {Status.ARCHIVED},
        Status.ARCHIVED: set(),
        Status.CANCELLED: set(),
    }

    class Visibility(models.TextChoices):
        PUBLIC = "public", "Public"
        UNLISTED = "unlisted", "Unlisted"

    class ChatMode(models.TextChoices):
        OPEN = "open", "Open"
        FOLLOWERS = "followers", "Followers only"
        OFF = "off", "Off"

    class QualityPreset(models.TextChoices):
        SOURCE = "source", "Source only"
        P1080 = "1080p", "Adaptive up to 1080p"
        P720 = "720p", "Adaptive up to 720p"
        P480 = "480p", "Adaptive up to 480p"
        P360 = "360p", "Adaptive up to 360p"

    class Health(models.TextChoices):
        UNKNOWN = "unknown", "Unknown"
        GOOD = "good", "Good"
        DEGRADED = "degraded", "Degraded"
        BAD = "bad", "Bad"

    # Random, not sequential: an unlisted stream's link cannot be guessed from another's.
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    artist = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="streams")
    title = models.CharField(max_length=140)
    description = models.TextField(max_length=5000, blank=True)
    thumbnail = models.ImageField(upload_to="thumbnails/", blank=True)
    thumbnail_url = models.URLField(max_length=500, blank=True)

    status = models.CharField(max_length=16, choices=Status.choices, default=Status.SCHEDULED, db_index=True)
    scheduled_at = models.DateTimeField(null=True, blank=True, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    archived_at = models.DateTimeField(null=True, blank=True)

    visibility = models.CharField(max_length=10, choices=Visibility.choices, default=Visibility.PUBLIC)
    chat_enabled = models.BooleanField(default=True)
    reactions_enabled = models.BooleanField(default=True)
    chat_mode = models.CharField(max_length=10, choices=ChatMode.choices, default=ChatMode.OPEN)
    slow_mode_seconds = models.PositiveIntegerField(default=0)  # 0 = off; one message per user per N s
    # Last chat sequence number handed out; bumped under the row lock by livestreams.services.chat.
    chat_seq = models.PositiveBigIntegerField(default=0, editable=False)
    pinned_message = models.ForeignKey(
        "livestreams.ChatMessage", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    quality_preset = models.CharField(max_length=8, choices=QualityPreset.choices, default=QualityPreset.SOURCE)
    record = models.BooleanField(default=False)

    viewer_count = models.PositiveIntegerField(default=0)
    peak_viewers = models.PositiveIntegerField(default=0)
    total_views = models.PositiveIntegerField(default=0)

    playback_id = models.CharField(max_length=32, unique=True, default=new_playback_id, editable=False)
    # Unique index: a key identifies at most one stream. Compared with secrets.compare_digest.
    stream_key = models.CharField(max_length=64, unique=True, default=new_stream_key, editable=False)
    key_rotated_at = models.DateTimeField(null=True, blank=True)

    # Ingest state, written by the media plane through livestreams services.
    publisher_active = models.BooleanField(default=False)
    publisher_client_id = models.CharField(max_length=64, blank=True)
    interrupted_at = models.DateTimeField(null=True, blank=True)
    health = models.CharField(max_length=10, choices=Health.choices, default=Health.UNKNOWN)
    health_reason = models.CharField(max_length=200, blank=True)
    health_updated_at = models.DateTimeField(null=True, blank=True)
    # Set by the media plane (through livestreams services) while a transcode ladder serves the
    # stream: players then load its master playlist instead of the source's.
    abr_active = models.BooleanField(default=False)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            # Home page and ?active=/?upcoming= lists: public streams of one status by date.
            models.Index(fields=["status", "visibility", "scheduled_at"], name="stream_status_sched_idx"),
            # An artist's channel page.
            models.Index(fields=["artist", "status"], name="stream_artist_status_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.title} ({self.status})"

    def can_become(self, new_status: str) -> bool:
        return new_status in self.TRANSITIONS[self.Status(self.status)]

    @property
    def is_live(self) -> bool:
        return self.status == self.Status.LIVE

    @property
    def is_interrupted(self) -> bool:
        return self.is_live and self.interrupted_at is not None

    @property
    def obs_stream_key(self) -> str:
        """What OBS puts in its "Stream Key" field: public name plus the secret as a query."""
        return f"{self.playback_id}?key={self.stream_key}"

    @property
    def hls_url(self) -> str:
        if self.abr_active:
            return settings.ABR_HLS_URL_TEMPLATE.format(stream_id=self.pk, playback_id=self.playback_id)
        return settings.HLS_URL_TEMPLATE.format(playback_id=self.playback_id)

    @property
    def rtmp_url(self) -> str:
        return settings.RTMP_PUBLIC_URL

    @property
    def duration(self):
        if self.started_at is None:
            return None
        return (self.ended_at or timezone.now()) - self.started_at

    def get_absolute_url(self) -> str:
        return f"/livestreams/{self.pk}/"
