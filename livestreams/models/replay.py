from django.conf import settings
from django.db import models

from accounts.models import TimeStampedModel


class Replay(TimeStampedModel):
    """A finished broadcast, made playable from its recording. Files live under
    MEDIA_ROOT/replays/<stream id>/ and are served under MEDIA_PUBLIC_URL; the paths stored here
    are relative to MEDIA_ROOT. The media plane (streaming.replays) builds it; the domain shows it."""

    class Status(models.TextChoices):
        PROCESSING = "processing", "Processing"
        READY = "ready", "Ready"
        FAILED = "failed", "Failed"

    stream = models.OneToOneField("livestreams.Stream", on_delete=models.CASCADE, related_name="replay")
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PROCESSING, db_index=True)
    progress = models.FloatField(default=0.0, help_text="0-1 while processing.")
    published = models.BooleanField(default=True, help_text="Unpublished replays are seen by their artist only.")
    video_path = models.CharField(max_length=300, blank=True)
    poster_path = models.CharField(max_length=300, blank=True)
    duration_seconds = models.FloatField(null=True, blank=True)
    size_bytes = models.PositiveBigIntegerField(default=0)
    error = models.TextField(blank=True)
    # Wall-clock time of the replay's first frame (the recording starts a moment after the stream
    # goes live): chat offsets are counted from it, so messages land where they were sent.
    recorded_from = models.DateTimeField(null=True, blank=True)
    ready_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"replay of {self.stream_id}: {self.status}"

    @property
    def playback_url(self) -> str | None:
        return settings.MEDIA_PUBLIC_URL + self.video_path if self.video_path else None

    @property
    def poster_url(self) -> str | None:
        return settings.MEDIA_PUBLIC_URL + self.poster_path if self.poster_path else None
