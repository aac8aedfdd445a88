// shadercast viewer: a minimal WHEP client (draft-ietf-wish-whep).
//
// Query parameters:
//   whep=<url>    WHEP endpoint, absolute or relative to this page (default ./whep)
//   token=<str>   the viewer token (SHADERCAST_VIEWER_TOKEN), sent to /whep as
//                 "Authorization: Bearer <str>" when the server wants one; it
//                 lets this page watch, never publish or control
//   codec=<name>  h264 or vp8 first in the offer (the server sends the first
//                 it has)
//   rendition=<name>  a rung of the server's rendition ladder ("360p"),
//                 passed on to the WHEP POST; the top when absent
//
// window.shadercast exposes the player's state for tests and debugging; see
// the `hooks` object below.
'use strict';
(() => {
  const params = new URLSearchParams(location.search);
  const whepURL = new URL(params.get('whep') || './whep', location.href).href;
  const token = params.get('token') || '';

  const video = document.getElementById('video');
  const unmute = document.getElementById('unmute');
  const stateEl = document.getElementById('state');
  const statsEl = document.getElementById('stats');

  // One canvas for samplePatch, reused so repeated sampling does not churn
  // GPU/CPU surfaces.
  const canvas = document.createElement('canvas');
  let ctx2d = null;

  const hooks = {
    state: 'new',          // RTCPeerConnection.connectionState of the live session
    framesRendered: 0,     // requestVideoFrameCallback invocations since load
    presentedFrames: 0,    // metadata.presentedFrames of the last callback
    width: 0, height: 0,   // intrinsic size of the playing video
    audioLive: false,      // audio track live, unmuted and receiving packets
    audioLevel: null,      // inbound-rtp audioLevel (0..1) when the browser reports it
    fps: 0,                // decoded frames per second (inbound-rtp)
    bitrate: 0,            // received bits per second, audio + video
    rtt: null,             // seconds, selected candidate pair
    connects: 0,           // successful POSTs (1 + reconnects)
    lastError: '',
    // samplePatch returns the average {r, g, b} of a rectangle of the current
    // video frame, in video pixels, read back through a canvas.
    samplePatch(x, y, w, h) {
      const vw = video.videoWidth, vh = video.videoHeight;
      if (!vw || !vh) return null;
      if (canvas.width !== vw || canvas.height !== vh) {
        canvas.width = vw;
        canvas.height = vh;
        ctx2d = null;
      }
      // willReadFrequently keeps the canvas in CPU memory: getImageData on a
      // GPU canvas would force a slow readback every call.
      ctx2d = ctx2d || canvas.getContext('2d', { willReadFrequently: true });
      ctx2d.drawImage(video, 0, 0, vw, vh);
      const d = ctx2d.getImageData(x, y, w, h).data;
      let r = 0, g = 0, b = 0;
      const n = d.length / 4;
      for (let i = 0; i < d.length; i += 4) { r += d[i]; g += d[i + 1]; b += d[i + 2]; }
      return { r: r / n, g: g / n, b: b / n };
    },
    // snapshot returns the plain data fields (no functions), cheap to ship
    // over the DevTools protocol.
    snapshot() {
      const o = {};
      for (const [k, v] of Object.entries(hooks)) if (typeof v !== 'function') o[k] = v;
      return o;
    },
  };
  window.shadercast = hooks;

  unmute.addEventListener('click', () => {
    video.muted = !video.muted;
    unmute.textContent = video.muted ? 'Unmute' : 'Mute';
    video.play().catch(() => {});
  });

  // Frame counting through requestVideoFrameCallback counts frames actually
  // handed to the compositor, which is what a viewer sees; decoded-frame
  // counters in getStats() would also count frames that were never shown.
  if ('requestVideoFrameCallback' in HTMLVideoElement.prototype) {
    const onFrame = (now, meta) => {
      hooks.framesRendered++;
      hooks.presentedFrames = meta.presentedFrames;
      hooks.width = meta.width;
      hooks.height = meta.height;
      video.requestVideoFrameCallback(onFrame);
    };
    video.requestVideoFrameCallback(onFrame);
  }
  video.addEventListener('resize', () => {
    hooks.width = video.videoWidth;
    hooks.height = video.videoHeight;
  });

  function setState(s) {
    hooks.state = s;
    stateEl.textContent = s;
    stateEl.dataset.state = s;
  }

  // ---- WHEP session ------------------------------------------------------

  let pc = null;          // current RTCPeerConnection
  let resource = '';      // Location of the current session, for DELETE
  let generation = 0;     // bumps on every (re)connect; stale callbacks compare it
  let attempt = 0;        // consecutive failures, for backoff
  let retryTimer = 0;
  let graceTimer = 0;

  function authHeaders(h) {
    if (token) h.Authorization = 'Bearer ' + token;
    return h;
  }

  // deleteSession ends the server-side session. keepalive lets it outlive
  // the page during unload.
  function deleteSession() {
    if (!resource) return;
    const url = resource;
    resource = '';
    fetch(url, { method: 'DELETE', headers: authHeaders({}), keepalive: true }).catch(() => {});
  }

  function teardown() {
    clearTimeout(graceTimer);
    if (pc) {
      pc.onconnectionstatechange = null;
      pc.ontrack = null;
      pc.ondatachannel = null;
      pc.close();
      pc = null;
    }
    deleteSession();
    layerURL = ''; // the next session says whether it has layers
  }

  // The server is non-trickle (it PATCHes nothing and answers only complete
  // SDP), so our offer must carry every candidate: wait for gathering to
  // finish, with a cap so one stuck interface cannot stall the connect.
  function gatheringComplete(conn, ms) {
    if (conn.iceGatheringState === 'complete') return Promise.resolve();
    return new Promise((resolve) => {
      const t = setTimeout(done, ms);
      function done() {
        clearTimeout(t);
        conn.removeEventListener('icegatheringstatechange', check);
        resolve();
      }
      function check() { if (conn.iceGatheringState === 'complete') done(); }
      conn.addEventListener('icegatheringstatechange', check);
    });
  }

  // preferCodec orders tr's codecs with name ("h264", "vp8") first, from
  // the capabilities of side ("sender" or "receiver"); nothing without a
  // name or without setCodecPreferences.
  function preferCodec(tr, side, name) {
    const Cls = side === 'sender' ? window.RTCRtpSender : window.RTCRtpReceiver;
    if (!name || !tr.setCodecPreferences || !Cls || !Cls.getCapabilities) return;
    const codecs = Cls.getCapabilities('video').codecs;
    const first = codecs.filter((c) => c.mimeType.toLowerCase() === 'video/' + name.toLowerCase());
    if (first.length) tr.setCodecPreferences([...first, ...codecs.filter((c) => !first.includes(c))]);
  }

  // The WHEP layer extension: a session over the server's rendition
  // ladder gets a layer resource (Link rel ...:layer). GET lists the
  // renditions, POST {"rid"} fixes one, {} lets the server choose by this
  // viewer's bandwidth.
  const layerBox = document.getElementById('layer-box');
  const layerSel = document.getElementById('layer');
  let layerURL = '';

  // linkOf returns the URL of the Link header entry with relation rel.
  function linkOf(header, rel, base) {
    for (const part of (header || '').split(/,(?=\s*<)/)) {
      const m = part.match(/<([^>]*)>\s*;(.*)/);
      if (m && m[2].split(';').some((p) => p.trim() === 'rel="' + rel + '"')) return new URL(m[1], base).href;
    }
    return '';
  }

  async function loadLayers() {
    layerBox.hidden = !layerURL;
    if (!layerURL) return;
    const resp = await fetch(layerURL, { headers: authHeaders({}) });
    if (!resp.ok) return;
    showLayers(await resp.json());
  }

  function showLayers(ls) {
    hooks.layers = ls;
    const want = ls.mode === 'fixed' ? ls.max : '';
    layerSel.replaceChildren(new Option('auto (' + ls.active + ')', ''),
      ...ls.layers.map((l) => new Option(l.rid + ' ' + l.width + 'x' + l.height, l.rid)));
    layerSel.value = want;
  }

  layerSel.addEventListener('change', async () => {
    if (!layerURL) return;
    const body = layerSel.value ? { rid: layerSel.value } : {};
    const resp = await fetch(layerURL, {
      method: 'POST', headers: authHeaders({ 'Content-Type': 'application/json' }), body: JSON.stringify(body),
    });
    if (resp.ok) showLayers(await resp.json());
  });

  async function connect() {
    teardown();
    const gen = ++generation;
    setState('connecting');
    const conn = new RTCPeerConnection();
    pc = conn;
    const videoTr = conn.addTransceiver('video', { direction: 'recvonly' });
    conn.addTransceiver('audio', { direction: 'recvonly' });
    // ?codec=h264 (or vp8) puts that codec first in the offer: the server
    // sends each viewer the first codec of its offer that it has.
    preferCodec(videoTr, 'receiver', params.get('codec'));
    // A data channel puts an application section into the offer, so the
    // server can open its "detections" channel on this session.
    conn.createDataChannel('viewer');
    conn.ondatachannel = (e) => {
      if (e.channel.label !== 'detections') return;
      e.channel.onmessage = (m) => {
        if (gen !== generation) return;
        let msg;
        try { msg = JSON.parse(m.data); } catch (_) { return; /* not JSON: ignore */ }
        // Per-frame lists, and the tracks' comings and goings.
        const name = msg.type === 'detections' ? 'shadercast:detections' : 'shadercast:' + msg.type;
        dispatchEvent(new CustomEvent(name, { detail: msg }));
      };
    };

    const stream = new MediaStream();
    conn.ontrack = (e) => {
      stream.addTrack(e.track);
      if (video.srcObject !== stream) video.srcObject = stream;
      video.play().catch(() => {}); // autoplay may already be running
    };
    conn.onconnectionstatechange = () => {
      if (gen !== generation) return;
      const s = conn.connectionState;
      setState(s);
      clearTimeout(graceTimer);
      if (s === 'connected') {
        attempt = 0;
      } else if (s === 'failed') {
        scheduleReconnect('connection failed');
      } else if (s === 'disconnected') {
        // ICE often recovers from a short outage by itself (consent checks
        // resume); only rebuild the session if it stays down.
        graceTimer = setTimeout(() => {
          if (gen === generation && conn.connectionState === 'disconnected') {
            scheduleReconnect('connection lost');
          }
        }, 3000);
      }
    };

    await conn.setLocalDescription(await conn.createOffer());
    await gatheringComplete(conn, 5000);
    if (gen !== generation) return;

    const postURL = new URL(whepURL);
    if (params.get('rendition')) postURL.searchParams.set('rendition', params.get('rendition'));
    const resp = await fetch(postURL.href, {
      method: 'POST',
      headers: authHeaders({ 'Content-Type': 'application/sdp' }),
      body: conn.localDescription.sdp,
    });
    if (resp.status !== 201) {
      const err = new Error('WHEP POST: ' + resp.status + ' ' + (await resp.text()).trim());
      // A wrong token, URL or request will not fix itself: stop instead
      // of retrying for as long as the tab is open. 408 and 429 are
      // passing, and 503 (viewer limit) says when to come back.
      err.permanent = resp.status >= 400 && resp.status < 500 && resp.status !== 408 && resp.status !== 429;
      err.retryAfter = Number(resp.headers.get('Retry-After')) * 1000 || 0;
      throw err;
    }
    const loc = resp.headers.get('Location');
    const answer = await resp.text();
    if (gen !== generation) {
      // Superseded while the POST was in flight: release what we just got.
      if (loc) fetch(new URL(loc, whepURL).href, { method: 'DELETE', headers: authHeaders({}), keepalive: true }).catch(() => {});
      return;
    }
    if (loc) resource = new URL(loc, whepURL).href;
    layerURL = linkOf(resp.headers.get('Link'), 'urn:ietf:params:whep:ext:core:layer', whepURL);
    await conn.setRemoteDescription({ type: 'answer', sdp: answer });
    loadLayers();
    hooks.connects++;
  }

  // Exponential backoff with jitter (0.5 s … 10 s) so a restarting server is
  // not hammered by every viewer at once.
  function scheduleReconnect(why, minDelay) {
    clearTimeout(retryTimer);
    const base = Math.min(500 * 2 ** attempt, 10000);
    const delay = Math.max(base / 2 + Math.random() * base / 2, minDelay || 0);
    attempt++;
    hooks.lastError = why;
    teardown();
    generation++; // events of the closed connection are now stale
    setState('reconnecting');
    retryTimer = setTimeout(start, delay);
  }

  function start() {
    connect().catch((err) => {
      console.error('shadercast:', err);
      const why = String(err && err.message || err);
      if (err && err.permanent) {
        clearTimeout(retryTimer);
        hooks.lastError = why;
        teardown();
        generation++;
        setState('failed');
        return;
      }
      scheduleReconnect(why, err && err.retryAfter);
    });
  }

  addEventListener('pagehide', () => {
    clearTimeout(retryTimer);
    generation++;
    teardown();
  });
  // A page restored from the back/forward cache starts over.
  addEventListener('pageshow', (e) => {
    if (e.persisted) start();
  });

  // ---- statistics, once a second -----------------------------------------

  let prev = null; // {t, bytes, frames, audioPackets}

  async function pollStats() {
    const conn = pc;
    if (!conn) return;
    const report = await conn.getStats();
    let bytes = 0, frames = null, fps = null, audioPackets = null, rtt = null, level = null;
    let selectedPair = '';
    report.forEach((s) => {
      if (s.type === 'inbound-rtp') {
        bytes += s.bytesReceived || 0;
        if (s.kind === 'video') {
          frames = s.framesDecoded || 0;
          const c = s.codecId && report.get(s.codecId);
          if (c) hooks.codec = c.mimeType;
          hooks.videoIn = { bytes: s.bytesReceived || 0, framesDecoded: s.framesDecoded || 0, keyFramesDecoded: s.keyFramesDecoded || 0,
            framesDropped: s.framesDropped || 0, pliCount: s.pliCount || 0, decoder: s.decoderImplementation || '' };
          if (typeof s.framesPerSecond === 'number') fps = s.framesPerSecond;
        } else if (s.kind === 'audio') {
          audioPackets = s.packetsReceived || 0;
          if (typeof s.audioLevel === 'number') level = s.audioLevel;
        }
      } else if (s.type === 'transport' && s.selectedCandidatePairId) {
        selectedPair = s.selectedCandidatePairId;
      }
    });
    const pair = selectedPair && report.get(selectedPair);
    if (pair && typeof pair.currentRoundTripTime === 'number') rtt = pair.currentRoundTripTime;

    const now = performance.now();
    if (prev && conn === prev.conn) {
      const dt = (now - prev.t) / 1000;
      hooks.bitrate = Math.max(0, (bytes - prev.bytes) * 8 / dt);
      if (fps === null && frames !== null) fps = (frames - prev.frames) / dt;
      const track = conn.getReceivers().map((r) => r.track).find((t) => t && t.kind === 'audio');
      hooks.audioLive = !!track && track.readyState === 'live' && !track.muted &&
        audioPackets !== null && audioPackets > prev.audioPackets;
    } else {
      hooks.audioLive = false;
    }
    prev = { conn, t: now, bytes, frames: frames || 0, audioPackets: audioPackets || 0 };
    hooks.fps = fps || 0;
    hooks.rtt = rtt;
    hooks.audioLevel = level;

    statsEl.textContent =
      'codec ' + (hooks.codec ? hooks.codec.replace('video/', '') : '–') +
      '  resolution ' + (hooks.width ? hooks.width + 'x' + hooks.height : '–') +
      // The server names its renditions by their height.
      '  rendition ' + (hooks.height ? hooks.height + 'p' : '–') +
      '  fps ' + hooks.fps.toFixed(1) +
      '  bitrate ' + (hooks.bitrate / 1000).toFixed(0) + ' kbit/s' +
      '  rtt ' + (rtt === null ? '–' : (rtt * 1000).toFixed(1) + ' ms') +
      '  audio ' + (hooks.audioLive ? 'live' : '–');
  }

  setInterval(() => { pollStats().catch(() => {}); }, 1000);
  start();
})();
