// GeoEnergy review app: the small Leaflet maps. Loaded as a file (the CSP
// forbids inline scripts). Data comes from a data-map attribute holding JSON;
// text from the data is only ever set with textContent, never as HTML.
"use strict";

// Colour of a point: its score class, chosen by the server (geoenergy.web.mapdata),
// so map and legend agree. A point without one is grey.
function pointColour(p) {
  return typeof p.colour === "string" && /^#[0-9a-fA-F]{6}$/.test(p.colour) ? p.colour : "#888888";
}

const NORMAL = { radius: 6, color: "#333", weight: 1 };
const HIGHLIGHT = { radius: 10, color: "#0b5cad", weight: 4 };

function textTip(lines) {
  const el = document.createElement("div");
  for (const line of lines) {
    const row = document.createElement("div");
    row.textContent = line;
    el.appendChild(row);
  }
  return el;
}

function safeLocalUrl(url) {
  // Only same-site paths are followed from a marker.
  return typeof url === "string" && url.startsWith("/") && !url.startsWith("//") ? url : null;
}

function initMap(el) {
  let data;
  try {
    data = JSON.parse(el.dataset.map);
  } catch (e) {
    el.textContent = "Map data could not be read.";
    return;
  }
  if (!window.L) {
    el.textContent = "Map unavailable: Leaflet did not load.";
    return;
  }
  const map = L.map(el);
  // Leaflet needs a view before vector layers are added: collect the bounds first.
  const layers = [];
  const bounds = [];
  if (data.hotspot) {
    const layer = L.geoJSON(data.hotspot, { style: { color: "#b3261e", weight: 2, fillOpacity: 0.08 } });
    const b = layer.getBounds();
    if (b.isValid()) { bounds.push(b.getSouthWest(), b.getNorthEast()); }
    layers.push(layer);
  }
  const markers = new Map();
  for (const p of data.points || []) {
    const marker = L.circleMarker([p.lat, p.lon], {
      ...NORMAL, fillColor: pointColour(p), fillOpacity: 0.9,
    });
    markers.set(String(p.id), marker);
    const lines = [String(p.id), "score " + p.score + (p.rank ? ", rank " + p.rank : "")];
    if (p.status) { lines.push("status " + p.status); }
    marker.bindTooltip(textTip(lines), { className: "case-tip" });
    const url = safeLocalUrl(p.url);
    if (url) { marker.on("click", () => { window.location.assign(url); }); }
    layers.push(marker);
    bounds.push(L.latLng(p.lat, p.lon));
  }
  if (data.centre) {
    const c = L.circleMarker([data.centre.lat, data.centre.lon], {
      radius: 9, color: "#0b5cad", weight: 3, fillColor: "#ffffff", fillOpacity: 1,
    });
    c.bindTooltip(textTip([String(data.centre.id), "this case"]), { className: "case-tip" });
    layers.push(c);
    bounds.push(L.latLng(data.centre.lat, data.centre.lon));
  }
  if (bounds.length === 1) {
    map.setView(bounds[0], 16);
  } else if (bounds.length > 1) {
    map.fitBounds(L.latLngBounds(bounds), { padding: [20, 20], maxZoom: 17 });
  } else {
    map.setView([39.9, 116.4], 10);
  }
  if (data.tiles) {
    L.tileLayer(data.tiles, { attribution: data.attribution || "", maxZoom: 19 }).addTo(map);
  }
  for (const layer of layers) { layer.addTo(map); }
  for (const [id, marker] of markers) {
    const path = marker.getElement && marker.getElement();
    if (path) { path.setAttribute("data-meter", id); }
  }
  linkRows(markers);
  el.dataset.ready = "1";
}

function highlight(marker, on) {
  marker.setStyle(on ? HIGHLIGHT : NORMAL);
  if (on) { marker.bringToFront(); }
  const path = marker.getElement && marker.getElement();
  if (path) { path.classList.toggle("highlighted", on); }
}

// Hovering (or focusing) a queue row highlights its marker; hovering a marker
// highlights its row.
function linkRows(markers) {
  document.querySelectorAll("table.queue tr[data-meter]").forEach((row) => {
    const marker = markers.get(row.dataset.meter);
    if (!marker) { return; }
    const on = () => { highlight(marker, true); row.classList.add("hover"); };
    const off = () => { highlight(marker, false); row.classList.remove("hover"); };
    row.addEventListener("mouseenter", on);
    row.addEventListener("mouseleave", off);
    row.addEventListener("focusin", on);
    row.addEventListener("focusout", off);
    marker.on("mouseover", on);
    marker.on("mouseout", off);
  });
}

document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("[data-map]").forEach(initMap);
});
