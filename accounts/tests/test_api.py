import pytest
from rest_framework.authtoken.models import Token

from accounts.models import Channel, Follow, User

pytestmark = pytest.mark.django_db

GOOD = {"username": "newartist", "email": "New@Example.test", "password": "a-long-enough-pass", "role": "artist"}


@pytest.mark.parametrize("role", ["fan", "artist"])
def test_signup_returns_user_and_working_token(api, role):
    response = api.post("/api/v1/auth/signup/", {**GOOD, "role": role}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["user"]["username"] == "newartist" and body["user"]["role"] == role
    assert body["user"]["email"] == "new@example.test"
    assert "password" not in body["user"]
    assert Token.objects.get(user__username="newartist").key == body["token"]
    assert (body["user"]["channel"] is not None) == (role == "artist")
    api.credentials(HTTP_AUTHORIZATION=f"Token {body['token']}")
    assert api.get("/api/v1/me/").json()["username"] == "newartist"


@pytest.mark.parametrize(("change", "field"), [
    ({"username": None}, "username"),
    ({"username": ""}, "username"),
    ({"username": "x" * 151}, "username"),
    ({"username": "bad name!"}, "username"),
    ({"email": "not-an-email"}, "email"),
    ({"email": None}, "email"),
    ({"password": "short"}, "password"),
    ({"password": "password123"}, "password"),
    ({"password": "x" * 129}, "password"),
    ({"role": "admin"}, "role"),
    ({"role": ["artist"]}, "role"),
])
def test_signup_rejects_bad_input_per_field(api, change, field):
    payload = {k: v for k, v in {**GOOD, **change}.items() if v is not None}
    response = api.post("/api/v1/auth/signup/", payload, format="json")
    assert response.status_code == 400
    assert field in response.json() and response.json()[field][0]
    assert User.objects.count() == 0 and Channel.objects.count() == 0


def test_signup_refuses_taken_username_and_email(api, fan):
    for change, field in (({"username": "FAN"}, "username"), ({"email": fan.email.upper()}, "email")):
        response = api.post("/api/v1/auth/signup/", {**GOOD, **change}, format="json")
        assert response.status_code == 400 and field in response.json()
    assert User.objects.count() == 1


def test_token_endpoint(api, fan):
    ok = api.post("/api/v1/auth/token/", {"username": "fan", "password": "a-long-test-password"}, format="json")
    assert ok.status_code == 200 and ok.json()["token"] == Token.objects.get(user=fan).key
    bad = api.post("/api/v1/auth/token/", {"username": "fan", "password": "wrong"}, format="json")
    assert bad.status_code == 400 and "token" not in bad.json()
    missing = api.post("/api/v1/auth/token/", {}, format="json")
    assert set(missing.json()) == {"username", "password"}


def test_session_and_token_both_authenticate(api, client, fan):
    client.force_login(fan)
    assert client.get("/api/v1/me/").json()["username"] == "fan"
    assert api.get("/api/v1/me/").status_code == 401


def test_fan_becomes_artist_with_a_channel(client_for, fan):
    response = client_for(fan).post("/api/v1/me/become-artist/", {"slug": "fan-band", "display_name": "Fan Band"},
                                    format="json")
    assert response.status_code == 200
    fan.refresh_from_db()
    assert fan.is_artist and fan.channel.slug == "fan-band"
    created = client_for(fan).post("/api/v1/livestreams/", {"title": "First"}, format="json")
    assert created.status_code == 201


def test_become_artist_rejects_a_taken_slug(client_for, fan, artist):
    response = client_for(fan).post("/api/v1/me/become-artist/", {"slug": artist.channel.slug}, format="json")
    assert response.status_code == 400 and "slug" in response.json()
    fan.refresh_from_db()
    assert not fan.is_artist


def test_follow_and_unfollow(client_for, api, fan, artist):
    client = client_for(fan)
    assert api.post(f"/api/v1/artists/{artist.channel.slug}/follow/").status_code == 401
    assert client.post(f"/api/v1/artists/{artist.channel.slug}/follow/").status_code == 201
    assert client.post(f"/api/v1/artists/{artist.channel.slug}/follow/").status_code == 201  # idempotent
    assert Follow.objects.filter(follower=fan).count() == 1
    detail = client.get(f"/api/v1/artists/{artist.channel.slug}/").json()
    assert detail["following"] is True and detail["follower_count"] == 1
    assert [c["slug"] for c in client.get("/api/v1/me/follows/").json()] == [artist.channel.slug]
    assert client.delete(f"/api/v1/artists/{artist.channel.slug}/follow/").status_code == 204
    assert not Follow.objects.exists()
    assert client.post("/api/v1/artists/nobody/follow/").status_code == 404


def test_artist_cannot_follow_themselves(client_for, artist):
    response = client_for(artist).post(f"/api/v1/artists/{artist.channel.slug}/follow/")
    assert response.status_code == 400 and not Follow.objects.exists()


def test_channel_edit_is_owner_only(client_for, artist, other_artist):
    url = f"/api/v1/artists/{artist.channel.slug}/"
    assert client_for(other_artist).patch(url, {"bio": "hacked"}, format="json").status_code == 403
    assert client_for(artist).patch(url, {"bio": "x" * 2001}, format="json").status_code == 400
    assert client_for(artist).patch(url, {"bio": "Synths."}, format="json").json()["bio"] == "Synths."
