from django.contrib import admin

from streaming.models import HealthSample, PublishSession, Relay, RestreamDestination


class _ReadOnly(admin.ModelAdmin):
    """Written by the media plane only: staff read them, and end streams from the Stream admin."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(PublishSession)
class PublishSessionAdmin(_ReadOnly):
    list_display = ("stream", "stream_status", "client_id", "media_server", "resumed", "started_at", "ended_at",
                    "end_reason", "remote_addr")
    list_filter = ("media_server", "end_reason", "resumed", "started_at")
    search_fields = ("stream__title", "stream__playback_id", "client_id")
    list_select_related = ("stream",)
    date_hierarchy = "started_at"

    @admin.display(description="Stream status", ordering="stream__status")
    def stream_status(self, session):
        return session.stream.get_status_display()


@admin.register(HealthSample)
class HealthSampleAdmin(_ReadOnly):
    list_display = ("stream", "taken_at", "health", "reason", "bitrate_kbps", "fps", "resolution", "video_codec",
                    "audio_codec", "uptime_seconds", "clients")
    list_filter = ("health", "taken_at")
    search_fields = ("stream__title", "stream__playback_id")
    list_select_related = ("stream",)
    date_hierarchy = "taken_at"


@admin.register(Relay)
class RelayAdmin(_ReadOnly):
    """Every relay with its live progress. The supervisor owns these rows: read-only."""

    list_display = ("stream", "kind", "state", "should_run", "restart_count", "progress", "started_at",
                    "heartbeat_at", "host", "pid")
    list_filter = ("kind", "state")
    search_fields = ("stream__title", "stream__playback_id")
    list_select_related = ("stream",)
    readonly_fields = ("output_dir", "work_dir")

    @admin.display(description="Should run", boolean=True)
    def should_run(self, relay):
        return relay.should_run

    @admin.display(description="Progress")
    def progress(self, relay):
        p = relay.last_progress or {}
        if not p:
            return "-"
        return f"{p.get('frame', 0)} frames, {p.get('fps') or 0:g} fps, {p.get('bitrate_kbps') or 0:g} kbps, " \
               f"{p.get('speed') or 0:g}x"


@admin.register(RestreamDestination)
class RestreamDestinationAdmin(admin.ModelAdmin):
    """The key is never shown back: staff see it masked, like the artist."""

    list_display = ("name", "artist", "rtmp_url", "masked_key", "enabled", "created_at")
    list_filter = ("enabled",)
    search_fields = ("name", "artist__username", "rtmp_url")
    list_select_related = ("artist",)
    exclude = ("stream_key",)
    readonly_fields = ("masked_key",)
    filter_horizontal = ("streams",)
