// Package playground serves GraphiQL for trying the API in a browser. Its
// scripts and styles are embedded (GraphiQL 3.9.0, React 18.3.1), so the
// page works without a CDN: offline, behind a firewall, in CI.
package playground

import (
	"embed"
	"html/template"
	"io/fs"
	"net/http"
	"strings"
)

//go:embed assets
var assets embed.FS

//go:embed index.html
var indexHTML string

var index = template.Must(template.New("index").Parse(indexHTML))

// AssetPrefix is where the page's scripts and styles are served.
const AssetPrefix = "/playground/"

// Options configure the page.
type Options struct {
	Endpoint string // the GraphQL endpoint, e.g. /query
	// SignInCode, when set, shows a note and a button that signs in with
	// this code (development mode, where the mock accepts any code).
	SignInCode string
	// SignInAppID is the app the button signs in to, when the server
	// serves several (and a login must name one).
	SignInAppID string
}

// Playground serves the page at / and its assets under AssetPrefix.
type Playground struct {
	opt   Options
	files http.Handler
}

// New returns the playground.
func New(opt Options) *Playground {
	sub, err := fs.Sub(assets, "assets")
	if err != nil {
		panic("playground: " + err.Error()) // the embed directive guarantees it
	}
	return &Playground{opt: opt, files: http.StripPrefix(AssetPrefix, http.FileServerFS(sub))}
}

// AssetPrefix returns the path under which the page's files are served.
func (*Playground) AssetPrefix() string { return AssetPrefix }

// ServeHTTP serves the page for / and the files under AssetPrefix.
func (p *Playground) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	if strings.HasPrefix(r.URL.Path, AssetPrefix) {
		// The files change only with the binary.
		h.Set("Cache-Control", "public, max-age=86400")
		p.files.ServeHTTP(w, r)
		return
	}
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Frame-Options", "DENY")
	// GraphiQL sets inline styles; scripts come only from here.
	h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; connect-src 'self'; frame-ancestors 'none'")
	index.Execute(w, p.opt) //nolint:errcheck // the client went away
}
