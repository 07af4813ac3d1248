from django.apps import AppConfig


class StreamingConfig(AppConfig):
    name = "streaming"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from livestreams.signals import publisher_revoked

        publisher_revoked.connect(_kick_revoked_publisher, dispatch_uid="streaming.kick_revoked_publisher")
        publisher_revoked.connect(_stop_relays, dispatch_uid="streaming.stop_relays")


def _kick_revoked_publisher(sender, stream_id, playback_id, client_id, **kwargs):
    """The domain ended a stream whose encoder is connected: drop it. Sent after commit."""
    from streaming.tasks import ingest_kick_publisher_task

    ingest_kick_publisher_task.delay(stream_id=str(stream_id), playback_id=playback_id, client_id=client_id)


def _stop_relays(sender, stream_id, **kwargs):
    """The stream ended: stop its relays now rather than on the next beat pass. Sent after commit."""
    from streaming.tasks import relays_reconcile_task

    relays_reconcile_task.delay(stream_id=str(stream_id))
