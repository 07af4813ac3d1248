from django.contrib import admin, messages
from django.db import models
from django.template.defaultfilters import filesizeformat
from django.utils.html import format_html

from config.exceptions import ApplicationError
from livestreams import services
from livestreams.models import Replay, Stream
from livestreams.services.replays import stream_disk_usage


def _mask(secret: str) -> str:
    return f"{secret[:4]}{'•' * 12}" if secret else ""


def _bulk(modeladmin, request, queryset, service, verb):
    done, refused = 0, []
    for stream in queryset:
        try:
            service(stream=stream)
            done += 1
        except ApplicationError as exc:
            refused.append(f"{stream.title}: {exc.message}")
    if done:
        modeladmin.message_user(request, f"{verb} {done} stream(s).", messages.SUCCESS)
    for line in refused:
        modeladmin.message_user(request, line, messages.WARNING)


@admin.register(Stream)
class StreamAdmin(admin.ModelAdmin):
    list_display = ("title", "artist", "status", "visibility", "scheduled_at", "started_at", "ended_at",
                    "viewer_count", "peak_viewers", "health_badge", "disk_use")
    list_filter = ("status", "visibility", "health", "quality_preset", "record", "scheduled_at", "started_at",
                   ("artist", admin.RelatedOnlyFieldListFilter))
    search_fields = ("title", "artist__username", "artist__channel__slug", "playback_id")
    date_hierarchy = "created_at"
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    list_select_related = ("artist",)
    raw_id_fields = ("artist",)
    # The key itself is never rendered: only a masked hint, so a screen share cannot leak it.
    readonly_fields = ("id", "status", "playback_id", "masked_stream_key", "key_rotated_at", "started_at",
                       "ended_at", "cancelled_at", "archived_at", "viewer_count", "peak_viewers", "total_views",
                       "publisher_active", "publisher_client_id", "interrupted_at", "health", "health_reason",
                       "health_updated_at", "created_at", "updated_at", "disk_use")
    fieldsets = (
        (None, {"fields": ("id", "artist", "title", "description", "thumbnail", "thumbnail_url", "scheduled_at")}),
        ("Settings", {"fields": ("visibility", "chat_enabled", "reactions_enabled", "chat_mode",
                                 "quality_preset", "record")}),
        ("Status (change it with the actions)", {"fields": (
            "status", "started_at", "ended_at", "cancelled_at", "archived_at", "viewer_count", "peak_viewers",
            "total_views")}),
        ("Ingest", {"fields": ("playback_id", "masked_stream_key", "key_rotated_at", "publisher_active",
                               "publisher_client_id", "interrupted_at", "health", "health_reason",
                               "health_updated_at")}),
        ("Timestamps", {"fields": ("created_at", "updated_at")}),
        ("Media on disk", {"fields": ("disk_use",)}),
    )
    actions = ["end_streams", "cancel_streams", "rotate_keys"]

    @admin.display(description="Disk use")
    def disk_use(self, stream):
        return filesizeformat(stream_disk_usage(stream_id=stream.pk))

    @admin.display(description="Stream key")
    def masked_stream_key(self, stream):
        return _mask(stream.stream_key)

    @admin.display(description="Health", ordering="health")
    def health_badge(self, stream):
        if stream.status != Stream.Status.LIVE:
            return "–"
        colour = {"good": "green", "degraded": "orange", "bad": "red"}.get(stream.health, "grey")
        return format_html('<span style="color:{}" title="{}">● {}</span>', colour, stream.health_reason,
                           stream.get_health_display())

    @admin.action(description="End selected live streams (kicks the encoder)")
    def end_streams(self, request, queryset):
        _bulk(self, request, queryset, services.stream_end, "Ended")

    @admin.action(description="Cancel selected scheduled streams")
    def cancel_streams(self, request, queryset):
        _bulk(self, request, queryset, services.stream_cancel, "Cancelled")

    @admin.action(description="Rotate the publish keys of selected streams")
    def rotate_keys(self, request, queryset):
        _bulk(self, request, queryset, services.stream_rotate_key, "Rotated the key of")


# --- Realtime: chat, moderation, reactions, viewers ---
from livestreams.models import (  # noqa: E402
    BlockedWord,
    ChatEvent,
    ChatMessage,
    ChatModerator,
    ChatSanction,
    ReactionTally,
    ViewerSession,
)


@admin.register(ChatMessage)
class ChatMessageAdmin(admin.ModelAdmin):
    list_display = ("stream", "user", "seq", "text", "created_at", "deleted_at")
    list_select_related = ("stream", "user")
    search_fields = ("text", "user__username")
    raw_id_fields = ("stream", "user", "deleted_by")
    readonly_fields = ("seq", "created_at")


@admin.register(ChatSanction)
class ChatSanctionAdmin(admin.ModelAdmin):
    list_display = ("artist", "user", "until", "reason", "created_by", "created_at")
    list_select_related = ("artist", "user", "created_by")
    raw_id_fields = ("artist", "user", "created_by")


@admin.register(ChatModerator)
class ChatModeratorAdmin(admin.ModelAdmin):
    list_display = ("artist", "user", "created_at")
    raw_id_fields = ("artist", "user")


@admin.register(BlockedWord)
class BlockedWordAdmin(admin.ModelAdmin):
    list_display = ("artist", "word")
    raw_id_fields = ("artist",)


@admin.register(ReactionTally)
class ReactionTallyAdmin(admin.ModelAdmin):
    list_display = ("stream", "minute", "emoji", "count")
    raw_id_fields = ("stream",)


@admin.register(ViewerSession)
class ViewerSessionAdmin(admin.ModelAdmin):
    list_display = ("stream", "viewer_key", "user", "joined_at", "left_at", "watch_seconds")
    list_select_related = ("stream", "user")
    raw_id_fields = ("stream", "user")


@admin.register(ChatEvent)
class ChatEventAdmin(admin.ModelAdmin):
    list_display = ("stream", "seq", "type", "created_at")
    raw_id_fields = ("stream",)


@admin.register(Replay)
class ReplayAdmin(admin.ModelAdmin):
    list_display = ("stream", "status", "progress", "published", "duration_seconds", "size_bytes", "ready_at")
    list_filter = ("status", "published", "ready_at")
    search_fields = ("stream__title", "stream__playback_id")
    list_select_related = ("stream",)
    readonly_fields = ("stream", "status", "progress", "video_path", "poster_path", "duration_seconds", "size_bytes",
                       "error", "ready_at")
