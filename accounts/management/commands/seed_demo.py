"""Creates (once) a demo artist, a demo fan, a staff user and a scheduled demo stream, and prints
how to log in and go live. Safe to run on every start: existing users keep their passwords."""

import secrets
from datetime import timedelta

from django.conf import settings
from django.core.management.base import BaseCommand
from django.utils import timezone

from accounts.models import User
from accounts.services import user_signup
from livestreams.models import Stream
from livestreams.services import stream_create

PASSWORD_FILE = settings.BASE_DIR / "var" / "demo-passwords.txt"


class Command(BaseCommand):
    help = "Seed demo users and a scheduled stream for local use."

    def handle(self, *args, **options):
        PASSWORD_FILE.parent.mkdir(parents=True, exist_ok=True)
        saved = dict(line.split(" ", 1) for line in PASSWORD_FILE.read_text().splitlines()) if PASSWORD_FILE.exists() else {}
        accounts = [("demo-artist", User.Role.ARTIST, False), ("demo-fan", User.Role.FAN, False),
                    ("admin", User.Role.FAN, True)]
        for username, role, is_staff in accounts:
            if not User.objects.filter(username=username).exists():
                password = secrets.token_urlsafe(9)
                user = user_signup(username=username, email=f"{username}@backline.local", password=password, role=role)
                if is_staff:
                    user.is_staff = user.is_superuser = True
                    user.save(update_fields=["is_staff", "is_superuser"])
                saved[username] = password
        PASSWORD_FILE.write_text("".join(f"{name} {pw}\n" for name, pw in saved.items()))
        PASSWORD_FILE.chmod(0o600)

        artist = User.objects.get(username="demo-artist")
        # A stream left live by an earlier run is ended by the reconnect sweep: offer a fresh one.
        stream = artist.streams.filter(status__in=[Stream.Status.SCHEDULED, Stream.Status.PREPARING]).first()
        if stream is None:
            stream = stream_create(artist=artist, title="Demo set: first light",
                                   description="A scheduled demo stream. Point OBS (or ffmpeg) at it.",
                                   scheduled_at=timezone.now() + timedelta(minutes=30))
        site = settings.SITE_URL
        lines = [
            "",
            "Backline demo accounts (passwords kept in var/demo-passwords.txt):",
            *(f"  {name:<12} {saved.get(name, '(set earlier)')}" for name, _, _ in accounts),
            f"Site:        {site}/   admin: {site}/admin/   API docs: {site}/api/docs/",
            f"Demo stream: {site}{stream.get_absolute_url()}",
            f"OBS Server:  {stream.rtmp_url}",
            f"OBS Key:     {stream.obs_stream_key}",
            "Or publish a test pattern with ffmpeg:",
            f"  ffmpeg -re -f lavfi -i testsrc2=size=1280x720:rate=30 -f lavfi -i sine=frequency=440 "
            f"-c:v libx264 -preset veryfast -tune zerolatency -g 30 -pix_fmt yuv420p -c:a aac "
            f"-f flv '{stream.rtmp_url}/{stream.obs_stream_key}'",
            "",
        ]
        self.stdout.write("\n".join(lines))
