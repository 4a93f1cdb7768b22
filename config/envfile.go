package config

import (
	"errors"
	"fmt"
	"io/fs"

	"github.com/joho/godotenv"
)

// DefaultEnvFile is read when --env-file is not given and the file exists.
const DefaultEnvFile = ".env"

// WithEnvFile returns a getenv that reads the real environment first and the
// env file second, so a variable set in the environment wins, and the file
// it read ("" for none). path "" means DefaultEnvFile when it exists; an
// explicit path must exist.
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
	return func(name string) string {
		if v, ok := lookup(name); ok {
			return v
		}
		return file[name]
	}, path, nil
}
