from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from accounts.forms import BecomeArtistForm, ChannelForm, SignupForm
from accounts.services import channel_update, user_become_artist, user_signup
from config.exceptions import ApplicationError


@require_http_methods(["GET", "POST"])
def signup(request):
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = user_signup(
                username=form.cleaned_data["username"], email=form.cleaned_data["email"],
                password=form.cleaned_data["password1"], role=form.cleaned_data["role"],
            )
        except ApplicationError as exc:
            form.add_error(None, exc.message)
        else:
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            return redirect("accounts:profile")
    return render(request, "accounts/signup.html", {"form": form})


@login_required
@require_http_methods(["GET", "POST"])
def profile(request):
    user = request.user
    channel = getattr(user, "channel", None) if user.is_artist else None
    channel_form = ChannelForm(instance=channel, prefix="channel") if channel else None
    artist_form = None if user.is_artist else BecomeArtistForm(prefix="artist")
    if request.method == "POST":
        if "become_artist" in request.POST and not user.is_artist:
            artist_form = BecomeArtistForm(request.POST, prefix="artist")
            if artist_form.is_valid():
                user_become_artist(user=user, **artist_form.cleaned_data)
                messages.success(request, "You are an artist now. Your channel is ready.")
                return redirect("accounts:profile")
        elif channel is not None:
            channel_form = ChannelForm(request.POST, request.FILES, instance=channel, prefix="channel")
            if channel_form.is_valid():
                channel_update(channel=channel, data=channel_form.cleaned_data)
                messages.success(request, "Channel saved.")
                return redirect("accounts:profile")
    return render(request, "accounts/profile.html",
                  {"channel": channel, "channel_form": channel_form, "artist_form": artist_form})
