// GeoEnergy monitoring page: the data centres on a Leaflet map, coloured by
// compliance. Loaded as a file (the CSP forbids inline scripts); data comes from
// the data-monitor-map attribute; text is only ever set with textContent.
"use strict";

const MONITOR_COLOURS = { compliant: "#2e7d32", over: "#c62828", unknown: "#9e9e9e" };

function monitorTip(lines) {
  const el = document.createElement("div");
  for (const line of lines) {
    const row = document.createElement("div");
    row.textContent = line;
    el.appendChild(row);
  }
  return el;
}

function initMonitorMap(el) {
  let data;
  try {
    data = JSON.parse(el.dataset.monitorMap);
  } catch (e) {
    el.textContent = "Map data could not be read.";
    return;
  }
  if (!window.L) {
    el.textContent = "Map unavailable: Leaflet did not load.";
    return;
  }
  const map = L.map(el);
  const bounds = [];
  const layers = [];
  for (const s of data.sites || []) {
    const m = L.circleMarker([s.lat, s.lon], {
      radius: 8, color: "#333", weight: 1,
      fillColor: MONITOR_COLOURS[s.state] || MONITOR_COLOURS.unknown, fillOpacity: 0.9,
    });
    const pue = s.pue === null ? "no common readings" : "PUE 30 days " + s.pue + " (limit " + s.limit + ")";
    m.bindTooltip(monitorTip([String(s.name), pue]), { className: "case-tip" });
    if (typeof s.url === "string" && s.url.startsWith("/") && !s.url.startsWith("//")) {
      m.on("click", () => { window.location.assign(s.url); });
    }
    layers.push(m);
    bounds.push(L.latLng(s.lat, s.lon));
  }
  if (bounds.length === 1) {
    map.setView(bounds[0], 13);
  } else if (bounds.length > 1) {
    map.fitBounds(L.latLngBounds(bounds), { padding: [20, 20], maxZoom: 15 });
  } else {
    map.setView([39.9, 116.4], 10);
  }
  if (data.tiles) {
    L.tileLayer(data.tiles, { attribution: data.attribution || "", maxZoom: 19 }).addTo(map);
  }
  for (const layer of layers) { layer.addTo(map); }
  el.dataset.ready = "1";
}

document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("[data-monitor-map]").forEach(initMonitorMap);
});
