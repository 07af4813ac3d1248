from django.urls import path

from livestreams.api import views

urlpatterns = [
    path("livestreams/", views.StreamListCreateApi.as_view(), name="api-streams"),
    path("livestreams/<uuid:stream_id>/", views.StreamDetailApi.as_view(), name="api-stream"),
    path("livestreams/<uuid:stream_id>/status/", views.StreamStatusApi.as_view(), name="api-stream-status"),
    path("livestreams/<uuid:stream_id>/start/", views.StreamStartApi.as_view(), name="api-stream-start"),
    path("livestreams/<uuid:stream_id>/stop/", views.StreamStopApi.as_view(), name="api-stream-stop"),
    path("livestreams/<uuid:stream_id>/cancel/", views.StreamCancelApi.as_view(), name="api-stream-cancel"),
    path("livestreams/<uuid:stream_id>/rotate-key/", views.StreamRotateKeyApi.as_view(), name="api-stream-rotate-key"),
]
