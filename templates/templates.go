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
	"regexp"
	"sync"

	"github.com/qsgate/qsgate/static"
	"github.com/qsgate/qsgate/ttlcache"
)

//go:embed *.html
var files embed.FS

// Set is the parsed pages.
type Set struct {
	pages map[string]*template.Template
	// embed caches embed.html by everything but its console URL
	// (embed.go); the URL goes through hole, and mark stands for it while
	// a shell is rendered.
	embed    *ttlcache.Cache[Embed, shell]
	hole     *template.Template
	urlBytes *urlBytes // what hole makes of each byte of an http(s) URL; nil: none
	mark     string
}

// Pages are the page names Render accepts.
var Pages = []string{"home.html", "embed.html", "error.html", "signed_out.html"}

// assetRE is {{asset "NAME"}} in a page's source: the fingerprinted URL of
// a static file, fixed for the life of the build, so it is written into the
// source once at Parse instead of being called and escaped on every render.
var (
	assetRE    = regexp.MustCompile(`\{\{asset "([^"]*)"\}\}`)
	assetURLRE = regexp.MustCompile(`^/static/[a-z0-9][a-z0-9/._-]*\?v=[0-9a-f]+$`)
)

// Parse parses every page with the shared layout; an error stops start-up.
func Parse() (*Set, error) {
	layout, err := source("layout.html")
	if err != nil {
		return nil, err
	}
	s := &Set{pages: map[string]*template.Template{}}
	for _, name := range Pages {
		page, err := source(name)
		if err != nil {
			return nil, err
		}
		t := template.New(name)
		_, err = t.New("layout.html").Parse(layout)
		if err == nil { // the page's blocks replace the layout's defaults
			_, err = t.Parse(page)
		}
		if err != nil {
			return nil, fmt.Errorf("parse template %s: %w", name, err)
		}
		s.pages[name] = t
	}
	if err := s.prepareEmbed(); err != nil {
		return nil, err
	}
	return s, nil
}

// source is a page's text with its asset URLs written in.
func source(name string) (string, error) {
	data, err := files.ReadFile(name)
	if err != nil {
		return "", err
	}
	var bad error
	text := assetRE.ReplaceAllStringFunc(string(data), func(m string) string {
		u := static.URL(assetRE.FindStringSubmatch(m)[1])
		if !assetURLRE.MatchString(u) { // written unescaped: it must be plain
			bad = fmt.Errorf("template %s: asset URL %q is not a plain path", name, u)
		}
		return u
	})
	return text, bad
}

// Render writes the page to w, in one Write, only once it rendered
// completely.
func (s *Set) Render(w io.Writer, name string, data any) error {
	t, ok := s.pages[name]
	if !ok {
		return fmt.Errorf("no template %q", name)
	}
	buf := getBuffer()
	defer putBuffer(buf)
	if err := t.ExecuteTemplate(buf, "layout", data); err != nil {
		return fmt.Errorf("render %s: %w", name, err)
	}
	_, err := w.Write(buf.Bytes())
	return err
}

// buffers are reused across renders; one that grew past maxPooled (a page
// far larger than ours) is left to the collector.
var buffers = sync.Pool{New: func() any { return bytes.NewBuffer(make([]byte, 0, 4096)) }}

const maxPooled = 64 << 10

func getBuffer() *bytes.Buffer { return buffers.Get().(*bytes.Buffer) }

func putBuffer(b *bytes.Buffer) {
	if b.Cap() <= maxPooled {
		b.Reset()
		buffers.Put(b)
	}
}
