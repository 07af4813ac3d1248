from django.urls import path

from accounts.api import views

urlpatterns = [
    path("auth/signup/", views.AuthSignupApi.as_view(), name="api-signup"),
    path("auth/token/", views.AuthTokenApi.as_view(), name="api-token"),
    path("me/", views.MeApi.as_view(), name="api-me"),
    path("me/become-artist/", views.MeBecomeArtistApi.as_view(), name="api-become-artist"),
    path("me/follows/", views.MeFollowsApi.as_view(), name="api-my-follows"),
    path("artists/<slug:slug>/", views.ArtistDetailApi.as_view(), name="api-artist"),
    path("artists/<slug:slug>/follow/", views.ArtistFollowApi.as_view(), name="api-artist-follow"),
]
