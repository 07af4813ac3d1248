import pytest

from accounts.models import User

pytestmark = pytest.mark.django_db


def test_signup_page_creates_an_artist_and_logs_in(client):
    assert client.get("/accounts/signup/").status_code == 200
    response = client.post("/accounts/signup/", {
        "username": "dj", "email": "dj@example.test", "password1": "a-long-enough-pass",
        "password2": "a-long-enough-pass", "role": "artist"})
    assert response.status_code == 302
    user = User.objects.get(username="dj")
    assert user.is_artist and user.channel.slug == "dj"
    assert client.get("/accounts/profile/").status_code == 200


def test_signup_page_shows_errors_and_writes_nothing(client):
    response = client.post("/accounts/signup/", {"username": "dj", "email": "nope", "password1": "a",
                                                 "password2": "b", "role": "artist"})
    assert response.status_code == 200 and b"Enter a valid email address" in response.content
    assert not User.objects.exists()


def test_login_logout(client, fan):
    response = client.post("/accounts/login/", {"username": "fan", "password": "a-long-test-password"})
    assert response.status_code == 302
    assert client.get("/accounts/profile/").status_code == 200
    client.post("/accounts/logout/")
    assert client.get("/accounts/profile/").status_code == 302


def test_fan_becomes_artist_from_profile(client, fan):
    client.force_login(fan)
    response = client.post("/accounts/profile/", {"become_artist": "1", "artist-slug": "fanband",
                                                  "artist-display_name": "Fan Band"})
    assert response.status_code == 302
    fan.refresh_from_db()
    assert fan.is_artist and fan.channel.display_name == "Fan Band"


def test_forms_need_csrf(fan):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    response = strict.post("/accounts/login/", {"username": "fan", "password": "a-long-test-password"})
    assert response.status_code == 403
