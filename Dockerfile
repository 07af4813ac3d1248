# One image for web (Daphne), worker and beat. Production-shaped: see docker-compose.yml.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    DJANGO_SETTINGS_MODULE=config.settings.production
# ffmpeg runs the relays (transcoding, recording, thumbnails); curl serves the health checks.
RUN apt-get update \
 && apt-get install -y --no-install-recommends ffmpeg curl \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --create-home --uid 10001 backline

WORKDIR /app
COPY requirements.txt .
RUN pip install -r requirements.txt
COPY . .
# collectstatic needs settings to import; these values never reach a running container.
RUN DJANGO_SECRET_KEY=build-only DJANGO_ALLOWED_HOSTS=build MEDIA_SERVER_CALLBACK_SECRET=build-only python manage.py collectstatic --noinput -v0 \
 && mkdir -p /app/var/media && chown -R backline /app/var

USER backline
EXPOSE 8000
CMD ["daphne", "-b", "0.0.0.0", "-p", "8000", "--proxy-headers", "config.asgi:application"]
