package templates

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"html/template"
	"io"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/qsgate/qsgate/ttlcache"
)

// Embed is what embed.html shows; the data attributes feed its script.
type Embed struct {
	URL, Title, Portal, CSRF string
	API, Login, Origin       string
	SessionSeconds           int
}

// The embed page is the one page rendered on every view, and html/template
// spends most of its time calling escapers through reflection (about 40 µs
// of a view on the benchmark machine, docs/BENCHMARKS.md). Only one of its
// values changes from view to view: the console URL. So the page is
// rendered once per set of the other values (a browser's CSRF token, the
// entry point, its links) with a random mark in place of the URL (a
// shell), and a view writes the shell's two parts around the URL, escaped
// by html/template in the same context it has in the page (the hole
// template). TestEmbedShellMatchesFullRender and FuzzRenderEmbed check the
// result is byte for byte the whole page rendered at once.
const (
	embedShells   = 1024 // browsers × entry points in use at once; ~3 KB each
	embedShellTTL = 10 * time.Minute
	// maxShellKey bounds what one shell may hold: pages whose other values
	// are longer (long deep links, an odd CSRF cookie) are rendered whole,
	// so the cache stays under ~10 MB whatever requests it sees.
	maxShellKey = 1024
)

// shell is embed.html split at the console URL.
type shell [2][]byte

// hole renders a URL as embed.html's iframe src escapes it: the output is
// the escaped URL between holeHead and holeTail.
const (
	hole     = `<iframe src="{{.}}">`
	holeHead = `<iframe src="`
	holeTail = `">`
)

func (s *Set) prepareEmbed() error {
	h, err := template.New("hole").Parse(hole)
	if err != nil {
		return fmt.Errorf("parse embed hole: %w", err)
	}
	s.hole = h
	s.urlBytes = learnURLBytes(h) // nil: every URL goes through hole
	s.embed = ttlcache.New[Embed, shell](embedShells, embedShellTTL)
	// The mark is letters and digits only, which no escaper changes, and
	// random, so no value of a page contains it by chance.
	s.mark = "qsgateurl" + rand.Text()
	return nil
}

// RenderEmbed writes embed.html for p to w, in one Write, only once it
// rendered completely: the same bytes as Render(w, "embed.html", p).
func (s *Set) RenderEmbed(w io.Writer, p Embed) error {
	key := p
	key.URL = ""
	if len(key.Title)+len(key.Portal)+len(key.CSRF)+len(key.API)+len(key.Login)+len(key.Origin) > maxShellKey {
		return s.Render(w, "embed.html", p)
	}
	sh, ok := s.embed.Get(key)
	if !ok {
		if sh, ok = s.shell(key); !ok {
			return s.Render(w, "embed.html", p)
		}
		s.embed.Add(key, sh)
	}
	buf := getBuffer()
	defer putBuffer(buf)
	buf.Write(sh[0])
	if !s.urlBytes.write(buf, p.URL) {
		start := buf.Len()
		if err := s.hole.Execute(buf, p.URL); err != nil {
			return fmt.Errorf("render embed.html: %w", err)
		}
		out := buf.Bytes()[start:]
		n := copy(out, out[len(holeHead):len(out)-len(holeTail)]) // keep the escaped URL only
		buf.Truncate(start + n)
	}
	buf.Write(sh[1])
	_, err := w.Write(buf.Bytes())
	return err
}

// shell renders the page for key with the mark as its URL and splits it
// there; false when the mark does not appear exactly once (the caller then
// renders the whole page).
func (s *Set) shell(key Embed) (shell, bool) {
	key.URL = s.mark
	var page bytes.Buffer
	if err := s.pages["embed.html"].ExecuteTemplate(&page, "layout", key); err != nil {
		return shell{}, false
	}
	mark := []byte(s.mark)
	if bytes.Count(page.Bytes(), mark) != 1 {
		return shell{}, false
	}
	head, tail, _ := bytes.Cut(page.Bytes(), mark)
	return shell{bytes.Clone(head), bytes.Clone(tail)}, true // not the render buffer's spare room
}

// Executing the hole template cost a view more than the rest of the page:
// text/template calls three escapers through reflection, about 20 µs of a
// view with the SDK call around it (docs/BENCHMARKS.md). For an https (or
// http) URL of ASCII bytes and no '%', which is what QuickSight (or the
// simulator on loopback) gives, those escapers work byte by byte: the URL
// filter only looks at the scheme, the URL normalizer and the attribute
// escaper replace each byte on its own (not a '%', which the normalizer
// keeps only before two hex digits). So what
// html/template makes of each byte is learned from html/template when the
// templates are parsed, and a view writes the URL through that table. Any
// other URL goes through the hole template. learnURLBytes checks the table
// against the template on sample URLs before it is used (or not used at
// all), and TestURLBytesUsed and FuzzRenderEmbed hold it to the template.

// urlBytes is what the hole makes of each ASCII byte after "https://" or
// "http://" ('%' excepted).
type urlBytes [utf8.RuneSelf]string

const urlScheme = "https://"

// write writes u as the hole escapes it, when u is an https or http URL
// of ASCII bytes without '%'; false (nothing written) otherwise.
func (t *urlBytes) write(buf *bytes.Buffer, u string) bool {
	if t == nil || !strings.HasPrefix(u, urlScheme) && !strings.HasPrefix(u, "http://") {
		return false
	}
	for i := 0; i < len(u); i++ {
		if u[i] >= utf8.RuneSelf || u[i] == '%' {
			return false
		}
	}
	plain := 0 // u[plain:i] is written as it is
	for i := 0; i < len(u); i++ {
		if e := t[u[i]]; len(e) != 1 || e[0] != u[i] {
			buf.WriteString(u[plain:i])
			buf.WriteString(e)
			plain = i + 1
		}
	}
	buf.WriteString(u[plain:])
	return true
}

// learnURLBytes executes hole for an https URL ending in each ASCII byte.
// It returns nil when the table does not give what hole gives for the
// sample URLs (html/template changed how it escapes): the page then costs
// more, and TestURLBytesUsed fails.
func learnURLBytes(hole *template.Template) *urlBytes {
	escape := func(u string) (string, error) {
		var b strings.Builder
		if err := hole.Execute(&b, u); err != nil {
			return "", err
		}
		return strings.TrimSuffix(strings.TrimPrefix(b.String(), holeHead), holeTail), nil
	}
	base, err := escape(urlScheme)
	if err != nil {
		return nil
	}
	t := new(urlBytes)
	for c := range utf8.RuneSelf {
		e, err := escape(urlScheme + string(rune(c)))
		if err != nil || !strings.HasPrefix(e, base) {
			return nil
		}
		t[c] = e[len(base):]
		if !safeInAttribute(t[c]) {
			return nil
		}
	}
	for _, u := range urlSamples {
		var got bytes.Buffer
		if want, err := escape(u); err != nil || !t.write(&got, u) || got.String() != want {
			return nil
		}
	}
	return t
}

// safeInAttribute reports whether e can stand in a double-quoted attribute
// without ending it or starting markup: printable ASCII, no quote or angle
// bracket, and every '&' the start of an entity.
func safeInAttribute(e string) bool {
	for i := 0; i < len(e); i++ {
		switch c := e[i]; {
		case c <= ' ' || c >= 0x7f || c == '"' || c == '\'' || c == '<' || c == '>':
			return false
		case c == '&' && !entityRE.MatchString(e[i:]):
			return false
		}
	}
	return true
}

var entityRE = regexp.MustCompile(`^&(#[0-9]+|[a-z]+);`)

// urlSamples are URLs learnURLBytes checks its table on: one shaped like
// QuickSight's, one like the simulator's, one with every ASCII byte but '%',
// and one with the bytes the escapers change, each twice and side by side.
var urlSamples = []string{
	"https://us-east-1.quicksight.aws.amazon.com/embed/0123abcd/start?code=AYAB-x_y~z&identityprovider=quicksight&isauthcode=true#p.Region=EU",
	"http://127.0.0.1:8443/embed/0123abcd/start?isauthcode=true&identityprovider=quicksight&code=AYAB-x_y~z",
	func() string {
		var b strings.Builder
		b.WriteString(urlScheme)
		for c := range utf8.RuneSelf {
			if c != '%' {
				b.WriteByte(byte(c))
			}
		}
		return b.String()
	}(),
	"https://&&##::\"\"''<<>>  \\\\\x00\x00\t\t++==??//;;@@[[]]!!$$**,,",
}
