from django.urls import path

from livestreams import views

app_name = "livestreams"

urlpatterns = [
    path("", views.home, name="home"),
    path("livestreams/<uuid:stream_id>/", views.watch, name="watch"),
]
