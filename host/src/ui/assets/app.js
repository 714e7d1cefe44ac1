// otlp-capture's web UI: two views over the control API, picked by the URL's
// hash: `#/` lists the store's sessions, `#/sessions/ID` shows one session's
// timeline, phases and replays with its actions. Every text that comes from
// the store is set as text, never as markup.
'use strict';

/** Where the control token is kept: this tab's session storage only. */
const TOKEN_KEY = 'otlp-capture.control-token';

/** The signals, their series in the timeline API and their counts in metadata.json. */
const SIGNALS = [
  { series: 'traces', label: 'spans', count: 'spanCount' },
  { series: 'metrics', label: 'data points', count: 'dataPointCount' },
  { series: 'logs', label: 'log records', count: 'logRecordCount' },
];

/** Refresh periods: fast while something moves, slow otherwise. */
const LIVE_REFRESH_MS = 2000;
const IDLE_REFRESH_MS = 15000;
const REPLAY_REFRESH_MS = 1000;

/** Timeline steps the page picks from: the smallest that keeps the chart under MAX_STEPS buckets. */
const STEPS = [
  ['100ms', 100], ['250ms', 250], ['500ms', 500], ['1s', 1e3], ['2s', 2e3], ['5s', 5e3], ['10s', 1e4],
  ['15s', 15e3], ['30s', 3e4], ['1m', 6e4], ['2m', 12e4], ['5m', 3e5], ['10m', 6e5], ['15m', 9e5],
  ['30m', 18e5], ['1h', 36e5], ['2h', 72e5], ['6h', 216e5], ['12h', 432e5], ['1d', 864e5],
];
const MAX_STEPS = 300;

// ---------------------------------------------------------------- the API

/** An answer of the control API that is not a success. */
class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

/** Calls the control API with the token when one is kept; a 401 asks for it. */
async function api(method, path, body) {
  const headers = { Accept: 'application/json' };
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (token) headers.Authorization = `Bearer ${token}`;
  const init = { method, headers };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  const response = await fetch(path, init);
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (response.ok) return data;
  const message = (data && data.error) || `${response.status} ${response.statusText}`;
  if (response.status === 401) showTokenForm(true);
  throw new ApiError(response.status, message);
}

// ---------------------------------------------------------------- building the page

/** An element with attributes (`on*` become listeners) and children (strings become text). */
function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith('on')) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

const SVG_NS = 'http://www.w3.org/2000/svg';

/** An SVG element with attributes and children. */
function svg(tag, attributes = {}, ...children) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, String(value));
  for (const child of children.flat()) node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  return node;
}

/** Shows a message under the bar; errors stay until the next success. */
function notify(message, kind = 'info') {
  const notice = document.getElementById('notice');
  notice.textContent = message;
  notice.className = `notice ${kind}`;
  notice.hidden = !message;
}

/** Reports a failed call, saying what to do about the usual causes. */
function failed(what, error) {
  let hint = '';
  if (error.status === 401) hint = ' Enter the control token above.';
  if (error.status === 403) hint = ' Open the page on the tap\'s host, or start the tap with a control token.';
  notify(`${what}: ${error.message}.${hint}`, 'error');
}

function showTokenForm(asked) {
  const form = document.getElementById('token-form');
  form.hidden = false;
  if (asked) document.getElementById('token-input').focus();
}

// ---------------------------------------------------------------- formats

function startMillis(session) {
  return Date.parse(session.startTime);
}

function endMillis(session) {
  return session.endTime ? Date.parse(session.endTime) : Date.now();
}

function formatTime(millis) {
  return new Date(millis).toLocaleString(undefined, { hour12: false });
}

function formatClock(millis) {
  return new Date(millis).toLocaleTimeString(undefined, { hour12: false });
}

function formatDuration(millis) {
  const seconds = Math.max(0, Math.round(millis / 1000));
  if (seconds < 60) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m ${seconds % 60}s`;
  const hours = Math.floor(minutes / 60);
  return `${hours}h ${minutes % 60}m`;
}

function formatBytes(bytes) {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes || 0;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`;
}

function formatCount(n) {
  return (n || 0).toLocaleString();
}

function statusBadge(status) {
  return el('span', { class: `status ${status}` }, status);
}

function sessionLink(id) {
  return el('a', { href: `#/sessions/${encodeURIComponent(id)}` }, id);
}

// ---------------------------------------------------------------- routing

/** The pending refresh of the view shown; a new view cancels it. */
let refresh = null;
/** Bumped on every view change, so a late answer for an old view is dropped. */
let generation = 0;

function schedule(generationAtStart, delay, work) {
  if (generationAtStart !== generation) return;
  clearTimeout(refresh);
  refresh = setTimeout(() => {
    if (generationAtStart === generation) work();
  }, delay);
}

function route() {
  generation += 1;
  clearTimeout(refresh);
  notify('');
  const match = (location.hash || '#/').match(/^#\/sessions\/(.+)$/);
  if (match) showSession(decodeURIComponent(match[1]));
  else showList();
}

// ---------------------------------------------------------------- the session list

/** The list's filters, kept across refreshes and visits. */
const listFilter = { prefix: '', status: '' };

function showList() {
  const mine = generation;
  document.getElementById('where').textContent = 'sessions';
  const view = document.getElementById('view');
  const prefix = el('input', { id: 'filter-prefix', type: 'search', placeholder: 'id prefix', value: listFilter.prefix });
  const status = el('select', { id: 'filter-status' },
    ['', 'active', 'completed', 'failed'].map((s) => el('option', { value: s, selected: s === listFilter.status }, s || 'any status')));
  const rows = el('tbody');
  const summary = el('p', { class: 'muted', id: 'list-summary' });
  const load = () => loadList(mine, rows, summary);
  prefix.addEventListener('input', () => {
    listFilter.prefix = prefix.value.trim();
    load();
  });
  status.addEventListener('change', () => {
    listFilter.status = status.value;
    load();
  });
  view.replaceChildren(
    el('section', { class: 'toolbar' },
      el('label', {}, 'Filter ', prefix), el('label', {}, 'Status ', status), el('span', { class: 'grow' }), startForm()),
    el('table', { id: 'sessions', class: 'sessions' },
      el('thead', {}, el('tr', {},
        ['Session', 'Status', 'Start', 'Duration', 'Flags', 'Spans', 'Points', 'Logs', 'Size'].map((h) => el('th', {}, h)))),
      rows),
    summary);
  load();
}

async function loadList(mine, rows, summary) {
  let sessions;
  try {
    const query = listFilter.prefix ? `?prefix=${encodeURIComponent(listFilter.prefix)}` : '';
    sessions = (await api('GET', `/api/capture/sessions${query}`)).sessions;
  } catch (error) {
    if (mine === generation) failed('Cannot list sessions', error);
    schedule(mine, IDLE_REFRESH_MS, () => loadList(mine, rows, summary));
    return;
  }
  if (mine !== generation) return;
  const active = sessions.some((s) => s.status === 'active');
  const shown = sessions
    .filter((s) => !listFilter.status || s.status === listFilter.status)
    .sort((a, b) => startMillis(b) - startMillis(a));
  rows.replaceChildren(...shown.map((s) => el('tr', { 'data-session': s.sessionId },
    el('td', {}, sessionLink(s.sessionId)),
    el('td', {}, statusBadge(s.status)),
    el('td', {}, formatTime(startMillis(s))),
    el('td', {}, formatDuration(endMillis(s) - startMillis(s))),
    el('td', { class: 'flags' }, (s.enabledFlags || []).join(', ')),
    el('td', { class: 'number' }, formatCount(s.spanCount)),
    el('td', { class: 'number' }, formatCount(s.dataPointCount)),
    el('td', { class: 'number' }, formatCount(s.logRecordCount)),
    el('td', { class: 'number' }, formatBytes(s.totalSizeBytes)))));
  if (shown.length === 0) rows.replaceChildren(el('tr', {}, el('td', { colspan: 9, class: 'muted' }, 'No session matches.')));
  summary.textContent = `${shown.length} of ${sessions.length} sessions` + (active ? ' · refreshing while sessions are active' : '');
  schedule(mine, active ? LIVE_REFRESH_MS : IDLE_REFRESH_MS, () => loadList(mine, rows, summary));
}

/** The form that starts a session on this tap. */
function startForm() {
  const id = el('input', { id: 'start-id', name: 'sessionId', placeholder: 'new session id', required: true, pattern: '[A-Za-z0-9][A-Za-z0-9._-]{0,127}' });
  const flags = el('input', { id: 'start-flags', name: 'flags', placeholder: 'flags, comma separated' });
  return el('form', {
    id: 'start-form',
    class: 'inline',
    onsubmit: async (event) => {
      event.preventDefault();
      const enabledFlags = flags.value.split(',').map((f) => f.trim()).filter(Boolean);
      try {
        await api('POST', '/api/capture/sessions', { sessionId: id.value.trim(), enabledFlags });
        location.hash = `#/sessions/${encodeURIComponent(id.value.trim())}`;
      } catch (error) {
        failed('Cannot start the session', error);
      }
    },
  }, id, flags, el('button', { type: 'submit' }, 'Start session'));
}

// ---------------------------------------------------------------- one session

function showSession(id) {
  const mine = generation;
  document.getElementById('where').replaceChildren(el('a', { href: '#/' }, 'sessions'), ' / ', id);
  const parts = {
    header: el('div', { class: 'session-header' }),
    details: el('dl', { class: 'details', id: 'details' }),
    chart: el('div', { class: 'chart', id: 'timeline' }),
    legend: el('div', { class: 'legend', id: 'legend' }),
    readout: el('p', { class: 'readout muted', id: 'readout' }, 'Point at the chart for a step\'s counts.'),
    replays: el('tbody', { id: 'replay-rows' }),
  };
  const state = { id, session: null, timeline: null };
  document.getElementById('view').replaceChildren(
    parts.header,
    el('section', { class: 'panel' }, el('h2', {}, 'Timeline'), parts.legend, parts.chart, parts.readout),
    el('section', { class: 'columns' },
      el('div', { class: 'panel' }, el('h2', {}, 'Session'), parts.details),
      el('div', { class: 'panel' }, el('h2', {}, 'Phases'), phaseForm(state, mine, parts), el('ul', { class: 'phases', id: 'phase-list' }))),
    el('section', { class: 'panel' }, el('h2', {}, 'Replays'), replayForm(state, mine, parts),
      el('table', { class: 'replays', id: 'replays' },
        el('thead', {}, el('tr', {}, ['Replay', 'State', 'Endpoint', 'Progress', 'Items sent', 'Started', ''].map((h) => el('th', {}, h)))),
        parts.replays)));
  loadSession(state, mine, parts);
  loadReplays(state, mine, parts);
}

async function loadSession(state, mine, parts) {
  try {
    const session = await api('GET', `/api/capture/sessions/${encodeURIComponent(state.id)}`);
    // Telemetry can lie outside the session's own start and end (clocks, late exports).
    const first = Number(session.firstTelemetryTimeUnixNano || 0) / 1e6 || startMillis(session);
    const last = Number(session.lastTelemetryTimeUnixNano || 0) / 1e6 || endMillis(session);
    const span = Math.max(endMillis(session), last) - Math.min(startMillis(session), first);
    const [step] = STEPS.find(([, ms]) => span / ms <= MAX_STEPS) || STEPS[STEPS.length - 1];
    const timeline = await api('GET', `/api/capture/sessions/${encodeURIComponent(state.id)}/timeline?step=${step}`);
    if (mine !== generation) return;
    state.session = session;
    state.timeline = timeline;
    renderSession(state, mine, parts);
  } catch (error) {
    if (mine !== generation) return;
    failed(`Cannot read session ${state.id}`, error);
    if (error.status === 404) return;
  }
  const active = state.session && state.session.status === 'active';
  schedule(mine, active ? LIVE_REFRESH_MS : IDLE_REFRESH_MS, () => loadSession(state, mine, parts));
}

function renderSession(state, mine, parts) {
  const { session, timeline } = state;
  const stop = session.status === 'active'
    ? el('button', {
      type: 'button',
      id: 'stop',
      class: 'danger',
      onclick: async (event) => {
        event.target.disabled = true;
        try {
          await api('DELETE', `/api/capture/sessions/${encodeURIComponent(session.sessionId)}`);
          notify(`Session ${session.sessionId} stopped.`);
          loadSession(state, mine, parts);
        } catch (error) {
          event.target.disabled = false;
          failed('Cannot stop the session', error);
        }
      },
    }, 'Stop session')
    : null;
  parts.header.replaceChildren(...[el('h1', {}, session.sessionId, ' ', statusBadge(session.status)), el('span', { class: 'grow' }), stop].filter(Boolean));
  const rows = [
    ['Description', session.description],
    ['Diagnostic session', session.diagnosticSessionId],
    ['Started', formatTime(startMillis(session))],
    ['Ended', session.endTime ? formatTime(Date.parse(session.endTime)) : null],
    ['Duration', formatDuration(endMillis(session) - startMillis(session))],
    ['Flags', (session.enabledFlags || []).join(', ') || null],
    ['Spans', formatCount(session.spanCount)],
    ['Data points', formatCount(session.dataPointCount)],
    ['Log records', formatCount(session.logRecordCount)],
    ['Objects', formatCount(session.objectCount)],
    ['Stored', formatBytes(session.totalSizeBytes)],
    ['Sample ratio', session.sampleRatio],
    ['Prefix', session.s3Prefix],
    ['Created by', session.createdBy],
  ];
  parts.details.replaceChildren(...rows.filter(([, v]) => v !== null && v !== undefined && v !== '')
    .flatMap(([k, v]) => [el('dt', {}, k), el('dd', {}, v)]));
  document.getElementById('phase-list').replaceChildren(...timeline.phases.map((p) => el('li', {},
    el('strong', {}, p.name), ` ${formatClock(p.startUnixMillis)} – ${formatClock(p.endUnixMillis)}`,
    p.value === undefined ? null : el('code', {}, ` ${JSON.stringify(p.value)}`))));
  parts.legend.replaceChildren(...SIGNALS.map((s) => el('span', { class: `key ${s.series}` },
    `${s.label}: ${formatCount(timeline.totals[s.series])}`)), el('span', { class: 'muted' }, ` · step ${timeline.step}`));
  drawChart(parts.chart, parts.readout, timeline);
}

/** Draws items per step by signal as lines over the phases' bands. */
function drawChart(container, readout, timeline) {
  const width = Math.max(320, container.clientWidth || 900);
  const height = 260;
  const margin = { top: 22, right: 12, bottom: 26, left: 52 };
  const step = timeline.stepMillis;
  const points = SIGNALS.flatMap((s) => timeline.series[s.series]);
  let from = Math.min(timeline.startUnixMillis, ...points.map(([t]) => t));
  let to = Math.max(timeline.endUnixMillis, ...points.map(([t]) => t + step));
  from -= from % step;
  if (to <= from) to = from + step;
  const buckets = Math.max(1, Math.ceil((to - from) / step));
  const counts = SIGNALS.map((s) => {
    const row = new Array(buckets).fill(0);
    for (const [t, items] of timeline.series[s.series]) row[Math.min(buckets - 1, Math.floor((t - from) / step))] += items;
    return row;
  });
  const top = Math.max(1, ...counts.flat());
  const x = (t) => margin.left + ((t - from) / (to - from)) * (width - margin.left - margin.right);
  const y = (n) => height - margin.bottom - (n / top) * (height - margin.top - margin.bottom);
  const chart = svg('svg', { width, height, viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-label': 'items per step by signal' });
  timeline.phases.forEach((phase, n) => {
    const left = x(Math.max(from, phase.startUnixMillis));
    const right = x(Math.min(to, Math.max(phase.endUnixMillis, phase.startUnixMillis)));
    chart.append(svg('rect', { class: `band band-${n % 4}`, x: left, y: margin.top, width: Math.max(2, right - left), height: height - margin.top - margin.bottom },
      svg('title', {}, phase.name)));
    // A label that would run off the right edge ends there instead.
    const nearEnd = left > width - margin.right - 90;
    chart.append(svg('text', { class: 'band-label', x: nearEnd ? width - margin.right : left + 4, y: margin.top - 6, 'text-anchor': nearEnd ? 'end' : 'start' }, phase.name));
  });
  chart.append(svg('line', { class: 'axis', x1: margin.left, y1: y(0), x2: width - margin.right, y2: y(0) }));
  chart.append(svg('text', { class: 'tick', x: margin.left - 6, y: y(top) + 4, 'text-anchor': 'end' }, formatCount(top)));
  chart.append(svg('text', { class: 'tick', x: margin.left - 6, y: y(0) + 4, 'text-anchor': 'end' }, '0'));
  for (let i = 0; i <= 4; i += 1) {
    const t = from + ((to - from) * i) / 4;
    chart.append(svg('text', { class: 'tick', x: x(t), y: height - 6, 'text-anchor': i === 0 ? 'start' : i === 4 ? 'end' : 'middle' }, formatClock(t)));
  }
  SIGNALS.forEach((s, n) => {
    if (!counts[n].some((c) => c > 0)) return;
    const path = counts[n].map((c, b) => `${b === 0 ? 'M' : 'L'}${x(from + b * step).toFixed(1)},${y(c).toFixed(1)} H${x(from + (b + 1) * step).toFixed(1)}`).join(' ');
    chart.append(svg('path', { class: `series ${s.series}`, d: path, 'data-series': s.series }));
  });
  const cursor = svg('line', { class: 'cursor', x1: 0, x2: 0, y1: margin.top, y2: y(0), visibility: 'hidden' });
  chart.append(cursor);
  chart.addEventListener('mousemove', (event) => {
    const box = chart.getBoundingClientRect();
    const at = from + ((event.clientX - box.left - margin.left) / (width - margin.left - margin.right)) * (to - from);
    const b = Math.floor((at - from) / step);
    if (b < 0 || b >= buckets) return;
    cursor.setAttribute('x1', x(from + b * step));
    cursor.setAttribute('x2', x(from + b * step));
    cursor.setAttribute('visibility', 'visible');
    const phase = timeline.phases.filter((p) => p.startUnixMillis <= at && at < p.endUnixMillis).map((p) => p.name).pop();
    readout.textContent = `${formatClock(from + b * step)}: ` + SIGNALS.map((s, n) => `${formatCount(counts[n][b])} ${s.label}`).join(', ')
      + (phase ? ` · phase ${phase}` : '');
  });
  container.replaceChildren(chart);
}

/** The form that marks a phase now. */
function phaseForm(state, mine, parts) {
  const name = el('input', { id: 'phase-name', placeholder: 'phase (baseline, anomaly, recovery…)', required: true });
  const value = el('input', { id: 'phase-value', placeholder: 'value (JSON, optional)' });
  return el('form', {
    id: 'phase-form',
    class: 'inline',
    onsubmit: async (event) => {
      event.preventDefault();
      const body = { name: name.value.trim() };
      if (value.value.trim()) {
        try {
          body.value = JSON.parse(value.value);
        } catch {
          body.value = value.value.trim();
        }
      }
      try {
        await api('POST', `/api/capture/sessions/${encodeURIComponent(state.id)}/phases`, body);
        notify(`Phase ${body.name} marked.`);
        name.value = '';
        value.value = '';
        loadSession(state, mine, parts);
      } catch (error) {
        failed('Cannot mark the phase', error);
      }
    },
  }, name, value, el('button', { type: 'submit' }, 'Mark now'));
}

/** The form that starts a replay of this session. */
function replayForm(state, mine, parts) {
  const endpoint = el('input', { id: 'replay-endpoint', type: 'url', placeholder: 'OTLP endpoint, http://127.0.0.1:4318', required: true });
  const mode = el('select', { id: 'replay-timestamps', title: 'timestamps' },
    ['current', 'relative', 'none'].map((m) => el('option', { value: m }, `timestamps: ${m}`)));
  const speed = el('input', { id: 'replay-speed', value: '1', size: 4, title: 'speed: a factor, or max' });
  return el('form', {
    id: 'replay-form',
    class: 'inline',
    onsubmit: async (event) => {
      event.preventDefault();
      const text = speed.value.trim();
      const body = { sessionId: state.id, endpoint: endpoint.value.trim(), timestamps: mode.value, speed: text === 'max' ? 'max' : text };
      try {
        const job = await api('POST', '/api/replay', body);
        notify(`Replay ${job.id} started.`);
        loadReplays(state, mine, parts);
      } catch (error) {
        failed('Cannot start the replay', error);
      }
    },
  }, endpoint, mode, el('label', {}, 'speed ', speed), el('button', { type: 'submit' }, 'Replay'));
}

async function loadReplays(state, mine, parts) {
  let jobs = [];
  try {
    jobs = (await api('GET', '/api/replay')).jobs.filter((j) => j.sessionId === state.id);
  } catch (error) {
    if (mine === generation && error.status !== 401) failed('Cannot list replays', error);
  }
  if (mine !== generation) return;
  jobs.sort((a, b) => b.startedAtUnixMillis - a.startedAtUnixMillis);
  parts.replays.replaceChildren(...jobs.map((job) => {
    const c = job.counts;
    const done = c.objectsSent + c.objectsSkipped + c.objectsFailed;
    const share = c.objectsPlanned ? Math.min(1, done / c.objectsPlanned) : (job.state === 'running' ? 0 : 1);
    const cancel = job.state === 'running'
      ? el('button', {
        type: 'button',
        class: 'quiet',
        onclick: async () => {
          try {
            await api('DELETE', `/api/replay/${encodeURIComponent(job.id)}`);
            loadReplays(state, mine, parts);
          } catch (error) {
            failed('Cannot cancel the replay', error);
          }
        },
      }, 'Cancel')
      : null;
    return el('tr', { 'data-replay': job.id, 'data-state': job.state },
      el('td', {}, el('code', {}, job.id)),
      el('td', {}, statusBadge(job.state), job.error ? el('div', { class: 'muted' }, job.error) : null),
      el('td', {}, job.endpoint),
      el('td', {}, el('progress', { max: 1, value: share }), ` ${done}/${c.objectsPlanned} objects`),
      el('td', { class: 'number' }, `${formatCount(c.spans)} spans, ${formatCount(c.dataPoints)} points, ${formatCount(c.logRecords)} logs`),
      el('td', {}, formatClock(job.startedAtUnixMillis)),
      el('td', {}, cancel));
  }));
  if (jobs.length === 0) parts.replays.replaceChildren(el('tr', {}, el('td', { colspan: 7, class: 'muted' }, 'No replay of this session since the tap started.')));
  if (jobs.some((j) => j.state === 'running')) scheduleReplays(mine, () => loadReplays(state, mine, parts));
}

/** Replays refresh on their own timer, beside the session's. */
let replayRefresh = null;
function scheduleReplays(mine, work) {
  clearTimeout(replayRefresh);
  replayRefresh = setTimeout(() => {
    if (mine === generation) work();
  }, REPLAY_REFRESH_MS);
}

// ---------------------------------------------------------------- start

document.getElementById('token-button').addEventListener('click', () => {
  const form = document.getElementById('token-form');
  if (form.hidden) showTokenForm(true);
  else form.hidden = true;
});
document.getElementById('token-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const input = document.getElementById('token-input');
  sessionStorage.setItem(TOKEN_KEY, input.value);
  input.value = '';
  event.target.hidden = true;
  notify('Token kept for this tab.');
  route();
});
document.getElementById('token-forget').addEventListener('click', () => {
  sessionStorage.removeItem(TOKEN_KEY);
  notify('Token forgotten.');
});
window.addEventListener('hashchange', route);
route();
