import pytest
from django.apps import apps
from django.contrib import admin

from livestreams.models import Stream
from livestreams.tests.factories import LiveStreamFactory, StreamFactory

pytestmark = pytest.mark.django_db


def test_every_model_of_ours_is_in_admin():
    ours = [m for m in apps.get_models() if m._meta.app_label in {"accounts", "livestreams", "streaming"}]
    missing = [m.__name__ for m in ours if m not in admin.site._registry]
    assert not missing, f"not registered in admin: {missing}"


def test_every_admin_changelist_and_change_page_renders(client, staff, artist):
    stream = StreamFactory(artist=artist)
    client.force_login(staff)
    for model, model_admin in admin.site._registry.items():
        meta = model._meta
        url = f"/admin/{meta.app_label}/{meta.model_name}/"
        response = client.get(url)
        assert response.status_code == 200, url
        for query in ("?q=x", "?o=1"):
            assert client.get(url + query).status_code == 200, url + query
    change = client.get(f"/admin/livestreams/stream/{stream.pk}/change/")
    assert change.status_code == 200
    assert stream.stream_key not in change.content.decode()
    assert stream.stream_key[:4] in change.content.decode()  # the masked hint


def test_admin_actions_end_cancel_and_rotate(client, staff, django_capture_on_commit_callbacks):
    live, scheduled = LiveStreamFactory(), StreamFactory()
    old_key = scheduled.stream_key
    client.force_login(staff)
    url = "/admin/livestreams/stream/"
    with django_capture_on_commit_callbacks(execute=True):
        client.post(url, {"action": "end_streams", "_selected_action": [live.pk, scheduled.pk]})
        client.post(url, {"action": "rotate_keys", "_selected_action": [scheduled.pk]})
        response = client.post(url, {"action": "cancel_streams", "_selected_action": [scheduled.pk]}, follow=True)
    live.refresh_from_db()
    scheduled.refresh_from_db()
    assert live.status == Stream.Status.ENDED and scheduled.status == Stream.Status.CANCELLED
    assert scheduled.stream_key != old_key
    assert b"Cancelled 1 stream" in response.content


def test_admin_status_is_not_editable_by_hand(client, staff):
    stream = StreamFactory()
    client.force_login(staff)
    page = client.get(f"/admin/livestreams/stream/{stream.pk}/change/").content.decode()
    assert 'name="status"' not in page and 'name="stream_key"' not in page
