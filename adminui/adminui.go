// Package adminui is the admin page: a small page served from the binary
// (no CDN, a strict Content-Security-Policy) on which an operator signs in
// by pasting an operator token, kept in the tab's session storage only,
// finds users, opens one, sees their sessions, revokes them, disables and
// enables the account with a reason, and reads the audit log. It talks
// to /query with the @auth(role: ADMIN) fields, as any client would.
package adminui

import (
	"embed"
	"io/fs"
	"net/http"
	"strings"
)

//go:embed assets
var assets embed.FS

// Path is where the page is served; its files are under Path + "/".
const Path = "/admin"

// Page serves the admin page and its files.
type Page struct {
	files http.Handler
	index []byte
}

// New returns the page.
func New() *Page {
	sub, err := fs.Sub(assets, "assets")
	if err != nil {
		panic("adminui: " + err.Error()) // the embed directive guarantees it
	}
	index, err := fs.ReadFile(sub, "index.html")
	if err != nil {
		panic("adminui: " + err.Error())
	}
	return &Page{files: http.StripPrefix(Path+"/", http.FileServerFS(sub)), index: index}
}

// AssetPrefix returns the path under which the page's files are served.
func (*Page) AssetPrefix() string { return Path + "/" }

// csp lets the page run its own script and style, talk to its own origin
// and nothing else: no inline script, no other origin, no framing.
const csp = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; " +
	"base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// ServeHTTP serves the page at Path and its files under Path + "/".
func (p *Page) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", csp)
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Cache-Control", "no-store")
	if strings.HasPrefix(r.URL.Path, Path+"/") && r.URL.Path != Path+"/index.html" {
		p.files.ServeHTTP(w, r)
		return
	}
	h.Set("Content-Type", "text/html; charset=utf-8")
	w.Write(p.index) //nolint:errcheck // the client went away
}
