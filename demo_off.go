//go:build production

package main

import (
	"context"
	"errors"
	"io"
)

// The production build (go build -tags production, the container image)
// leaves the demo, its sign-in page and the QuickSight simulator out of the
// binary.

func demoModes() []string { return []string{"template"} }

func runDemo(context.Context, demoFlags, func(string) string, io.Writer, io.Writer) error {
	return errors.New("qsgate demo is not built into this binary (it was built with -tags production); run it from a default build: go run . demo")
}
