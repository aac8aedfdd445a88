// shadercast panel: the decoded barcodes and the live pass controls.
//
// Barcodes arrive on the WHEP session's "detections" data channel (viewer.js
// forwards them as 'shadercast:detections' events) or, when the session has
// none, from the server-sent events at ./api/events. Controls are built from
// GET ./api/pipeline: every pass with its inputs as the control API
// describes them (ISF types), changed with PATCH ./api/pipeline.
//
// With --scenes, a bar of scene buttons from GET ./api/scenes: the one on
// air is pressed; pressing another puts it on air (POST
// ./api/scenes/{name}/activate, with the transition and duration chosen
// beside them), and SSE "scenes" keeps the bar in
// step with changes made elsewhere (the file, the API).
//
// Query parameters: control_token=<str>, the control token
// (SHADERCAST_CONTROL_TOKEN) for a protected control API: sent as
// "Authorization: Bearer <str>", and as ?token= on the event stream only,
// since EventSource cannot send headers (the server takes ?token= nowhere
// else).
'use strict';
(() => {
  const params = new URLSearchParams(location.search);
  const controlToken = params.get('control_token') || '';
  const api = (p) => new URL('./api/' + p, location.href).href;
  const hooks = window.shadercast || (window.shadercast = {});
  const video = document.getElementById('video');
  const codesEl = document.getElementById('codes');
  const passesEl = document.getElementById('passes');
  const errorEl = document.getElementById('panel-error');

  hooks.decoded = [];          // [{format, rawValue}] seen in the last 2 s
  hooks.scanLog = [];          // [{trackId, format, rawValue, inView}], newest first
  hooks.detections = null;     // last detections event
  hooks.detectionsVia = '';    // 'datachannel' or 'sse'
  hooks.pipeline = null;       // last GET /api/pipeline
  hooks.scenes = null;         // last GET /api/scenes (with --scenes)
  hooks.controlErrors = 0;

  function headers(h) {
    if (controlToken) h.Authorization = 'Bearer ' + controlToken;
    return h;
  }

  // ---- scan log -----------------------------------------------------------
  //
  // Every code once, newest first: a read code by its format and value (the
  // same product scanned again moves to the top), an unread one by its
  // track. Fed by GET ./api/barcodes at start, "barcode-appeared" and
  // "barcode-gone" events, and each frame's detections (which carry every
  // code's trackId: an appearance lost on the unreliable data channel is
  // made up for by the next frame). A frame whose read failed changes
  // nothing: the server carries a track's value over such frames, and a
  // code leaves the "in view" state only when its track is gone.

  const log = new Map();     // key -> {key, trackId, format, rawValue, inView, order}
  const byTrack = new Map(); // trackId -> key
  let order = 0;
  const recent = new Map();  // format + value -> last seen (performance.now())
  function keyOf(b) {
    return b.rawValue ? 'v\u0000' + b.format + '\u0000' + b.rawValue : 't\u0000' + b.trackId;
  }
  function note(b, inView) {
    if (!b.trackId && !b.rawValue) return;
    let key = keyOf(b);
    const prevKey = b.trackId ? byTrack.get(b.trackId) : undefined;
    if (prevKey && prevKey !== key && b.rawValue) log.delete(prevKey); // read at last
    if (!b.rawValue && prevKey) key = prevKey; // known track, value carried
    let e = log.get(key);
    if (!e) {
      e = { key, trackId: b.trackId, format: b.format, rawValue: b.rawValue || '', order: ++order };
      log.set(key, e);
      while (log.size > 100) log.delete([...log.values()].reduce((a, c) => (c.order < a.order ? c : a)).key);
    } else if (b.trackId && e.trackId !== b.trackId) {
      e.order = ++order; // the same code again, later: to the top
    }
    if (b.trackId) {
      e.trackId = b.trackId;
      byTrack.set(b.trackId, key);
    }
    e.inView = inView;
  }
  function gone(b) {
    const key = byTrack.get(b.trackId);
    byTrack.delete(b.trackId);
    const e = key && log.get(key);
    if (e && e.trackId === b.trackId) e.inView = false;
  }
  function onDetections(ev, via) {
    hooks.detections = ev;
    if (!hooks.detectionsVia || via === 'datachannel') hooks.detectionsVia = via;
    const now = performance.now();
    for (const b of ev.barcodes || []) {
      note(b, true);
      if (b.rawValue) recent.set(b.format + '\u0000' + b.rawValue, { format: b.format, rawValue: b.rawValue, last: now });
    }
    renderCodes();
  }
  function onTrack(ev) {
    if (ev.type === 'barcode-gone') gone(ev);
    else note(ev, true);
    renderCodes();
  }
  let rendered = '';
  function renderCodes() {
    const now = performance.now();
    for (const [k, v] of recent) if (now - v.last > 2000) recent.delete(k);
    hooks.decoded = [...recent.values()].map(({ format, rawValue }) => ({ format, rawValue }));
    const rows = [...log.values()].sort((a, b) => b.order - a.order);
    hooks.scanLog = rows.map(({ trackId, format, rawValue, inView }) => ({ trackId, format, rawValue, inView }));
    // Rebuild the list only when it changed: no flicker, no work per frame.
    const sig = JSON.stringify(hooks.scanLog);
    if (sig === rendered) return;
    rendered = sig;
    codesEl.replaceChildren(...rows.map((d) => {
      const li = document.createElement('li');
      li.className = d.inView ? 'in-view' : 'left';
      const f = document.createElement('span');
      f.className = 'fmt';
      f.textContent = d.rawValue ? d.format : 'located';
      const v = document.createElement('span');
      v.textContent = d.rawValue || '(not read yet)';
      li.append(f, ' ', v);
      return li;
    }));
    if (!rows.length) {
      const li = document.createElement('li');
      li.className = 'none';
      li.textContent = 'no barcode seen yet';
      codesEl.append(li);
    }
  }
  setInterval(renderCodes, 500);
  addEventListener('shadercast:detections', (e) => onDetections(e.detail, 'datachannel'));
  addEventListener('shadercast:barcode-appeared', (e) => onTrack(e.detail));
  addEventListener('shadercast:barcode-gone', (e) => onTrack(e.detail));
  fetch(api('barcodes'), { headers: headers({}) })
    .then((r) => (r.ok ? r.json() : null))
    .then((j) => {
      if (!j) return;
      for (const b of (j.barcodes || []).slice().reverse()) note(b, b.inView);
      renderCodes();
    })
    .catch(() => {});

  // ---- events stream ---------------------------------------------------------

  function openEvents() {
    const url = api('events') + (controlToken ? '?token=' + encodeURIComponent(controlToken) : '');
    const es = new EventSource(url);
    es.addEventListener('detections', (e) => {
      if (hooks.detectionsVia === 'datachannel') return; // the channel is faster
      onDetections(JSON.parse(e.data), 'sse');
    });
    for (const name of ['barcode-appeared', 'barcode-gone']) {
      es.addEventListener(name, (e) => {
        if (hooks.detectionsVia === 'datachannel') return; // they come on the channel too
        onTrack(JSON.parse(e.data));
      });
    }
    es.addEventListener('pipeline', (e) => {
      const p = JSON.parse(e.data);
      if (!dragging) renderPipeline(p);
    });
    es.addEventListener('scenes', () => { loadScenes().catch((e) => showError(String(e))); });
    es.addEventListener('scenes-error', (e) => {
      const d = JSON.parse(e.data);
      showError(d.error || e.data);
    });
    es.addEventListener('shader-error', (e) => {
      const d = JSON.parse(e.data);
      showError(d.message || d.error || e.data);
    });
  }

  function showError(msg) {
    errorEl.textContent = msg || '';
    errorEl.hidden = !msg;
  }

  // ---- pass controls ---------------------------------------------------------

  let dragging = false;
  let pickPoint = null; // {pass, name} while a point2D is being picked on the video

  async function patch(body) {
    const resp = await fetch(api('pipeline'), {
      method: 'PATCH',
      headers: headers({ 'Content-Type': 'application/json' }),
      body: JSON.stringify(body),
    });
    const j = await resp.json().catch(() => ({}));
    if (!resp.ok) {
      hooks.controlErrors++;
      showError(j.error || ('PATCH failed: ' + resp.status));
      return null;
    }
    showError('');
    renderPipeline(j);
    return j;
  }
  hooks.patch = patch;

  function setInput(pass, name, value) {
    return patch({ passes: { [pass]: { inputs: { [name]: value } } } });
  }

  function hexColor(v) {
    const c = (x) => Math.round(Math.max(0, Math.min(1, x)) * 255).toString(16).padStart(2, '0');
    return '#' + c(v[0] || 0) + c(v[1] || 0) + c(v[2] || 0);
  }

  // control builds the control of input u of pass; set(name, value) sends
  // a value (the pipeline's PATCH unless given: a layer's pass).
  function control(pass, u, set) {
    const own = !!set;
    set = set || ((n, v) => setInput(pass.name, n, v));
    const row = document.createElement('label');
    row.className = 'input';
    const name = document.createElement('span');
    name.textContent = u.label || u.name;
    name.title = u.name + ' (' + u.type + ')';
    row.append(name);
    let el;
    switch (u.type) {
      case 'float': {
        el = document.createElement('input');
        el.type = 'range';
        const lo = typeof u.min === 'number' ? u.min : 0;
        const hi = typeof u.max === 'number' ? u.max : 1;
        el.min = lo; el.max = hi; el.step = (hi - lo) / 200 || 0.01;
        el.value = u.value;
        const out = document.createElement('output');
        out.textContent = Number(u.value).toFixed(3);
        el.addEventListener('input', () => { out.textContent = Number(el.value).toFixed(3); set(u.name, Number(el.value)); });
        row.append(el, out);
        break;
      }
      case 'bool':
        el = document.createElement('input');
        el.type = 'checkbox';
        el.checked = !!u.value;
        el.addEventListener('change', () => set(u.name, el.checked));
        row.append(el);
        break;
      case 'long':
      case 'int': {
        if (Array.isArray(u.values) && u.values.length) {
          el = document.createElement('select');
          u.values.forEach((v, i) => {
            const o = document.createElement('option');
            o.value = v;
            o.textContent = (u.labels && u.labels[i]) || String(v);
            if (v === u.value) o.selected = true;
            el.append(o);
          });
          el.addEventListener('change', () => set(u.name, Number(el.value)));
        } else {
          el = document.createElement('input');
          el.type = 'number';
          el.step = 1;
          el.value = u.value;
          if (typeof u.min === 'number') el.min = u.min;
          if (typeof u.max === 'number') el.max = u.max;
          el.addEventListener('change', () => set(u.name, Number(el.value)));
        }
        row.append(el);
        break;
      }
      case 'color':
      case 'vec4':
      case 'vec3': {
        el = document.createElement('input');
        el.type = 'color';
        const v = Array.isArray(u.value) ? u.value : [0, 0, 0, 1];
        el.value = hexColor(v);
        el.addEventListener('input', () => {
          const h = el.value;
          const rgb = [1, 3, 5].map((i) => parseInt(h.slice(i, i + 2), 16) / 255);
          set(u.name, u.type === 'vec3' ? rgb : [...rgb, v.length > 3 ? v[3] : 1]);
        });
        row.append(el);
        break;
      }
      case 'point2D':
      case 'vec2': {
        if (own) { // picked on the video for the pipeline's passes only
          el = document.createElement('input');
          el.type = 'text';
          el.value = JSON.stringify(u.value);
          el.addEventListener('change', () => { try { set(u.name, JSON.parse(el.value)); } catch (_) { /* not JSON yet */ } });
          row.append(el);
          break;
        }
        el = document.createElement('button');
        el.type = 'button';
        const v = Array.isArray(u.value) ? u.value : [0, 0];
        el.textContent = 'pick (' + v.map((x) => Number(x).toFixed(1)).join(', ') + ')';
        el.title = 'then drag on the video';
        el.addEventListener('click', (e) => {
          e.preventDefault();
          // Points whose declared range is [0,0]..[1,1] are normalized;
          // otherwise they are in pixels (ISF leaves it to the shader).
          const norm = Array.isArray(u.max) && u.max[0] <= 1 && u.max[1] <= 1;
          pickPoint = { pass: pass.name, name: u.name, normalized: norm };
          stopPlacing();
          video.classList.add('picking');
        });
        row.append(el);
        break;
      }
      case 'event':
        el = document.createElement('button');
        el.type = 'button';
        el.textContent = 'trigger';
        el.addEventListener('click', (e) => { e.preventDefault(); set(u.name, true); });
        row.append(el);
        break;
      default: {
        el = document.createElement('input');
        el.type = 'text';
        el.value = typeof u.value === 'string' ? u.value : JSON.stringify(u.value);
        el.addEventListener('change', () => {
          let v = el.value;
          try { v = JSON.parse(v); } catch (_) { /* a plain string, e.g. an image file name */ }
          set(u.name, v);
        });
        row.append(el);
      }
    }
    el.dataset.pass = pass.name;
    el.dataset.input = u.name;
    return row;
  }

  function renderPipeline(p) {
    hooks.pipeline = p;
    const passes = p.passes || [];
    const names = passes.map((x) => x.name);
    const items = passes.map((pass, i) => {
      const box = document.createElement('fieldset');
      box.className = 'pass';
      box.dataset.pass = pass.name;
      const legend = document.createElement('legend');
      const en = document.createElement('input');
      en.type = 'checkbox';
      en.checked = pass.enabled;
      en.dataset.pass = pass.name;
      en.dataset.role = 'enabled';
      en.addEventListener('change', () => patch({ passes: { [pass.name]: { enabled: en.checked } } }));
      const title = document.createElement('span');
      title.textContent = pass.name;
      if (pass.description) title.title = pass.description;
      const move = (d) => {
        const b = document.createElement('button');
        b.type = 'button';
        b.textContent = d < 0 ? '▲' : '▼';
        b.disabled = i + d < 0 || i + d >= names.length;
        b.addEventListener('click', () => {
          const order = names.slice();
          [order[i], order[i + d]] = [order[i + d], order[i]];
          patch({ order });
        });
        return b;
      };
      legend.append(en, ' ', title, ' ', move(-1), move(1));
      box.append(legend);
      if (pass.error) {
        const e = document.createElement('div');
        e.className = 'err';
        e.textContent = pass.error;
        box.append(e);
      }
      for (const u of pass.uniforms || []) box.append(control(pass, u));
      return box;
    });
    const add = document.createElement('div');
    add.className = 'add';
    const sel = document.createElement('select');
    for (const a of p.available || []) {
      if (names.includes(a.name)) continue;
      const o = document.createElement('option');
      o.value = a.name;
      o.textContent = a.name + (a.error ? ' (error)' : '');
      o.title = a.error || a.description || '';
      sel.append(o);
    }
    const btn = document.createElement('button');
    btn.type = 'button';
    btn.textContent = 'add pass';
    btn.disabled = !sel.options.length;
    btn.addEventListener('click', () => patch({ add: [sel.value] }));
    add.append(sel, btn);
    passesEl.replaceChildren(...items, add);
  }

  // point2D: drag on the video sets the point in frame pixels.
  function videoPoint(e) {
    const r = video.getBoundingClientRect();
    const vw = video.videoWidth || 1, vh = video.videoHeight || 1;
    // object-fit: contain letterboxes the picture inside the element.
    const s = Math.min(r.width / vw, r.height / vh);
    const ox = r.left + (r.width - vw * s) / 2, oy = r.top + (r.height - vh * s) / 2;
    const x = Math.max(0, Math.min(vw, (e.clientX - ox) / s));
    const y = Math.max(0, Math.min(vh, (e.clientY - oy) / s));
    return { x, y, vw, vh };
  }
  let lastSend = 0;
  function sendPoint(e, force) {
    if (!pickPoint) return;
    const now = performance.now();
    if (!force && now - lastSend < 50) return; // ~20 updates a second
    lastSend = now;
    const p = videoPoint(e);
    // ISF points have y up (origin bottom-left).
    const v = pickPoint.normalized ? [p.x / p.vw, 1 - p.y / p.vh] : [p.x, p.vh - p.y];
    setInput(pickPoint.pass, pickPoint.name, v);
  }
  video.addEventListener('pointerdown', (e) => {
    if (!pickPoint) return;
    dragging = true;
    video.setPointerCapture(e.pointerId);
    sendPoint(e, true);
  });
  video.addEventListener('pointermove', (e) => { if (dragging) sendPoint(e, false); });
  video.addEventListener('pointerup', (e) => {
    if (!dragging) return;
    dragging = false;
    sendPoint(e, true);
    pickPoint = null;
    video.classList.remove('picking');
  });

  // ---- scenes ----------------------------------------------------------------

  const scenesEl = document.getElementById('scenes');
  // The transition and duration chosen, kept across re-renders.
  const sceneSwitch = { transition: 'cut', duration: 1 };
  function renderScenes(d) {
    hooks.scenes = d;
    const names = Object.keys(d.scenes || {}).sort();
    const label = document.createElement('span');
    label.textContent = 'scenes:';
    const trans = document.createElement('select');
    trans.id = 'scene-transition';
    trans.title = 'how the next switch is made';
    for (const t of ['cut', ...(d.transitions || [])]) {
      const o = document.createElement('option');
      o.value = o.textContent = t;
      trans.append(o);
    }
    if (!['cut', ...(d.transitions || [])].includes(sceneSwitch.transition)) sceneSwitch.transition = 'cut';
    trans.value = sceneSwitch.transition;
    trans.addEventListener('change', () => { sceneSwitch.transition = trans.value; });
    const dur = document.createElement('input');
    dur.id = 'scene-duration';
    dur.type = 'number';
    dur.min = '0.1';
    dur.max = '60';
    dur.step = '0.1';
    dur.value = String(sceneSwitch.duration);
    dur.title = 'transition duration, seconds';
    dur.addEventListener('change', () => { sceneSwitch.duration = Number(dur.value) || 1; });
    const buttons = names.map((name) => {
      const b = document.createElement('button');
      b.type = 'button';
      b.textContent = name;
      b.dataset.scene = name;
      b.setAttribute('aria-pressed', String(name === d.program));
      b.addEventListener('click', async () => {
        const resp = await fetch(api('scenes/' + encodeURIComponent(name) + '/activate'), {
          method: 'POST',
          headers: headers({ 'Content-Type': 'application/json' }),
          body: JSON.stringify(sceneSwitch.transition === 'cut' ? { transition: 'cut' }
            : { transition: sceneSwitch.transition, duration: sceneSwitch.duration }),
        });
        const j = await resp.json().catch(() => ({}));
        if (!resp.ok) {
          hooks.controlErrors++;
          showError(j.error || ('activate failed: ' + resp.status));
          return;
        }
        showError('');
        await loadScenes();
      });
      return b;
    });
    scenesEl.replaceChildren(label, ...buttons, trans, dur);
    scenesEl.hidden = !names.length;
    renderLayers(d);
  }

  // ---- the programme's layers ------------------------------------------------
  // Per layer of the scene on air: visibility, opacity, placement (rect,
  // fit, rotation), sound (PATCH
  // ./api/scenes, a merge patch replacing the scene's layer list), and the
  // inputs of its passes (POST ./api/scenes/{scene}/layers/{i}/inputs).

  const layersBox = document.getElementById('layers-box');
  const layersEl = document.getElementById('layers');
  async function sendLayers(scene, layers) {
    const resp = await fetch(api('scenes'), {
      method: 'PATCH',
      headers: headers({ 'Content-Type': 'application/merge-patch+json' }),
      body: JSON.stringify({ scenes: { [scene]: { layers } } }),
    });
    const j = await resp.json().catch(() => ({}));
    if (!resp.ok) {
      hooks.controlErrors++;
      showError(j.error || ('PATCH failed: ' + resp.status));
      return;
    }
    showError('');
    renderScenes(j);
  }
  async function setLayerInput(scene, i, pass, name, value) {
    const resp = await fetch(api('scenes/' + encodeURIComponent(scene) + '/layers/' + i + '/inputs'), {
      method: 'POST',
      headers: headers({ 'Content-Type': 'application/json' }),
      body: JSON.stringify({ pass, inputs: { [name]: value } }),
    });
    const j = await resp.json().catch(() => ({}));
    if (!resp.ok) {
      hooks.controlErrors++;
      showError(j.error || ('layer input failed: ' + resp.status));
      return;
    }
    showError('');
  }
  // Placing a layer on the video: the rect is drawn over the picture;
  // a drag inside it moves it, a drag from its bottom-right corner resizes
  // it (Shift keeps its aspect), in canvas pixels; the release sends it
  // (one PATCH), Esc cancels. The video shows the canvas letterboxed
  // (object-fit: contain), as videoPoint maps it.
  const placeBox = document.getElementById('place-box');
  let placing = null; // {scene, i, layers, rect, cw, ch, drag}
  function canvasPoint(e) {
    const p = videoPoint(e);
    return { x: p.x * placing.cw / p.vw, y: p.y * placing.ch / p.vh };
  }
  function showPlaceBox() {
    const r = video.getBoundingClientRect(), stage = placeBox.parentElement.getBoundingClientRect();
    const vw = video.videoWidth || placing.cw, vh = video.videoHeight || placing.ch;
    const s = Math.min(r.width / vw, r.height / vh);
    const k = s * vw / placing.cw; // screen pixels per canvas pixel
    const ox = r.left - stage.left + (r.width - vw * s) / 2, oy = r.top - stage.top + (r.height - vh * s) / 2;
    const [x, y, w, h] = placing.rect;
    Object.assign(placeBox.style, { left: (ox + x * k) + 'px', top: (oy + y * k) + 'px', width: (w * k) + 'px', height: (h * k) + 'px' });
    placeBox.hidden = false;
  }
  function stopPlacing() {
    placing = null;
    hooks.placing = null;
    placeBox.hidden = true;
    video.classList.remove('placing');
  }
  function startPlacing(d, scene, i, layers) {
    const c = d.canvas || {};
    if (!c.width || !c.height) return;
    pickPoint = null;
    video.classList.remove('picking');
    placing = { scene, i, layers, rect: (layers[i].rect || [0, 0, c.width, c.height]).slice(), cw: c.width, ch: c.height, drag: null };
    hooks.placing = { scene, layer: i };
    video.classList.add('placing');
    showPlaceBox();
  }
  video.addEventListener('pointerdown', (e) => {
    if (!placing) return;
    const p = canvasPoint(e);
    const [x, y, w, h] = placing.rect;
    // The handle: within 12 screen pixels of the bottom-right corner.
    const k = video.getBoundingClientRect().width / placing.cw;
    const near = Math.max(12 / Math.max(k, 1e-6), 4);
    const resize = Math.abs(p.x - (x + w)) <= near && Math.abs(p.y - (y + h)) <= near;
    placing.drag = { resize, start: p, rect: placing.rect.slice() };
    try { video.setPointerCapture(e.pointerId); } catch (_) { /* a synthetic pointer */ }
    e.preventDefault();
  });
  video.addEventListener('pointermove', (e) => {
    if (!placing || !placing.drag) return;
    const p = canvasPoint(e), g = placing.drag;
    const dx = p.x - g.start.x, dy = p.y - g.start.y;
    const [x, y, w, h] = g.rect;
    if (g.resize) {
      let nw = Math.max(8, w + dx), nh = Math.max(8, h + dy);
      if (e.shiftKey && w > 0 && h > 0) { // keep the aspect: follow the larger change
        if (nw / w > nh / h) nh = Math.max(8, h * nw / w); else nw = Math.max(8, w * nh / h);
      }
      placing.rect = [x, y, Math.round(nw), Math.round(nh)];
    } else {
      placing.rect = [Math.round(x + dx), Math.round(y + dy), w, h];
    }
    showPlaceBox();
  });
  video.addEventListener('pointerup', () => {
    if (!placing || !placing.drag) return;
    const { scene, i, layers, rect } = placing;
    const moved = rect.some((v, k) => v !== placing.drag.rect[k]);
    stopPlacing();
    if (moved) sendLayers(scene, layers.map((x, k) => (k === i ? { ...x, rect } : x)));
  });
  document.addEventListener('keydown', (e) => {
    if (e.key === 'Escape' && placing) stopPlacing();
  });
  window.addEventListener('resize', () => { if (placing) showPlaceBox(); });

  function renderLayers(d) {
    const scene = d.program;
    const layers = ((d.scenes || {})[scene] || {}).layers || [];
    const passes = ((d.layerPasses || {})[scene]) || [];
    const items = layers.map((l, i) => {
      const box = document.createElement('fieldset');
      box.className = 'layer';
      box.dataset.layer = String(i);
      const legend = document.createElement('legend');
      legend.textContent = i + ': ' + l.source;
      box.append(legend);
      const change = (patch) => sendLayers(scene, layers.map((x, k) => (k === i ? { ...x, ...patch } : x)));
      const check = (key, label) => {
        const row = document.createElement('label');
        row.className = 'input';
        const name = document.createElement('span');
        name.textContent = label;
        const el = document.createElement('input');
        el.type = 'checkbox';
        el.checked = !!l[key];
        el.dataset.layerKey = key;
        el.addEventListener('change', () => change({ [key]: el.checked }));
        row.append(name, el);
        return row;
      };
      const slider = (key, label, max) => {
        const row = document.createElement('label');
        row.className = 'input';
        const name = document.createElement('span');
        name.textContent = label;
        const el = document.createElement('input');
        el.type = 'range';
        el.min = '0'; el.max = String(max); el.step = String(max / 100);
        el.value = String(l[key]);
        el.dataset.layerKey = key;
        const out = document.createElement('output');
        out.textContent = Number(l[key]).toFixed(2);
        el.addEventListener('input', () => { out.textContent = Number(el.value).toFixed(2); });
        // On release: a PATCH re-renders the list.
        el.addEventListener('change', () => change({ [key]: Number(el.value) }));
        row.append(name, el, out);
        return row;
      };
      // Placement: the rect in canvas pixels, the fit, the turn.
      const place = document.createElement('label');
      place.className = 'input';
      const pname = document.createElement('span');
      pname.textContent = 'rect';
      const nums = document.createElement('span');
      const rect = (l.rect || [0, 0, 0, 0]).map((v) => Math.round(v));
      rect.forEach((v, k) => {
        const el = document.createElement('input');
        el.type = 'number';
        el.step = '1';
        el.value = String(v);
        el.style.width = '4.5em';
        el.dataset.layerKey = 'rect' + k;
        el.addEventListener('change', () => {
          const r = rect.slice();
          r[k] = Number(el.value);
          change({ rect: r });
        });
        nums.append(el);
      });
      const drag = document.createElement('button');
      drag.type = 'button';
      drag.textContent = 'drag';
      drag.title = 'place the layer on the video: drag it to move, its corner to resize (Shift keeps the aspect), Esc cancels';
      drag.dataset.layerKey = 'place';
      drag.addEventListener('click', () => startPlacing(d, scene, i, layers));
      nums.append(drag);
      place.append(pname, nums);
      const fitRow = document.createElement('label');
      fitRow.className = 'input';
      const fname = document.createElement('span');
      fname.textContent = 'fit';
      const fit = document.createElement('select');
      fit.dataset.layerKey = 'fit';
      for (const f of ['contain', 'cover', 'stretch']) {
        const o = document.createElement('option');
        o.value = o.textContent = f;
        fit.append(o);
      }
      fit.value = l.fit || 'contain';
      fit.addEventListener('change', () => change({ fit: fit.value }));
      fitRow.append(fname, fit);
      const rot = document.createElement('label');
      rot.className = 'input';
      const rname = document.createElement('span');
      rname.textContent = 'rotation';
      const deg = document.createElement('input');
      deg.type = 'number';
      deg.step = '1';
      deg.value = String(l.rotation || 0);
      deg.dataset.layerKey = 'rotation';
      deg.addEventListener('change', () => change({ rotation: Number(deg.value) }));
      rot.append(rname, deg);
      box.append(check('visible', 'visible'), slider('opacity', 'opacity', 1), place, fitRow, rot,
        check('muted', 'muted'), slider('gain', 'gain', 2));
      for (const pass of passes[i] || []) {
        const sub = document.createElement('fieldset');
        sub.className = 'pass';
        const pl = document.createElement('legend');
        pl.textContent = pass.name + (pass.error ? ' (held out)' : '');
        sub.append(pl);
        for (const u of pass.uniforms || []) {
          sub.append(control(pass, u, (n, v) => setLayerInput(scene, i, pass.name, n, v)));
        }
        box.append(sub);
      }
      return box;
    });
    layersEl.replaceChildren(...items);
    layersBox.hidden = !items.length;
  }
  async function loadScenes() {
    const resp = await fetch(api('scenes'), { headers: headers({}) });
    if (!resp.ok) return; // no --scenes (404), or no control token (401)
    renderScenes(await resp.json());
  }

  async function loadPipeline() {
    const resp = await fetch(api('pipeline'), { headers: headers({}) });
    if (resp.status === 401) {
      passesEl.textContent = 'controls need ?control_token=…';
      return;
    }
    if (!resp.ok) return;
    renderPipeline(await resp.json());
    openEvents();
  }
  renderCodes();
  loadPipeline().catch((e) => showError(String(e)));
  loadScenes().catch((e) => showError(String(e)));
})();
