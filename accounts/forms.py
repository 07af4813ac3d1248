from django import forms
from django.contrib.auth.forms import UserCreationForm

from accounts.models import Channel, User


class SignupForm(UserCreationForm):
    email = forms.EmailField(max_length=254)
    role = forms.ChoiceField(choices=User.Role.choices, initial=User.Role.FAN, widget=forms.RadioSelect,
                             label="I am joining as")

    class Meta(UserCreationForm.Meta):
        model = User
        fields = ("username", "email")

    def clean_email(self):
        email = self.cleaned_data["email"].lower()
        if User.objects.filter(email__iexact=email).exists():
            raise forms.ValidationError("An account with that email exists.")
        return email


class ChannelForm(forms.ModelForm):
    class Meta:
        model = Channel
        fields = ("display_name", "bio", "avatar")


class BecomeArtistForm(forms.Form):
    slug = forms.SlugField(max_length=50, label="Channel address (backline/@...)")
    display_name = forms.CharField(max_length=80)

    def clean_slug(self):
        slug = self.cleaned_data["slug"].lower()
        if Channel.objects.filter(slug=slug).exists():
            raise forms.ValidationError("That channel name is taken.")
        return slug
