// camrelay.js: live camera previews for any page, as a custom element.
//   <script src="https://relay.example.com/camrelay.js" defer></script>
//   <camrelay-preview esn="1006073b" src="https://relay.example.com"></camrelay-preview>
// width="320" shows a thumbnail of that width (one the server offers:
// /api/cameras lists them) instead of the full picture. link="exp=…&kid=…&sig=…"
// is a signed camera's link, added to every request; once it expires the
// element says so and stops.
// Live through Server-Sent Events; polls the image every second where
// EventSource is missing or blocked; pauses while the tab is hidden.
// A badge says "offline", or "waking up" while a camera followed only
// when watched sends its first picture.
(() => {
  "use strict";
  const scriptBase = (document.currentScript && new URL(".", document.currentScript.src).href) || location.origin + "/";
  const base = (src) => new URL(src || scriptBase, location.href).href.replace(/\/?$/, "/");
  const hasES = () => typeof window.EventSource === "function";

  // A live stream of one or more cameras, reconnecting with backoff.
  class Feed {
    constructor(url, onEvent, onState) {
      this.url = url; this.onEvent = onEvent; this.onState = onState; this.delay = 1000;
    }
    open() {
      if (this.es || this.timer) return;
      const es = new EventSource(this.url);
      this.es = es;
      es.onopen = () => { this.delay = 1000; this.onState("live"); };
      for (const type of ["frame", "offline", "waking"]) {
        es.addEventListener(type, (e) => { try { this.onEvent(type, JSON.parse(e.data)); } catch (_) {} });
      }
      // Reconnect ourselves, with growing jittered waits, rather than let
      // the browser retry at a fixed pace forever.
      es.onerror = () => {
        this.onState("reconnecting");
        es.close();
        this.es = null;
        const wait = this.delay * (0.5 + Math.random() / 2);
        this.delay = Math.min(this.delay * 2, 30000);
        this.timer = setTimeout(() => { this.timer = null; this.open(); }, wait);
      };
    }
    close() {
      if (this.es) this.es.close();
      clearTimeout(this.timer);
      this.es = null; this.timer = null;
    }
  }

  class Preview extends HTMLElement {
    static get observedAttributes() { return ["esn", "src", "width", "link"]; }
    connectedCallback() {
      if (!this.img) {
        this.img = document.createElement("img");
        this.img.alt = this.getAttribute("alt") || "live camera";
        // Hidden until the first picture, so no broken-image icon shows.
        this.img.style.cssText = "display:block;width:100%;height:100%;visibility:hidden;object-fit:" + (this.getAttribute("fit") || "cover");
        this.badge = document.createElement("span");
        this.badge.style.cssText = "position:absolute;top:.5em;left:.5em;padding:.1em .5em;color:#fff;font:600 12px system-ui;border-radius:3px;display:none";
        if (getComputedStyle(this).position === "static") this.style.position = "relative";
        this.append(this.img, this.badge);
        this.onVisibility = () => (document.hidden ? this.stop() : this.start());
      }
      document.addEventListener("visibilitychange", this.onVisibility);
      this.start();
    }
    disconnectedCallback() {
      document.removeEventListener("visibilitychange", this.onVisibility);
      this.stop();
    }
    attributeChangedCallback() { if (this.img) { this.stop(); this.start(); } }

    get esn() { return (this.getAttribute("esn") || "").toLowerCase(); }
    get base() { return base(this.getAttribute("src")); }
    // w is the thumbnail width parameter, "" for the full picture.
    // The query of the element's requests: the width and a signed link.
    get w() {
      const w = this.getAttribute("width"), link = this.getAttribute("link") || "";
      return [w ? "w=" + encodeURIComponent(w) : "", link].filter(Boolean).join("&");
    }
    // expired says a signed link has run out: nothing more will be served.
    get expired() {
      const exp = new URLSearchParams(this.getAttribute("link") || "").get("exp");
      return !!exp && Date.now() / 1000 >= Number(exp);
    }

    // start follows the camera on its own, unless a grid drives it.
    start() {
      if (!this.esn || this.hasAttribute("managed") || document.hidden) return;
      if (this.expired) { this.setState("expired"); return; }
      const w = this.w;
      this.show(this.base + "preview/" + this.esn + ".jpg?ts=" + Date.now() + (w && "&" + w));
      if (hasES() && !this.hasAttribute("poll")) {
        // The stream's image URLs carry w too.
        const url = this.base + "preview/" + this.esn + "/events" + (w && "?" + w);
        if (this.feed && this.feed.url !== url) this.feed = null; // stopped: a new esn, src or width
        this.feed = this.feed || new Feed(url, (t, d) => this.event(t, d), () => { if (this.expired) { this.stop(); this.setState("expired"); } });
        this.feed.open();
      } else if (!this.poller) {
        this.poller = setInterval(() => this.poll(), 1000);
      }
    }
    stop() {
      if (this.feed) this.feed.close();
      clearInterval(this.poller);
      this.poller = null;
    }

    // event applies a frame, offline or waking event from a feed.
    event(type, d) {
      if (type === "offline") { this.setOffline(true); return; }
      if (type === "waking") { this.setWaking(); return; }
      this.show(new URL(d.url, this.base).href, d.ts);
    }
    // setOffline shows the camera offline, or live; setWaking shows it
    // waking up until a picture comes, or offline if none comes in time.
    setOffline(off) { this.setState(off ? "offline" : "live"); }
    setWaking() {
      this.setState("waking");
      clearTimeout(this.wakeTimer);
      this.wakeTimer = setTimeout(() => { if (this.state === "waking") this.setState("offline"); }, 20000);
    }
    setState(state) {
      if (state !== "waking") clearTimeout(this.wakeTimer);
      this.state = state;
      const expired = state === "expired", off = state === "offline" || expired, waking = state === "waking";
      this.toggleAttribute("offline", off);
      this.toggleAttribute("waking", waking);
      this.toggleAttribute("expired", expired);
      this.badge.textContent = expired ? "link expired" : waking ? "waking up" : "offline";
      this.badge.style.background = waking ? "#a15c00" : "#c22";
      this.badge.style.display = off || waking ? "" : "none";
      this.dispatchEvent(new CustomEvent("camrelay:state", { bubbles: true, detail: { esn: this.esn, offline: off, waking } }));
    }

    // show preloads url and swaps it in once decoded, so the picture never
    // flashes blank; an older image never replaces a newer one.
    show(url, ts) {
      if (ts && this.ts && ts <= this.ts) return;
      const next = new Image();
      next.onload = () => {
        if (ts && this.ts && ts <= this.ts) return;
        if (ts) this.ts = ts;
        this.img.src = url;
        this.img.style.visibility = "visible";
        this.setOffline(false);
        this.dispatchEvent(new CustomEvent("camrelay:frame", { bubbles: true, detail: { esn: this.esn, ts: this.ts } }));
      };
      // A camera waking up answers its first picture late or not at all:
      // the stream's next frame will show it.
      next.onerror = () => { if (!ts && this.state !== "waking") this.setOffline(true); };
      next.src = url;
    }

    // poll fetches the image when it changed (the ETag makes an unchanged
    // image a 304) and marks the camera offline when none is fresh.
    async poll() {
      if (this.expired) { this.stop(); this.setState("expired"); return; }
      try {
        const w = this.w;
        const r = await fetch(this.base + "preview/" + this.esn + ".jpg" + (w && "?" + w), { cache: "no-cache" });
        if (!r.ok) { this.setOffline(true); return; }
        const ts = r.headers.get("X-Frame-Timestamp") || String(Date.now());
        if (this.ts && ts <= this.ts) return;
        const old = this.objectURL;
        this.objectURL = URL.createObjectURL(await r.blob());
        this.show(this.objectURL, ts);
        if (old) setTimeout(() => URL.revokeObjectURL(old), 5000);
      } catch (_) { this.setOffline(true); }
    }
  }
  if (!customElements.get("camrelay-preview")) customElements.define("camrelay-preview", Preview);

  // fmt turns an EEN timestamp (YYYYMMDDhhmmss.mmm, UTC) into local time.
  function fmt(ts) {
    const m = /^(\d{4})(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)\.(\d{3})$/.exec(ts || "");
    if (!m) return "";
    return new Date(Date.UTC(+m[1], m[2] - 1, +m[3], +m[4], +m[5], +m[6], +m[7])).toLocaleTimeString();
  }

  window.CamRelay = { Preview, Feed, base, hasES, fmt };
})();
