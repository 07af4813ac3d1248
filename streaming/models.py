"""The media plane's own records: who published when (the session history) and what the media
server reported about each live stream (health samples). Stream status itself belongs to
livestreams and is only ever changed through its services."""

from pathlib import Path

from django.conf import settings
from django.db import models
from django.db.models import Q

from accounts.models import TimeStampedModel


class PublishSession(TimeStampedModel):
    """One accepted encoder connection. A stream that reconnects inside its window has several.

    `client_id` is the media server's id of the connection (SRS: 8 characters, nginx-rtmp: a
    number). Callbacks name it, so a late unpublish of an old session cannot end a newer one.
    """

    class EndReason(models.TextChoices):
        UNPUBLISHED = "unpublished", "Encoder stopped"
        KICKED = "kicked", "Dropped by Backline"
        STREAM_ENDED = "stream_ended", "Stream ended"
        MISSING = "missing", "Gone from the media server"

    stream = models.ForeignKey("livestreams.Stream", on_delete=models.CASCADE, related_name="publish_sessions")
    media_server = models.CharField(max_length=16)
    client_id = models.CharField(max_length=64)
    remote_addr = models.CharField(max_length=64, blank=True)
    resumed = models.BooleanField(default=False, help_text="Came back inside the reconnect window.")
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)
    end_reason = models.CharField(max_length=16, choices=EndReason.choices, blank=True)

    class Meta:
        ordering = ["-started_at"]
        constraints = [
            # One open session per stream: the database refuses a second simultaneous encoder even if
            # two publish callbacks race.
            models.UniqueConstraint(fields=["stream"], condition=Q(ended_at__isnull=True),
                                    name="publish_session_one_open_per_stream"),
        ]
        indexes = [
            # Unpublish callbacks: the session of this stream with this client id.
            models.Index(fields=["stream", "client_id"], name="publish_session_client_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.stream_id} via {self.client_id} from {self.started_at:%Y-%m-%d %H:%M:%S}"

    @property
    def is_open(self) -> bool:
        return self.ended_at is None


class HealthSample(models.Model):
    """What one stats poll saw for one stream. Written in bulk, pruned after a retention period."""

    stream = models.ForeignKey("livestreams.Stream", on_delete=models.CASCADE, related_name="health_samples")
    session = models.ForeignKey(PublishSession, on_delete=models.SET_NULL, null=True, blank=True,
                                related_name="health_samples")
    taken_at = models.DateTimeField(db_index=True)
    bitrate_kbps = models.PositiveIntegerField(default=0)
    fps = models.FloatField(null=True, blank=True)
    source_fps = models.FloatField(null=True, blank=True, help_text="Frame rate the encoder declared.")
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    video_codec = models.CharField(max_length=16, blank=True)
    audio_codec = models.CharField(max_length=16, blank=True)
    uptime_seconds = models.PositiveIntegerField(default=0)
    clients = models.PositiveIntegerField(null=True, blank=True, help_text="Players the server counts.")
    bytes_in = models.BigIntegerField(default=0)
    frames = models.BigIntegerField(null=True, blank=True)
    health = models.CharField(max_length=10, blank=True)
    reason = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-taken_at"]
        indexes = [
            # The health API and the verdict: a stream's latest samples.
            models.Index(fields=["stream", "-taken_at"], name="health_sample_recent_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.stream_id} @ {self.taken_at:%H:%M:%S}: {self.bitrate_kbps} kbps"

    @property
    def resolution(self) -> str:
        return f"{self.width}x{self.height}" if self.width and self.height else ""


class RestreamDestination(TimeStampedModel):
    """Another RTMP service an artist simulcasts to (YouTube, Twitch, ...). The key is a secret:
    shown masked everywhere once saved, never logged. `streams` are the broadcasts that use it."""

    artist = models.ForeignKey("accounts.User", on_delete=models.CASCADE, related_name="restream_destinations")
    name = models.CharField(max_length=80)
    rtmp_url = models.CharField(max_length=300, help_text="The service's RTMP server, e.g. rtmp://a.rtmp.youtube.com/live2")
    stream_key = models.CharField(max_length=300)
    enabled = models.BooleanField(default=True)
    streams = models.ManyToManyField("livestreams.Stream", blank=True, related_name="restream_destinations")

    class Meta:
        ordering = ["artist", "name"]
        constraints = [models.UniqueConstraint(fields=["artist", "name"], name="restream_destination_unique_name")]

    def __str__(self) -> str:
        return f"{self.name} ({self.artist_id})"

    @property
    def masked_key(self) -> str:
        return f"{'•' * 8}{self.stream_key[-4:]}" if len(self.stream_key) > 8 else "•" * 8

    @property
    def publish_url(self) -> str:
        return f"{self.rtmp_url.rstrip('/')}/{self.stream_key}"


class Relay(TimeStampedModel):
    """One long-lived FFmpeg working on a live stream, supervised by streaming.relays.

    Desired state is not stored: it is derived from the stream on every pass (`should_run`).
    Actual state, the process identity (host, pid, start ticks) and what FFmpeg last reported are
    written only by the supervisor, under this row's lock.
    """

    class Kind(models.TextChoices):
        TRANSCODE = "transcode", "Transcode (ladder)"
        RECORD = "record", "Record"
        THUMBNAIL = "thumbnail", "Thumbnail"
        RESTREAM = "restream", "Restream"

    class State(models.TextChoices):
        STARTING = "starting", "Starting"
        RUNNING = "running", "Running"
        BACKING_OFF = "backing_off", "Backing off"
        FAILED = "failed", "Failed"
        STOPPED = "stopped", "Stopped"

    # The states in which a relay may own a process (or is about to get one).
    ACTIVE_STATES = (State.STARTING, State.RUNNING, State.BACKING_OFF)

    stream = models.ForeignKey("livestreams.Stream", on_delete=models.CASCADE, related_name="relays")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    destination = models.ForeignKey(RestreamDestination, on_delete=models.SET_NULL, null=True, blank=True,
                                    related_name="relays", help_text="Restream relays only.")
    state = models.CharField(max_length=16, choices=State.choices, default=State.STOPPED, db_index=True)
    host = models.CharField(max_length=255, blank=True, help_text="Machine the process runs on.")
    pid = models.PositiveIntegerField(null=True, blank=True)
    start_ticks = models.BigIntegerField(null=True, blank=True,
                                         help_text="/proc/<pid>/stat start time: with the pid, names one process.")
    started_at = models.DateTimeField(null=True, blank=True)
    restart_count = models.PositiveIntegerField(default=0)
    consecutive_failures = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_progress = models.JSONField(default=dict, blank=True)
    error_tail = models.TextField(blank=True)
    failure_reason = models.TextField(blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["stream", "kind"]
        constraints = [
            models.UniqueConstraint(fields=["stream", "kind"], condition=Q(destination__isnull=True),
                                    name="relay_one_per_stream_kind"),
            models.UniqueConstraint(fields=["stream", "destination"], condition=Q(destination__isnull=False),
                                    name="relay_one_per_stream_destination"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} of {self.stream_id}: {self.state}"

    @property
    def should_run(self) -> bool:
        """Desired state: running while the stream is live and this kind applies to it."""
        stream = self.stream
        if stream.status != stream.Status.LIVE:
            return False
        if self.kind == self.Kind.RECORD:
            return stream.record
        if self.kind == self.Kind.TRANSCODE:
            return stream.quality_preset != stream.QualityPreset.SOURCE
        if self.kind == self.Kind.RESTREAM:
            # The artist may switch a destination off or unpick it mid-stream: that relay stops alone.
            destination = self.destination
            return (destination is not None and destination.enabled
                    and destination.streams.filter(pk=stream.pk).exists())
        return self.kind == self.Kind.THUMBNAIL

    @property
    def _folder(self) -> str:
        return f"{self.stream_id}/restream-{self.destination_id}" if self.kind == self.Kind.RESTREAM else \
            f"{self.stream_id}/{self.kind}"

    @property
    def output_dir(self):
        """What players fetch: ladders, recordings, thumbnails (under MEDIA_ROOT, served)."""
        return Path(settings.MEDIA_ROOT) / "relays" / self._folder

    @property
    def work_dir(self):
        """FFmpeg's log, progress file and pidfile (under RELAYS_WORK_ROOT, never served)."""
        return Path(settings.RELAYS_WORK_ROOT) / self._folder
