// Package static holds the portal's stylesheet, embedded in the binary and
// served under /static/.
package static

import "embed"

// Files is served under /static/ (so css/app.css is /static/css/app.css).
//
//go:embed css
var Files embed.FS
