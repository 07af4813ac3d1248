"""Settings shared by every environment. Everything that differs between machines comes from the
environment (see .env.example); local/test/production only adjust this."""

import hashlib

from config.env import BASE_DIR, env

SECRET_KEY = env("DJANGO_SECRET_KEY", default="insecure-local-only-key-change-me")
DEBUG = env.bool("DJANGO_DEBUG", default=False)
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "daphne",  # must precede staticfiles: runserver becomes the ASGI server
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "channels",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI served from our static files, not a CDN
    "accounts",
    "livestreams",
    "streaming",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
ASGI_APPLICATION = "config.asgi.application"
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# https://django-environ.readthedocs.io/en/latest/types.html#environ-env-db-url
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL + a busy timeout: Daphne, the Celery worker and beat write to the same file.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
    }
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("DJANGO_CONN_MAX_AGE", default=60)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = env.path("DJANGO_STATIC_ROOT", default=BASE_DIR / "staticfiles")
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "/media/"
MEDIA_ROOT = env.path("DJANGO_MEDIA_ROOT", default=BASE_DIR / "var" / "media")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

# --- Redis, Channels, Celery -------------------------------------------------------------------
REDIS_URL = env("REDIS_URL", default="redis://127.0.0.1:6379/0")
# https://channels.readthedocs.io/en/latest/topics/channel_layers.html
CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        "CONFIG": {"hosts": [REDIS_URL]},
    }
}
CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
# https://docs.celeryq.dev/en/stable/userguide/configuration.html
CELERY_BROKER_URL = REDIS_URL
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TIMEZONE = TIME_ZONE
CELERY_TASK_TIME_LIMIT = 5 * 60
CELERY_TASK_SOFT_TIME_LIMIT = 60
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Every periodic task, in one place. Apps add their entries below their own section.
CELERY_BEAT_SCHEDULE: dict = {}

# --- REST API ---------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Token first: an anonymous API call then gets 401 with WWW-Authenticate, not 403.
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticatedOrReadOnly"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 20,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "config.exceptions.api_exception_handler",
    "DEFAULT_THROTTLE_RATES": {"auth": env("API_AUTH_THROTTLE", default="20/min")},
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Backline API",
    "DESCRIPTION": "Live streams, chat and the media plane of a self-hosted streaming platform.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# --- Public URLs and the media plane ------------------------------------------------------------
WEB_HOST = env("WEB_HOST", default="127.0.0.1")
WEB_PORT = env.int("WEB_PORT", default=8000)
# Where people reach the site; used for absolute links in the API (watch_url).
SITE_URL = (env("SITE_URL", default="") or f"http://{WEB_HOST}:{WEB_PORT}").rstrip("/")
MEDIA_SERVER = env("MEDIA_SERVER", default="nginx-rtmp")  # "nginx-rtmp" (local) or "srs" (docker-compose)
RTMP_HOST = env("RTMP_HOST", default="127.0.0.1")
RTMP_PORT = env.int("RTMP_PORT", default=1935)
RTMP_APP = env("RTMP_APP", default="live")
HLS_HOST = env("HLS_HOST", default="127.0.0.1")
HLS_PORT = env.int("HLS_PORT", default=8080)
# The OBS "Server" field.
RTMP_PUBLIC_URL = env("RTMP_PUBLIC_URL", default="") or f"rtmp://{RTMP_HOST}:{RTMP_PORT}/{RTMP_APP}"
# Playback URL; {playback_id} is the only thing substituted. Never contains the publish key.
HLS_URL_TEMPLATE = env("HLS_URL_TEMPLATE", default="") or f"http://{HLS_HOST}:{HLS_PORT}/hls/{{playback_id}}.m3u8"
# Where players fetch what the relays write under MEDIA_ROOT (ladders, replays, thumbnails): the
# media server's HTTP port serves MEDIA_ROOT at /media/ (nginx locally, SRS's http_server in compose).
MEDIA_PUBLIC_URL = env("MEDIA_PUBLIC_URL", default="") or f"http://{HLS_HOST}:{HLS_PORT}/media/"
# Playback URL while an adaptive-bitrate ladder runs: its master playlist, under MEDIA_PUBLIC_URL.
ABR_HLS_URL_TEMPLATE = env("ABR_HLS_URL_TEMPLATE", default="") or (
    MEDIA_PUBLIC_URL + "relays/{stream_id}/transcode/master.m3u8")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "filters": {"redact": {"()": "config.logging.RedactStreamKeys"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["redact"]}},
    "root": {"handlers": ["console"], "level": env("DJANGO_LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# --- Realtime ---------------------------------------------------------------------------------
# Channel layer flavour joining the Daphne processes: "pubsub" (measured better, docs/benchmarks.md) or "core".
REALTIME_CHANNEL_LAYER = env("REALTIME_CHANNEL_LAYER", default="pubsub")
if REALTIME_CHANNEL_LAYER == "pubsub":
    CHANNEL_LAYERS = {
        "default": {"BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer", "CONFIG": {"hosts": [REDIS_URL]}}
    }
# A stream's events are coalesced into one frame per socket at most every N ms (100-250 is sensible).
REALTIME_FRAME_MS = env.int("REALTIME_FRAME_MS", default=150)
# Reactions are summed into one burst event per stream per window.
REALTIME_REACTION_WINDOW_MS = env.int("REALTIME_REACTION_WINDOW_MS", default=250)
# Presence: each socket is refreshed in Redis every HEARTBEAT s and forgotten after TTL s without one.
REALTIME_PRESENCE_HEARTBEAT = env.int("REALTIME_PRESENCE_HEARTBEAT", default=15)
REALTIME_PRESENCE_TTL = env.int("REALTIME_PRESENCE_TTL", default=45)
# Per-user limits (all sockets and the API together): messages per 10 s, reactions per 1 s.
REALTIME_CHAT_PER_10S = env.int("REALTIME_CHAT_PER_10S", default=10)
REALTIME_REACTIONS_PER_S = env.int("REALTIME_REACTIONS_PER_S", default=20)
# Per-connection limit on incoming frames per second; FLOOD_FACTOR x that closes the socket (4429).
REALTIME_FRAMES_PER_S = env.int("REALTIME_FRAMES_PER_S", default=25)
REALTIME_FLOOD_FACTOR = env.int("REALTIME_FLOOD_FACTOR", default=4)
REALTIME_REACTION_EMOJI = ["❤️", "🔥", "👏", "😂", "😮", "🎉"]

# --- Media plane (ingest) ---------------------------------------------------------------------
# Shared secret the media server puts in every callback URL (/hooks/<server>/<secret>/). Derived
# from the Django secret key when unset so `make run` needs no configuration; set it explicitly
# when the media server's config is written elsewhere (docker-compose: SRS reads it from its env).
MEDIA_SERVER_CALLBACK_SECRET = env("MEDIA_SERVER_CALLBACK_SECRET", default="") or hashlib.sha256(
    f"backline-media-server-callbacks:{SECRET_KEY}".encode()
).hexdigest()[:40]
# Base URL the media server calls back (defaults to the local proxy).
MEDIA_SERVER_CALLBACK_BASE_URL = (env("MEDIA_SERVER_CALLBACK_BASE_URL", default="") or (
    f"http://{'127.0.0.1' if WEB_HOST in ('0.0.0.0', '::', '') else WEB_HOST}:{WEB_PORT}")).rstrip("/")
# Where `manage.py media_server_config` writes the generated nginx config, logs and HLS files.
MEDIA_SERVER_RUN_DIR = env.path("MEDIA_SERVER_RUN_DIR", default=BASE_DIR / "var" / "run" / "nginx")
# Loopback-only port of the generated nginx's /stat and /control (nginx-rtmp's stats and kick API).
NGINX_CONTROL_PORT = env.int("NGINX_CONTROL_PORT", default=8089)
NGINX_CONTROL_URL = env("NGINX_CONTROL_URL", default="") or f"http://127.0.0.1:{NGINX_CONTROL_PORT}"
# SRS HTTP API (docker-compose: http://srs:1985).
SRS_API_URL = env("SRS_API_URL", default="http://127.0.0.1:1985").rstrip("/")
# Timeout, in seconds, of every HTTP call Backline makes to the media server.
MEDIA_SERVER_HTTP_TIMEOUT = env.float("MEDIA_SERVER_HTTP_TIMEOUT", default=3.0)
# Seconds a live stream waits for its encoder to come back before it ends.
INGEST_RECONNECT_WINDOW = env.float("INGEST_RECONNECT_WINDOW", default=30.0)
# Seconds between two stats polls of the media server.
STATS_POLL_INTERVAL = env.float("STATS_POLL_INTERVAL", default=5.0)
# Hours health samples are kept.
STATS_SAMPLE_RETENTION_HOURS = env.int("STATS_SAMPLE_RETENTION_HOURS", default=24)
# Local web topology: the generated nginx proxies WEB_HOST:WEB_PORT to this many Daphne processes
# listening on 127.0.0.1:DAPHNE_BASE_PORT, DAPHNE_BASE_PORT+1, ...
WEB_WORKERS = env.int("WEB_WORKERS", default=2)
DAPHNE_BASE_PORT = env.int("DAPHNE_BASE_PORT", default=8100)
# --- Media plane (relays: FFmpeg supervised by streaming.relays) ------------------------------
# Seconds between two supervisor passes (start, restart, stop relays).
RELAYS_RECONCILE_INTERVAL = env.float("RELAYS_RECONCILE_INTERVAL", default=2.0)
# FFmpeg's logs, progress files and pidfiles, one folder per relay: never under MEDIA_ROOT, which the
# media server serves to anyone (a restream's log may name its destination). Local to each worker host.
RELAYS_WORK_ROOT = env.path("RELAYS_WORK_ROOT", default=BASE_DIR / "var" / "relays")
# Where relays read a live stream; {playback_id} is filled in. The media server on loopback.
RELAYS_INPUT_URL = env("RELAYS_INPUT_URL", default="") or f"rtmp://127.0.0.1:{RTMP_PORT}/{RTMP_APP}/{{playback_id}}"
# Restart backoff: BASE, 2*BASE, 4*BASE ... seconds, at most MAX; failed after MAX_FAILURES in a row.
RELAYS_BACKOFF_BASE = env.float("RELAYS_BACKOFF_BASE", default=1.0)
RELAYS_BACKOFF_MAX = env.float("RELAYS_BACKOFF_MAX", default=30.0)
RELAYS_MAX_FAILURES = env.int("RELAYS_MAX_FAILURES", default=10)
# A relay on another host is taken over once that host has not refreshed it for this many seconds.
RELAYS_HOST_STALE_SECONDS = env.float("RELAYS_HOST_STALE_SECONDS", default=30.0)
# Seconds a stopped relay's FFmpeg gets to close its outputs after SIGTERM before SIGKILL.
RELAYS_STOP_GRACE = env.float("RELAYS_STOP_GRACE", default=1.0)
# Length in seconds of a recording's segments: a recorder crash loses at most about one.
RELAYS_RECORD_SEGMENT_SECONDS = env.int("RELAYS_RECORD_SEGMENT_SECONDS", default=4)
# Seconds between two thumbnails of a live stream.
RELAYS_THUMBNAIL_INTERVAL = env.int("RELAYS_THUMBNAIL_INTERVAL", default=30)
CELERY_BEAT_SCHEDULE.update({
    "streaming-poll-stats": {"task": "streaming.tasks.stats_poll_task", "schedule": STATS_POLL_INTERVAL},
    "streaming-close-reconnect-windows": {"task": "streaming.tasks.ingest_close_expired_windows_task",
                                          "schedule": 5.0},
    "streaming-reconcile": {"task": "streaming.tasks.ingest_reconcile_task", "schedule": 30.0},
    "streaming-prune-samples": {"task": "streaming.tasks.health_samples_prune_task", "schedule": 3600.0},
    # Expires: passes queued while no worker runs are dropped, not replayed in a burst.
    "streaming-relays-reconcile": {"task": "streaming.tasks.relays_reconcile_task",
                                   "schedule": RELAYS_RECONCILE_INTERVAL,
                                   "options": {"expires": RELAYS_RECONCILE_INTERVAL * 2}},
})
CELERY_BEAT_SCHEDULE["livestreams-viewer-sessions-reap"] = {
    "task": "livestreams.tasks.viewer_sessions_reap", "schedule": 60.0,
}
CELERY_BEAT_SCHEDULE["livestreams-reaction-tallies-persist"] = {
    "task": "livestreams.tasks.reaction_tallies_persist", "schedule": 60.0,
}
# --- Replays (streaming.replays: recordings -> MP4) ---------------------------------------------
# Seconds between two replay sweeps (build the replays of ended, recorded streams).
REPLAYS_SWEEP_INTERVAL = env.float("REPLAYS_SWEEP_INTERVAL", default=5.0)
# A replay still "processing" with no progress for this long lost its worker: another sweep rebuilds it.
REPLAYS_STALE_SECONDS = env.float("REPLAYS_STALE_SECONDS", default=600.0)
# Longest one remux may run, in seconds.
REPLAYS_FFMPEG_TIMEOUT = env.float("REPLAYS_FFMPEG_TIMEOUT", default=3600.0)
# Seconds between two sweeps of media folders whose stream was deleted.
MEDIA_CLEANUP_INTERVAL = env.float("MEDIA_CLEANUP_INTERVAL", default=3600.0)
CELERY_BEAT_SCHEDULE["streaming-replays-sweep"] = {
    # Expires: a long build holds the worker; the passes queued meanwhile are dropped, not stacked.
    "task": "streaming.tasks.replays_sweep_task", "schedule": REPLAYS_SWEEP_INTERVAL,
    "options": {"expires": REPLAYS_SWEEP_INTERVAL * 2},
}
CELERY_BEAT_SCHEDULE["streaming-media-cleanup"] = {
    "task": "streaming.tasks.media_cleanup_task", "schedule": MEDIA_CLEANUP_INTERVAL,
}
