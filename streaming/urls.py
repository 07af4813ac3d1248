from django.urls import path

from streaming import views
from streaming.api.views import StreamHealthApi, StreamRelayListApi

urlpatterns = [
    # The secret is part of the URL the generated media-server config calls; see media_server_config.
    path("hooks/<str:server>/<str:secret>/", views.media_server_callback, name="media-server-callback"),
    path("api/v1/livestreams/<uuid:stream_id>/health/", StreamHealthApi.as_view(), name="api-stream-health"),
    path("api/v1/livestreams/<uuid:stream_id>/relays/", StreamRelayListApi.as_view(), name="api-stream-relays"),
]
