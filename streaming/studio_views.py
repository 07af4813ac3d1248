"""The studio's simulcast pages: /studio/destinations/ (an artist's restream destinations: add,
edit, enable/disable, delete) and /studio/livestreams/<id>/destinations/ (which destinations
simulcast one stream; the control room's form posts here). Every action is a POST form
(CSRF-protected, works without JavaScript) that calls one service. The saved stream key is never
rendered: only `masked_key`."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from config.exceptions import ApplicationError, form_add_application_error
from livestreams.selectors import stream_can_manage, stream_get
from streaming import destinations as services
from streaming.forms import RestreamDestinationForm, StreamDestinationsForm
from streaming.selectors import restream_destination_get, restream_destination_list


def _require_artist(request):
    if not request.user.is_artist:
        raise PermissionDenied("Simulcast destinations are for artists. Become one from your profile.")


def _own_destination(request, destination_id):
    destination = restream_destination_get(artist=request.user, destination_id=destination_id)
    if destination is None:
        raise Http404("No such destination.")
    return destination


def _page(request, *, form, mode="list", destination=None, status=200):
    return render(request, "studio/destinations.html", {
        "mode": mode, "form": form, "destination": destination,
        "destinations": list(restream_destination_list(artist=request.user)),
    }, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def destinations(request):
    _require_artist(request)
    form = RestreamDestinationForm(request.POST if request.method == "POST" else None)
    if request.method == "POST":
        if form.is_valid():
            try:
                destination = services.restream_destination_create(artist=request.user, **form.cleaned_data)
            except ApplicationError as exc:
                form_add_application_error(form, exc)
            else:
                messages.success(request, f"“{destination.name}” added. Pick it in a stream's control room to simulcast.")
                return redirect("studio-destinations")
        return _page(request, form=form, status=400)
    return _page(request, form=form)


@login_required
@require_http_methods(["GET", "POST"])
def destination_edit(request, destination_id):
    _require_artist(request)
    destination = _own_destination(request, destination_id)
    form = RestreamDestinationForm(request.POST if request.method == "POST" else None, destination=destination)
    if request.method == "POST":
        if form.is_valid():
            try:
                services.restream_destination_update(destination=destination, data=form.cleaned_data)
            except ApplicationError as exc:
                form_add_application_error(form, exc)
            else:
                messages.success(request, "Destination saved.")
                return redirect("studio-destinations")
        return _page(request, form=form, mode="edit", destination=destination, status=400)
    return _page(request, form=form, mode="edit", destination=destination)


@login_required
@require_POST
def destination_toggle(request, destination_id):
    _require_artist(request)
    destination = _own_destination(request, destination_id)
    enabled = request.POST.get("enabled") == "1"
    try:
        services.restream_destination_update(destination=destination, data={"enabled": enabled})
    except ApplicationError as exc:  # e.g. saved before today's rules: edit it first
        messages.error(request, exc.message)
    else:
        messages.success(request, f"“{destination.name}” {'enabled' if enabled else 'disabled'}.")
    return redirect("studio-destinations")


@login_required
@require_http_methods(["GET", "POST"])
def destination_delete(request, destination_id):
    """GET asks for confirmation (the no-JavaScript path); POST deletes."""
    _require_artist(request)
    destination = _own_destination(request, destination_id)
    if request.method == "POST":
        try:
            services.restream_destination_delete(destination=destination)
        except ApplicationError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, f"“{destination.name}” deleted.")
        return redirect("studio-destinations")
    return _page(request, form=None, mode="delete", destination=destination)


@login_required
@require_http_methods(["GET", "POST"])
def stream_destinations(request, stream_id):
    """GET: the picking form on its own page (for browsers without JavaScript); POST: save and
    go back to the control room."""
    stream = stream_get(stream_id=stream_id)
    if stream is None:
        raise Http404("No such stream.")
    if not stream_can_manage(stream=stream, user=request.user):
        raise PermissionDenied("Only the stream's artist and staff can choose where it is simulcast.")
    form = StreamDestinationsForm(request.POST if request.method == "POST" else None, artist=stream.artist,
                                  initial={"destinations": list(stream.restream_destinations.all())})
    if request.method == "POST":
        if form.is_valid():
            try:
                chosen = services.stream_set_restream_destinations(
                    stream=stream, destination_ids=[d.pk for d in form.cleaned_data["destinations"]])
            except ApplicationError as exc:
                form.add_error(None, exc.message)
            else:
                names = ", ".join(d.name for d in chosen)
                messages.success(request, f"Simulcasting to {names}." if chosen else "Not simulcasting anywhere.")
                return redirect("livestreams:control-room", stream_id=stream.pk)
        return render(request, "studio/destinations.html", {"mode": "pick", "stream": stream, "pick_form": form},
                      status=400)
    return render(request, "studio/destinations.html", {"mode": "pick", "stream": stream, "pick_form": form})
