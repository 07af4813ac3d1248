"""The nginx-rtmp adapter's /stat parsing against captured XML, and the generated config checked by
the real nginx binary (the live behaviour is in test_ingest_nginx_rtmp.py)."""

import os
import subprocess
from pathlib import Path

import pytest
from django.conf import settings

from streaming.media_server_conf import NginxLayout, render_nginx_conf, render_srs_conf
from streaming.media_servers.nginx_rtmp import NginxRtmpServer

CAPTURED = Path(__file__).parent / "captured" / "nginx-rtmp"


def stat(name):
    return NginxRtmpServer.parse_stat((CAPTURED / name).read_bytes())


def test_stat_with_a_player():
    [s] = stat("stat_publishing_with_player.xml")
    assert (s.name, s.publishing, s.client_id) == ("K5", True, "22")  # the <client> with <publishing/>
    assert (s.bitrate_kbps, s.bytes_in, s.fps) == (1021, 2339334, 30.0)
    assert (s.width, s.height, s.video_codec, s.audio_codec) == (1280, 720, "H264", "AAC")
    assert (s.uptime_seconds, s.clients) == (21, 1)


def test_stat_in_the_first_ten_seconds_reads_zero_bandwidth():
    [s] = stat("stat_publishing_first_10s_bw_zero.xml")
    assert (s.bitrate_kbps, s.bytes_in, s.width, s.height, s.clients) == (0, 608081, 640, 360, 0)


def test_stat_counts_rtmp_players_but_not_hls_fetches():
    [s] = stat("stat_with_rtmp_player_and_hls_fetches.xml")
    assert s.clients == 1 and s.client_id == "229"


def test_stat_after_the_publisher_left_lists_nothing():
    assert stat("stat_after_publish.xml") == []


def test_stat_of_another_application_is_ignored(settings):
    settings.RTMP_APP = "other"
    assert stat("stat_while_publishing.xml") == []


def _layout(tmp_path, **kw):
    return NginxLayout.from_settings(run_dir=tmp_path, rtmp_port=19351, hls_port=18081, control_port=18089,
                                     web_port=18000, daphne_ports=(18100, 18101), **kw)


def test_generated_nginx_config_is_valid_for_the_real_nginx(tmp_path):
    layout = _layout(tmp_path)
    layout.make_dirs()
    conf = render_nginx_conf(layout)
    layout.conf_path.write_text(conf)
    result = subprocess.run(["nginx", "-t", *layout.command()[1:]], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    assert f"/hooks/nginx-rtmp/{settings.MEDIA_SERVER_CALLBACK_SECRET}/" in conf
    assert "hls_fragment 1s;" in conf and "hls_playlist_length 4s;" in conf and "hls_cleanup on;" in conf
    assert "listen 127.0.0.1:18089;" in conf and "deny all;" in conf  # /stat and /control: loopback only
    assert "server 127.0.0.1:18100" in conf and "server 127.0.0.1:18101" in conf
    assert "proxy_set_header Upgrade $http_upgrade;" in conf and "X-Forwarded-Proto" in conf
    if os.geteuid() == 0:
        assert "user root;" in conf


def test_without_a_web_port_there_is_no_proxy(tmp_path):
    conf = render_nginx_conf(NginxLayout.from_settings(run_dir=tmp_path, web_port=None))
    assert "upstream backline_web" not in conf


def test_committed_srs_conf_is_the_generated_one():
    committed = (Path(settings.BASE_DIR) / "deploy" / "srs" / "srs.conf").read_text()
    assert committed == render_srs_conf()
    assert "http://web:8000/hooks/srs/" in committed
    assert settings.MEDIA_SERVER_CALLBACK_SECRET not in committed  # the secret comes from SRS's env
    for hook in ("on_publish", "on_unpublish", "on_play", "on_stop", "on_hls"):
        assert hook in committed
    assert "http_remux" in committed and "hls_m3u8_file   hls/[stream].m3u8;" in committed


def test_the_command_writes_both(tmp_path, settings):
    from django.core.management import call_command

    settings.MEDIA_SERVER_RUN_DIR = tmp_path
    call_command("media_server_config", "--no-srs")
    assert "rtmp {" in (tmp_path / "nginx.conf").read_text() and (tmp_path / "www" / "hls").is_dir()


@pytest.mark.integration
def test_hls_server_headers_and_loopback_only_control(tmp_path):
    """Preflight and GET on playlists and fragments, from the real nginx with the generated config."""
    import requests

    from streaming.testing import LocalNginxRtmp

    with LocalNginxRtmp(callback_base_url="http://127.0.0.1:1", run_dir=tmp_path) as nginx:
        (nginx.hls_dir / "abc.m3u8").write_text("#EXTM3U\n")
        (nginx.hls_dir / "abc-1.ts").write_bytes(b"G" * 188)
        for name, cache in (("abc.m3u8", "no-cache"), ("abc-1.ts", "max-age=60")):
            url = f"{nginx.hls_base_url}/{name}"
            preflight = requests.options(url, headers={"Origin": "https://fan.example",
                                                       "Access-Control-Request-Method": "GET"}, timeout=5)
            assert preflight.status_code == 204 and preflight.headers["Access-Control-Allow-Origin"] == "*"
            got = requests.get(url, timeout=5)
            assert got.status_code == 200 and cache in got.headers["Cache-Control"]
            assert got.headers["Access-Control-Allow-Origin"] == "*"
        # /stat and /control exist only on the loopback control port, not next to the HLS files.
        assert requests.get(f"http://127.0.0.1:{nginx.layout.hls_port}/stat", timeout=5).status_code == 404
        assert requests.get(f"http://127.0.0.1:{nginx.layout.hls_port}/control/drop/publisher", timeout=5).status_code == 404
        assert requests.get(f"{nginx.control_url}/stat", timeout=5).status_code == 200
        assert NginxRtmpServer(control_url=nginx.control_url).version().startswith("nginx 1.")
