"""Signals the media plane listens to; the domain never imports the media plane."""

from django.dispatch import Signal

# Sent after commit when a stream stops being allowed to publish (ended by the artist or staff).
# kwargs: stream_id, playback_id, client_id
publisher_revoked = Signal()
