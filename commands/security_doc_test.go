package commands

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestSecuritySummary checks docs/SECURITY.md against the code: every test
// a row names must exist, so the summary cannot drift.
func TestSecuritySummary(t *testing.T) {
	doc, err := os.ReadFile("../docs/SECURITY.md")
	if err != nil {
		t.Fatal(err)
	}
	defined := map[string]bool{}
	funcRE := regexp.MustCompile(`(?m)^func ((?:Test|Fuzz)\w+)\(`)
	err = filepath.WalkDir("..", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (strings.HasPrefix(d.Name(), ".") || d.Name() == "out" || d.Name() == "testdata") && path != ".." {
			return filepath.SkipDir
		}
		if strings.HasSuffix(path, "_test.go") {
			src, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			for _, m := range funcRE.FindAllSubmatch(src, -1) {
				defined[string(m[1])] = true
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	rows := 0
	for _, line := range strings.Split(string(doc), "\n") {
		cells := strings.Split(strings.Trim(line, "| "), "|")
		if !strings.HasPrefix(line, "|") || len(cells) < 4 || strings.HasPrefix(cells[0], "---") || strings.TrimSpace(cells[0]) == "case" {
			continue
		}
		rows++
		names := regexp.MustCompile("`((?:Test|Fuzz)\\w+)").FindAllStringSubmatch(cells[len(cells)-1], -1)
		if len(names) == 0 {
			t.Errorf("row %q names no test", strings.TrimSpace(cells[0]))
		}
		for _, n := range names {
			if !defined[n[1]] {
				t.Errorf("row %q names %s, which no test file defines", strings.TrimSpace(cells[0]), n[1])
			}
		}
		if result := strings.TrimSpace(cells[len(cells)-2]); result != "pass" {
			t.Errorf("row %q: result %q; every row must pass", strings.TrimSpace(cells[0]), result)
		}
	}
	if rows < 40 {
		t.Errorf("docs/SECURITY.md has %d rows; the summary lost cases", rows)
	}
}
