from datetime import timedelta

import factory
from django.utils import timezone
from factory.django import DjangoModelFactory

from accounts.tests.factories import ArtistFactory
from livestreams.models import Stream


class StreamFactory(DjangoModelFactory):
    class Meta:
        model = Stream

    artist = factory.SubFactory(ArtistFactory)
    title = factory.Faker("sentence", nb_words=4)
    scheduled_at = factory.LazyFunction(lambda: timezone.now() + timedelta(hours=1))


class LiveStreamFactory(StreamFactory):
    status = Stream.Status.LIVE
    started_at = factory.LazyFunction(timezone.now)
    publisher_active = True
