import logging

import pytest

from streaming.testing import free_port

pytestmark = pytest.mark.django_db


def test_health_is_ok_with_a_real_redis(client, settings, redis_server):
    settings.REDIS_URL = redis_server
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "redis": "ok"}


def test_health_is_503_when_redis_is_down(client, settings):
    settings.REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    response = client.get("/health")
    assert response.status_code == 503
    body = response.json()
    assert body["database"] == "ok" and body["redis"].startswith("down")


def test_stream_keys_are_redacted_from_logs(caplog):
    from config.logging import RedactStreamKeys

    logger = logging.getLogger("backline.test")
    logger.addFilter(RedactStreamKeys())
    with caplog.at_level(logging.INFO, logger="backline.test"):
        logger.info("publish rtmp://h/live/abc?key=%s from %s", "s3cr3t-value", "1.2.3.4")
        logger.info("form app=live&name=abc&key=s3cr3t-value&x=1")
    text = caplog.text
    assert "s3cr3t-value" not in text
    assert text.count("key=[redacted]") == 2 and "1.2.3.4" in text
