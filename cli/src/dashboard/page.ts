/**
 * The live dashboard's one page: it fetches /api/panels every few seconds
 * and draws each panel over time with uPlot (served locally), each panel with
 * rows (tables, bars per replica) as a table. Every panel element carries `data-points`, the number of values it
 * drew, so a test (and a curious operator) can tell an empty chart from a
 * full one.
 */
export const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>mlmon live dashboard</title>
<link rel="stylesheet" href="/assets/uPlot.min.css">
<style>
  body { font: 14px system-ui, sans-serif; margin: 0; background: #f6f7f9; color: #1a1c21; }
  header { position: sticky; top: 0; background: #fff; border-bottom: 1px solid #d3dae6; padding: 8px 16px; display: flex; gap: 16px; align-items: center; z-index: 1; }
  header h1 { font-size: 16px; margin: 0 16px 0 0; }
  section { padding: 8px 16px; }
  h2 { font-size: 15px; margin: 16px 0 8px; }
  .grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(460px, 1fr)); gap: 12px; }
  .panel { background: #fff; border: 1px solid #d3dae6; border-radius: 4px; padding: 8px; min-height: 120px; }
  .panel h3 { font-size: 13px; margin: 0 0 6px; }
  .empty { color: #69707d; font-style: italic; }
  table { border-collapse: collapse; width: 100%; font-size: 12px; }
  td, th { border-bottom: 1px solid #eee; padding: 2px 6px; text-align: left; }
  #status { color: #69707d; margin-left: auto; }
  #cluster[data-status="green"] { color: #017d73; } #cluster[data-status="yellow"] { color: #b0720a; } #cluster[data-status="red"], #cluster[data-status="unreachable"] { color: #bd271e; font-weight: bold; }
</style>
</head>
<body>
<header>
  <h1>mlmon</h1>
  <label>range <select id="range">
    <option value="5m">last 5 minutes</option><option value="15m" selected>last 15 minutes</option>
    <option value="1h">last hour</option><option value="6h">last 6 hours</option><option value="24h">last 24 hours</option>
  </select></label>
  <label>replica <select id="replica"><option value="">all</option></select></label>
  <label>version <select id="version"><option value="">all</option></select></label>
  <span id="cluster" data-status="">Elasticsearch …</span>
  <span id="status">loading…</span>
</header>
<main id="main"></main>
<script src="/assets/uPlot.iife.min.js"></script>
<script>
const REFRESH_MS = 5000;
const $ = (id) => document.getElementById(id);
// The drawn uPlot charts by panel element id, on window for the browser test (and the console) to measure.
const charts = window.mlmonCharts = new Map();
const palette = ['#54b399', '#6092c0', '#d36086', '#9170b8', '#ca8eae', '#d6bf57', '#b9a888', '#da8b45', '#aa6556', '#e7664c'];

function params() {
  const p = new URLSearchParams({ range: $('range').value });
  if ($('replica').value) p.set('replica', $('replica').value);
  if ($('version').value) p.set('version', $('version').value);
  return p;
}

function panelElement(panel) {
  const id = 'panel-' + panel.dashboard.replace(/\\W+/g, '-') + '-' + panel.id;
  let el = document.getElementById(id);
  if (el) return el;
  let section = document.querySelector('section[data-dashboard="' + panel.dashboard + '"]');
  if (!section) {
    section = document.createElement('section');
    section.dataset.dashboard = panel.dashboard;
    section.innerHTML = '<h2></h2><div class="grid"></div>';
    section.querySelector('h2').textContent = panel.dashboard;
    $('main').appendChild(section);
  }
  el = document.createElement('div');
  el.className = 'panel';
  el.id = id;
  el.dataset.panel = panel.id;
  el.innerHTML = '<h3></h3><div class="body"></div>';
  el.querySelector('h3').textContent = panel.title;
  section.querySelector('.grid').appendChild(el);
  return el;
}

function drawTable(el, panel) {
  const body = el.querySelector('.body');
  const rows = panel.rows || [];
  el.dataset.points = String(rows.length);
  if (!rows.length) { body.innerHTML = '<div class="empty">no data in this range</div>'; return; }
  const table = document.createElement('table');
  const head = table.createTHead().insertRow();
  for (const c of panel.columns || []) head.appendChild(document.createElement('th')).textContent = c;
  const value = (v) => v === null ? '-' : panel.kind === 'bar_percentage_stacked' ? (100 * v).toFixed(1) + '%' : String(v);
  const tbody = table.createTBody();
  for (const r of rows) {
    const tr = tbody.insertRow();
    for (const k of r.keys) tr.insertCell().textContent = k;
    for (const v of r.values) tr.insertCell().textContent = value(v);
  }
  body.replaceChildren(table);
}

function drawChart(el, panel) {
  const body = el.querySelector('.body');
  const times = [...new Set(panel.series.flatMap((s) => s.points.map((p) => p[0])))].sort((a, b) => a - b);
  const columns = panel.series.map((s) => { const m = new Map(s.points); return times.map((t) => m.has(t) ? m.get(t) : null); });
  const points = columns.flat().filter((v) => v !== null).length;
  el.dataset.points = String(points);
  const old = charts.get(el.id);
  if (old) { old.destroy(); charts.delete(el.id); }
  if (!points) { body.innerHTML = '<div class="empty">no data in this range</div>'; return; }
  body.innerHTML = '';
  // A threshold is a dashed red line; a band's two bounds are grey and the area between them shaded.
  const style = (s, i) => s.style === 'threshold' ? { stroke: '#bd271e', dash: [6, 4] } : s.style === 'band' ? { stroke: '#98a2b3', width: 1 } : { stroke: palette[i % palette.length] };
  const bands = [];
  panel.series.forEach((s, i) => { if (s.style === 'band' && panel.series[i + 1]?.style === 'band' && !bands.some((b) => b.series.includes(i + 1))) bands.push({ series: [i + 2, i + 1], fill: 'rgba(152, 162, 179, 0.25)' }); });
  const unit = panel.unit ? ' ' + panel.unit : '';
  const value = (u, v) => v == null ? '-' : (Math.abs(v) >= 100 ? v.toFixed(0) : String(+v.toPrecision(3))) + unit;
  const opts = {
    // The panel's width, not more: a wider chart would spill out of the panel.
    width: body.clientWidth || 440, height: 200,
    series: [{}, ...panel.series.map((s, i) => ({ label: s.name || panel.title, ...style(s, i), value, spanGaps: true, points: { show: times.length < 3 } }))],
    bands,
    // A single time would stretch the axis over years (uPlot pads it by 86400 / 1e-3 s); give it five minutes either side.
    scales: { x: { range: (u, min, max) => times.length === 1 ? [times[0] / 1000 - 300, times[0] / 1000 + 300] : [min, max] } },
    // The y axis as wide as its widest tick label (a fixed width cut long ones), titled with the unit.
    axes: [{}, { size: axisSize, ...(panel.unit ? { label: panel.unit, labelSize: 20 } : {}) }],
  };
  el.dataset.bands = String(bands.length);
  el.dataset.thresholds = String(panel.series.filter((s) => s.style === 'threshold').length);
  charts.set(el.id, new uPlot(opts, [times.map((t) => t / 1000), ...columns], body));
}

// uPlot calls this with the formatted tick labels on each layout pass; the ticks change with the width, so
// from the third pass on the size only grows (it converges, and no label is cut).
function axisSize(u, values, i, cycle) {
  const axis = u.axes[i];
  u.ctx.font = axis.font[0];
  const widest = Math.max(0, ...(values || []).map((v) => u.ctx.measureText(v).width)) / devicePixelRatio;
  const size = Math.ceil(axis.ticks.size + axis.gap + widest + 2);
  return cycle > 1 ? Math.max(size, axis._size || 0) : size;
}

async function refresh() {
  try {
    const res = await fetch('/api/panels?' + params());
    const panels = await res.json();
    if (!res.ok) throw new Error(panels.error || res.statusText);
    for (const panel of panels) {
      const el = panelElement(panel);
      if (panel.rows) drawTable(el, panel); else drawChart(el, panel);
    }
    $('status').textContent = 'updated ' + new Date().toLocaleTimeString();
  } catch (err) {
    $('status').textContent = 'refresh failed: ' + err.message;
  }
}

async function loadFilters() {
  const res = await fetch('/api/filters?' + new URLSearchParams({ range: $('range').value }));
  if (!res.ok) return;
  const values = await res.json();
  for (const [select, list] of [[$('replica'), values.replicas], [$('version'), values.versions]]) {
    const current = select.value;
    select.replaceChildren(new Option('all', ''), ...list.map((v) => new Option(v, v)));
    select.value = list.includes(current) ? current : '';
  }
}

// The cluster's state now, beside its history in the Service health panels.
async function loadCluster() {
  const c = await fetch('/api/cluster').then((r) => r.json()).catch(() => ({ status: 'unreachable' }));
  $('cluster').dataset.status = c.status;
  $('cluster').textContent = c.status === 'unreachable' ? 'Elasticsearch unreachable' : 'Elasticsearch ' + c.status + ', ' + c.nodes + ' nodes, ' + c.unassigned_shards + ' unassigned shards';
}

for (const id of ['range', 'replica', 'version']) $(id).addEventListener('change', () => { void refresh(); });
void loadFilters().then(refresh);
void loadCluster();
setInterval(() => { void loadFilters(); void refresh(); void loadCluster(); }, REFRESH_MS);
</script>
</body>
</html>
`;
