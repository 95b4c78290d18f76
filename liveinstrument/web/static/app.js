// DrumGAN Live control page: pads, the selected pad's controls, sound views, meters, MIDI learn.
// One WebSocket carries everything both ways (JSON); the server is the one state: this page
// only shows what it is told and sends what the performer does.
"use strict";
(() => {
  const SLIDERS = ["kick", "snare", "cymbal", "variation", "tune", "decay", "pan", "gain"];
  const HOLD_MS = 400;            // a control being moved ignores echoes for this long
  const st = { pads: [], selected: 1, ws: null, learning: false, moved: {}, sounds: {}, out: {} };
  // Read by the tests and the benchmark (click times, flash counts); nothing reads it back.
  const probe = { clicks: [], ready: false, messages: 0, state: st };
  window.drumgan = probe;
  const $ = (id) => document.getElementById(id);

  // ------------------------------------------------------------------ socket
  function connect() {
    const ws = new WebSocket(`${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws`);
    st.ws = ws;
    ws.onopen = () => { $("conn").textContent = "live"; $("conn").className = "conn on"; };
    ws.onclose = () => {
      $("conn").textContent = "offline"; $("conn").className = "conn off"; probe.ready = false;
      setTimeout(connect, 1000);
    };
    ws.onmessage = (ev) => { probe.messages++; handle(JSON.parse(ev.data)); };
  }
  function send(obj) { if (st.ws && st.ws.readyState === 1) st.ws.send(JSON.stringify(obj)); }

  function handle(m) {
    switch (m.t) {
      case "batch": m.m.forEach(handle); break;
      case "hello": hello(m); break;
      case "param": onParam(m.pad, m.name, m.value); break;
      case "hit": flash(m.pad); break;
      case "selected": select(m.pad, false); break;
      case "sound": st.sounds[m.pad] = m; drawPad(m.pad); if (m.pad === st.selected) drawEditor(); break;
      case "meters": meters(m); break;
      case "learn_armed": say(`MIDI learn: move a knob or press a key for ${m.what}`); break;
      case "learned": endLearn(); say(`learned: ${m.what}`); break;
      case "learn_cancelled": break;
      case "kits": kitList(m.names); break;
      case "kit_saved": kitList(m.names); say(`kit "${m.name}" saved`); break;
      case "kit_saving": say(`saving kit "${m.name}"...`); setTimeout(() => send({ t: "kits" }), 1500); break;
      case "kit_loading": say(`loading kit "${m.name}": the pads follow as it loads`); break;
      case "kit_loaded": hello({ ...m.state, selected: st.selected, kits: null }); say(`kit "${m.name}" loaded`); break;
      case "error": say(m.msg, true); if (st.learning) endLearn(); break;
      case "pong": break;
    }
  }

  function hello(m) {
    st.pads = m.pads.map((p) => ({ ...p }));
    buildPads();
    if (m.kits) kitList(m.kits);
    $("learn").disabled = m.learn === false;
    $("learn").title = m.learn === false ? "MIDI learn needs a MIDI input (drumgan live --midi-in ...)" : $("learn").title;
    select(m.selected || 1, false);
    probe.ready = true;
  }

  function onParam(pad, name, value) {
    const targets = pad === 0 ? st.pads : [st.pads[pad - 1]];
    for (const p of targets) {
      if (!p) continue;
      if (name in p) p[name] = value;
      if (p.pad !== st.selected) continue;
      const held = HOLD_MS - (performance.now() - (st.moved[name] || 0));
      if (held <= 0) showParam(name, value);
      else {          // being moved here: show the newest value once the hand lets go
        clearTimeout(st.moved[`_t${name}`]);
        st.moved[`_t${name}`] = setTimeout(() => { const q = st.pads[st.selected - 1]; if (q) showParam(name, q[name]); }, held + 20);
      }
    }
    if (pad > 0 && ["kick", "snare", "cymbal", "variation", "variation_y", "tune", "decay", "generate", "new_direction"].includes(name)) {
      const el = padEl(pad); if (el) el.classList.add("busy");
    }
  }

  // ------------------------------------------------------------------ pads
  function padEl(n) { return document.querySelector(`.pad[data-pad="${n}"]`); }

  function buildPads() {
    const box = $("pads");
    box.textContent = "";
    // laid out like a drum machine: pad 1 bottom left, pad 16 top right
    const order = [];
    for (let row = 3; row >= 0; row--) for (let c = 0; c < 4; c++) order.push(row * 4 + c + 1);
    for (const n of order.filter((k) => k <= st.pads.length)) {
      const p = st.pads[n - 1];
      const el = document.createElement("div");
      el.className = "pad"; el.dataset.pad = n; el.dataset.hits = "0"; el.dataset.gen = "-1";
      el.dataset.learn = "trigger";
      el.innerHTML = `<span class="num">${n}</span><span class="name"></span><canvas width="120" height="40"></canvas>`;
      el.querySelector(".name").textContent = p.name;
      el.addEventListener("pointerdown", (e) => strike(e, n, el));
      el.addEventListener("pointerup", () => send({ t: "select", pad: n }));
      for (const k of ["dragenter", "dragover"]) el.addEventListener(k, (e) => { e.preventDefault(); el.classList.add("drop"); });
      el.addEventListener("dragleave", () => el.classList.remove("drop"));
      el.addEventListener("drop", (e) => { e.preventDefault(); el.classList.remove("drop"); dropFile(n, e.dataTransfer); });
      box.appendChild(el);
      drawPad(n);
    }
  }

  function strike(e, n, el) {
    e.preventDefault();
    probe.clicks.push(performance.timeOrigin + e.timeStamp);
    if (probe.clicks.length > 1000) probe.clicks.shift();
    if (st.learning) { arm(`pad/${n}/trigger`, el); return; }
    const r = el.getBoundingClientRect();
    const y = Math.min(Math.max((e.clientY - r.top) / r.height, 0), 1);
    send({ t: "trigger", pad: n, vel: Math.round((1 - 0.85 * y) * 1000) / 1000 });   // top = loud
    select(n, false);
  }

  function flash(n) {
    const el = padEl(n);
    if (!el) return;
    el.dataset.hits = String(Number(el.dataset.hits) + 1);
    el.classList.add("flash");
    clearTimeout(el._t);
    el._t = setTimeout(() => el.classList.remove("flash"), 90);
  }

  function select(n, tell) {
    st.selected = n;
    document.querySelectorAll(".pad").forEach((el) => el.classList.toggle("sel", Number(el.dataset.pad) === n));
    const p = st.pads[n - 1];
    if (!p) return;
    $("ed-title").textContent = `pad ${n}: ${p.name}`;
    $("ed-sub").textContent = `note ${p.note}`;
    for (const k of SLIDERS) showParam(k, p[k]);
    drawXY();
    drawEditor();
    if (tell) send({ t: "select", pad: n });
  }

  // ------------------------------------------------------------------ sliders, XY, buttons
  const pending = {};
  let frameQueued = false;
  function queue(key, msg) {      // at most one message per control per display frame
    pending[key] = msg;
    if (!frameQueued) { frameQueued = true; requestAnimationFrame(() => { frameQueued = false; for (const k in pending) { send(pending[k]); delete pending[k]; } }); }
  }

  function buildSliders() {
    const box = $("sliders");
    for (const k of SLIDERS) {
      const lab = document.createElement("label"); lab.textContent = k; lab.htmlFor = `s-${k}`;
      const inp = document.createElement("input");
      Object.assign(inp, { type: "range", min: 0, max: 1, step: 0.001, id: `s-${k}` });
      inp.dataset.learn = k;
      const out = document.createElement("output"); out.id = `o-${k}`;
      inp.addEventListener("pointerdown", (e) => { if (st.learning) { e.preventDefault(); arm(`pad/selected/${k}`, inp); } });
      inp.addEventListener("input", () => {
        st.moved[k] = performance.now();
        const v = Number(inp.value);
        $(`o-${k}`).textContent = v.toFixed(2);
        const p = st.pads[st.selected - 1]; if (p) p[k] = v;
        queue(k, { t: "set", pad: st.selected, name: k, value: v });
      });
      box.append(lab, inp, out);
    }
  }

  function showParam(k, v) {
    if (SLIDERS.includes(k)) { $(`s-${k}`).value = v; $(`o-${k}`).textContent = Number(v).toFixed(2); }
    if (k === "variation" || k === "variation_y") drawXY();
  }

  function xyEvents() {
    const c = $("xy");
    let down = false;
    const move = (e) => {
      const r = c.getBoundingClientRect();
      const x = Math.min(Math.max((e.clientX - r.left) / r.width, 0), 1);
      const y = Math.min(Math.max(1 - (e.clientY - r.top) / r.height, 0), 1);
      const p = st.pads[st.selected - 1]; if (!p) return;
      p.variation = x; p.variation_y = y;
      st.moved.variation = st.moved.variation_y = performance.now();
      showParam("variation", x);
      queue("xy", { t: "xy", pad: st.selected, x: Math.round(x * 1000) / 1000, y: Math.round(y * 1000) / 1000 });
    };
    c.addEventListener("pointerdown", (e) => {
      e.preventDefault();
      if (st.learning) { arm("pad/selected/variation", c); return; }
      down = true; c.setPointerCapture(e.pointerId); move(e);
    });
    c.addEventListener("pointermove", (e) => { if (down) move(e); });
    c.addEventListener("pointerup", () => { down = false; });
  }

  function drawXY() {
    const c = $("xy"), g = c.getContext("2d"), p = st.pads[st.selected - 1];
    g.clearRect(0, 0, c.width, c.height);
    g.strokeStyle = "#333"; g.beginPath(); g.moveTo(c.width / 2, 0); g.lineTo(c.width / 2, c.height);
    g.moveTo(0, c.height / 2); g.lineTo(c.width, c.height / 2); g.stroke();
    if (!p) return;
    g.fillStyle = "#f0a030"; g.beginPath();
    g.arc(p.variation * c.width, (1 - p.variation_y) * c.height, 9, 0, 2 * Math.PI); g.fill();
  }

  function buttons() {
    document.querySelectorAll("[data-action]").forEach((b) => {
      b.dataset.learn = b.dataset.action;
      b.addEventListener("click", () => {
        if (st.learning) { arm(`pad/selected/${b.dataset.action}`, b); return; }
        send({ t: "action", pad: st.selected, name: b.dataset.action });
        if (b.dataset.action === "capture") say(`capture armed on pad ${st.selected}: play a sound into the input`);
      });
    });
    $("learn").addEventListener("click", () => {
      if (st.learning) { send({ t: "learn_cancel" }); endLearn(); say("MIDI learn cancelled"); return; }
      st.learning = true; $("learn").classList.add("on"); document.body.classList.add("learning");
      say("MIDI learn: click a control or pad on this page, then move a knob or hit a key");
    });
    $("kit-save").addEventListener("click", () => send({ t: "kit_save", name: $("kit-name").value.trim() }));
    $("kit-load").addEventListener("click", () => send({ t: "kit_load", name: $("kit-name").value.trim() }));
  }

  function arm(target, el) {
    document.querySelectorAll(".learn-target").forEach((x) => x.classList.remove("learn-target"));
    el.classList.add("learn-target");
    send({ t: "learn", target });
  }
  function endLearn() {
    st.learning = false; $("learn").classList.remove("on"); document.body.classList.remove("learning");
    document.querySelectorAll(".learn-target").forEach((x) => x.classList.remove("learn-target"));
  }

  function kitList(names) {
    const dl = $("kit-list"); dl.textContent = "";
    for (const n of names) { const o = document.createElement("option"); o.value = n; dl.appendChild(o); }
  }

  // ------------------------------------------------------------------ dropped audio
  async function dropFile(n, dt) {
    const f = dt && dt.files && dt.files[0];
    if (!f) { say("drop an audio file (WAV, FLAC, AIFF, OGG) on a pad", true); return; }
    say(`analysing ${f.name} into pad ${n}...`);
    try {
      const r = await fetch(`/upload?pad=${n}&name=${encodeURIComponent(f.name)}`, { method: "POST", body: f });
      const j = await r.json();
      if (!r.ok) say(j.error || `upload failed (${r.status})`, true);
      else { say(`${j.name}: ${j.seconds} s analysed into pad ${n}`); select(n, true); }
    } catch (err) { say(`upload failed: ${err}`, true); }
  }
  window.addEventListener("dragover", (e) => e.preventDefault());   // a stray drop must not open the file
  window.addEventListener("drop", (e) => e.preventDefault());

  // ------------------------------------------------------------------ drawing
  function drawWave(c, wave, color) {
    const g = c.getContext("2d");
    g.clearRect(0, 0, c.width, c.height);
    if (!wave || !wave.length) return;
    const h = c.height / 2, w = c.width / wave.length;
    g.fillStyle = color;
    wave.forEach(([lo, hi], i) => g.fillRect(i * w, h - hi * h, Math.max(w, 1), Math.max((hi - lo) * h, 1)));
  }

  function drawPad(n) {
    const el = padEl(n), s = st.sounds[n];
    if (!el || !s) return;
    drawWave(el.querySelector("canvas"), s.wave, "#8fb3ff");
    el.dataset.gen = String(s.gen);
    el.classList.remove("busy");
  }

  function colour(v) {               // dark blue -> orange -> white
    const t = v / 255;
    return [Math.min(255, 40 + 400 * t * t), Math.min(255, 20 + 300 * t * t * t + 60 * t), Math.min(255, 60 + 120 * (1 - t) * t + 255 * Math.max(0, t - 0.8) * 5)];
  }

  function drawEditor() {
    const s = st.sounds[st.selected];
    drawWave($("wave"), s && s.wave, "#8fb3ff");
    const c = $("spec"), g = c.getContext("2d");
    g.clearRect(0, 0, c.width, c.height);
    if (!s) return;
    const bytes = Uint8Array.from(atob(s.spec), (ch) => ch.charCodeAt(0));
    const img = new ImageData(s.frames, s.bins);
    for (let f = 0; f < s.frames; f++) {
      for (let b = 0; b < s.bins; b++) {
        const [r, gg, bb] = colour(bytes[f * s.bins + b]);
        const i = ((s.bins - 1 - b) * s.frames + f) * 4;       // low frequencies at the bottom
        img.data[i] = r; img.data[i + 1] = gg; img.data[i + 2] = bb; img.data[i + 3] = 255;
      }
    }
    const tmp = document.createElement("canvas"); tmp.width = s.frames; tmp.height = s.bins;
    tmp.getContext("2d").putImageData(img, 0, 0);
    g.imageSmoothingEnabled = true;
    g.drawImage(tmp, 0, 0, c.width, c.height);
  }

  function meters(m) {
    const db = m.peak > 0 ? 20 * Math.log10(m.peak) : -60;
    $("m-peak").style.width = `${Math.max(0, Math.min(100, (db + 60) / 60 * 100))}%`;
    $("m-voices").textContent = m.voices;
    if (m.load !== undefined) $("m-load").textContent = `${Math.round(m.load * 100)}%`;
    if (m.xruns !== undefined) $("m-xruns").textContent = m.xruns;
    $("m-pending").textContent = m.renders_pending;
    st.out = m;
  }

  let msgTimer = 0;
  function say(text, err) {
    const f = $("msg"); f.textContent = text; f.className = err ? "err" : "";
    clearTimeout(msgTimer); msgTimer = setTimeout(() => { f.textContent = ""; }, 8000);
  }

  buildSliders(); xyEvents(); buttons(); connect();
})();
