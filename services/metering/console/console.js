// The operator console: usage reports and request traces from the gateway's
// own API (/v1/usage, /v1/usage/requests/{id}[/trace]) with the admin key.
// Every value shown comes from clients or tenants, so it is set as text,
// never as HTML.
'use strict';

const KEY_STORAGE = 'sluice.adminKey';
const COLORS = ['#4c7bd9', '#e0813a', '#3aa17e', '#c94f7c', '#8a6fd1',
                '#c9a227', '#4aa3c9', '#7f8c8d'];

const $ = (id) => document.getElementById(id);

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (name === 'class') node.className = value;
    else if (name === 'style') node.setAttribute('style', value);
    else node.dataset[name] = value;
  }
  for (const child of children) {
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function usd(micro) { return (micro / 1e6).toFixed(micro !== 0 && Math.abs(micro) < 10000 ? 6 : 2); }
function pct(part, whole) { return whole > 0 ? (100 * part / whole).toFixed(1) + ' %' : '–'; }
function status(text) { $('status').textContent = text; }

async function api(path) {
  const key = sessionStorage.getItem(KEY_STORAGE) || '';
  const response = await fetch(path, { headers: { Authorization: 'Bearer ' + key } });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) {
    const message = body.error && body.error.message ? body.error.message : response.statusText;
    throw new Error(`${response.status}: ${message}`);
  }
  return body;
}

function granularityFor(rangeSeconds) {
  if (rangeSeconds <= 3 * 3600) return { name: 'minute', step: 60 };
  if (rangeSeconds <= 8 * 86400) return { name: 'hour', step: 3600 };
  return { name: 'day', step: 86400 };
}

// Buckets from `start` to now in `step` seconds, and one value per bucket
// for each series key (0 where a bucket has no row).
function seriesByBucket(rows, start, step, keyOf, valueOf) {
  const first = Math.floor(start / step) * step;
  const now = Math.floor(Date.now() / 1000);
  const xs = [];
  for (let t = first; t <= now; t += step) xs.push(t);
  const index = new Map(xs.map((t, i) => [t, i]));
  const series = new Map();
  for (const row of rows) {
    const key = keyOf(row);
    if (!series.has(key)) series.set(key, new Array(xs.length).fill(0));
    const i = index.get(row.bucket_start);
    if (i !== undefined) series.get(key)[i] += valueOf(row);
  }
  return { xs, series };
}

const charts = {};

// Axis labels: small dollar figures need their significant digits.
const formatUsd = (v) => (v === 0 ? '0' : '$' + Number(v.toPrecision(2)));
const formatCount = (v) => String(v);

function drawChart(id, xs, series, format) {
  const target = $(id);
  if (charts[id]) { charts[id].destroy(); delete charts[id]; }
  target.textContent = '';
  if (typeof uPlot === 'undefined') {
    target.append(el('p', { class: 'empty' }, 'Charts are not bundled in this build.'));
    return;
  }
  if (series.size === 0) {
    target.append(el('p', { class: 'empty' }, 'No requests in this range.'));
    return;
  }
  const names = [...series.keys()];
  const options = {
    width: Math.max(320, target.clientWidth - 8),
    height: 240,
    series: [{}].concat(names.map((name, i) => ({
      label: name, stroke: COLORS[i % COLORS.length], width: 2,
    }))),
    axes: [{}, { size: 80, values: (u, splits) => splits.map(format) }],
  };
  charts[id] = new uPlot(options, [xs].concat(names.map((n) => series.get(n))), target);
}

function fillTable(id, rows, cells) {
  const body = $(id).querySelector('tbody');
  body.textContent = '';
  if (rows.length === 0) {
    body.append(el('tr', {}, el('td', { class: 'empty' }, 'No requests in this range.')));
    return;
  }
  for (const row of rows) body.append(el('tr', {}, ...cells(row).map((c) => el('td', {}, c))));
}

function showTotals(rows) {
  const sum = (field) => rows.reduce((total, row) => total + row[field], 0);
  const requests = sum('requests');
  const figures = [
    ['charged', '$' + usd(sum('price_micro_usd'))],
    ['upstream cost', '$' + usd(sum('upstream_cost_micro_usd'))],
    ['saved by the cache', '$' + usd(sum('cache_saved_micro_usd'))],
    ['saved off-peak', '$' + usd(sum('off_peak_saved_micro_usd'))],
    ['requests', requests],
    ['error rate', pct(sum('errors'), requests)],
    ['cache-hit rate', pct(sum('cache_hits'), requests)],
    ['fallback rate', pct(sum('fallbacks'), requests)],
    ['tokens', sum('prompt_tokens') + sum('completion_tokens')],
  ];
  const totals = $('totals');
  totals.textContent = '';
  for (const [label, value] of figures) {
    totals.append(el('div', { class: 'figure' }, el('b', {}, value), label));
  }
}

async function loadReports() {
  const range = Number($('range').value);
  const start = Math.floor(Date.now() / 1000) - range;
  const { name, step } = granularityFor(range);
  status('loading…');
  try {
    // The console is the operators': a tenant's key could read its own
    // usage, but not this page.
    await api('/admin/keys');
  } catch (error) {
    status(`admin key required (${error.message})`);
    document.body.dataset.loaded = 'denied';
    return;
  }
  try {
    const [overTime, byTenant, byModel] = await Promise.all([
      api(`/v1/usage?start=${start}&granularity=${name}&group_by=tenant`),
      api(`/v1/usage?start=${start}&group_by=tenant`),
      api(`/v1/usage?start=${start}&group_by=model,provider`),
    ]);
    const cost = seriesByBucket(overTime.data, start, step, (r) => r.tenant,
                                (r) => r.price_micro_usd / 1e6);
    drawChart('cost-chart', cost.xs, cost.series, formatUsd);
    const traffic = { xs: cost.xs, series: new Map() };
    for (const [label, field] of [['requests', 'requests'], ['errors', 'errors'], ['cache hits', 'cache_hits']]) {
      const one = seriesByBucket(overTime.data, start, step, () => label, (r) => r[field]);
      traffic.series.set(label, one.series.get(label) || new Array(cost.xs.length).fill(0));
    }
    drawChart('traffic-chart', traffic.xs, overTime.data.length ? traffic.series : new Map(),
              formatCount);
    showTotals(byTenant.data);
    const spenders = [...byTenant.data].sort((a, b) => b.price_micro_usd - a.price_micro_usd);
    fillTable('spenders', spenders, (r) => [
      r.tenant, r.requests, r.prompt_tokens, r.completion_tokens, usd(r.price_micro_usd),
      usd(r.upstream_cost_micro_usd), usd(r.price_micro_usd - r.upstream_cost_micro_usd),
    ]);
    const models = [...byModel.data].sort((a, b) => b.requests - a.requests);
    fillTable('models', models, (r) => [
      r.model || '–', r.provider || '–', r.requests, pct(r.errors, r.requests), r.rate_limited,
      r.server_errors, r.cancelled, pct(r.fallbacks, r.requests), pct(r.cache_hits, r.requests),
      usd(r.cache_saved_micro_usd), r.latency_p50_ms,
      r.latency_p95_ms, r.latency_p99_ms, r.ttft_p50_ms, usd(r.price_micro_usd),
    ]);
    status(`updated ${new Date().toLocaleTimeString()}`);
    document.body.dataset.loaded = 'true';
  } catch (error) {
    status(error.message);
    document.body.dataset.loaded = 'error';
  }
}

// Spans in tree order (parents before children), each with its depth.
function spanTree(spans) {
  const ids = new Set(spans.map((s) => s.span_id));
  const children = new Map();
  for (const span of spans) {
    const parent = ids.has(span.parent_span_id) ? span.parent_span_id : '';
    if (!children.has(parent)) children.set(parent, []);
    children.get(parent).push(span);
  }
  const ordered = [];
  const walk = (parent, depth) => {
    const list = (children.get(parent) || []).sort((a, b) => a.start - b.start);
    for (const span of list) { ordered.push({ span, depth }); walk(span.span_id, depth + 1); }
  };
  walk('', 0);
  return ordered;
}

function attributeText(attributes) {
  return (attributes || []).map((a) => {
    // proto3 JSON leaves out zero values: no value at all reads as 0/"".
    const v = a.string_value ?? a.int_value ?? a.double_value ?? a.bool_value ?? '';
    return `${a.key}=${v}`;
  }).join('  ');
}

function drawWaterfall(trace) {
  const target = $('waterfall');
  target.textContent = '';
  const spans = trace.spans.map((s) => Object.assign({}, s, {
    start: Number(s.start_unix_nano), end: Number(s.end_unix_nano),
  }));
  const begin = Math.min(...spans.map((s) => s.start));
  const finish = Math.max(...spans.map((s) => s.end));
  const total = Math.max(1, finish - begin);
  target.append(el('p', {}, `trace ${trace.trace_id} · ${spans.length} spans · ${((finish - begin) / 1e6).toFixed(2)} ms`));
  for (const { span, depth } of spanTree(spans)) {
    const left = (100 * (span.start - begin)) / total;
    const width = (100 * (span.end - span.start)) / total;
    const bar = el('div', {
      class: span.status_code === 2 ? 'span-bar error' : 'span-bar',
      style: `left:${left}%;width:${width}%`,
    });
    const label = el('span', { class: 'span-label', style: `left:${Math.min(left + width, 85)}%` },
                     `${((span.end - span.start) / 1e6).toFixed(2)} ms`);
    target.append(el('div', { class: 'span-row', name: span.name },
      el('div', { class: 'span-name', style: `padding-left:${depth * 1.2}em` },
         `${span.name} (${span.service})`),
      el('div', { class: 'span-track' }, bar, label),
      el('div', { class: 'span-attrs' }, attributeText(span.attributes))));
  }
}

async function showRequest(id) {
  const summary = $('request-summary');
  summary.textContent = '';
  $('waterfall').textContent = '';
  try {
    const [usage, trace] = await Promise.all([
      api(`/v1/usage/requests/${encodeURIComponent(id)}`),
      api(`/v1/usage/requests/${encodeURIComponent(id)}/trace`).catch((e) => ({ error: e })),
    ]);
    const e = usage.event;
    const u = e.usage || {};
    const d = e.decision || {};
    summary.append(el('p', {},
      `${e.request_id} · tenant ${e.tenant} · ${e.model} → ${e.provider || '–'}/${e.upstream_model || '–'} · ` +
      `HTTP ${e.status} · ${e.latency_ms || 0} ms · ${u.prompt_tokens || 0}+${u.completion_tokens || 0} tokens · ` +
      `$${usd(Number(d.price_micro_usd || 0))}` + (d.reason ? ` · ${d.reason}` : '')));
    // Tokens by kind, marked where sluice counted them (the provider gave none).
    const kind = (name, flag) => `${name} ${u[`${name}_tokens`] || 0}${u[flag] ? ' (est.)' : ''}`;
    const ms = (us) => (Number(us || 0) / 1000).toFixed(1);
    summary.append(el('p', { class: 'request-detail' },
      [kind('prompt', 'prompt_tokens_estimated'), kind('cached', 'cached_tokens_estimated'),
        kind('completion', 'completion_tokens_estimated'),
        kind('reasoning', 'reasoning_tokens_estimated')].join(' · ') +
      ` · first token ${e.time_to_first_token_ms || 0} ms · queue ${ms(d.queue_us)} ms · ` +
      `upstream ${ms(d.upstream_us)} ms · sluice ${ms(e.overhead_us)} ms`));
    if (trace.error) {
      summary.append(el('p', { class: 'empty' }, `No trace: ${trace.error.message}`));
    } else {
      drawWaterfall(trace.trace);
    }
    document.body.dataset.trace = trace.error ? 'none' : 'shown';
  } catch (error) {
    summary.append(el('p', { class: 'empty' }, error.message));
    document.body.dataset.trace = 'error';
  }
}

function requestFromHash() {
  const match = /request=([A-Za-z0-9_\-.]+)/.exec(location.hash);
  return match ? match[1] : '';
}

window.addEventListener('DOMContentLoaded', () => {
  const stored = sessionStorage.getItem(KEY_STORAGE);
  if (stored) $('admin-key').value = stored;
  $('load-form').addEventListener('submit', (event) => {
    event.preventDefault();
    sessionStorage.setItem(KEY_STORAGE, $('admin-key').value);
    loadReports();
    const id = requestFromHash();
    if (id) { $('request-id').value = id; showRequest(id); }
  });
  $('request-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const id = $('request-id').value.trim();
    location.hash = 'request=' + id;
    showRequest(id);
  });
  if (stored) $('load-form').requestSubmit();
});
