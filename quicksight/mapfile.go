package quicksight

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"

	"go.yaml.in/yaml/v3"
)

// FileMapper looks the user up in a map read by ReadUserMap. Subjects and
// emails are kept apart, so a user whose email claim happens to equal
// someone's subject (or whose subject looks like someone's email) matches
// nothing: keys with an "@" are emails, all others subjects.
type FileMapper struct {
	bySub   map[string]string
	byEmail map[string]string // keys lower-cased (ASCII only)
}

// Len is the number of users in the map.
func (m *FileMapper) Len() int { return len(m.bySub) + len(m.byEmail) }

// UserARN is the row of the subject, else of the email, which must be a
// plain ASCII address with one "@" (the auth package only passes verified
// emails).
func (m *FileMapper) UserARN(c Claims) (string, error) {
	if arn, ok := m.bySub[c.Claim("sub")]; ok {
		return arn, nil
	}
	if email, ok := emailKey(c.Claim("email")); ok {
		if arn, ok := m.byEmail[email]; ok {
			return arn, nil
		}
	}
	return "", fmt.Errorf("%w: no row in the user map file", ErrNoMapping)
}

// Identity implements Mapper: a row of the map file, no AWS call.
func (m *FileMapper) Identity(_ context.Context, p Person) (Identity, error) {
	arn, err := m.UserARN(p.Claims)
	return Identity{UserARN: arn}, err
}

// PreviewARN is p's row of the map file, without any AWS call.
func (m *FileMapper) PreviewARN(p Person) (string, error) { return m.UserARN(p.Claims) }

// LoadUserMap reads and parses the user map file at path.
func LoadUserMap(path string) (*FileMapper, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return ReadUserMap(path, data)
}

// ReadUserMap parses a user map file. The format follows the file name:
// .yaml/.yml is a mapping of subject-or-email to ARN; anything else is CSV
// with two columns, key and ARN, an optional "key,arn" header and # comments.
// Keys with an "@" are emails, matched case-insensitively; the others are
// subjects, matched exactly. Errors carry the line number.
func ReadUserMap(name string, data []byte) (*FileMapper, error) {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".yaml", ".yml":
		return readYAMLMap(data)
	default:
		return readCSVMap(data)
	}
}

func readCSVMap(data []byte) (*FileMapper, error) {
	r := csv.NewReader(bytes.NewReader(data))
	r.Comment = '#'
	r.FieldsPerRecord = 2
	r.TrimLeadingSpace = true
	m := &FileMapper{bySub: map[string]string{}, byEmail: map[string]string{}}
	for first := true; ; first = false {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				return nil, fmt.Errorf("line %d: %v", pe.Line, pe.Err)
			}
			return nil, err
		}
		line, _ := r.FieldPos(0)
		key, arn := strings.TrimSpace(rec[0]), strings.TrimSpace(rec[1])
		if first && strings.EqualFold(key, "key") && strings.EqualFold(arn, "arn") {
			continue
		}
		if err := m.add(key, arn); err != nil {
			return nil, fmt.Errorf("line %d: %v", line, err)
		}
	}
	return m, m.nonEmpty()
}

func readYAMLMap(data []byte) (*FileMapper, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, err // yaml's errors already say "yaml: line N: ..."
	}
	m := &FileMapper{bySub: map[string]string{}, byEmail: map[string]string{}}
	if len(doc.Content) == 0 {
		return m, m.nonEmpty()
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("line %d: want a mapping of subject or email to ARN", root.Line)
	}
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		if k.Kind != yaml.ScalarNode || v.Kind != yaml.ScalarNode {
			return nil, fmt.Errorf("line %d: want \"subject-or-email: arn\"", k.Line)
		}
		if err := m.add(k.Value, v.Value); err != nil {
			return nil, fmt.Errorf("line %d: %v", k.Line, err)
		}
	}
	return m, m.nonEmpty()
}

func (m *FileMapper) add(key, arn string) error {
	into := m.bySub
	switch {
	case key == "":
		return errors.New("empty key")
	case strings.Contains(key, "@"):
		email, ok := emailKey(key)
		if !ok {
			return fmt.Errorf("%q is not a plain ASCII email address", key)
		}
		key, into = email, m.byEmail
	}
	if !isUserARN(arn) {
		return fmt.Errorf("%q is not a QuickSight user ARN (arn:aws:quicksight:REGION:ACCOUNT:user/NAMESPACE/NAME)", arn)
	}
	if _, dup := into[key]; dup {
		return fmt.Errorf("%q is listed twice", key)
	}
	into[key] = arn
	return nil
}

func (m *FileMapper) nonEmpty() error {
	if m.Len() == 0 {
		return errors.New("no mappings in the file")
	}
	return nil
}

// MapFile is the user map file, read again on demand (SIGHUP): a file that
// does not parse leaves the previous contents in use.
type MapFile struct {
	path    string
	current atomic.Pointer[FileMapper]
}

// OpenMapFile reads the map file at path.
func OpenMapFile(path string) (*MapFile, error) {
	f := &MapFile{path: path}
	if _, err := f.Reload(); err != nil {
		return nil, err
	}
	return f, nil
}

// Path is the file's name.
func (f *MapFile) Path() string { return f.path }

// Reload reads the file again and returns how many users it maps; on any
// error (with its line number) the previous contents stay.
func (f *MapFile) Reload() (int, error) {
	m, err := LoadUserMap(f.path)
	if err != nil {
		return 0, err
	}
	f.current.Store(m)
	return m.Len(), nil
}

// Identity implements Mapper with the current contents.
func (f *MapFile) Identity(ctx context.Context, p Person) (Identity, error) {
	return f.current.Load().Identity(ctx, p)
}

// PreviewARN is p's row of the current map file, without any AWS call.
func (f *MapFile) PreviewARN(p Person) (string, error) { return f.current.Load().UserARN(p.Claims) }
