// Package assets holds shadercast's browser-side files: viewer.html and
// viewer.js, a dependency-free WHEP player that plays a shadercast stream
// (video and audio) in any current browser and shows resolution, frame rate,
// bitrate and round-trip time. The files are embedded in the binary, so a
// server serves its own player with no build step and no files on disk:
//
//	mux.Handle("/", assets.Handler())
//	mux.Handle("/whep", whepHandler)
//	mux.Handle("/whep/", whepHandler)
//
// The page posts to "./whep" relative to itself unless given ?whep=<url>
// (and ?token=<bearer> for a protected endpoint: the viewer token on the
// viewer page, the publisher token on publish.html; ?control_token= for
// the control API). It exposes its state as
// window.shadercast for tests (see browser_test.go, which drives headless
// Chromium against a real whep.Handler).
package assets

import (
	"bytes"
	"embed"
	"net/http"
	"path"
	"strings"
	"time"
)

// FS holds the player files, at the root: viewer.html and viewer.js.
//
//go:embed viewer.html viewer.js panel.js publish.html publish.js
var FS embed.FS

// contentTypes is explicit rather than left to mime.TypeByExtension, whose
// answer for .js depends on the host's mime tables.
var contentTypes = map[string]string{
	"viewer.html":  "text/html; charset=utf-8",
	"viewer.js":    "text/javascript; charset=utf-8",
	"panel.js":     "text/javascript; charset=utf-8",
	"publish.html": "text/html; charset=utf-8",
	"publish.js":   "text/javascript; charset=utf-8",
}

// Handler serves the player: a path ending in "/" (the mount point itself)
// and ".../viewer.html" get the page, ".../viewer.js" its script; anything
// else is 404. Only the last path element is looked at, so the handler works
// at "/" or under a prefix (with or without http.StripPrefix), as long as the
// page URL ends in "/" so that its relative URLs resolve beside it.
func Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		name := path.Base(r.URL.Path)
		if strings.HasSuffix(r.URL.Path, "/") || r.URL.Path == "" {
			name = "viewer.html"
		}
		ct, ok := contentTypes[name]
		if !ok {
			http.NotFound(w, r)
			return
		}
		b, err := FS.ReadFile(name)
		if err != nil { // cannot happen: every contentTypes key is embedded
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		h := w.Header()
		h.Set("Content-Type", ct)
		h.Set("X-Content-Type-Options", "nosniff")
		// no-cache (revalidate), not no-store: the files change only with
		// the binary, but a stale cached viewer.js after an upgrade would
		// be a confusing bug.
		h.Set("Cache-Control", "no-cache")
		http.ServeContent(w, r, name, startTime, bytes.NewReader(b))
	})
}

// startTime stands in for the files' modification time (embed.FS has none)
// so that ServeContent can answer If-Modified-Since across one process run.
var startTime = time.Now()
