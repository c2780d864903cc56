// embed.js: the iframe page (embed.html) shows the camera its URL names,
// /embed/{esn}; a file of its own, as the page's Content-Security-Policy
// allows no inline script. /embed/{esn}?width=320 shows a thumbnail of
// that width (the server checks it is one it offers). A signed camera's
// page carries its link (?exp=…&kid=…&sig=…): passed on to the image and
// stream it opens.
{
  const cam = document.getElementById("cam");
  const q = new URLSearchParams(location.search);
  const width = q.get("width");
  if (width) cam.setAttribute("width", width); // before esn: the element starts once
  if (q.has("sig")) cam.setAttribute("link", new URLSearchParams({ exp: q.get("exp"), kid: q.get("kid"), sig: q.get("sig") }).toString());
  cam.setAttribute("esn", location.pathname.split("/").pop().replace(/\.html$/, ""));
}
