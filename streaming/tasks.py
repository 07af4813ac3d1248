"""Celery entry points of the media plane: each takes ids, calls one service. Schedules live in
config/settings/base.py (CELERY_BEAT_SCHEDULE)."""

from celery import shared_task


@shared_task(ignore_result=True)
def stats_poll_task() -> None:
    from streaming.stats import stats_poll

    stats_poll()


@shared_task(ignore_result=True)
def health_samples_prune_task() -> None:
    from streaming.stats import health_samples_prune

    health_samples_prune()


@shared_task(ignore_result=True)
def ingest_end_if_window_closed_task(stream_id: str) -> None:
    from streaming.services import ingest_end_if_window_closed

    ingest_end_if_window_closed(stream_id=stream_id)


@shared_task(ignore_result=True)
def ingest_close_expired_windows_task() -> None:
    from streaming.services import ingest_close_expired_windows

    ingest_close_expired_windows()


@shared_task(ignore_result=True)
def ingest_reconcile_task() -> None:
    import logging

    from streaming.media_servers import MediaServerError
    from streaming.services import ingest_reconcile

    try:
        ingest_reconcile()
    except MediaServerError as exc:  # unreachable: decide nothing, the next pass tries again
        logging.getLogger(__name__).warning("reconciliation skipped: %s", exc)


@shared_task(ignore_result=True)
def ingest_kick_publisher_task(stream_id: str, playback_id: str, client_id: str = "") -> None:
    import logging

    from streaming.media_servers import MediaServerError
    from streaming.services import ingest_kick_publisher

    try:
        ingest_kick_publisher(stream_id=stream_id, playback_id=playback_id, client_id=client_id)
    except MediaServerError as exc:
        # No retry loop here: the periodic reconciliation kicks any publisher the database does
        # not allow, so a media server that is down now is handled on its next pass.
        logging.getLogger(__name__).warning("stream %s: kick failed (%s); reconciliation will retry", stream_id, exc)


@shared_task(ignore_result=True)
def relays_reconcile_task(stream_id: str | None = None) -> None:
    from streaming.relays import relays_reconcile

    relays_reconcile(stream_id=stream_id)


@shared_task(ignore_result=True)
def replays_sweep_task() -> None:
    from streaming.replays import replays_sweep

    replays_sweep()


@shared_task(ignore_result=True)
def media_cleanup_task() -> None:
    from streaming.replays import media_cleanup

    media_cleanup()
