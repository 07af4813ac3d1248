"""Ask the configured media server who it is and what it is receiving: a quick operator check that
Backline reaches it (the same requests the stats poll and reconciliation make)."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from streaming.media_servers import MediaServerError, get_media_server


class Command(BaseCommand):
    help = "Check that the configured media server answers, and list the streams it receives."

    def handle(self, *args, **options):
        server = get_media_server()
        try:
            version = server.version()
            streams = server.fetch_stats()
        except MediaServerError as exc:
            raise CommandError(f"{settings.MEDIA_SERVER}: {exc}") from exc
        self.stdout.write(f"{settings.MEDIA_SERVER}: {version}; {len(streams)} stream(s)")
        for s in streams:
            self.stdout.write(f"  {s.name}: {'publishing' if s.publishing else 'idle'} client={s.client_id or '-'} "
                              f"{s.width or '?'}x{s.height or '?'} {s.video_codec}/{s.audio_codec} "
                              f"{s.bitrate_kbps} kbps, {s.clients if s.clients is not None else '?'} player(s)")
