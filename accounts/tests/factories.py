import factory
from factory.django import DjangoModelFactory

from accounts.models import Channel, User


class UserFactory(DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.test")
    password = factory.django.Password("a-long-test-password")
    role = User.Role.FAN


class ArtistFactory(UserFactory):
    role = User.Role.ARTIST
    channel = factory.RelatedFactory(
        "accounts.tests.factories.ChannelFactory", factory_related_name="owner",
        slug=factory.SelfAttribute("..username"), display_name=factory.SelfAttribute("..username"),
    )


class ChannelFactory(DjangoModelFactory):
    class Meta:
        model = Channel

    owner = factory.SubFactory(UserFactory, role=User.Role.ARTIST)
    slug = factory.Sequence(lambda n: f"channel-{n}")
    display_name = factory.Faker("name")


def client_as(user=None, *, csrf=False):
    """A Django test client, logged in as `user` (anonymous for None); csrf=True enforces CSRF checks
    as a browser form post would meet them."""
    from django.test import Client

    client = Client(enforce_csrf_checks=csrf)
    if user is not None:
        client.force_login(user)
    return client
