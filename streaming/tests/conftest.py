"""The media-plane fixtures (nginx_rtmp, media_server, encoder) live in fixtures.py so that other
apps can load them as a plugin; here they are made available to streaming's own tests."""

from streaming.tests.fixtures import encoder, media_server, nginx_rtmp  # noqa: F401
