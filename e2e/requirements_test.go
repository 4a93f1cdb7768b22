package e2e

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// This file decides whether the end-to-end tests can run: they skip when
// chromium, nginx or axe-core is missing (or with -short), and fail instead
// under QSGATE_E2E=1.

// A tool is a program the tests drive.
type tool struct {
	name    string   // as in messages
	envVar  string   // overrides the lookup with a path
	names   []string // looked up in PATH, in order
	paths   []string // tried when PATH has none of names
	install string   // how to get it
}

var (
	chromiumTool = tool{name: "chromium", envVar: "QSGATE_E2E_CHROMIUM",
		names: []string{"chromium", "chromium-browser"}, install: "apt-get install chromium"}
	nginxTool = tool{name: "nginx", envVar: "QSGATE_E2E_NGINX",
		names: []string{"nginx"}, paths: []string{"/usr/sbin/nginx"}, install: "apt-get install nginx"}
)

// axe-core's browser build, injected into the pages by
// accessibility_test.go: where `npm ci --prefix e2e` installs the version
// package-lock.json pins (relative to e2e/, where go test runs the tests),
// or the file QSGATE_E2E_AXE names.
const (
	axeEnv     = "QSGATE_E2E_AXE"
	axeDefault = "node_modules/axe-core/axe.min.js"
	axeInstall = "npm ci --prefix e2e installs the version e2e/package-lock.json pins"
)

// findAxe returns the path of axe.min.js, or why it was not found.
func findAxe() (string, error) {
	p, where := axeDefault, "e2e/"+axeDefault
	if v := os.Getenv(axeEnv); v != "" {
		p, where = v, axeEnv+"="+v
	}
	fi, err := os.Stat(p)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "", fmt.Errorf("axe-core not found: no %s (%s, or set %s to an axe.min.js)", where, axeInstall, axeEnv)
	case err != nil:
		return "", fmt.Errorf("axe-core not found: %s: %v", where, err)
	case !fi.Mode().IsRegular():
		return "", fmt.Errorf("axe-core not found: %s is not a regular file", where)
	}
	return p, nil
}

// requireAxe returns the source of axe.min.js and its path, skipping or
// failing (QSGATE_E2E=1) the test as requireTools does when it is missing.
func requireAxe(t *testing.T) (src, path string) {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end test: skipped with -short")
	}
	path, err := findAxe()
	if err != nil {
		lacking(t, err.Error())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b), path
}

// find returns the tool's path, or why it was not found.
func (tl tool) find() (string, error) {
	if p := os.Getenv(tl.envVar); p != "" {
		if err := executable(p); err != nil {
			return "", fmt.Errorf("%s not found: %s=%s: %v", tl.name, tl.envVar, p, err)
		}
		return p, nil
	}
	for _, n := range tl.names {
		if p, err := exec.LookPath(n); err == nil {
			return p, nil
		}
	}
	for _, p := range tl.paths {
		if executable(p) == nil {
			return p, nil
		}
	}
	where := "PATH"
	if len(tl.paths) > 0 {
		where += " or " + strings.Join(tl.paths, ", ")
	}
	return "", fmt.Errorf("%s not found in %s: %s (or set %s to its path)", tl.name, where, tl.install, tl.envVar)
}

func executable(p string) error {
	fi, err := os.Stat(p)
	switch {
	case err != nil:
		return err
	case !fi.Mode().IsRegular() || fi.Mode().Perm()&0o111 == 0:
		return errors.New("not an executable file")
	}
	return nil
}

// requireTools returns the paths of the tools, in order. The test skips under
// -short, and when a tool is missing; with QSGATE_E2E=1 a missing tool fails
// the test instead, so that CI cannot pass without running it.
func requireTools(t *testing.T, tools ...tool) []string {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end test: skipped with -short")
	}
	var paths, missing []string
	for _, tl := range tools {
		p, err := tl.find()
		if err != nil {
			missing = append(missing, err.Error())
		}
		paths = append(paths, p)
	}
	if len(missing) > 0 {
		lacking(t, strings.Join(missing, "; "))
	}
	return paths
}

// lacking skips the test for want of a prerequisite, or fails it under
// QSGATE_E2E=1, saying what is missing (msg).
func lacking(t *testing.T, msg string) {
	t.Helper()
	if os.Getenv("QSGATE_E2E") == "1" {
		t.Fatalf("QSGATE_E2E=1 requires the end-to-end tests, but %s", msg)
	}
	t.Skip(msg + " (QSGATE_E2E=1 makes this a failure)")
}

// TestToolLookup checks the lookup behind the skips, so that a skip names
// what is really missing: it needs nothing installed.
func TestToolLookup(t *testing.T) {
	dir := t.TempDir()
	exe := func(name string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte("#!/bin/sh\n"), 0o755); err != nil {
			t.Fatal(err)
		}
		return p
	}
	fakeChromium, fakeNginx := exe("chromium"), exe("nginx")
	plain := filepath.Join(dir, "plain")
	if err := os.WriteFile(plain, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	empty := t.TempDir()
	withFallback, noFallback := nginxTool, nginxTool
	withFallback.paths = []string{filepath.Join(empty, "nginx"), fakeNginx}
	noFallback.paths = []string{filepath.Join(empty, "nginx")}

	for _, tc := range []struct {
		name     string
		tool     tool
		path     string            // PATH
		env      map[string]string // besides PATH
		want     string            // the path found, or
		wantErrs []string          // what the message must say
	}{
		{name: "in PATH", tool: chromiumTool, path: dir, want: fakeChromium},
		{name: "not in PATH", tool: chromiumTool, path: empty,
			wantErrs: []string{"chromium not found in PATH", "apt-get install chromium", "QSGATE_E2E_CHROMIUM"}},
		{name: "found outside PATH", tool: withFallback, path: empty, want: fakeNginx},
		{name: "not in PATH nor outside", tool: noFallback, path: empty,
			wantErrs: []string{"nginx not found in PATH or " + filepath.Join(empty, "nginx"), "apt-get install nginx", "QSGATE_E2E_NGINX"}},
		{name: "variable wins over PATH", tool: chromiumTool, path: empty, env: map[string]string{"QSGATE_E2E_CHROMIUM": fakeChromium}, want: fakeChromium},
		{name: "variable names a missing file", tool: chromiumTool, path: dir, env: map[string]string{"QSGATE_E2E_CHROMIUM": filepath.Join(empty, "chrome")},
			wantErrs: []string{"chromium not found: QSGATE_E2E_CHROMIUM=" + filepath.Join(empty, "chrome")}},
		{name: "variable names a file that cannot run", tool: chromiumTool, path: dir, env: map[string]string{"QSGATE_E2E_CHROMIUM": plain},
			wantErrs: []string{"not an executable file"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("PATH", tc.path)
			t.Setenv(tc.tool.envVar, "")
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			got, err := tc.tool.find()
			if tc.wantErrs == nil {
				if err != nil || got != tc.want {
					t.Fatalf("find() = %q, %v; want %q", got, err, tc.want)
				}
				return
			}
			if err == nil {
				t.Fatalf("find() = %q, want an error", got)
			}
			for _, w := range tc.wantErrs {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}
}

// TestAxeLookup checks the message that says how to get axe-core: it needs
// nothing installed.
func TestAxeLookup(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "axe.min.js")
	if err := os.WriteFile(file, []byte("/* axe */"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name     string
		env      string // QSGATE_E2E_AXE
		want     string // the path found, or
		wantErrs []string
	}{
		{name: "variable names the file", env: file, want: file},
		{name: "variable names a missing file", env: filepath.Join(dir, "none.js"),
			wantErrs: []string{"axe-core not found: no QSGATE_E2E_AXE=" + filepath.Join(dir, "none.js"), "npm ci --prefix e2e"}},
		{name: "variable names a folder", env: dir, wantErrs: []string{"is not a regular file"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(axeEnv, tc.env)
			got, err := findAxe()
			if tc.wantErrs == nil {
				if err != nil || got != tc.want {
					t.Fatalf("findAxe() = %q, %v; want %q", got, err, tc.want)
				}
				return
			}
			if err == nil {
				t.Fatalf("findAxe() = %q, want an error", got)
			}
			for _, w := range tc.wantErrs {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}
}
