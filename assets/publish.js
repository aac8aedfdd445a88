// shadercast publisher: sends this browser's camera (and microphone) to
// shadercast's WHIP endpoint (RFC 9725), so that the server composites it
// (barcode highlighting) and every viewer of ./ sees the result: the
// barcode-scanner example of MediaStreamTrackProcessor/Generator, run on a
// server.
//
// Query parameters:
//   whip=<url>     WHIP endpoint (default ./whip)
//   token=<str>    the publisher token (SHADERCAST_PUBLISH_TOKEN), sent as
//                  "Authorization: Bearer <str>" when the server wants one
//   audio=0        send video only
//   autostart=1    publish on load (for kiosks and tests)
'use strict';
(() => {
  const params = new URLSearchParams(location.search);
  const whipURL = new URL(params.get('whip') || './whip', location.href).href;
  const token = params.get('token') || '';
  const wantAudio = params.get('audio') !== '0';

  const preview = document.getElementById('preview');
  const startBtn = document.getElementById('start');
  const stopBtn = document.getElementById('stop');
  const stateEl = document.getElementById('state');
  const errorEl = document.getElementById('error');

  const hooks = { state: 'new', lastError: '', resource: '', framesSent: 0 };
  window.shadercastPublisher = hooks;

  let pc = null;
  let stream = null;
  let resource = '';

  function setState(s) {
    hooks.state = s;
    stateEl.textContent = s;
    stateEl.dataset.state = s;
  }
  function fail(msg) {
    hooks.lastError = msg;
    errorEl.textContent = msg;
    setState('failed');
  }
  function headers(h) {
    if (token) h.Authorization = 'Bearer ' + token;
    return h;
  }

  async function publish() {
    startBtn.disabled = true;
    errorEl.textContent = '';
    setState('starting');
    stream = await navigator.mediaDevices.getUserMedia({ video: { width: 1280, height: 720 }, audio: wantAudio });
    preview.srcObject = stream;
    pc = new RTCPeerConnection();
    for (const track of stream.getTracks()) {
      pc.addTransceiver(track, { direction: 'sendonly', streams: [stream] });
    }
    // shadercast decodes VP8 and H.264: put the one asked for (?codec=,
    // VP8 by default) first so that the answer picks it.
    const want = 'video/' + (params.get('codec') || 'vp8').toLowerCase();
    for (const tr of pc.getTransceivers()) {
      if (tr.sender.track && tr.sender.track.kind === 'video' && RTCRtpSender.getCapabilities) {
        const codecs = RTCRtpSender.getCapabilities('video').codecs;
        const first = codecs.filter((c) => c.mimeType.toLowerCase() === want);
        if (first.length && tr.setCodecPreferences) tr.setCodecPreferences([...first, ...codecs.filter((c) => !first.includes(c))]);
      }
    }
    // Barcodes need pixels more than frames: when bandwidth is short,
    // lower the frame rate, not the resolution.
    for (const tr of pc.getTransceivers()) {
      const snd = tr.sender;
      if (!snd.track || snd.track.kind !== 'video') continue;
      const p = snd.getParameters();
      p.degradationPreference = 'maintain-resolution';
      snd.setParameters(p).catch(() => {});
    }
    pc.onconnectionstatechange = () => {
      setState(pc.connectionState);
      if (pc.connectionState === 'failed') fail('connection failed');
    };
    await pc.setLocalDescription(await pc.createOffer());
    // Non-trickle: wait for our candidates (capped).
    await new Promise((resolve) => {
      if (pc.iceGatheringState === 'complete') return resolve();
      const t = setTimeout(resolve, 3000);
      pc.addEventListener('icegatheringstatechange', () => {
        if (pc.iceGatheringState === 'complete') { clearTimeout(t); resolve(); }
      });
    });
    const resp = await fetch(whipURL, {
      method: 'POST',
      headers: headers({ 'Content-Type': 'application/sdp' }),
      body: pc.localDescription.sdp,
    });
    if (resp.status !== 201) throw new Error('WHIP POST: ' + resp.status + ' ' + (await resp.text()).trim());
    const loc = resp.headers.get('Location');
    if (loc) resource = hooks.resource = new URL(loc, whipURL).href;
    await pc.setRemoteDescription({ type: 'answer', sdp: await resp.text() });
    stopBtn.disabled = false;
  }

  function stop() {
    if (resource) {
      fetch(resource, { method: 'DELETE', headers: headers({}), keepalive: true }).catch(() => {});
      resource = hooks.resource = '';
    }
    if (pc) { pc.close(); pc = null; }
    if (stream) { stream.getTracks().forEach((t) => t.stop()); stream = null; }
    startBtn.disabled = false;
    stopBtn.disabled = true;
    setState('stopped');
  }

  setInterval(async () => {
    if (!pc) return;
    const r = await pc.getStats();
    r.forEach((s) => {
      if (s.type !== 'outbound-rtp' || s.kind !== 'video') return;
      hooks.framesSent = s.framesEncoded || 0;
      const c = s.codecId && r.get(s.codecId);
      if (c) hooks.codec = c.mimeType;
    });
  }, 1000);

  startBtn.addEventListener('click', () => publish().catch((e) => { fail(String(e.message || e)); stop(); hooks.state = 'failed'; }));
  stopBtn.addEventListener('click', stop);
  addEventListener('pagehide', stop);
  if (params.get('autostart') === '1') startBtn.click();
})();
