"""Media-server configuration generated from Backline's settings: nginx with nginx-rtmp for the
local stack (plus the local web proxy in front of the Daphne processes), and srs.conf for the
docker-compose `srs` service. Nothing is edited by hand; `manage.py media_server_config` writes both.
"""

import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

RTMP_MODULE = "/usr/lib/nginx/modules/ngx_rtmp_module.so"
# Low-latency HLS: 1 s fragments (the encoder's keyframe interval), a 4 s playlist, old ones deleted.
HLS_FRAGMENT_SECONDS = 1
HLS_PLAYLIST_SECONDS = 4
SRS_CALLBACK_BASE_URL = "http://web:8000"
SRS_HOOKS = ("on_publish", "on_unpublish", "on_play", "on_stop", "on_hls")
# In the committed srs.conf the hooks point at a path that fails authentication: SRS gets the real
# URLs (with the secret) from SRS_VHOST_HTTP_HOOKS_* variables, so an unset secret refuses every
# publish instead of accepting them.
SRS_SECRET_PLACEHOLDER = "set-SRS_VHOST_HTTP_HOOKS-env"


def _listen_host(host: str) -> str:
    """A host nginx can bind: an IP literal as given, anything else (a DNS name) on every interface."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return "0.0.0.0"
    return f"[{address}]" if address.version == 6 else str(address)


@dataclass
class NginxLayout:
    """Where the generated nginx listens and keeps its files. `web_port=None` leaves out the web
    proxy (the test fixtures run only the media part)."""

    run_dir: Path
    rtmp_host: str
    rtmp_port: int
    hls_host: str
    hls_port: int
    control_port: int
    callback_base_url: str
    callback_secret: str
    app: str
    web_host: str = "127.0.0.1"
    web_port: int | None = None
    daphne_ports: tuple[int, ...] = ()
    media_root: Path | None = None  # served at /media/ (ladders, recordings, thumbnails); None: not served

    @classmethod
    def from_settings(cls, **overrides) -> "NginxLayout":
        values = dict(
            run_dir=Path(settings.MEDIA_SERVER_RUN_DIR), rtmp_host=settings.RTMP_HOST, rtmp_port=settings.RTMP_PORT,
            hls_host=settings.HLS_HOST, hls_port=settings.HLS_PORT, control_port=settings.NGINX_CONTROL_PORT,
            callback_base_url=settings.MEDIA_SERVER_CALLBACK_BASE_URL,
            callback_secret=settings.MEDIA_SERVER_CALLBACK_SECRET, app=settings.RTMP_APP,
            web_host=settings.WEB_HOST, web_port=settings.WEB_PORT,
            daphne_ports=tuple(settings.DAPHNE_BASE_PORT + i for i in range(max(1, settings.WEB_WORKERS))),
            media_root=Path(settings.MEDIA_ROOT),
        )
        values.update(overrides)
        # nginx resolves relative paths against its prefix: hand it absolute ones.
        values["run_dir"] = Path(values["run_dir"]).resolve()
        if values["media_root"] is not None:
            values["media_root"] = Path(values["media_root"]).resolve()
        return cls(**values)

    @property
    def conf_path(self) -> Path:
        return self.run_dir / "nginx.conf"

    @property
    def www_dir(self) -> Path:
        return self.run_dir / "www"

    @property
    def hls_dir(self) -> Path:
        return self.www_dir / "hls"

    @property
    def callback_url(self) -> str:
        return f"{self.callback_base_url.rstrip('/')}/hooks/nginx-rtmp/{self.callback_secret}/"

    def make_dirs(self) -> None:
        for path in (self.run_dir / "logs", self.run_dir / "temp", self.hls_dir):
            path.mkdir(parents=True, exist_ok=True)

    def command(self) -> list[str]:
        """The foreground nginx; `-e stderr`: start-up errors too go to our log, not /var/log/nginx."""
        return ["nginx", "-p", str(self.run_dir), "-c", str(self.conf_path), "-e", "stderr"]


_CORS = """add_header Access-Control-Allow-Origin "*" always;
                add_header Access-Control-Allow-Methods "GET, HEAD, OPTIONS" always;
                add_header Access-Control-Allow-Headers "Range" always;
                add_header Access-Control-Expose-Headers "Content-Length, Content-Range" always;"""


def _media_location(media_root: Path | None) -> str:
    if media_root is None:
        return ""
    # Only media by extension: the relays keep FFmpeg's logs and pidfiles next to their outputs,
    # and a restream's log may name its destination (a secret). No directory listing (autoindex off).
    return f"""
        # MEDIA_ROOT: transcode ladders, recordings, replays, thumbnails (MEDIA_PUBLIC_URL).
        location /media/ {{
            alias {media_root}/;
            autoindex off;
            types {{ application/vnd.apple.mpegurl m3u8; video/mp2t ts; video/mp4 mp4 m4s; image/jpeg jpg jpeg;
                    image/png png; image/webp webp; }}
            location ~ \\.m3u8$ {{
                add_header Cache-Control "no-cache, no-store, must-revalidate" always;
                {_CORS}
                if ($request_method = OPTIONS) {{ return 204; }}
            }}
            location ~ \\.(ts|mp4|m4s)$ {{
                add_header Cache-Control "public, max-age=60" always;
                {_CORS}
                if ($request_method = OPTIONS) {{ return 204; }}
            }}
            location ~ \\.(jpe?g|png|webp)$ {{
                # The live thumbnail is rewritten every RELAYS_THUMBNAIL_INTERVAL seconds.
                add_header Cache-Control "public, max-age=10" always;
                {_CORS}
            }}
            return 404;
        }}"""


def render_nginx_conf(layout: NginxLayout) -> str:
    run, temp, cb = layout.run_dir, layout.run_dir / "temp", layout.callback_url
    # The master runs as root under `make run` on a fresh Debian machine; its workers must write the
    # HLS files into our run folder, which Debian's default worker user (nobody) cannot.
    user = "user root;" if os.geteuid() == 0 else "# not root: workers run as the current user"
    web = ""
    if layout.web_port is not None and layout.daphne_ports:
        upstreams = "\n".join(f"        server 127.0.0.1:{port} max_fails=1 fail_timeout=2s;"
                              for port in layout.daphne_ports)
        web = f"""
    # The site: one local entry point in front of {len(layout.daphne_ports)} Daphne process(es) (scripts/run-web.sh).
    upstream backline_web {{
{upstreams}
        keepalive 16;
    }}
    server {{
        listen {_listen_host(layout.web_host)}:{layout.web_port};
        client_max_body_size 10m;
        location / {{
            proxy_pass http://backline_web;
            proxy_http_version 1.1;
            proxy_set_header Host $http_host;
            proxy_set_header X-Real-IP $remote_addr;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection $connection_upgrade;
            # WebSockets stay open for hours; Daphne pings them.
            proxy_read_timeout 1h;
            proxy_send_timeout 1h;
            proxy_next_upstream error timeout http_502;
        }}
    }}
"""
    return f"""# Generated by `manage.py media_server_config` from Backline's settings. Do not edit: re-run it.
load_module {RTMP_MODULE};
{user}
daemon off;
master_process on;
worker_processes 1;
pid {run}/nginx.pid;
error_log stderr warn;
events {{ worker_connections 1024; }}

rtmp {{
    server {{
        listen {_listen_host(layout.rtmp_host)}:{layout.rtmp_port};
        chunk_size 4096;
        notify_method post;
        application {layout.app} {{
            live on;
            record off;
            wait_key on;
            # A publisher that sends nothing for this long is dropped (its unpublish follows).
            drop_idle_publisher 10s;
            hls on;
            hls_path {layout.hls_dir};
            hls_fragment {HLS_FRAGMENT_SECONDS}s;
            hls_playlist_length {HLS_PLAYLIST_SECONDS}s;
            hls_cleanup on;
            hls_nested off;
            # Backline decides: each callback carries the shared secret in its URL.
            on_publish {cb};
            on_publish_done {cb};
            on_play {cb};
            on_play_done {cb};
        }}
    }}
}}

http {{
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    sendfile on;
    tcp_nopush on;
    access_log off;
    client_body_temp_path {temp}/body;
    proxy_temp_path {temp}/proxy;
    fastcgi_temp_path {temp}/fastcgi;
    uwsgi_temp_path {temp}/uwsgi;
    scgi_temp_path {temp}/scgi;
    map $http_upgrade $connection_upgrade {{ default upgrade; "" ""; }}

    # HLS for players, under the playback id (the publish key never names a file).
    server {{
        listen {_listen_host(layout.hls_host)}:{layout.hls_port};
        root {layout.www_dir};
        location /hls/ {{
            types {{ application/vnd.apple.mpegurl m3u8; video/mp2t ts; }}
            location ~ \\.m3u8$ {{
                # Playlists change every second: never cached.
                add_header Cache-Control "no-cache, no-store, must-revalidate" always;
                {_CORS}
                if ($request_method = OPTIONS) {{ return 204; }}
            }}
            location ~ \\.ts$ {{
                # Fragments never change once listed.
                add_header Cache-Control "public, max-age=60" always;
                {_CORS}
                if ($request_method = OPTIONS) {{ return 204; }}
            }}
            {_CORS}
            if ($request_method = OPTIONS) {{ return 204; }}
        }}{_media_location(layout.media_root)}
        location / {{ return 404; }}
    }}

    # Stats and the kick API, for Backline only: loopback, never published.
    server {{
        listen 127.0.0.1:{layout.control_port};
        allow 127.0.0.1;
        deny all;
        location /stat {{ rtmp_stat all; }}
        location /control {{ rtmp_control all; }}
        location / {{ return 404; }}
    }}
{web}}}
"""


def render_srs_conf(*, callback_base_url: str = SRS_CALLBACK_BASE_URL) -> str:
    hooks = "\n".join(
        f"        {hook:<14}{callback_base_url}/hooks/srs/{SRS_SECRET_PLACEHOLDER}/;" for hook in SRS_HOOKS)
    env_lines = "\n".join(f"#   SRS_VHOST_HTTP_HOOKS_{hook.upper()}={callback_base_url}/hooks/srs/<secret>/"
                          for hook in SRS_HOOKS)
    return f"""# Generated by `manage.py media_server_config` from Backline's settings. Do not edit: re-run it.
# SRS 5/6 for the docker-compose `srs` service (image ossrs/srs:5), mounted at
# /usr/local/srs/conf/backline.conf. The hook URLs below carry no secret on purpose: SRS reads
# the real ones from its environment (SRS overrides config values by env), with <secret> =
# MEDIA_SERVER_CALLBACK_SECRET, and until they are set every publish is refused:
{env_lines}
listen              1935;
max_connections     1000;
daemon              off;
srs_log_tank        console;

http_api {{
    enabled         on;
    listen          1985;
}}

http_server {{
    enabled         on;
    listen          8080;
    dir             ./objs/nginx/html;
}}

vhost __defaultVhost__ {{
    tcp_nodelay     on;
    min_latency     on;
    publish {{
        mr          off;
    }}
    play {{
        gop_cache   off;
        queue_length 10;
        mw_latency  100;
    }}
    # HLS at http://<host>:8080/hls/<playback_id>.m3u8, the same path as the local nginx. MEDIA_ROOT
    # (ladders, replays, thumbnails) is mounted read-only at ./objs/nginx/html/media by
    # docker-compose, so http://<host>:8080/media/ is MEDIA_PUBLIC_URL here too.
    hls {{
        enabled         on;
        hls_path        ./objs/nginx/html;
        hls_m3u8_file   hls/[stream].m3u8;
        hls_ts_file     hls/[stream]-[seq].ts;
        hls_fragment    2;
        hls_window      10;
        hls_wait_keyframe on;
        hls_cleanup     on;
        hls_dispose     30;
        # Plain media playlists: no per-player master playlist and session ids.
        hls_ctx         off;
        hls_ts_ctx      off;
    }}
    # HTTP-FLV at http://<host>:8080/live/<playback_id>.flv
    http_remux {{
        enabled     on;
        mount       [vhost]/[app]/[stream].flv;
    }}
    http_hooks {{
        enabled         on;
{hooks}
    }}
}}
"""
