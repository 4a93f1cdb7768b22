package templates

import (
	"strings"
	"testing"

	"golang.org/x/net/html"
)

// TestEmbedPageHasMainAndHeading: the embed page has one main landmark
// holding the console, its notice and its help, and one level-one heading,
// the open title (axe-core's landmark-one-main, page-has-heading-one and
// region rules), rendered whole and from a shell alike.
func TestEmbedPageHasMainAndHeading(t *testing.T) {
	s := parse(t)
	for name, page := range map[string]string{"whole": full(t, s, sampleEmbed), "shell": fromShell(t, s, sampleEmbed)} {
		doc, err := html.Parse(strings.NewReader(page))
		if err != nil {
			t.Fatal(err)
		}
		mains, h1s := elements(doc, "main"), elements(doc, "h1")
		if len(mains) != 1 {
			t.Fatalf("%s: %d main elements, want 1", name, len(mains))
		}
		if len(h1s) != 1 {
			t.Fatalf("%s: %d h1 elements, want 1", name, len(h1s))
		}
		if got := text(h1s[0]); got != sampleEmbed.Title {
			t.Errorf("%s: h1 = %q, want the open title %q", name, got, sampleEmbed.Title)
		}
		for _, id := range []string{"qs-console", "qs-notice", "qs-help"} {
			if !inside(byID(doc, id), mains[0]) {
				t.Errorf("%s: #%s is not inside main", name, id)
			}
		}
	}
}

func elements(n *html.Node, tag string) []*html.Node {
	var out []*html.Node
	for d := range n.Descendants() {
		if d.Type == html.ElementNode && d.Data == tag {
			out = append(out, d)
		}
	}
	return out
}

func byID(n *html.Node, id string) *html.Node {
	for d := range n.Descendants() {
		for _, a := range d.Attr {
			if a.Key == "id" && a.Val == id {
				return d
			}
		}
	}
	return nil
}

func inside(n, ancestor *html.Node) bool {
	for ; n != nil; n = n.Parent {
		if n == ancestor {
			return true
		}
	}
	return false
}

func text(n *html.Node) string {
	var b strings.Builder
	for d := range n.Descendants() {
		if d.Type == html.TextNode {
			b.WriteString(d.Data)
		}
	}
	return strings.TrimSpace(b.String())
}
