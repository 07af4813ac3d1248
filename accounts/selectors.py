from django.db.models import Count, QuerySet

from accounts.models import Channel, Follow, User


def channel_list() -> QuerySet[Channel]:
    return Channel.objects.select_related("owner").annotate(follower_count=Count("followers"))


def user_follows(*, user: User, channel: Channel) -> bool:
    return user.is_authenticated and Follow.objects.filter(follower=user, channel=channel).exists()


def user_followed_channels(*, user: User) -> QuerySet[Channel]:
    return channel_list().filter(followers__follower=user).order_by("slug")
