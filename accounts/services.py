from django.contrib.auth.password_validation import validate_password
from django.db import IntegrityError, transaction
from django.utils.text import slugify
from rest_framework.authtoken.models import Token

from accounts.models import Channel, Follow, User
from config.exceptions import ApplicationError


def _free_slug(base: str) -> str:
    base = (slugify(base)[:44].strip("-") or "artist")
    slug, n = base, 1
    while Channel.objects.filter(slug=slug).exists():
        n += 1
        slug = f"{base}-{n}"
    return slug


@transaction.atomic
def channel_create(*, owner: User, slug: str | None = None, display_name: str | None = None) -> Channel:
    """Give an artist their channel. Called on artist sign-up and when a fan becomes an artist."""
    slug = slug or _free_slug(owner.username)
    if Channel.objects.filter(slug=slug).exists():
        raise ApplicationError("That channel name is taken.", {"slug": ["That channel name is taken."]})
    channel = Channel(owner=owner, slug=slug, display_name=display_name or owner.username)
    channel.full_clean()
    channel.save()
    return channel


@transaction.atomic
def user_signup(*, username: str, email: str, password: str, role: str = User.Role.FAN) -> User:
    if role not in User.Role.values:
        raise ApplicationError("Role must be fan or artist.", {"role": ["Must be fan or artist."]})
    user = User(username=username, email=email.lower(), role=role)
    validate_password(password, user)
    user.set_password(password)
    user.full_clean()
    try:
        user.save()
    except IntegrityError as exc:  # a concurrent sign-up with the same name or email
        raise ApplicationError("That username or email is taken.") from exc
    if user.is_artist:
        channel_create(owner=user)
    Token.objects.create(user=user)
    return user


@transaction.atomic
def user_become_artist(*, user: User, slug: str | None = None, display_name: str | None = None) -> User:
    """A fan turns their account into an artist's, with a channel. Idempotent for artists."""
    user = User.objects.select_for_update().get(pk=user.pk)
    if user.is_artist:
        return user
    user.role = User.Role.ARTIST
    user.save(update_fields=["role"])
    if not Channel.objects.filter(owner=user).exists():
        channel_create(owner=user, slug=slug, display_name=display_name)
    return user


def channel_update(*, channel: Channel, data: dict) -> Channel:
    for name, value in data.items():
        setattr(channel, name, value)
    channel.full_clean()
    channel.save()
    return channel


def follow_create(*, follower: User, channel: Channel) -> Follow:
    if channel.owner_id == follower.pk:
        raise ApplicationError("You cannot follow your own channel.")
    follow, _ = Follow.objects.get_or_create(follower=follower, channel=channel)
    return follow


def follow_delete(*, follower: User, channel: Channel) -> None:
    Follow.objects.filter(follower=follower, channel=channel).delete()


def token_get_or_create(*, user: User) -> str:
    return Token.objects.get_or_create(user=user)[0].key
