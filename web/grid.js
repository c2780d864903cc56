// grid.js: the page of every public camera (index.html), a file of its own
// so that the page's Content-Security-Policy allows no inline script.
// A card per public camera, all fed by ONE Server-Sent Events stream
// (browsers allow only 6 connections per host).
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
  if (!hasES() || cams.length === 0) return; // each element polls by itself
  const feed = new Feed("/events?" + cams.map((c) => "esn=" + c.esn).join("&"),
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
    if (c.online) p.event("frame", { url: c.image + "?ts=" + c.ts, ts: c.ts }); // at once, before the stream
    else if (c.state === "asleep" && hasES()) p.event("waking", { esn: c.esn }); // the grid's stream wakes it
    return p;
  }

  // snippets shows the code a site owner copies to show this camera.
  function snippets(c) {
    const o = location.origin, alt = c.name.replace(/["<>&]/g, "");
    const items = [
      ["Still image (reload to refresh)", `<img src="${o}/preview/${c.esn}.jpg" alt="${alt}">`],
      ["Live image, no script (MJPEG)", `<img src="${o}/preview/${c.esn}.mjpg" alt="${alt}">`],
      ["Live, in an iframe", `<iframe src="${o}/embed/${c.esn}" width="640" height="360" style="border:0" title="${alt}"></iframe>`],
      ["Live, with the script", `<script src="${o}/camrelay.js" defer></` + `script>\n<camrelay-preview esn="${c.esn}" src="${o}" style="display:block;width:640px;height:360px"></camrelay-preview>`],
    ];
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
