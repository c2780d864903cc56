// grid.js: the page of every public camera (index.html), a file of its own
// so that the page's Content-Security-Policy allows no inline script.
// A card per public camera, all fed by ONE Server-Sent Events stream
// (browsers allow only 6 connections per host). Cards show thumbnails of
// the width they need (see pickWidth), one the server offers.
"use strict";
(async () => {
  const { Feed, hasES, fmt } = window.CamRelay;
  const el = document.getElementById("grid");
  let cams;
  for (let delay = 1000; ; delay = Math.min(delay * 2, 30000)) {
    try { const r = await fetch("/api/cameras"); if (r.ok) { cams = await r.json(); break; } } catch (_) {}
    await new Promise((ok) => setTimeout(ok, delay * (0.5 + Math.random() / 2)));
  }
  document.getElementById("empty").hidden = cams.length > 0;
  const byESN = new Map();
  for (const c of cams) byESN.set(c.esn, card(c));
  const w = cams.length ? pickWidth(cams[0].widths, byESN.values().next().value) : 0;
  for (const c of cams) start(c, byESN.get(c.esn), w);
  if (!hasES() || cams.length === 0) return; // each element polls by itself
  const feed = new Feed("/events?" + cams.map((c) => "esn=" + c.esn).join("&") + (w ? "&w=" + w : ""),
    (type, d) => { const p = byESN.get(d.esn); if (p) p.event(type, d); }, () => {});
  const sync = () => (document.hidden ? feed.close() : feed.open());
  document.addEventListener("visibilitychange", sync);
  sync();

  function card(c) {
    const fig = document.createElement("figure");
    fig.className = "card";
    fig.dataset.esn = c.esn;
    const p = document.createElement("camrelay-preview");
    p.setAttribute("esn", c.esn);
    p.setAttribute("alt", c.name);
    if (hasES()) p.setAttribute("managed", ""); // the grid's stream feeds it
    const cap = document.createElement("figcaption");
    cap.className = "meta";
    const name = Object.assign(document.createElement("span"), { className: "name", textContent: c.name });
    const time = Object.assign(document.createElement("time"), { className: "time", textContent: "waiting…" });
    cap.append(name, time);
    fig.append(p, cap, snippets(c));
    el.append(fig);
    p.addEventListener("camrelay:frame", (e) => { time.textContent = fmt(e.detail.ts); time.dateTime = e.detail.ts; });
    p.addEventListener("camrelay:state", (e) => {
      fig.classList.toggle("offline", e.detail.offline);
      fig.classList.toggle("waking", e.detail.waking);
    });
    return p;
  }

  // pickWidth is the thumbnail width a card needs: the smallest offered
  // width covering its CSS width in device pixels, else the largest; 0
  // (full pictures) from a server that offers none. Chosen once: cards
  // are all as wide, and a later resize only blurs or sharpens a little.
  function pickWidth(widths, p) {
    if (!Array.isArray(widths) || widths.length === 0) return 0;
    const need = p.getBoundingClientRect().width * (window.devicePixelRatio || 1);
    const sorted = [...widths].sort((a, b) => a - b);
    return sorted.find((x) => x >= need) || sorted[sorted.length - 1];
  }

  // start shows a card's current picture at width w, before the stream.
  function start(c, p, w) {
    if (w) p.setAttribute("width", String(w)); // the element's own polling asks for it too
    if (c.online) p.event("frame", { url: c.image + "?ts=" + c.ts + (w ? "&w=" + w : ""), ts: c.ts }); // at once, before the stream
    else if (c.state === "asleep" && hasES()) p.event("waking", { esn: c.esn }); // the grid's stream wakes it
  }

  // snippets shows the code a site owner copies to show this camera.
  function snippets(c) {
    const o = location.origin, alt = c.name.replace(/["<>&]/g, "");
    // A thumbnail width for the examples: 320 when offered.
    const ws = Array.isArray(c.widths) ? c.widths : [];
    const tw = ws.includes(320) ? 320 : ws[0];
    const items = [
      ["Still image (reload to refresh)", `<img src="${o}/preview/${c.esn}.jpg" alt="${alt}">`],
      ["Live image, no script (MJPEG)", `<img src="${o}/preview/${c.esn}.mjpg" alt="${alt}">`],
      ["Live, in an iframe", `<iframe src="${o}/embed/${c.esn}" width="640" height="360" style="border:0" title="${alt}"></iframe>`],
      ["Live, with the script", `<script src="${o}/camrelay.js" defer></` + `script>\n<camrelay-preview esn="${c.esn}" src="${o}" style="display:block;width:640px;height:360px"></camrelay-preview>`],
    ];
    if (tw) {
      items.push(
        [`Thumbnail, ${tw} px wide (offered widths: ${ws.join(", ")})`, `<img src="${o}/preview/${c.esn}.jpg?w=${tw}" width="${tw}" alt="${alt}">`],
        ["Live thumbnail, in an iframe", `<iframe src="${o}/embed/${c.esn}?width=${tw}" width="${tw}" height="${Math.round(tw * 9 / 16)}" style="border:0" title="${alt}"></iframe>`],
        ["Live thumbnail, with the script", `<script src="${o}/camrelay.js" defer></` + `script>\n<camrelay-preview esn="${c.esn}" src="${o}" width="${tw}" style="display:block;width:${tw}px;aspect-ratio:16/9"></camrelay-preview>`]);
    }
    const d = document.createElement("details");
    d.className = "embed";
    d.append(Object.assign(document.createElement("summary"), { textContent: "Embed" }));
    for (const [label, code] of items) {
      const row = document.createElement("div");
      row.className = "snippet";
      const pre = Object.assign(document.createElement("pre"), { textContent: code });
      const btn = Object.assign(document.createElement("button"), { type: "button", textContent: "Copy" });
      btn.addEventListener("click", async () => {
        try { await navigator.clipboard.writeText(code); btn.textContent = "Copied"; } catch (_) { btn.textContent = "Select and copy"; }
        setTimeout(() => (btn.textContent = "Copy"), 1500);
      });
      row.append(Object.assign(document.createElement("span"), { textContent: label }), btn, pre);
      d.append(row);
    }
    return d;
  }
})();
