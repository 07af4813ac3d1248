"""Studio forms. They only parse input; writes go through livestreams.services."""

from datetime import timedelta

from django import forms
from django.utils import timezone

from livestreams.models import Stream


class StreamForm(forms.Form):
    """The "New stream" form. `scheduled_at` is typed in the artist's local time; the page's
    script fills `tz_offset` (minutes, as JavaScript's getTimezoneOffset()). Without JavaScript
    the time is read as UTC, and the label says so."""

    title = forms.CharField(max_length=140)
    description = forms.CharField(max_length=5000, required=False, widget=forms.Textarea(attrs={"rows": 3}))
    scheduled_at = forms.DateTimeField(
        required=False, label="Starts at",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"],
        help_text="Your local time (UTC if JavaScript is off). Leave empty to go live whenever you are ready.",
    )
    tz_offset = forms.IntegerField(required=False, min_value=-24 * 60, max_value=24 * 60, widget=forms.HiddenInput)
    thumbnail = forms.ImageField(required=False, help_text="16:9 looks best. JPEG or PNG, up to 5 MB.")
    visibility = forms.ChoiceField(choices=Stream.Visibility.choices, initial=Stream.Visibility.PUBLIC,
                                   help_text="Unlisted streams are reachable only by their link.")
    chat_enabled = forms.BooleanField(required=False, initial=True, label="Chat")
    chat_mode = forms.ChoiceField(choices=Stream.ChatMode.choices, initial=Stream.ChatMode.OPEN, label="Who can chat")
    reactions_enabled = forms.BooleanField(required=False, initial=True, label="Reactions")
    quality_preset = forms.ChoiceField(choices=Stream.QualityPreset.choices, initial=Stream.QualityPreset.SOURCE,
                                       label="Quality")
    record = forms.BooleanField(required=False, label="Record a replay")

    def clean_title(self):
        title = self.cleaned_data["title"].strip()
        if not title:
            raise forms.ValidationError("The title cannot be blank.")
        return title

    def clean(self):
        data = super().clean()
        when = data.get("scheduled_at")
        if when is not None:
            # The widget's value is naive local time; Django made it aware in UTC.
            offset = data.get("tz_offset") or 0
            when = when + timedelta(minutes=offset)
            if when < timezone.now() - timedelta(minutes=1):
                self.add_error("scheduled_at", "Pick a time in the future.")
            data["scheduled_at"] = when
        data.pop("tz_offset", None)
        return data

    def service_fields(self) -> dict:
        """cleaned_data as stream_create()/stream_update() keywords (empty optional values dropped)."""
        data = dict(self.cleaned_data)
        title = data.pop("title")
        if not data.get("thumbnail"):
            data.pop("thumbnail", None)
        if data.get("scheduled_at") is None:
            data.pop("scheduled_at", None)
        return {"title": title, **data}


class StreamDetailsForm(StreamForm):
    """The control room's "Edit details": what fans see about a stream, changeable until it is over.
    Chat and reaction settings have their own, live form."""

    field_order = ["title", "description", "scheduled_at", "thumbnail", "visibility", "quality_preset", "record"]

    def __init__(self, *args, stream: Stream, **kwargs):
        initial = {name: getattr(stream, name) for name in self.field_order if name != "thumbnail"}
        super().__init__(*args, initial=initial, **kwargs)
        for name in ("chat_enabled", "chat_mode", "reactions_enabled"):
            del self.fields[name]
        if stream.status in (Stream.Status.SCHEDULED, Stream.Status.PREPARING):
            self.fields["scheduled_at"].help_text = "In UTC."
        else:
            del self.fields["scheduled_at"]  # only a stream that has not started can move
        self.stream = stream

    def clean(self):
        data = super().clean()
        # The widget shows minutes: an untouched schedule comes back without its seconds.
        old, new = self.stream.scheduled_at, data.get("scheduled_at")
        if old and new and old.replace(second=0, microsecond=0) == new:
            self.errors.pop("scheduled_at", None)  # unchanged, even if the time has passed
            data["scheduled_at"] = old
        return data

    def changed_fields(self) -> dict:
        """Only what the artist changed."""
        fields = self.service_fields()
        return {name: value for name, value in fields.items() if getattr(self.stream, name) != value}


class StreamSettingsForm(forms.Form):
    """Live settings the control room can change while the stream runs."""

    chat_enabled = forms.BooleanField(required=False, label="Chat")
    chat_mode = forms.ChoiceField(choices=Stream.ChatMode.choices, label="Who can chat")
    reactions_enabled = forms.BooleanField(required=False, label="Reactions")


class BrowseForm(forms.Form):
    q = forms.CharField(required=False, max_length=100, label="Search")
    status = forms.ChoiceField(
        required=False, label="Show",
        choices=[("", "Everything"), ("live", "Live now"), ("upcoming", "Upcoming"), ("past", "Replays")],
    )
