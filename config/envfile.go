package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"github.com/joho/godotenv"
)

// DefaultEnvFile is read when --env-file is not given and the file exists.
const DefaultEnvFile = ".env"

// WithEnvFile returns a getenv that reads the real environment first and the
// env file second, so a variable set in the environment wins, and the file
// it read ("" for none). path "" means DefaultEnvFile when it exists; an
// explicit path must exist. The file's OTEL_* variables that lookup does
// not have are also copied into the process environment, where the
// OpenTelemetry SDK reads them (the process's own win there too).
func WithEnvFile(path string, lookup func(string) (string, bool)) (func(string) string, string, error) {
	explicit := path != ""
	if !explicit {
		path = DefaultEnvFile
	}
	file, err := godotenv.Read(path)
	switch {
	case err == nil:
	case !explicit && errors.Is(err, fs.ErrNotExist):
		file, path = nil, ""
	default:
		return nil, "", fmt.Errorf("env file %s: %w", path, err)
	}
	for name, value := range file {
		if _, set := lookup(name); strings.HasPrefix(name, "OTEL_") && !set {
			if err := os.Setenv(name, value); err != nil {
				return nil, "", fmt.Errorf("env file %s: %s: %w", path, name, err)
			}
		}
	}
	return func(name string) string {
		if v, ok := lookup(name); ok {
			return v
		}
		return file[name]
	}, path, nil
}
