// Package static holds the portal's stylesheet and its small scripts
// (the embed page's session renewal, the home page's filter, the countdown
// of a page that retries itself), embedded in the binary and
// served under /static/, with a content fingerprint so a deploy never serves
// stale CSS.
package static

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
)

// Files is served under /static/ (so css/app.css is /static/css/app.css).
//
//go:embed css js
var Files embed.FS

// Version is a fingerprint of every file: asset URLs carry it as ?v=, so a
// new build gets new URLs and caches may keep each one for a year.
var Version = fingerprint()

// URL is the address of a file under /static/, fingerprinted.
func URL(name string) string { return "/static/" + name + "?v=" + Version }

func fingerprint() string {
	h := sha256.New()
	// The embedded files cannot fail to walk or read.
	_ = fs.WalkDir(Files, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := Files.ReadFile(path)
		h.Write([]byte(path))
		h.Write(data)
		return err
	})
	return hex.EncodeToString(h.Sum(nil))[:12]
}
