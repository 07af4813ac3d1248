from django.conf import settings
from rest_framework import serializers

from livestreams.models import Stream


class StrictSerializer(serializers.Serializer):
    """Refuses fields it does not know: a typo or a read-only field (say `status`) in a write is
    an error the client should see, not something silently dropped."""

    def to_internal_value(self, data):
        if hasattr(data, "keys"):
            unknown = set(data.keys()) - set(self.fields)
            if unknown:
                raise serializers.ValidationError({name: ["Unknown or read-only field."] for name in sorted(unknown)})
        return super().to_internal_value(data)


class ArtistSummarySerializer(serializers.Serializer):
    username = serializers.CharField()
    slug = serializers.SerializerMethodField()
    display_name = serializers.SerializerMethodField()

    def get_slug(self, user) -> str | None:
        channel = getattr(user, "channel", None)
        return channel.slug if channel else None

    def get_display_name(self, user) -> str:
        channel = getattr(user, "channel", None)
        return channel.display_name if channel else user.username


class StreamOutputSerializer(serializers.ModelSerializer):
    """A stream as the API shows it. `rtmp_url` and `stream_key` (the OBS fields) exist only for
    the owner and staff; `hls_url` is null unless the stream is live."""

    artist = ArtistSummarySerializer(read_only=True)
    hls_url = serializers.SerializerMethodField()
    watch_url = serializers.SerializerMethodField()
    thumbnail_url = serializers.SerializerMethodField()
    is_interrupted = serializers.BooleanField(read_only=True)
    rtmp_url = serializers.CharField(read_only=True)
    stream_key = serializers.CharField(source="obs_stream_key", read_only=True)

    OWNER_ONLY = ("rtmp_url", "stream_key", "health", "health_reason", "publisher_active")

    class Meta:
        model = Stream
        fields = [
            "id", "title", "description", "status", "scheduled_at", "started_at", "ended_at",
            "visibility", "chat_enabled", "reactions_enabled", "chat_mode", "quality_preset", "record",
            "thumbnail_url", "playback_id", "hls_url", "watch_url", "viewer_count", "peak_viewers",
            "total_views", "is_interrupted", "artist", "created_at",
            "rtmp_url", "stream_key", "health", "health_reason", "publisher_active",
        ]

    def get_hls_url(self, stream) -> str | None:
        return stream.hls_url if stream.is_live else None

    def get_watch_url(self, stream) -> str:
        return f"{settings.SITE_URL}{stream.get_absolute_url()}"

    def get_thumbnail_url(self, stream) -> str | None:
        if stream.thumbnail:
            return f"{settings.SITE_URL}{stream.thumbnail.url}"
        return stream.thumbnail_url or None

    def to_representation(self, stream):
        data = super().to_representation(stream)
        user = getattr(self.context.get("request"), "user", None)
        if not (user and user.is_authenticated and (stream.artist_id == user.pk or user.is_staff)):
            for name in self.OWNER_ONLY:
                data.pop(name, None)
        return data


class StreamStatusSerializer(serializers.Serializer):
    status = serializers.CharField()
    viewer_count = serializers.IntegerField()
    started_at = serializers.DateTimeField()
    ended_at = serializers.DateTimeField()
    is_interrupted = serializers.BooleanField()
    hls_url = serializers.SerializerMethodField()

    def get_hls_url(self, stream) -> str | None:
        return stream.hls_url if stream.is_live else None
