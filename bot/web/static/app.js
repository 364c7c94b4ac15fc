// TradeFly dashboard: REST snapshot at load, then one WebSocket for everything live.
"use strict";
const $ = (id) => document.getElementById(id);
const STALE_MS = 5000;       // no message this long: the feed is marked stale
const MAX_ROWS = 200;
let lastMessageAt = 0;
let chart = null, candles = null, markers = [], chartSymbol = "";

const money = (v) => v == null ? "—" : (v < 0 ? "-$" : "$") + Math.abs(v).toLocaleString(undefined, {minimumFractionDigits: 2, maximumFractionDigits: 2});
const num = (v, d = 2) => v == null ? "—" : Number(v).toFixed(d);
// Times are shown in New York time, the exchange's clock, whatever the browser's zone.
const NY = {timeZone: "America/New_York", hour12: false};
const time = (iso) => iso ? new Date(iso).toLocaleTimeString("en-GB", NY) : "—";
const nyClock = (sec) => new Date(sec * 1000).toLocaleTimeString("en-GB", {...NY, hour: "2-digit", minute: "2-digit"});
const signed = (el, v) => { el.classList.toggle("pos", v > 0); el.classList.toggle("neg", v < 0); };

async function api(path, opts) {
  const r = await fetch("/api" + path, opts);
  if (r.status === 401) { location.href = "/login"; throw new Error("login required"); }
  return r.json();
}

function cell(text, cls) { const td = document.createElement("td"); td.textContent = text; if (cls) td.className = cls; return td; }
function fillTable(id, rows, toCells) {
  const body = $(id).tBodies[0];
  body.replaceChildren(...rows.map((r) => { const tr = document.createElement("tr"); tr.append(...toCells(r)); return tr; }));
}
function prependRow(id, cells) {
  const body = $(id).tBodies[0];
  const tr = document.createElement("tr"); tr.className = "flash"; tr.append(...cells);
  body.prepend(tr);
  while (body.rows.length > MAX_ROWS) body.deleteRow(-1);
}

function pill(id, text, cls) { const el = $(id); el.textContent = text; el.className = "pill " + (cls || ""); }

function showStatus(s) {
  const st = s.status, p = s.pnl;
  pill("mode", st.mode, st.mode === "live" ? "warn" : "");
  pill("state", st.paused ? st.state + " · paused" : st.state, st.state === "active" && !st.paused ? "ok" : st.state === "halted" ? "bad" : "warn");
  pill("feed", st.feed_stale ? "feed stale" : "feed ok", st.feed_stale ? "bad" : "ok");
  pill("broker", st.broker + (st.broker_connected === false ? " down" : ""), st.broker_connected === false ? "bad" : "ok");
  $("broker").title = st.broker_note || "";
  $("equity").textContent = money(p.equity);
  for (const k of ["net", "realized", "unrealized"]) { $(k).textContent = money(p[k]); signed($(k), p[k]); }
  $("fees").textContent = money(p.fees);
  const used = Math.max(p.loss_pct, 0);
  $("loss").textContent = (used * 100).toFixed(2) + "% of " + (p.limit_pct * 100).toFixed(1) + "%";
  $("lossbar").style.width = Math.min(100, used / p.limit_pct * 100) + "%";
  $("breaker").textContent = st.breaker_latched ? "TRIPPED: " + st.reason : (st.reason || "armed");
  $("breaker").className = st.breaker_latched ? "neg" : "";
  $("lastevent").textContent = st.last_event_at ? time(st.last_event_at) + " NY" : "—";
}

async function loadTables() {
  const [pos, ord, sig, den, trd, strat, q] = await Promise.all(
    ["/positions", "/orders", "/signals?limit=100", "/denials?limit=100", "/trades", "/strategies", "/quality"].map((p) => api(p)));
  $("posTotal").textContent = money(pos.total_unrealized);
  fillTable("positions", pos.rows, (r) => [cell(r.symbol), cell(r.quantity, "num"), cell(num(r.average_price), "num"),
    cell(num(r.mark), "num"), cell(money(r.unrealized), "num " + (r.unrealized >= 0 ? "pos" : "neg")),
    cell(num(r.delta, 0), "num"), cell(num(r.theta), "num"), cell(num(r.vega), "num")]);
  fillTable("orders", ord.working, (r) => [cell(r.client_order_id.slice(-8)), cell(r.symbol), cell(r.side),
    cell(r.quantity, "num"), cell(r.filled, "num"), cell(num(r.limit_price), "num"), cell(r.status)]);
  [...$("orders").tBodies[0].rows].forEach((tr, i) => { tr.dataset.id = ord.working[i].client_order_id; });
  fillTable("signals", sig.rows, (r) => [cell(time(r.ts)), cell(r.strategy), cell(r.symbol), cell(num(r.confidence), "num"),
    cell(r.reason + (r.order_status ? " → " + r.order_status : ""), "reason")]);
  fillTable("denials", den, (r) => [cell(time(r.ts)), cell(r.rule), cell(r.reason, "reason")]);
  fillTable("trades", trd.slice().reverse(), (r) => [cell(time(r.ts)), cell(r.symbol), cell(r.side), cell(r.quantity, "num"), cell(num(r.price), "num")]);
  fillTable("strategies", strat.rows, (r) => {
    const b = document.createElement("button"); b.textContent = r.enabled ? "off" : "on";
    b.onclick = () => command("strategy", [r.name, r.enabled ? "off" : "on"]);
    const td = document.createElement("td"); td.append(b);
    return [cell(r.name), cell(r.enabled ? "yes" : "no", r.enabled ? "pos" : "neg"), cell(r.signals, "num"), cell(r.errors, "num"), td];
  });
  fillTable("quality", Object.entries(q), ([name, v]) => [cell(name), cell(v.fills, "num"),
    cell(money(v.saved_vs_natural), "num"), cell(money(v.avg_vs_mid_per_contract), "num"),
    cell(v.avg_spread_captured == null ? "—" : (v.avg_spread_captured * 100).toFixed(0) + "%", "num"),
    cell(money(v.avg_markout_1m_per_contract), "num")]);
}

function themeColors() {
  const css = getComputedStyle(document.documentElement);
  return {bg: css.getPropertyValue("--card").trim(), fg: css.getPropertyValue("--fg").trim(), line: css.getPropertyValue("--line").trim()};
}
function buildChart() {
  if (typeof LightweightCharts === "undefined") {  // assets not built: the rest still works
    $("chart").textContent = "Chart library missing: run `make web`.";
    const noop = () => {};
    candles = {setData: noop, update: noop, setMarkers: noop};
    chart = {applyOptions: noop, timeScale: () => ({fitContent: noop})};
    return;
  }
  const c = themeColors();
  chart = LightweightCharts.createChart($("chart"), {autoSize: true,
    layout: {background: {color: c.bg}, textColor: c.fg, fontSize: 11},
    grid: {vertLines: {color: c.line}, horzLines: {color: c.line}},
    localization: {timeFormatter: nyClock},
    timeScale: {timeVisible: true, secondsVisible: false, rightOffset: 6, tickMarkFormatter: nyClock},
    rightPriceScale: {borderColor: c.line}});
  candles = chart.addCandlestickSeries({upColor: "#26a69a", downColor: "#ef5350", wickUpColor: "#26a69a", wickDownColor: "#ef5350", borderVisible: false});
}
function markerOf(m) {
  const buy = m.side === "buy";
  return {time: m.time, position: buy ? "belowBar" : "aboveBar", color: buy ? "#26a69a" : "#ef5350",
          shape: buy ? "arrowUp" : "arrowDown", text: (buy ? "in " : "out ") + m.quantity + "@" + num(m.price)};
}
async function loadChart() {
  const data = await api("/chart" + (chartSymbol ? "?symbol=" + encodeURIComponent(chartSymbol) : ""));
  chartSymbol = data.symbol; $("chartsym").textContent = data.symbol;
  candles.setData(data.bars.map((b) => ({time: b.time, open: b.open, high: b.high, low: b.low, close: b.close})));
  markers = data.markers.map(markerOf); candles.setMarkers(markers);
  chart.timeScale().fitContent();
  window.tradefly.bars = data.bars.length; window.tradefly.markers = markers.length;
}

function onMessage(m) {
  lastMessageAt = Date.now();
  if (m.type === "hello" || m.type === "status") { showStatus(m); return; }
  if (m.type === "bar" && m.symbol === chartSymbol) {
    candles.update({time: m.time, open: m.open, high: m.high, low: m.low, close: m.close});
    window.tradefly.bars += 1; return;
  }
  if (m.type === "quote") { if (m.symbol === chartSymbol) $("lastquote").textContent = num(m.bid) + " × " + num(m.ask); return; }
  if (m.type === "order") { upsertOrder(m); return; }
  if (m.type !== "notice") return;
  const d = m.data || {};
  if (m.kind === "fill") {
    prependRow("trades", [cell(time(m.ts)), cell(d.symbol), cell(d.side), cell(d.quantity, "num"), cell(num(d.price), "num")]);
    window.tradefly.fills += 1; window.tradefly.fillSeen.push({at: Date.now(), id: d.client_order_id, ts: m.ts});
    if (d.symbol && d.symbol.startsWith(chartSymbol)) {
      markers.push(markerOf({time: Math.floor(Date.parse(m.ts) / 60000) * 60, side: d.side, quantity: d.quantity, price: d.price}));
      markers.sort((a, b) => a.time - b.time); candles.setMarkers(markers); window.tradefly.markers = markers.length;
    }
    scheduleTables();
  } else if (m.kind === "signal") {
    prependRow("signals", [cell(time(m.ts)), cell(d.strategy), cell(d.symbol), cell(num(d.confidence), "num"), cell(d.reason, "reason")]);
  } else if (m.kind === "order_denied") {
    prependRow("denials", [cell(time(m.ts)), cell(d.rule || ""), cell(d.reason || m.text, "reason")]);
  } else {
    $("message").textContent = time(m.ts) + " " + m.text; scheduleTables();
  }
}

// Working orders live: a row per open order, removed when it ends.
function upsertOrder(o) {
  window.tradefly.orders += 1;
  const body = $("orders").tBodies[0];
  const old = body.querySelector(`tr[data-id="${CSS.escape(o.client_order_id)}"]`);
  if (!o.open) { if (old) old.remove(); return; }
  const tr = document.createElement("tr"); tr.dataset.id = o.client_order_id; tr.className = "flash";
  tr.append(cell(o.client_order_id.slice(-8)), cell(o.symbol), cell(o.side), cell(o.quantity, "num"),
            cell(o.filled, "num"), cell(num(o.limit_price), "num"), cell(o.status));
  if (old) old.replaceWith(tr); else body.prepend(tr);
}

let tablesTimer = null;
function scheduleTables() { if (!tablesTimer) tablesTimer = setTimeout(() => { tablesTimer = null; loadTables(); }, 500); }

let retry = 500;
function connect() {
  const ws = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/ws");
  ws.onopen = () => { retry = 500; window.tradefly.connected = true; pill("live", "live", "ok"); loadTables(); loadChart(); };
  ws.onmessage = (e) => onMessage(JSON.parse(e.data));
  ws.onclose = (e) => {
    window.tradefly.connected = false;
    pill("live", e.code === 1008 ? "login required" : "reconnecting", "bad");
    if (e.code === 1008) { location.href = "/login"; return; }
    setTimeout(connect, retry); retry = Math.min(retry * 2, 10000);   // back off, never give up
  };
}
setInterval(() => {
  if (window.tradefly.connected && Date.now() - lastMessageAt > STALE_MS)
    pill("live", "stale " + Math.round((Date.now() - lastMessageAt) / 1000) + "s", "warn");
}, 1000);

async function command(name, args = []) {
  let r = await api("/control/" + name, {method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify({args})});
  if (r.status === "confirm") {
    const ok = confirm(r.message + "\n\nConfirm?");
    r = await api("/control/" + (ok ? "confirm/" : "cancel/") + r.token, {method: "POST"});
  }
  $("message").textContent = r.message || r.status;
  loadTables();
}
document.querySelectorAll("button[data-cmd]").forEach((b) => b.onclick = () => command(b.dataset.cmd));

$("theme").onclick = () => {
  const t = document.documentElement.dataset.theme === "dark" ? "light" : "dark";
  document.documentElement.dataset.theme = t; localStorage.setItem("tradefly-theme", t);
  const c = themeColors(); chart.applyOptions({layout: {background: {color: c.bg}, textColor: c.fg}, grid: {vertLines: {color: c.line}, horzLines: {color: c.line}}});
};
document.documentElement.dataset.theme = localStorage.getItem("tradefly-theme") || "dark";
// Live counters, read by the end-to-end tests and handy in the browser console.
window.tradefly = {connected: false, bars: 0, markers: 0, fills: 0, orders: 0, fillSeen: []};
buildChart();
api("/status").then(showStatus);
connect();
