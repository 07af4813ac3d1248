"""Studio forms of the media plane. They only parse input; writes go through streaming.destinations."""

from django import forms

from streaming.destinations import validate_rtmp_url
from streaming.models import RestreamDestination


class RestreamDestinationForm(forms.Form):
    """Add or edit a destination. The key input never renders a value (not even the one just
    typed after an error): once saved, the key is only ever shown masked. On edit a blank key
    keeps the saved one."""

    name = forms.CharField(max_length=80, help_text="For you, e.g. “YouTube” or “Twitch”.")
    rtmp_url = forms.CharField(max_length=300, label="RTMP URL", validators=[validate_rtmp_url],
                               widget=forms.TextInput(attrs={"placeholder": "rtmp://a.rtmp.youtube.com/live2",
                                                             "inputmode": "url", "spellcheck": "false"}),
                               help_text="The service's server address: rtmp:// or rtmps://.")
    stream_key = forms.CharField(max_length=300, label="Stream key", strip=True,
                                 widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}))
    enabled = forms.BooleanField(required=False, initial=True, label="Enabled")

    def __init__(self, *args, destination: RestreamDestination | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.destination = destination
        if destination is not None:
            self.fields["stream_key"].required = False
            self.fields["stream_key"].help_text = f"Saved: {destination.masked_key}. Leave empty to keep it."
            for name in ("name", "rtmp_url", "enabled"):
                self.fields[name].initial = getattr(destination, name)


class _DestinationChoiceField(forms.ModelMultipleChoiceField):
    def _check_values(self, value):
        # Refuse ids the database cannot hold before querying: SQLite raises OverflowError,
        # PostgreSQL a DataError, and either would be a 500 instead of "not one of the choices".
        for pk in value:
            if not (str(pk).isdigit() and 0 < int(pk) < 2**31):
                raise forms.ValidationError(self.error_messages["invalid_choice"], code="invalid_choice",
                                            params={"value": pk})
        return super()._check_values(value)


class StreamDestinationsForm(forms.Form):
    """Which of the artist's destinations simulcast one stream. Choices are that artist's
    destinations only, so another artist's id is an invalid choice and nothing is written."""

    destinations = _DestinationChoiceField(queryset=RestreamDestination.objects.none(), required=False,
                                           widget=forms.CheckboxSelectMultiple, label="Simulcast to")

    def __init__(self, *args, artist, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["destinations"].queryset = RestreamDestination.objects.filter(artist=artist).order_by("name")
        self.fields["destinations"].label_from_instance = (
            lambda d: d.name if d.enabled else f"{d.name} (disabled)")
