from django.urls import path

from livestreams.consumers import StreamConsumer

websocket_urlpatterns = [
    path("ws/livestreams/<uuid:stream_id>/", StreamConsumer.as_asgi()),
]
