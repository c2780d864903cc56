// embed.js: the iframe page (embed.html) shows the camera its URL names,
// /embed/{esn}; a file of its own, as the page's Content-Security-Policy
// allows no inline script.
document.getElementById("cam").setAttribute("esn", location.pathname.split("/").pop().replace(/\.html$/, ""));
