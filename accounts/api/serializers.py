from rest_framework import serializers

from accounts.models import Channel, User


class ChannelOutputSerializer(serializers.ModelSerializer):
    avatar_url = serializers.SerializerMethodField()
    follower_count = serializers.IntegerField(read_only=True, default=None)

    class Meta:
        model = Channel
        fields = ["slug", "display_name", "bio", "avatar_url", "follower_count"]

    def get_avatar_url(self, channel) -> str | None:
        return channel.avatar.url if channel.avatar else None


class UserOutputSerializer(serializers.ModelSerializer):
    channel = serializers.SerializerMethodField()

    class Meta:
        model = User
        fields = ["id", "username", "email", "role", "is_staff", "channel"]

    def get_channel(self, user) -> dict | None:
        channel = getattr(user, "channel", None) if user.is_artist else None
        return {"slug": channel.slug, "display_name": channel.display_name} if channel else None
