/*
 * app.js - the counter page of `drugscan serve`: a handheld scanner types a
 * code and Enter into the focused field, or the camera sees a box; the
 * chosen action is sent to the JSON API and the answer is shown in large
 * type with its colour and sound. What the server could not record is kept
 * (localStorage) and sent again when it answers. No library, nothing fetched
 * from anywhere but this server.
 */
'use strict';
(function () {
  const $ = (id) => document.getElementById(id);
  const params = new URLSearchParams(location.search);
  const LANG = params.get('lang') === 'en' ? 'en' : 'zh';
  const sheet = $('settings');

  const TEXT = {
    zh: {
      title: '药品追溯码 · 柜台', camera: '摄像头', 'camera.stop': '关闭摄像头', photo: '拍照', settings: '设置',
      'act.receive': '入库', 'act.sell': '销售', 'act.split': '拆零', 'act.return': '退货', 'act.undo': '撤销',
      'act.scan': '查询', 'act.destroy': '销毁', 'act.stocktake': '盘点',
      'scan.placeholder': '扫描追溯码，或输入后按回车', qty: '拆零数量', ready: '请扫描',
      'pending.text': '未记录：服务器没有应答，恢复后自动补录', retry: '立即重试', log: '本次记录',
      footer: '本地检查，不是医保结算记录', token: '令牌（服务器要求时）', 'station.label': '收银台编号',
      operator: '操作员', insurance: '医保类型', 'ins.any': '不限', 'ins.employee': '职工医保',
      'ins.resident': '居民医保', sound: '提示音', save: '保存', cancel: '取消',
      ok: '✓ 正常', warn: '！注意', alert: '✗ 警报', done: '✓ 已{0}', 'done.warn': '！已{0}，请注意',
      'done.alert': '⚠ 已{0}，但有警报', refused: '✗ 未执行：{0}被拒绝', 'refused.warn': '！未执行',
      'not.pack': '✗ 不是单盒追溯码', unrecorded: '✗ 未记录', 'unrecorded.why': '服务器无法连接，已保存，恢复后自动补录',
      'needs.token': '服务器要求令牌：请在设置中填写', 'bad.token': '令牌不对：请在设置中改正',
      'no.drug': '目录中没有这个药品（未对照）', units: '剩 {0}', late: '补录',
      'late.sold': '补录时显示“已售出”：可能第一次已经记录，请查看记录', working: '…',
      'st.unknown': '未登记', 'st.in_stock': '在库', 'st.sold': '已售出', 'st.returned': '已退回', 'st.destroyed': '已销毁',
      'cam.starting': '正在打开摄像头…', 'cam.on': '摄像头已打开：把追溯码对准画面', 'cam.local': '（本机识别）',
      'cam.server': '（服务器识别）', 'cam.insecure': '浏览器只在 https 或本机地址上开放摄像头：请用“拍照”',
      'cam.failed': '摄像头打不开：{0}', 'photo.none': '照片里没有找到条码', station: '收银台 {0}',
      'station.server': '收银台：服务器默认', demo: '演示数据', catalog: '目录：{0}',
      'coach': '这是商品条码，不是追溯码：请扫描“药品追溯码”', error: '✗ 出错了'
    },
    en: {
      title: 'Drug trace codes · counter', camera: 'Camera', 'camera.stop': 'Stop camera', photo: 'Photo', settings: 'Settings',
      'act.receive': 'Receive', 'act.sell': 'Sell', 'act.split': 'Split sale', 'act.return': 'Return', 'act.undo': 'Undo',
      'act.scan': 'Look up', 'act.destroy': 'Destroy', 'act.stocktake': 'Stocktake',
      'scan.placeholder': 'Scan a trace code, or type it and press Enter', qty: 'Units', ready: 'Scan a box',
      'pending.text': 'not recorded: the server did not answer; sent again when it does', retry: 'Retry now',
      log: 'This session', footer: 'a local check, not the insurance sales record', token: 'Token (when the server needs one)',
      'station.label': 'Station', operator: 'Operator', insurance: 'Insurance', 'ins.any': 'Any',
      'ins.employee': 'Employee', 'ins.resident': 'Resident', sound: 'Sound', save: 'Save', cancel: 'Cancel',
      ok: '✓ OK', warn: '! Check', alert: '✗ ALERT', done: '✓ {0}: done', 'done.warn': '! {0}: done, check it',
      'done.alert': '⚠ {0}: done despite ALERT', refused: '✗ {0}: REFUSED', 'refused.warn': '! Not done',
      'not.pack': '✗ Not the code of one box', unrecorded: '✗ NOT RECORDED',
      'unrecorded.why': 'the server cannot be reached; kept here and sent again when it answers',
      'needs.token': 'the server needs a token: enter it in Settings', 'bad.token': 'wrong token: correct it in Settings',
      'no.drug': 'not in the catalog (unmapped)', units: '{0} left', late: 'late',
      'late.sold': 'sent late and now "already sold": the first attempt may have been recorded, check the history',
      working: '…', 'st.unknown': 'unknown', 'st.in_stock': 'in stock', 'st.sold': 'sold', 'st.returned': 'returned',
      'st.destroyed': 'destroyed', 'cam.starting': 'starting the camera…', 'cam.on': 'camera on: show the trace code',
      'cam.local': '(read in the browser)', 'cam.server': '(read by the server)',
      'cam.insecure': 'browsers open the camera only over https or on this machine: use Photo',
      'cam.failed': 'the camera did not start: {0}', 'photo.none': 'no barcode found in the photo', station: 'station {0}',
      'station.server': 'station: the server\'s', demo: 'demo data', catalog: 'catalog: {0}',
      'coach': 'this is the product barcode, not the trace code: scan the code labelled 药品追溯码', error: '✗ Error'
    }
  };
  const t = (k, ...a) => (TEXT[LANG][k] || k).replace(/\{(\d)\}/g, (_, i) => a[i]);

  /* ---- settings, kept in this browser ---- */
  const store = {
    get(k, d) { try { const v = localStorage.getItem('drugscan.' + k); return v === null ? d : JSON.parse(v); } catch (e) { return d; } },
    set(k, v) { try { localStorage.setItem('drugscan.' + k, JSON.stringify(v)); } catch (e) { /* private mode */ } }
  };
  const cfg = {
    token: store.get('token', ''), station: store.get('station', ''), operator: store.get('operator', ''),
    insurance: store.get('insurance', ''), sound: store.get('sound', true)
  };
  if (location.hash.startsWith('#token=')) { /* a link with the token: kept, then taken out of the address bar */
    cfg.token = decodeURIComponent(location.hash.slice(7));
    store.set('token', cfg.token);
    history.replaceState(null, '', location.pathname + location.search);
  }

  /* ---- sound: 1 beep ok, 2 warn, 3 alert ---- */
  let audio = null;
  function unlockAudio() {
    if (!audio && (window.AudioContext || window.webkitAudioContext)) audio = new (window.AudioContext || window.webkitAudioContext)();
    if (audio && audio.state === 'suspended') audio.resume();
  }
  function beep(level) {
    if (!cfg.sound || !audio) return;
    const n = level === 'alert' ? 3 : level === 'warn' ? 2 : 1;
    const freq = level === 'alert' ? 440 : level === 'warn' ? 660 : 880;
    for (let i = 0; i < n; i++) {
      const o = audio.createOscillator(), g = audio.createGain(), at = audio.currentTime + i * 0.18;
      o.type = level === 'alert' ? 'square' : 'sine';
      o.frequency.value = freq;
      g.gain.setValueAtTime(0.0001, at);
      g.gain.exponentialRampToValueAtTime(0.3, at + 0.01);
      g.gain.exponentialRampToValueAtTime(0.0001, at + 0.13);
      o.connect(g).connect(audio.destination);
      o.start(at);
      o.stop(at + 0.14);
    }
  }

  /* ---- the API ---- */
  async function api(path, body, ctype) {
    const headers = { 'Content-Type': ctype || 'application/json' };
    if (cfg.token) headers.Authorization = 'Bearer ' + cfg.token;
    const res = await fetch(path, {
      method: body === undefined ? 'GET' : 'POST', headers, cache: 'no-store',
      body: body === undefined ? undefined : ctype ? body : JSON.stringify(body)
    });
    let json = null;
    try { json = await res.json(); } catch (e) { json = null; }
    return { status: res.status, json };
  }

  /* ---- what is shown ---- */
  let action = 'sell';
  const el = (tag, cls, text) => { const e = document.createElement(tag); if (cls) e.className = cls; if (text !== undefined) e.textContent = text; return e; };
  const actionName = (a) => t('act.' + a);
  const order = { alert: 0, warn: 1, info: 2 };

  function drugLine(j) {
    const d = j && j.drug;
    if (!d) return j && j.valid ? t('no.drug') : '';
    return [d.generic_name, d.brand_name ? '（' + d.brand_name + '）' : '', ' ', d.spec || '', d.pack ? ' · ' + d.pack : ''].join('');
  }

  function show(level, verdict, j, what, extra) {
    const a = $('answer');
    a.className = 'answer ' + level + (level === 'alert' ? ' flash' : '');
    a.dataset.outcome = level;
    $('verdict').textContent = verdict;
    $('drug').textContent = drugLine(j);
    $('what').textContent = what || '';
    const ul = $('labels');
    ul.textContent = '';
    const labels = (j && j.labels ? j.labels.slice() : []).sort((x, y) => order[x.severity] - order[y.severity]);
    for (const l of labels) {
      const li = el('li', l.severity, l.text);
      li.dataset.id = l.id;
      ul.appendChild(li);
    }
    if (extra) { const li = el('li', level === 'ok' ? 'info' : level, extra); li.dataset.id = 'page.note'; ul.prepend(li); }
    $('note').textContent = j && j.note ? j.note : '';
    beep(level);
  }

  function logLine(level, act, code, j, mark) {
    const li = el('li', level);
    const now = new Date();
    li.appendChild(el('span', 't', now.toTimeString().slice(0, 8)));
    li.appendChild(el('span', 'a', actionName(act) + (mark ? ' · ' + mark : '')));
    const top = j && j.labels ? j.labels.filter((l) => l.severity !== 'info').map((l) => l.text)[0] : '';
    li.appendChild(el('span', 'c', [code, drugLine(j), top || ''].filter(Boolean).join('  ')));
    const ol = $('history');
    ol.prepend(li);
    while (ol.children.length > 50) ol.lastChild.remove();
  }

  /* The answer of POST /v1/counter/ACTION: what it says and how loud. */
  function counterAnswer(act, code, r, late) {
    const j = r.json || {};
    if (r.status === 200 && j.ledger) {
      const L = j.ledger, level = L.outcome;
      const verb = actionName(act);
      const verdict = act === 'scan' ? t(level)
        : L.refused ? (level === 'alert' ? t('refused', verb) : t('refused.warn'))
        : level === 'alert' ? t('done.alert', verb) : level === 'warn' ? t('done.warn', verb) : t('done', verb);
      let what = [j.input, t('st.' + L.state_before) + ' → ' + t('st.' + L.state_after)].join('  ');
      if (L.units_left !== null && L.units_left !== undefined && (act === 'split' || L.state_after === 'in_stock')) what += '  ' + t('units', L.units_left);
      const lateSold = late && act !== 'scan' && L.refused && j.labels.some((l) => l.id === 'ledger.already_sold');
      show(level, verdict, j, what, lateSold ? t('late.sold') : late ? t('late') : '');
      logLine(level, act, code, j, late ? t('late') : '');
      return;
    }
    if (r.status === 422) {
      const coach = j.kind === 'product-barcode' ? t('coach') : '';
      show('alert', t('not.pack'), j, j.error ? j.error.message : '', coach);
      logLine('alert', act, code, j);
      return;
    }
    show('alert', t('error'), null, (j.error && j.error.message) || ('HTTP ' + r.status));
    logLine('alert', act, code, null);
  }

  /* ---- what could not be recorded: kept, and sent again ---- */
  let pending = store.get('pending', []);
  function renderPending() {
    $('pending').hidden = pending.length === 0;
    $('pending-count').textContent = pending.length;
    const ol = $('pending-list');
    ol.textContent = '';
    for (const p of pending) {
      const li = el('li', 'alert');
      li.appendChild(el('span', 't', new Date(p.at).toTimeString().slice(0, 8)));
      li.appendChild(el('span', 'a', actionName(p.act)));
      li.appendChild(el('span', 'c', p.body.code));
      ol.appendChild(li);
    }
  }
  function keep(item) { pending.push(item); store.set('pending', pending); renderPending(); }

  function needToken(status, j) {
    openSettings(j && j.error && j.error.id === 'auth.bad_token' ? t('bad.token') : t('needs.token'));
  }

  let retrying = false;
  async function retryPending() {
    if (retrying || !pending.length) return;
    retrying = true;
    try {
      while (pending.length) {
        const p = pending[0];
        let r;
        try { r = await api(p.path, p.body); } catch (e) { break; }
        if (r.status === 503) break;
        if (r.status === 401) { needToken(r.status, r.json); break; }
        pending.shift();
        store.set('pending', pending);
        renderPending();
        counterAnswer(p.act, p.body.code, r, true);
      }
    } finally { retrying = false; }
  }
  setInterval(retryPending, 5000);

  /* ---- one code ---- */
  let chain = Promise.resolve(); /* one request at a time, in the order the codes came */
  function submit(code, symbology) {
    const act = action;
    const body = { code, lang: LANG };
    if (cfg.station) body.station = cfg.station;
    if (cfg.operator) body.operator = cfg.operator;
    if (cfg.insurance) body.insurance = cfg.insurance;
    if (symbology) body.symbology = symbology;
    if (act === 'split') { body.split = true; body.qty = Math.max(1, Math.min(100000, parseInt($('qty').value, 10) || 1)); }
    const path = '/v1/counter/' + (act === 'split' ? 'sell' : act);
    chain = chain.then(async () => {
      $('answer').classList.add('busy');
      let r;
      try {
        if (pending.length) await retryPending(); /* the older ones first */
        r = await api(path, body);
      } catch (e) {
        r = null;
      } finally { $('answer').classList.remove('busy'); }
      if (!r || r.status === 503 || r.status === 401) {
        keep({ path, body, act, at: Date.now() });
        show('alert', t('unrecorded'), null, code + '  ' + (r && r.json && r.json.error ? r.json.error.message : t('unrecorded.why')));
        logLine('alert', act, code, null, t('unrecorded'));
        if (r && r.status === 401) needToken(r.status, r.json);
        return;
      }
      counterAnswer(act, code, r, false);
    });
    return chain;
  }

  /* ---- the handheld scanner: keystrokes, then Enter ---- */
  const input = $('code');
  function enter() {
    unlockAudio();
    const code = input.value.trim();
    input.value = '';
    if (code) submit(code);
    input.focus();
  }
  /* Enter ends a code (the form has two fields, so the browser would not submit it by itself) */
  input.addEventListener('keydown', (ev) => { if (ev.key === 'Enter') { ev.preventDefault(); enter(); } });
  $('scanform').addEventListener('submit', (ev) => { ev.preventDefault(); enter(); });
  function setAction(a) {
    action = a;
    for (const b of document.querySelectorAll('#actions button')) b.classList.toggle('on', b.dataset.action === a);
    $('qty-row').hidden = a !== 'split';
    input.focus();
  }
  for (const b of document.querySelectorAll('#actions button')) b.addEventListener('click', () => { unlockAudio(); setAction(b.dataset.action); });
  const keys = { F1: 'receive', F2: 'sell', F3: 'split', F4: 'return', F5: 'undo', F6: 'scan' };
  document.addEventListener('keydown', (ev) => {
    if (keys[ev.key]) { ev.preventDefault(); setAction(keys[ev.key]); return; }
    const tag = ev.target && ev.target.tagName;
    /* a scanner typing while something else has the focus: the keys go to the code field */
    if (tag !== 'INPUT' && tag !== 'SELECT' && tag !== 'TEXTAREA' && sheet.hidden && ev.key.length === 1 && !ev.ctrlKey && !ev.metaKey) input.focus();
  });
  document.addEventListener('click', (ev) => {
    unlockAudio();
    const tag = ev.target && ev.target.tagName;
    if (sheet.hidden && tag !== 'INPUT' && tag !== 'SELECT' && tag !== 'BUTTON' && tag !== 'A' && tag !== 'LABEL') input.focus();
  });
  window.addEventListener('focus', () => { if (sheet.hidden) input.focus(); });

  /* ---- the camera: BarcodeDetector where the browser has one, else frames to POST /v1/scan ---- */
  const seen = new Map(); /* a code is acted on when it appears, and again only after 2 s out of view */
  function fresh(text) {
    const now = performance.now(), last = seen.get(text);
    seen.set(text, now);
    return last === undefined || now - last > 2000;
  }
  let stream = null, timer = null, busy = false, detector = null;
  const canvas = document.createElement('canvas');
  const video = $('video');

  async function makeDetector() {
    if (!('BarcodeDetector' in window)) return null;
    try {
      const formats = await window.BarcodeDetector.getSupportedFormats();
      const want = ['data_matrix', 'code_128', 'qr_code'].filter((f) => formats.includes(f));
      return want.length === 3 ? new window.BarcodeDetector({ formats: want.concat(formats.filter((f) => f.startsWith('ean'))) }) : null;
    } catch (e) { return null; }
  }

  function frameBlob(source, w, h) {
    const scale = Math.min(1, 1600 / Math.max(w, h));
    canvas.width = Math.round(w * scale);
    canvas.height = Math.round(h * scale);
    canvas.getContext('2d').drawImage(source, 0, 0, canvas.width, canvas.height);
    return new Promise((resolve) => canvas.toBlob(resolve, 'image/jpeg', 0.85));
  }

  /* The codes of one picture through the server: box codes first; a product barcode alone gets coaching. */
  async function serverCodes(blob, effort) {
    const r = await api('/v1/scan?effort=' + effort + '&lang=' + LANG, blob, 'image/jpeg');
    if (r.status === 401) { needToken(r.status, r.json); return null; }
    if (r.status !== 200 || !r.json) return [];
    return r.json.codes.map((c) => ({ text: c.text, symbology: c.symbology, box: !!c.unit_key, kind: c.kind }));
  }

  function actOn(codes, always) {
    const boxes = codes.filter((c) => c.box);
    for (const c of boxes) if (always || fresh(c.text)) submit(c.text, c.symbology);
    if (!boxes.length && codes.length && (always || fresh(codes[0].text))) {
      show('warn', t('not.pack'), null, codes[0].text, codes[0].kind === 'product-barcode' ? t('coach') : '');
      logLine('warn', action, codes[0].text, null);
    }
  }

  async function grab() {
    if (busy || !stream || video.readyState < 2) return;
    busy = true;
    try {
      let codes;
      if (detector) {
        const found = await detector.detect(video);
        const fmt = { data_matrix: 'datamatrix', code_128: 'code128', qr_code: 'qr', ean_13: 'ean13', ean_8: 'ean8' };
        codes = found.map((f) => ({ text: f.rawValue, symbology: fmt[f.format] || '', box: !f.format.startsWith('ean') }));
      } else {
        codes = await serverCodes(await frameBlob(video, video.videoWidth, video.videoHeight), 'fast');
      }
      if (codes) actOn(codes, false);
    } catch (e) {
      $('camstatus').textContent = t('cam.failed', e.message || e);
    } finally { busy = false; }
  }

  async function startCamera() {
    const cs = $('camstatus');
    $('camera').hidden = false;
    if (!window.isSecureContext || !navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      cs.textContent = t('cam.insecure');
      return;
    }
    cs.textContent = t('cam.starting');
    try {
      stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: 'environment', width: { ideal: 1280 }, height: { ideal: 720 } }, audio: false });
      video.srcObject = stream;
      await video.play();
      detector = await makeDetector();
      cs.textContent = t('cam.on') + ' ' + (detector ? t('cam.local') : t('cam.server'));
      $('cam').textContent = t('camera.stop');
      $('cam').classList.add('on');
      timer = setInterval(grab, 250); /* about four frames a second, one in flight */
    } catch (e) {
      cs.textContent = t('cam.failed', e.message || e.name);
      stopCamera(true);
    }
  }
  function stopCamera(keepStatus) {
    if (timer) clearInterval(timer);
    timer = null;
    if (stream) stream.getTracks().forEach((tr) => tr.stop());
    stream = null;
    video.srcObject = null;
    $('cam').textContent = t('camera');
    $('cam').classList.remove('on');
    if (!keepStatus) $('camera').hidden = true;
    input.focus();
  }
  $('cam').addEventListener('click', () => { unlockAudio(); if (stream) stopCamera(); else startCamera(); });

  /* a photo from the phone's camera app: works over plain http too */
  $('photo').addEventListener('change', async () => {
    const f = $('photo').files[0];
    $('photo').value = '';
    if (!f) return;
    unlockAudio();
    try {
      const bmp = await createImageBitmap(f);
      const codes = await serverCodes(await frameBlob(bmp, bmp.width, bmp.height), 'normal');
      if (codes && !codes.length) show('warn', t('warn'), null, t('photo.none'));
      else if (codes) actOn(codes, true);
    } catch (e) {
      show('alert', t('error'), null, String(e.message || e));
    }
  });

  /* ---- settings ---- */
  function openSettings(why) {
    $('settings-why').hidden = !why;
    $('settings-why').textContent = why || '';
    $('s-token').value = cfg.token;
    $('s-station').value = cfg.station;
    $('s-operator').value = cfg.operator;
    $('s-insurance').value = cfg.insurance;
    $('s-sound').checked = cfg.sound;
    sheet.hidden = false;
    $(cfg.token || !why ? 's-station' : 's-token').focus();
  }
  function closeSettings(save) {
    if (save) {
      cfg.token = $('s-token').value.trim();
      cfg.station = $('s-station').value.trim();
      cfg.operator = $('s-operator').value.trim();
      cfg.insurance = $('s-insurance').value;
      cfg.sound = $('s-sound').checked;
      for (const k of Object.keys(cfg)) store.set(k, cfg[k]);
      showStation();
      loadVersion();
      retryPending();
    }
    sheet.hidden = true;
    input.focus();
  }
  $('settings-open').addEventListener('click', () => openSettings(''));
  $('s-save').addEventListener('click', () => closeSettings(true));
  $('s-cancel').addEventListener('click', () => closeSettings(false));
  sheet.addEventListener('keydown', (ev) => {
    if (ev.key === 'Escape') closeSettings(false);
    else if (ev.key === 'Enter' && ev.target.tagName === 'INPUT') closeSettings(true);
  });
  function showStation() { $('station').textContent = cfg.station ? t('station', cfg.station) : t('station.server'); }

  async function loadVersion() {
    try {
      const r = await api('/v1/version');
      if (r.status === 401) { needToken(r.status, r.json); return; }
      if (r.status === 200 && r.json) {
        const c = r.json.catalog;
        $('catalog').textContent = t('catalog', [c.source, c.version].filter(Boolean).join(' ') + (c.synthetic ? ' · ' + t('demo') : '')) + ' · drugscan ' + r.json.version;
      }
    } catch (e) { /* shown when a scan fails */ }
  }

  /* ---- the page in its language ---- */
  document.documentElement.lang = LANG === 'en' ? 'en' : 'zh-CN';
  document.title = t('title');
  for (const e of document.querySelectorAll('[data-t]')) e.textContent = t(e.dataset.t);
  for (const e of document.querySelectorAll('[data-tp]')) e.placeholder = t(e.dataset.tp);
  $('lang').textContent = LANG === 'en' ? '中文' : 'English';
  $('lang').href = LANG === 'en' ? '?lang=zh' : '?lang=en';
  if (!window.isSecureContext) $('cam').hidden = true; /* the camera needs https; a photo works anyway */
  showStation();
  renderPending();
  setAction('sell');
  loadVersion();
  retryPending();
})();
