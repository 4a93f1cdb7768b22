// Package templates holds qsgate's HTML pages, embedded in the binary and
// parsed once at start-up. It renders into a buffer so a template failure
// never sends half a page.
package templates

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io"

	"github.com/qsgate/qsgate/static"
)

//go:embed *.html
var files embed.FS

// Set is the parsed pages.
type Set struct {
	pages map[string]*template.Template
}

// Pages are the page names Render accepts.
var Pages = []string{"home.html", "embed.html", "error.html", "signed_out.html"}

// Parse parses every page with the shared layout; an error stops start-up.
func Parse() (*Set, error) {
	s := &Set{pages: map[string]*template.Template{}}
	for _, name := range Pages {
		t, err := template.New(name).Funcs(template.FuncMap{"asset": static.URL}).ParseFS(files, "layout.html", name)
		if err != nil {
			return nil, fmt.Errorf("parse template %s: %w", name, err)
		}
		s.pages[name] = t
	}
	return s, nil
}

// Render writes the page to w only once it rendered completely.
func (s *Set) Render(w io.Writer, name string, data any) error {
	t, ok := s.pages[name]
	if !ok {
		return fmt.Errorf("no template %q", name)
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", data); err != nil {
		return fmt.Errorf("render %s: %w", name, err)
	}
	_, err := buf.WriteTo(w)
	return err
}
