"""Thin Celery wrappers around livestreams services. Schedules: CELERY_BEAT_SCHEDULE in settings."""

from celery import shared_task


@shared_task
def viewer_sessions_reap() -> int:
    from livestreams.services.presence import viewer_sessions_reap  # avoids an import cycle

    return viewer_sessions_reap()


@shared_task
def reaction_tallies_persist() -> int:
    from livestreams.services.reactions import reaction_tallies_persist

    return reaction_tallies_persist()
