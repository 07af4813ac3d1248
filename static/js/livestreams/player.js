// The live player: hls.js (vendored in static/vendor/hls.js, loaded as window.Hls) tuned for low
// latency, or the browser's native HLS where MSE is absent (Safari on iOS). Own controls: play /
// pause, mute + volume, go to the live edge, latency readout, quality, full screen; keyboard too.
// Errors are recovered (network: retry with backoff; media: recoverMediaError) and explained
// to the viewer when they last.

// nginx-rtmp writes 1 s fragments; holding one fragment back keeps glass-to-glass under ~2 s
// (3.95 s with hls.js defaults, 1.85 s with liveSyncDurationCount: 1 on this kind of machine).
export const HLS_CONFIG = {
  lowLatencyMode: true,
  liveSyncDurationCount: 1,
  liveMaxLatencyDurationCount: 4, // fell further behind: jump forward
  maxLiveSyncPlaybackRate: 1, // hls.js only catches up with > 1 s buffered, never true here: see keepUp()
  backBufferLength: 30,
  maxBufferLength: 10,
  enableWorker: true,
  startFragPrefetch: true,
  // We retry ourselves with backoff (see onError); keep hls.js's own retries short.
  manifestLoadingMaxRetry: 2,
  manifestLoadingRetryDelay: 500,
  levelLoadingMaxRetry: 4,
  fragLoadingMaxRetry: 4,
};

const EXPLAIN_AFTER = 4; // consecutive failures before we tell the viewer
// Our own catch-up: playback that started (or fell) behind drifts back towards the live edge by
// playing slightly faster, as long as there is media buffered to play faster through.
// With 1 s fragments the buffer ahead dips to (latency - ~1 s) just before the next fragment is
// listed: aim ~0.35 s above the target so that dip never reaches zero (a stall).
const CATCH_UP = { slack: 0.35, minAhead: 0.4, rate: 1.1, fastRate: 1.25, fastGap: 0.9, jumpAfter: 4 };

export function createPlayer(root, { preview = false } = {}) {
  const video = root.querySelector("[data-video]");
  const overlay = root.querySelector("[data-overlay]");
  const kicker = overlay && overlay.querySelector(".overlay-kicker");
  const detail = overlay && overlay.querySelector("[data-overlay-detail]");
  const controls = root.querySelector("[data-controls]");
  const unmute = root.querySelector("[data-unmute]");
  const playBtn = root.querySelector("[data-play]");
  const muteBtn = root.querySelector("[data-mute]");
  const volume = root.querySelector("[data-volume]");
  const liveEdge = root.querySelector("[data-live-edge]");
  const latencyEl = root.querySelector("[data-latency]");
  const quality = root.querySelector("[data-quality]");
  const fullscreen = root.querySelector("[data-fullscreen]");

  let hls = null;
  let url = null;
  let failures = 0;
  let retryTimer = null;
  let lastMediaError = 0;
  let active = false;

  const Hls = window.Hls;
  const useHlsJs = Hls && Hls.isSupported();
  const nativeHls = !useHlsJs && video.canPlayType("application/vnd.apple.mpegurl");

  function setOverlay(title, text, { spinner = false } = {}) {
    if (kicker) kicker.textContent = title;
    if (detail) detail.textContent = text || "";
    root.dataset.loading = spinner ? "1" : "";
  }

  function setState(state) { root.dataset.state = state; }

  function backoff() { return Math.min(8000, 500 * 2 ** Math.min(failures, 4)) * (0.8 + Math.random() * 0.4); }

  function failed(reason) {
    failures += 1;
    if (failures >= EXPLAIN_AFTER) {
      root.dataset.playing = "";
      setOverlay("Trouble reaching the stream", `${reason} Retrying automatically…`, { spinner: true });
    }
  }

  function teardown() {
    clearTimeout(retryTimer);
    if (hls) { hls.destroy(); hls = null; }
    if (!useHlsJs) { video.removeAttribute("src"); video.load(); }
  }

  function load(newUrl) {
    if (newUrl) url = newUrl;
    if (!url) return;
    active = true;
    teardown();
    controls && (controls.hidden = false);
    if (useHlsJs) {
      // bench/glass_to_glass.py may set window.__hlsConfigOverride to compare settings.
      hls = new Hls(window.__hlsConfigOverride || HLS_CONFIG);
      window.__hls = hls; // for the browser tests and bench/glass_to_glass.py
      hls.on(Hls.Events.MANIFEST_PARSED, onManifest);
      hls.on(Hls.Events.LEVEL_SWITCHED, showQuality);
      hls.on(Hls.Events.FRAG_LOADED, () => { failures = 0; });
      hls.on(Hls.Events.ERROR, onError);
      hls.loadSource(url);
      hls.attachMedia(video);
    } else if (nativeHls) {
      video.src = url;
      video.addEventListener("loadedmetadata", play, { once: true });
    } else {
      setOverlay("Can't play here", "This browser cannot play live video. Try a current Chrome, Firefox, Edge or Safari.");
    }
  }

  function retry(fn) {
    clearTimeout(retryTimer);
    retryTimer = setTimeout(() => { if (active) fn(); }, backoff());
  }

  function onError(_event, data) {
    if (!data.fatal) return;
    const { ErrorTypes, ErrorDetails } = Hls;
    if (data.type === ErrorTypes.NETWORK_ERROR) {
      const manifest = [ErrorDetails.MANIFEST_LOAD_ERROR, ErrorDetails.MANIFEST_LOAD_TIMEOUT, ErrorDetails.MANIFEST_PARSING_ERROR]
        .includes(data.details);
      // The playlist appears a second or two after the encoder connects: a 404 here is normal.
      failed(manifest ? "The stream has not reached us yet." : "The network connection is unstable.");
      if (manifest) retry(() => load());
      else retry(() => hls && hls.startLoad());
    } else if (data.type === ErrorTypes.MEDIA_ERROR) {
      const now = Date.now();
      failed("The video could not be decoded.");
      if (now - lastMediaError < 3000) { hls.swapAudioCodec(); }
      lastMediaError = now;
      if (failures > 3) retry(() => load());
      else hls.recoverMediaError();
    } else {
      failed("The player hit an error.");
      retry(() => load());
    }
  }

  function onManifest() {
    if (quality && hls.levels.length > 1) {
      while (quality.options.length > 1) quality.remove(1);
      hls.levels.forEach((level, index) => {
        const label = level.height ? `${level.height}p` : `${Math.round(level.bitrate / 1000)} kbps`;
        quality.add(new Option(label, String(index)));
      });
      quality.hidden = false;
    }
    play();
  }

  function showQuality() {
    if (!quality || !hls || quality.value !== "-1") return;
    const level = hls.levels[hls.currentLevel];
    quality.options[0].textContent = level && level.height ? `Auto (${level.height}p)` : "Auto";
  }

  async function play() {
    if (preview) {
      video.muted = true;
    } else if (video.dataset.userMuted !== "1") {
      video.muted = false;
    }
    try {
      await video.play();
    } catch (error) {
      if (error && error.name === "NotAllowedError" && !video.muted) {
        // The browser wants a gesture for sound: start muted and offer an obvious unmute.
        video.muted = true;
        try { await video.play(); } catch { /* shown as paused */ }
        if (unmute) unmute.hidden = false;
      }
    }
    syncControls();
  }

  function syncControls() {
    const muted = video.muted || video.volume === 0;
    root.dataset.paused = video.paused ? "1" : "";
    root.dataset.muted = muted ? "1" : "";
    if (playBtn) playBtn.setAttribute("aria-label", video.paused ? "Play (K)" : "Pause (K)");
    if (muteBtn) muteBtn.setAttribute("aria-label", muted ? "Unmute (M)" : "Mute (M)");
    if (unmute && !video.muted) unmute.hidden = true;
    if (volume) volume.value = video.muted ? 0 : video.volume;
  }

  function latency() {
    if (hls && typeof hls.latency === "number" && Number.isFinite(hls.latency)) return hls.latency;
    if (video.seekable && video.seekable.length) return video.seekable.end(video.seekable.length - 1) - video.currentTime;
    return null;
  }

  function goLive() {
    if (hls && hls.liveSyncPosition) video.currentTime = hls.liveSyncPosition;
    else if (video.seekable && video.seekable.length) video.currentTime = video.seekable.end(video.seekable.length - 1) - 1;
    if (video.paused) play();
  }

  function toggleFullscreen() {
    if (document.fullscreenElement) document.exitFullscreen();
    else if (root.requestFullscreen) root.requestFullscreen().catch(() => {});
    else if (video.webkitEnterFullscreen) video.webkitEnterFullscreen();
  }

  function toggleMute() {
    video.muted = !video.muted;
    if (!video.muted && video.volume === 0) video.volume = 0.8;
    video.dataset.userMuted = video.muted ? "1" : "";
  }

  // Wiring
  playBtn && playBtn.addEventListener("click", () => (video.paused ? play() : video.pause()));
  muteBtn && muteBtn.addEventListener("click", toggleMute);
  unmute && unmute.addEventListener("click", () => { video.muted = false; video.dataset.userMuted = ""; if (video.volume === 0) video.volume = 0.8; unmute.hidden = true; });
  volume && volume.addEventListener("input", () => { video.volume = Number(volume.value); video.muted = video.volume === 0; });
  liveEdge && liveEdge.addEventListener("click", goLive);
  fullscreen && fullscreen.addEventListener("click", toggleFullscreen);
  quality && quality.addEventListener("change", () => {
    if (!hls) return;
    hls.currentLevel = Number(quality.value);
    if (quality.value !== "-1") quality.options[0].textContent = "Auto";
  });
  for (const name of ["play", "pause", "volumechange"]) video.addEventListener(name, syncControls);
  video.addEventListener("playing", () => {
    root.dataset.playing = "1";
    root.dataset.loading = "";
    failures = 0;
  });
  video.addEventListener("waiting", () => { root.dataset.loading = "1"; });
  video.addEventListener("dblclick", toggleFullscreen);
  video.addEventListener("click", () => (video.paused ? play() : video.pause()));
  video.addEventListener("error", () => { if (!useHlsJs && active) { failed("The stream could not be loaded."); retry(() => load()); } });

  root.tabIndex = 0;
  root.addEventListener("keydown", (event) => {
    if (event.target.closest("input, select, textarea, button")) return;
    const key = event.key.toLowerCase();
    if (key === " " || key === "k") { event.preventDefault(); video.paused ? play() : video.pause(); }
    else if (key === "m") toggleMute();
    else if (key === "f") toggleFullscreen();
    else if (key === "l") goLive();
  });
  let idleTimer;
  root.addEventListener("pointermove", () => {
    root.dataset.idle = "";
    clearTimeout(idleTimer);
    idleTimer = setTimeout(() => { if (!video.paused) root.dataset.idle = "1"; }, 3000);
  });

  function bufferedAhead() {
    const ranges = video.buffered;
    for (let i = 0; i < ranges.length; i += 1) {
      if (ranges.start(i) <= video.currentTime + 0.1 && ranges.end(i) >= video.currentTime) return ranges.end(i) - video.currentTime;
    }
    return 0;
  }

  function keepUp() {
    if (!hls || !active || video.paused || video.seeking) return;
    const value = latency();
    if (value === null) return;
    const target = hls.targetLatency || 1;
    if (value > target + CATCH_UP.jumpAfter && hls.liveSyncPosition) {
      video.currentTime = hls.liveSyncPosition; // far behind (a long stall, a tab in the background)
      return;
    }
    const gap = value - target;
    let rate = 1;
    if (gap > CATCH_UP.slack && bufferedAhead() > CATCH_UP.minAhead) rate = gap > CATCH_UP.fastGap ? CATCH_UP.fastRate : CATCH_UP.rate;
    if (video.playbackRate !== rate) video.playbackRate = rate;
  }
  setInterval(keepUp, 250);

  setInterval(() => {
    if (!latencyEl || !active) return;
    const value = latency();
    latencyEl.textContent = value === null ? "" : `${value.toFixed(1)} s behind`;
    if (liveEdge) {
      const target = hls && hls.targetLatency ? hls.targetLatency : 3;
      liveEdge.dataset.atEdge = value !== null && value < target + 1.5 ? "1" : "";
    }
  }, 500);

  return {
    video,
    get hls() { return hls; },
    get url() { return url; },
    latency,
    /** The stream is (or became) live at `streamUrl`: play it. */
    start(streamUrl) {
      setState("live");
      setOverlay("Starting…", "", { spinner: true });
      load(streamUrl);
    },
    /** Before the start: keep the schedule overlay, stop any playback. */
    waiting(title, text) {
      active = false;
      teardown();
      setOverlay(title, text);
    },
    interrupted() {
      setState("interrupted");
      root.dataset.playing = "";
      setOverlay("Reconnecting…", "The artist's connection dropped. Hang on – it usually comes back within seconds.", { spinner: true });
    },
    resumed(streamUrl) {
      setState("live");
      setOverlay("Back in a moment…", "", { spinner: true });
      load(streamUrl || url);
    },
    ended(text) {
      active = false;
      teardown();
      setState("ended");
      root.dataset.playing = "";
      if (controls) controls.hidden = true;
      if (unmute) unmute.hidden = true;
      setOverlay("Stream ended", text || "Thanks for watching!");
    },
  };
}
