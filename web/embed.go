// Package web holds the page, the iframe embed and the script that site
// owners use, embedded in the binary: plain HTML, CSS and JS, no build step.
package web

import "embed"

// FS holds the files served by the web replicas.
//
//go:embed index.html grid.js style.css embed.html embed.js embed.css camrelay.js
var FS embed.FS
