"""An artist's public page /@<slug>/: who they are, follow/unfollow, and their streams. It lives in
livestreams because it lists streams (accounts never imports livestreams). Follow works as a plain
POST form (no JavaScript needed); writes go through accounts.services."""

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.db.models import Count
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods

from accounts.models import Channel
from accounts.selectors import user_follows
from accounts.services import follow_create, follow_delete
from config.exceptions import ApplicationError
from livestreams.models import Stream
from livestreams.selectors import stream_list_public, stream_list_recent, stream_list_upcoming


@require_http_methods(["GET", "POST"])
def channel(request, slug):
    channel = get_object_or_404(
        Channel.objects.select_related("owner").annotate(follower_count=Count("followers")), slug=slug)
    if request.method == "POST":
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        try:
            if request.POST.get("action") == "unfollow":
                follow_delete(follower=request.user, channel=channel)
                messages.success(request, f"You unfollowed {channel.display_name}.")
            else:
                follow_create(follower=request.user, channel=channel)
                messages.success(request, f"You follow {channel.display_name}. See you at the next show!")
        except ApplicationError as exc:
            messages.error(request, exc.message)
        return redirect(request.POST.get("next") if _safe_next(request) else f"/@{channel.slug}/")
    streams = stream_list_public().filter(artist_id=channel.owner_id)
    return render(request, "accounts/channel.html", {
        "channel": channel,
        "follows": user_follows(user=request.user, channel=channel),
        "is_owner": request.user.is_authenticated and request.user.pk == channel.owner_id,
        "live": list(streams.filter(status=Stream.Status.LIVE)),
        "upcoming": list(stream_list_upcoming(streams)[:20]),
        "past": list(stream_list_recent(streams)[:30]),
    })


def _safe_next(request) -> bool:
    from django.utils.http import url_has_allowed_host_and_scheme

    target = request.POST.get("next", "")
    return bool(target) and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()})
