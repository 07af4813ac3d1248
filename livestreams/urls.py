from django.urls import path

from livestreams import studio_views, views

app_name = "livestreams"

urlpatterns = [
    path("", views.home, name="home"),
    path("livestreams/", views.browse, name="browse"),
    path("livestreams/<uuid:stream_id>/", views.watch, name="watch"),
    path("studio/", studio_views.studio, name="studio"),
    path("studio/livestreams/<uuid:stream_id>/", studio_views.control_room, name="control-room"),
]
