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
	"regexp"
	"strings"
	"sync/atomic"

	"go.yaml.in/yaml/v3"
)

// ErrNoMapping means the signed-in user has no QuickSight user ARN: the
// template needs a claim the user does not have, or the map file has no row.
var ErrNoMapping = errors.New("no QuickSight user for this sign-in")

// Claims is what the mapper reads about the signed-in user. auth.User
// implements it; an empty string means the claim is absent.
type Claims interface {
	Claim(name string) string
}

// DefaultARNTemplate is QSGATE_USER_ARN_TEMPLATE's default.
const DefaultARNTemplate = "arn:aws:quicksight:{identity_region}:{account_id}:user/{namespace}/{email}"

var (
	placeholderRE = regexp.MustCompile(`\{[^{}]*\}`)
	claimNameRE   = regexp.MustCompile(`^[A-Za-z0-9_.:-]{1,64}$`)
)

// userClaims are the placeholders filled from the ID token or userinfo.
var userClaims = map[string]string{
	"{email}":              "email",
	"{sub}":                "sub",
	"{preferred_username}": "preferred_username",
}

// TemplateClaims checks an ARN template and returns the claim names it
// reads, so the session can keep exactly those. The error names the first
// unknown placeholder.
func TemplateClaims(tmpl string) ([]string, error) {
	if strings.TrimSpace(tmpl) == "" {
		return nil, errors.New("empty template")
	}
	var claims []string
	for _, p := range placeholderRE.FindAllString(tmpl, -1) {
		switch {
		case p == "{account_id}", p == "{namespace}", p == "{identity_region}":
		case userClaims[p] != "":
			claims = append(claims, userClaims[p])
		case strings.HasPrefix(p, "{claim:"):
			name := strings.TrimSuffix(strings.TrimPrefix(p, "{claim:"), "}")
			if !claimNameRE.MatchString(name) {
				return nil, fmt.Errorf("bad claim name in placeholder %s", p)
			}
			claims = append(claims, name)
		default:
			return nil, fmt.Errorf("unknown placeholder %s (known: {email}, {sub}, {preferred_username}, {claim:NAME}, {account_id}, {namespace}, {identity_region})", p)
		}
	}
	if strings.ContainsAny(placeholderRE.ReplaceAllString(tmpl, ""), "{}") {
		return nil, errors.New("unbalanced { or }")
	}
	// A claim may only fill the user name: in the partition, region,
	// account or namespace it would let a user pick them.
	head, name, found := strings.Cut(tmpl, ":user/")
	if found {
		ns, _, _ := strings.Cut(name, "/")
		head += ":user/" + ns
	} else {
		head = "" // no user ARN at all: the shape check below says so
	}
	for _, p := range placeholderRE.FindAllString(head, -1) {
		if p != "{account_id}" && p != "{namespace}" && p != "{identity_region}" {
			return nil, fmt.Errorf("%s may only be used in the user name, after user/{namespace}/", p)
		}
	}
	if len(claims) == 0 {
		return nil, errors.New("the template reads no user claim, so every user would get the same QuickSight user")
	}
	// Fill it with sample values: a template that cannot give a QuickSight
	// user ARN must fail at start-up, not as a 403 for every user.
	sample := placeholderRE.ReplaceAllStringFunc(tmpl, func(p string) string {
		switch p {
		case "{account_id}":
			return "123456789012"
		case "{namespace}":
			return "default"
		case "{identity_region}":
			return "us-east-1"
		}
		return "user"
	})
	if !isUserARN(sample) {
		return nil, fmt.Errorf("does not give a QuickSight user ARN (arn:aws:quicksight:REGION:ACCOUNT:user/NAMESPACE/NAME), e.g. %q", sample)
	}
	return claims, nil
}

// TemplateMapper builds the ARN from a template (see TemplateClaims).
type TemplateMapper struct {
	tmpl      string
	filled    claimTemplate // tmpl split at its placeholders, once
	namespace string        // the default for {namespace}
}

// NewTemplateMapper fills the account-wide placeholders once; the template
// must already have passed TemplateClaims. {namespace} is filled per user
// (Identity) or with namespace (UserARN).
func NewTemplateMapper(tmpl, accountID, namespace, identityRegion string) *TemplateMapper {
	r := strings.NewReplacer("{account_id}", accountID, "{identity_region}", identityRegion)
	t := r.Replace(tmpl)
	return &TemplateMapper{tmpl: t, filled: splitClaims(t), namespace: namespace}
}

// CheckTemplate fills a template with the real account, namespace and
// identity region and sample claims, and reports whether the result is a
// QuickSight user ARN: a bad identity region from the AWS profile must stop
// start-up, not give every user a 403.
func CheckTemplate(tmpl, accountID, namespace, identityRegion string) error {
	m := NewTemplateMapper(tmpl, accountID, namespace, identityRegion)
	sample := placeholderRE.ReplaceAllString(strings.ReplaceAll(m.tmpl, "{namespace}", namespace), "user")
	if !isUserARN(sample) {
		return fmt.Errorf("gives %q with this account, namespace and identity region, not a QuickSight user ARN", sample)
	}
	return nil
}

// UserARN fills the claim placeholders, with the default namespace.
func (m *TemplateMapper) UserARN(c Claims) (string, error) {
	return m.arn(c, m.namespace)
}

// arn fills the claim placeholders. A claim that is missing or holds a
// character that could change the ARN's shape means no mapping.
func (m *TemplateMapper) arn(c Claims, namespace string) (string, error) {
	if namespace == "" {
		namespace = m.namespace
	}
	arn, err := m.filled.fill(c, namespace, "an ARN")
	if err != nil {
		return "", err
	}
	if !isUserARN(arn) {
		return "", fmt.Errorf("%w: the template gives %q, not a QuickSight user ARN", ErrNoMapping, arn)
	}
	return arn, nil
}

// claimTemplate is a template split at its placeholders when it is made,
// so filling it for a user is a few appends (it is filled on every view).
type claimTemplate []templatePart

// templatePart is fixed text, a claim, or {namespace}.
type templatePart struct {
	text  string // the fixed text, or the claim's name
	claim bool
	ns    bool // {namespace}
}

// splitClaims splits a template at {namespace} and its claims ({email},
// {sub}, {preferred_username}, {claim:NAME}).
func splitClaims(tmpl string) claimTemplate {
	var t claimTemplate
	last := 0
	for _, loc := range placeholderRE.FindAllStringIndex(tmpl, -1) {
		p := tmpl[loc[0]:loc[1]]
		part := templatePart{text: userClaims[p], claim: true}
		switch {
		case p == "{namespace}":
			part = templatePart{ns: true}
		case part.text == "": // {claim:NAME}; TemplateClaims refused any other
			part.text = strings.TrimSuffix(strings.TrimPrefix(p, "{claim:"), "}")
		}
		if loc[0] > last {
			t = append(t, templatePart{text: tmpl[last:loc[0]]})
		}
		t = append(t, part)
		last = loc[1]
	}
	if last < len(tmpl) {
		t = append(t, templatePart{text: tmpl[last:]})
	}
	return t
}

// fill fills the claims ({email}, {sub}, {preferred_username},
// {claim:NAME}) and {namespace}. A claim that is missing or holds a
// character that could change what it is part of (for: "an ARN", "a
// QuickSight user name") is ErrNoMapping.
func (t claimTemplate) fill(c Claims, namespace, what string) (string, error) {
	var b strings.Builder
	for _, p := range t {
		switch {
		case p.ns:
			b.WriteString(namespace)
		case p.claim:
			v := c.Claim(p.text)
			if !validClaimValue(v) {
				return "", fmt.Errorf("%w: claim %q is missing or not usable in %s", ErrNoMapping, p.text, what)
			}
			b.WriteString(v)
		default:
			b.WriteString(p.text)
		}
	}
	return b.String(), nil
}

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

// UserARN implements Mapper: the subject first, then the email, which must
// be a plain ASCII address with one "@" (the auth package only passes
// verified emails).
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

// emailKey lower-cases an address for lookup. Only ASCII is accepted:
// Unicode case folding maps look-alikes (the Kelvin sign to "k") onto
// other people's addresses.
func emailKey(s string) (string, bool) {
	if strings.Count(s, "@") != 1 || strings.HasPrefix(s, "@") || strings.HasSuffix(s, "@") {
		return "", false
	}
	b := []byte(s)
	for i, ch := range b {
		switch {
		case ch >= 'A' && ch <= 'Z':
			b[i] = ch + ('a' - 'A')
		case ch <= ' ' || ch >= 0x7f:
			return "", false
		}
	}
	return string(b), true
}

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

// UserARN is the current contents' answer, without AWS.
func (f *MapFile) UserARN(c Claims) (string, error) { return f.current.Load().UserARN(c) }
