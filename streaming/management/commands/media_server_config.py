"""Write the media-server configuration from settings: the local nginx (nginx-rtmp, HLS, stats and
control, and the web proxy) into MEDIA_SERVER_RUN_DIR, and deploy/srs/srs.conf for docker-compose."""

import os
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand

from streaming.media_server_conf import SRS_HOOKS, NginxLayout, render_nginx_conf, render_srs_conf


class Command(BaseCommand):
    help = "Generate the nginx-rtmp config (local stack) and deploy/srs/srs.conf (docker-compose)."

    def add_arguments(self, parser):
        parser.add_argument("--no-srs", action="store_true", help="Only write the nginx config.")
        parser.add_argument("--exec", action="store_true", help="Then replace this process with nginx (Procfile).")

    def handle(self, *args, no_srs=False, **options):
        layout = NginxLayout.from_settings()
        layout.make_dirs()
        layout.conf_path.write_text(render_nginx_conf(layout))
        self.stdout.write(f"nginx config: {layout.conf_path}")
        self.stdout.write(f"  start it:   {' '.join(layout.command())}")
        if not no_srs:
            srs_conf = Path(settings.BASE_DIR) / "deploy" / "srs" / "srs.conf"
            srs_conf.parent.mkdir(parents=True, exist_ok=True)
            srs_conf.write_text(render_srs_conf())
            self.stdout.write(f"SRS config:   {srs_conf} (hook URLs from the srs service's environment: "
                              f"{', '.join('SRS_VHOST_HTTP_HOOKS_' + h.upper() for h in SRS_HOOKS)})")
        if options["exec"]:
            self.stdout.flush()
            command = layout.command()
            os.execvp(command[0], command)
