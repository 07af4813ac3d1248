from .base import *  # noqa: F403

DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
CELERY_TASK_ALWAYS_EAGER = True
CELERY_TASK_EAGER_PROPAGATES = True
CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
REST_FRAMEWORK = {**REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"auth": "1000/min"}}  # noqa: F405
# Serve static files from the apps and static/ directly: tests never run collectstatic.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    # A file, not memory: the realtime test's Daphne subprocesses share the test database, and the
    # media plane's live_server tests get nginx callbacks in the server thread while the test thread
    # queries (an in-memory database would be one connection shared by both threads). One
    # file per pytest process, so parallel runs on one machine do not collide.
    import os as _os
    import tempfile as _tempfile

    DATABASES["default"]["TEST"] = {  # noqa: F405
        "NAME": _os.path.join(_tempfile.gettempdir(), f"backline-test-{_os.getpid()}.sqlite3")
    }

# Relays and replays write under MEDIA_ROOT and RELAYS_WORK_ROOT: never into the checkout's var/.
# The browser tests' Celery and Daphne subprocesses inherit the variables, so they all share them.
import os as _os  # noqa: E402
import tempfile as _tempfile  # noqa: E402
from pathlib import Path as _Path  # noqa: E402

if "DJANGO_MEDIA_ROOT" not in _os.environ:
    _root = _tempfile.mkdtemp(prefix="backline-test-media-")
    _os.environ["DJANGO_MEDIA_ROOT"] = _os.path.join(_root, "media")
    _os.mkdir(_os.environ["DJANGO_MEDIA_ROOT"])
    _os.environ["RELAYS_WORK_ROOT"] = _os.path.join(_root, "relays")
    # conftest removes the folder when the session ends; subprocesses see the variables and keep it.
    _os.environ["BACKLINE_TEST_MEDIA_OWNER"] = f"{_os.getpid()}:{_root}"
MEDIA_ROOT = _Path(_os.environ["DJANGO_MEDIA_ROOT"])
RELAYS_WORK_ROOT = _Path(_os.environ.get("RELAYS_WORK_ROOT", MEDIA_ROOT.parent / "relays"))
