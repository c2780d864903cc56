// embed.js: the iframe page (embed.html) shows the camera its URL names,
// /embed/{esn}; a file of its own, as the page's Content-Security-Policy
// allows no inline script. /embed/{esn}?width=320 shows a thumbnail of
// that width (the server checks it is one it offers).
{
  const cam = document.getElementById("cam");
  const width = new URLSearchParams(location.search).get("width");
  if (width) cam.setAttribute("width", width); // before esn: the element starts once
  cam.setAttribute("esn", location.pathname.split("/").pop().replace(/\.html$/, ""));
}
