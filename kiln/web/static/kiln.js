/* Kiln's pages: live updates over server-sent events, and signal charts drawn with uPlot.
   A plain script, no build step. Every time is shown in China Standard Time, as on the server.
   The script has no words of its own: the page hands them over, in its language, in the
   `kiln-words` JSON block (base.html), with the locale numbers are formatted in. */
(function () {
  "use strict";

  const TZ = "Asia/Shanghai";
  const CHART_HEIGHT = 150;
  const SVG = "http://www.w3.org/2000/svg";
  const STALE_MS = 5000; // no event for this long: say we are reconnecting
  function readJson(id) {
    const el = document.getElementById(id);
    return el ? JSON.parse(el.textContent) : null;
  }

  const WORDS = readJson("kiln-words") || { states: {}, since: "", locale: "en", min: "", max: "" };
  const LOCALE = WORDS.locale || document.documentElement.lang || "en";
  const clock = new Intl.DateTimeFormat(LOCALE, {
    timeZone: TZ, hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23",
  });
  const clockShort = new Intl.DateTimeFormat(LOCALE, {
    timeZone: TZ, hour: "2-digit", minute: "2-digit", hourCycle: "h23",
  });
  const numberFormats = new Map();

  function formatValue(value, decimals) {
    if (value === null || value === undefined || Number.isNaN(value)) return "–";
    if (!numberFormats.has(decimals)) {
      numberFormats.set(decimals, new Intl.NumberFormat(LOCALE, {
        minimumFractionDigits: decimals, maximumFractionDigits: decimals,
      }));
    }
    return numberFormats.get(decimals).format(value);
  }

  function stateLabel(state) {
    return WORDS.states[state] || state;
  }

  function setStateClass(el, state) {
    for (const known of Object.keys(WORDS.states)) el.classList.remove("state-" + known);
    el.classList.add("state-" + state);
  }

  function setText(root, role, text) {
    const el = root.querySelector('[data-role="' + role + '"]');
    if (el && el.textContent !== text) el.textContent = text;
  }

  function stamp(tsMs) {
    for (const el of document.querySelectorAll("[data-live-stamp]")) {
      el.textContent = clock.format(tsMs);
    }
  }

  /* One EventSource per page. The server ends each stream now and then and the browser
     reconnects by itself, so only a long silence counts as being disconnected. */
  function connect(url, event, onData) {
    const status = document.getElementById("live-status");
    let lastEvent = 0;
    function show(s) {
      if (!status || status.dataset.status === s) return;
      status.dataset.status = s;
      const text = status.querySelector(".live-text");
      text.textContent = text.dataset["text" + s.charAt(0).toUpperCase() + s.slice(1)];
    }
    const source = new EventSource(url);
    source.addEventListener(event, function (e) {
      lastEvent = Date.now();
      show("live");
      onData(JSON.parse(e.data));
    });
    source.addEventListener("error", function () {
      // A refused stream (signed out, session expired) is not retried by the browser.
      if (source.readyState === EventSource.CLOSED) show("stopped");
    });
    setInterval(function () {
      if (source.readyState !== EventSource.CLOSED && lastEvent && Date.now() - lastEvent > STALE_MS) {
        show("reconnecting");
      }
    }, 1000);
    window.addEventListener("pagehide", function () { source.close(); });
    return source;
  }

  function showStateCounts(byState) {
    const total = Object.values(byState).reduce(function (a, b) { return a + b; }, 0) || 1;
    let x = 0;
    for (const [state, n] of Object.entries(byState)) {
      for (const el of document.querySelectorAll('[data-state-count="' + state + '"]')) {
        if (el.textContent !== String(n)) el.textContent = String(n);
      }
      const width = 100 * n / total;
      for (const el of document.querySelectorAll('[data-state-bar="' + state + '"]')) {
        el.setAttribute("x", x.toFixed(3) + "%");
        el.setAttribute("width", width.toFixed(3) + "%");
      }
      x += width;
    }
  }

  function svgRect(state, x, width, title) {
    const rect = document.createElementNS(SVG, "rect");
    rect.setAttribute("class", "fill-" + state);
    rect.setAttribute("x", x.toFixed(3) + "%");
    rect.setAttribute("y", "0");
    rect.setAttribute("width", width.toFixed(3) + "%");
    rect.setAttribute("height", "100%");
    if (title) {
      const t = document.createElementNS(SVG, "title");
      t.textContent = title;
      rect.appendChild(t);
    }
    return rect;
  }

  function initCity(url) {
    connect(url, "states", function (d) {
      stamp(d.ts_ms);
      showStateCounts(d.by_state);
    });
  }

  function initEnterprise(url) {
    connect(url, "states", function (d) {
      stamp(d.ts_ms);
      showStateCounts(d.by_state);
      for (const [id, s] of Object.entries(d.equipment)) {
        const tile = document.querySelector('[data-equipment="' + id + '"]');
        if (!tile) continue;
        setStateClass(tile, s.state);
        setText(tile, "state", stateLabel(s.state));
        setText(tile, "since", s.since_ms ? WORDS.since + " " + clockShort.format(s.since_ms) : "");
      }
    });
  }

  /* Site, line and station pages show part of an enterprise: they follow its state stream,
     update the tiles they hold and count the states of those tiles alone. */
  function initTiles(url) {
    connect(url, "states", function (d) {
      stamp(d.ts_ms);
      const counts = {};
      for (const state of Object.keys(WORDS.states)) counts[state] = 0;
      for (const tile of document.querySelectorAll("[data-equipment]")) {
        const s = d.equipment[tile.dataset.equipment];
        if (!s) continue;
        setStateClass(tile, s.state);
        setText(tile, "state", stateLabel(s.state));
        setText(tile, "since", s.since_ms ? WORDS.since + " " + clockShort.format(s.since_ms) : "");
        counts[s.state] = (counts[s.state] || 0) + 1;
      }
      showStateCounts(counts);
    });
  }

  /* ---- equipment page: charts, state timeline, last values ---- */

  function EquipmentPage(cfg, url) {
    this.cfg = cfg;
    this.windowMs = cfg.end_ms - cfg.start_ms;
    this.endMs = cfg.end_ms;
    this.intervals = cfg.intervals.slice();
    this.signals = new Map(cfg.signals.map(function (s) { return [s.id, s]; }));
    this.lastTs = new Map();
    for (const s of cfg.signals) if (s.last) this.lastTs.set(s.id, s.last.ts_ms);
    this.charts = new Map();
    this.drawTimeline();
    const page = this;
    const loads = cfg.signals.map(function (s) { return page.loadChart(s); });
    Promise.allSettled(loads).then(function () {
      connect(url, "live", function (d) { page.update(d); });
    });
    if (window.ResizeObserver) {
      new ResizeObserver(function () { page.resize(); }).observe(document.querySelector(".charts"));
    }
  }

  EquipmentPage.prototype.startMs = function () { return this.endMs - this.windowMs; };

  EquipmentPage.prototype.loadChart = function (sig) {
    const el = document.getElementById("chart-" + sig.id);
    if (!el || !window.uPlot) return Promise.resolve();
    const maxPoints = Math.max(100, Math.min(2000, Math.round(el.clientWidth || 400)));
    const q = "?start=" + this.cfg.start_ms + "&end=" + this.cfg.end_ms + "&max_points=" + maxPoints;
    const page = this;
    return fetch("/api/v1/series/" + sig.id + "/buckets" + q)
      .then(function (res) { return res.ok ? res.json() : null; })
      .then(function (cols) {
        const data = [[], [], [], []];
        if (cols) {
          for (let i = 0; i < cols.ts_ms.length; i++) {
            data[0].push(cols.ts_ms[i] / 1000);
            data[1].push(cols.avg[i]);
            data[2].push(cols.min[i]);
            data[3].push(cols.max[i]);
          }
        }
        page.charts.set(sig.id, { el: el, data: data, plot: page.makeChart(el, sig, data), live: 0 });
        el.dataset.points = String(data[0].length);
        el.dataset.livePoints = "0";
      });
  };

  EquipmentPage.prototype.makeChart = function (el, sig, data) {
    const page = this;
    const fmt = function (u, vals) {
      return vals.map(function (v) { return formatValue(v, Math.min(sig.decimals, 2)); });
    };
    return new window.uPlot({
      width: el.clientWidth || 300,
      height: CHART_HEIGHT,
      legend: { show: false },
      tzDate: function (ts) { return window.uPlot.tzDate(new Date(ts * 1e3), TZ); },
      scales: {
        x: { time: true, range: function () { return [page.startMs() / 1000, page.endMs / 1000]; } },
      },
      axes: [
        { stroke: "#5b6675", grid: { stroke: "#e6e9ee" }, ticks: { stroke: "#e6e9ee" },
          values: function (u, splits) {
            return splits.map(function (s) { return clockShort.format(s * 1000); });
          } },
        { stroke: "#5b6675", grid: { stroke: "#e6e9ee" }, ticks: { stroke: "#e6e9ee" },
          size: 56, values: fmt },
      ],
      series: [
        {},
        { label: sig.name, stroke: "#1c64c8", width: 1.5, points: { show: false } },
        { label: WORDS.min, stroke: "transparent", points: { show: false } },
        { label: WORDS.max, stroke: "transparent", points: { show: false } },
      ],
      bands: [{ series: [3, 2], fill: "rgba(28, 100, 200, 0.14)" }],
    }, data, el);
  };

  EquipmentPage.prototype.resize = function () {
    for (const chart of this.charts.values()) {
      const width = chart.el.clientWidth;
      if (width && width !== chart.plot.width) chart.plot.setSize({ width: width, height: CHART_HEIGHT });
    }
  };

  EquipmentPage.prototype.update = function (d) {
    this.endMs = Math.max(this.endMs, d.ts_ms + 1);
    stamp(d.ts_ms);
    this.showState(d.state);
    this.advanceTimeline(d.state);
    for (const v of d.values) this.showValue(v);
    const startS = this.startMs() / 1000;
    for (const chart of this.charts.values()) {
      const data = chart.data;
      let drop = 0;
      while (drop < data[0].length && data[0][drop] < startS) drop++;
      if (drop) for (const col of data) col.splice(0, drop);
      chart.plot.setData(data);
      chart.el.dataset.points = String(data[0].length);
    }
  };

  EquipmentPage.prototype.showState = function (st) {
    const el = document.getElementById("equipment-state");
    if (!el || !st) return;
    setStateClass(el, st.state);
    setText(el, "state", stateLabel(st.state));
    setText(el, "since", st.since_ms ? WORDS.since + " " + clock.format(st.since_ms) : "");
    setText(el, "reason", st.reason || "");
  };

  EquipmentPage.prototype.showValue = function (v) {
    const sig = this.signals.get(v.series);
    if (!sig || this.lastTs.get(v.series) === v.ts_ms) return;
    this.lastTs.set(v.series, v.ts_ms);
    const text = formatValue(v.value, sig.decimals);
    const row = document.querySelector('tr[data-series="' + v.series + '"]');
    if (row) {
      setText(row, "value", text);
      setText(row, "updated", clock.format(v.ts_ms));
      row.classList.remove("fresh");
      void row.offsetWidth; // restart the highlight animation
      row.classList.add("fresh");
    }
    const caption = document.querySelector('[data-last-series="' + v.series + '"]');
    if (caption) caption.textContent = text;
    const chart = this.charts.get(v.series);
    if (!chart) return;
    const xs = chart.data[0];
    const x = v.ts_ms / 1000;
    if (xs.length && x <= xs[xs.length - 1]) return;
    xs.push(x);
    for (let i = 1; i < 4; i++) chart.data[i].push(v.value);
    chart.live += 1;
    chart.el.dataset.livePoints = String(chart.live);
  };

  /* The band grows with time: the open interval is extended to now, and a new state change
     closes it and opens the next. */
  EquipmentPage.prototype.advanceTimeline = function (st) {
    const now = this.endMs;
    const list = this.intervals;
    const last = list[list.length - 1];
    if (st && st.since_ms !== null) {
      if (last && st.since_ms <= last.start_ms) {
        last.end_ms = now;
        last.state = st.state;
      } else {
        if (last) last.end_ms = Math.min(last.end_ms, st.since_ms);
        list.push({ start_ms: Math.max(st.since_ms, this.startMs()), end_ms: now,
          state: st.state, reason: st.reason });
      }
    }
    const start = this.startMs();
    while (list.length && list[0].end_ms <= start) list.shift();
    if (list.length) list[0].start_ms = Math.max(list[0].start_ms, start);
    this.drawTimeline();
  };

  EquipmentPage.prototype.drawTimeline = function () {
    const el = document.getElementById("timeline");
    if (!el) return;
    const start = this.startMs();
    const span = this.windowMs;
    const segs = [svgRect("unknown", 0, 100, "")].concat(this.intervals.map(function (r) {
      const title = stateLabel(r.state) + " " + clock.format(r.start_ms) + "–" +
        clock.format(r.end_ms) + (r.reason ? " (" + r.reason + ")" : "");
      return svgRect(r.state, 100 * (r.start_ms - start) / span,
        100 * (r.end_ms - r.start_ms) / span, title);
    }));
    el.replaceChildren.apply(el, segs);
    const a = document.getElementById("timeline-start");
    const b = document.getElementById("timeline-end");
    if (a) a.textContent = clockShort.format(start);
    if (b) b.textContent = clockShort.format(this.endMs);
  };

  /* The alarm console: the counts come with every event; when anything changed (the
     version moved) the table is fetched again as rendered by the server. */
  function initAlarms(url) {
    let version = null;
    connect(url, "alarms", function (d) {
      for (const [sev, n] of Object.entries(d.counts)) {
        const el = document.querySelector('[data-severity="' + sev + '"]');
        if (el) el.textContent = String(n);
      }
      const box = document.getElementById("alarm-table");
      if (version !== null && d.version !== version && box && !box.contains(document.activeElement)) {
        fetch(box.dataset.fragment, { credentials: "same-origin" })
          .then(function (r) { return r.ok ? r.text() : null; })
          .then(function (html) { if (html !== null) box.innerHTML = html; });
      }
      version = d.version;
    });
  }

  /* Panels a page fetches once it has shown (the city overview's heavier figures); the
     words for a failure come with the page, like every word. */
  function loadPanels() {
    document.querySelectorAll("[data-panel]").forEach(function (box) {
      fetch(box.dataset.panel, { credentials: "same-origin" })
        .then(function (r) { if (!r.ok) throw new Error(String(r.status)); return r.text(); })
        .then(function (html) { box.innerHTML = html; })
        .catch(function () { box.textContent = box.dataset.failed || ""; })
        .finally(function () { box.removeAttribute("aria-busy"); });
    });
  }

  function init() {
    loadPanels();
    const page = document.body.dataset.page;
    const url = document.body.dataset.live;
    if (page === "city" && url) initCity(url);
    else if (page === "enterprise" && url) initEnterprise(url);
    else if ((page === "site" || page === "line" || page === "station") && url) initTiles(url);
    else if (page === "equipment" && url) new EquipmentPage(readJson("equipment-data"), url);
    else if (page === "alarms" && url) initAlarms(url);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
