from django.urls import path

from streaming import studio_views, views
from streaming.api import destination_views
from streaming.api.views import StreamHealthApi, StreamRelayListApi

urlpatterns = [
    # The secret is part of the URL the generated media-server config calls; see media_server_config.
    path("hooks/<str:server>/<str:secret>/", views.media_server_callback, name="media-server-callback"),
    path("api/v1/livestreams/<uuid:stream_id>/health/", StreamHealthApi.as_view(), name="api-stream-health"),
    path("api/v1/livestreams/<uuid:stream_id>/relays/", StreamRelayListApi.as_view(), name="api-stream-relays"),
    # Simulcast: the artist's restream destinations, and which of them each stream uses.
    path("api/v1/livestreams/<uuid:stream_id>/destinations/", destination_views.StreamDestinationsApi.as_view(),
         name="api-stream-destinations"),
    path("api/v1/restream-destinations/", destination_views.RestreamDestinationListApi.as_view(),
         name="api-restream-destinations"),
    path("api/v1/restream-destinations/<int:destination_id>/", destination_views.RestreamDestinationDetailApi.as_view(),
         name="api-restream-destination"),
    path("studio/destinations/", studio_views.destinations, name="studio-destinations"),
    path("studio/destinations/<int:destination_id>/", studio_views.destination_edit, name="studio-destination-edit"),
    path("studio/destinations/<int:destination_id>/toggle/", studio_views.destination_toggle,
         name="studio-destination-toggle"),
    path("studio/destinations/<int:destination_id>/delete/", studio_views.destination_delete,
         name="studio-destination-delete"),
    path("studio/livestreams/<uuid:stream_id>/destinations/", studio_views.stream_destinations,
         name="studio-stream-destinations"),
]
