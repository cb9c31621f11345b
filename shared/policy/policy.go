// Package policy decides whether the dependencies an SBOM lists may ship: it
// reads SPDX and CycloneDX JSON SBOMs, a versioned YAML policy, OSV records
// and maintenance data, and returns findings — malicious, vulnerable,
// unmaintained, license, provenance and explicit deny — with the component,
// its dependency path, the record and how to fix or excuse each.
package policy

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/github/go-spdx/v2/spdxexp"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"go.yaml.in/yaml/v3"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

// SchemaFile is the JSON Schema of policy files, version 1, for editors.
const SchemaFile = "schema/policy-v1.schema.json"

//go:embed schema/policy-v1.schema.json
var schemaFS embed.FS

// MaxPolicy bounds a policy file.
const MaxPolicy = 1 << 20

// Action is what a finding does to the verdict.
type Action string

// Actions.
const (
	Deny Action = "deny"
	Warn Action = "warn"
	// Excused findings are covered by an exception or ignore entry that has not expired.
	Excused Action = "excused"
)

// Policy is a parsed, validated policy file.
type Policy struct {
	Version int    `yaml:"version"`
	Online  Online `yaml:"online"`
	// Unchecked is what a rule that could not be evaluated does, because no
	// data and no online source was available for it: deny (default) or warn.
	Unchecked  Action      `yaml:"unchecked"`
	Rules      Rules       `yaml:"rules"`
	Exceptions []Exception `yaml:"exceptions"`

	// Digest is the sha256 of the file's bytes, hex.
	Digest string `yaml:"-"`
	// Name is the file name it was read from.
	Name string `yaml:"-"`
}

// Online selects the online sources. A source left unset is queried when
// the offline data it would replace is not given, as osv-scanner does; true
// always queries it, false never does.
type Online struct {
	OSV      *bool `yaml:"osv"`
	DepsDev  *bool `yaml:"deps-dev"`
	FailOpen bool  `yaml:"fail-open"`
}

// Sources says which online sources an evaluation queries, given whether
// offline OSV records (haveOSV) and maintenance data (haveData) are given.
// deps.dev is only asked when a rule needs it (unmaintained, provenance).
func (p *Policy) Sources(haveOSV, haveData bool) (osv, depsDev bool) {
	on := func(set *bool, have bool) bool {
		if set != nil {
			return *set
		}
		return !have
	}
	osv = on(p.Online.OSV, haveOSV)
	depsDev = (p.Rules.Unmaintained != nil || p.Rules.Provenance != nil) && on(p.Online.DepsDev, haveData)
	return osv, depsDev
}

// SetOnline forces both online sources on or off, overriding the file.
func (p *Policy) SetOnline(on bool) {
	p.Online.OSV, p.Online.DepsDev = &on, &on
}

// Rules are the configurable rules; malicious is always on.
type Rules struct {
	Vulnerable   *Vulnerable   `yaml:"vulnerable"`
	Unmaintained *Unmaintained `yaml:"unmaintained"`
	License      *License      `yaml:"license"`
	Provenance   *Provenance   `yaml:"provenance"`
	NoPURL       *NoPURL       `yaml:"no-purl"`
	Deny         []PURLEntry   `yaml:"deny"`
	Allow        []PURLEntry   `yaml:"allow"`
}

// Vulnerable configures the vulnerable rule.
type Vulnerable struct {
	Action          Action        `yaml:"action"`
	MinSeverity     string        `yaml:"min-severity"`
	MinScore        *float64      `yaml:"min-score"`
	UnknownSeverity string        `yaml:"unknown-severity"`
	Ignore          []IgnoreEntry `yaml:"ignore"`

	minLevel Level
}

// IgnoreEntry ignores one record for the vulnerable rule.
type IgnoreEntry struct {
	ID      string `yaml:"id"`
	Reason  string `yaml:"reason"`
	Expires string `yaml:"expires"`
	Line    int    `yaml:"-"`

	until time.Time
}

// Unmaintained configures the unmaintained rule.
type Unmaintained struct {
	Action                  Action `yaml:"action"`
	Archived                *bool  `yaml:"archived"`
	Deprecated              *bool  `yaml:"deprecated"`
	MaxMonthsWithoutRelease int    `yaml:"max-months-without-release"`
}

// License configures the license rule.
type License struct {
	Action  Action   `yaml:"action"`
	Allow   []string `yaml:"allow"`
	Deny    []string `yaml:"deny"`
	Unknown string   `yaml:"unknown"`

	// denied holds the lower-cased identifiers of every Deny expression,
	// worked out once when the policy is checked.
	denied map[string]bool
}

// Provenance configures the provenance rule.
type Provenance struct {
	Action  Action `yaml:"action"`
	Require []struct {
		Ecosystem string `yaml:"ecosystem"`
		PURL      string `yaml:"purl"`
	} `yaml:"require"`
}

// NoPURL configures what components without a purl do.
type NoPURL struct {
	Action Action `yaml:"action"`
}

// PURLEntry is an explicit deny or allow entry.
type PURLEntry struct {
	PURL   string `yaml:"purl"`
	Reason string `yaml:"reason"`
	Line   int    `yaml:"-"`
}

// Exception excuses findings until it expires.
type Exception struct {
	PURL    string `yaml:"purl"`
	Rule    string `yaml:"rule"`
	ID      string `yaml:"id"`
	Reason  string `yaml:"reason"`
	Expires string `yaml:"expires"`
	Line    int    `yaml:"-"`

	until time.Time
}

// FileError is an invalid policy file: where, and what is wrong.
type FileError struct {
	File string
	Line int
	// Field is the path of the offending value, e.g. rules.license.allow[1].
	Field string
	Msg   string
}

func (e *FileError) Error() string {
	loc := e.File
	if e.Line > 0 {
		loc += ":" + strconv.Itoa(e.Line)
	}
	if e.Field != "" {
		return fmt.Sprintf("%s: %s: %s", loc, e.Field, e.Msg)
	}
	return fmt.Sprintf("%s: %s", loc, e.Msg)
}

var (
	schemaOnce sync.Once
	schema     *jsonschema.Schema
	schemaErr  error
)

// Schema returns the compiled JSON Schema of policy files.
func Schema() (*jsonschema.Schema, error) {
	schemaOnce.Do(func() {
		raw, err := schemaFS.ReadFile(SchemaFile)
		if err != nil {
			schemaErr = err
			return
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
		if err != nil {
			schemaErr = err
			return
		}
		c := jsonschema.NewCompiler()
		if err := c.AddResource("policy-v1.schema.json", doc); err != nil {
			schemaErr = err
			return
		}
		schema, schemaErr = c.Compile("policy-v1.schema.json")
	})
	return schema, schemaErr
}

// Parse reads a policy file. name is used in error messages. Errors are
// *FileError and carry the line of the offending value.
func Parse(name string, data []byte) (*Policy, error) {
	if len(data) > MaxPolicy {
		return nil, &FileError{File: name, Msg: fmt.Sprintf("larger than %d bytes", MaxPolicy)}
	}
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, yamlError(name, err)
	}
	if root.Kind == 0 || len(root.Content) == 0 {
		return nil, &FileError{File: name, Line: 1, Msg: "empty policy: start with 'version: 1'"}
	}
	doc := root.Content[0]
	inst, err := toJSONValue(doc)
	if err != nil {
		return nil, &FileError{File: name, Line: doc.Line, Msg: err.Error()}
	}
	sch, err := Schema()
	if err != nil {
		return nil, fmt.Errorf("loading the policy schema: %w", err)
	}
	if err := sch.Validate(inst); err != nil {
		var ve *jsonschema.ValidationError
		if errors.As(err, &ve) {
			leaf := deepest(ve)
			loc := leaf.InstanceLocation
			if ap, ok := leaf.ErrorKind.(*kind.AdditionalProperties); ok && len(ap.Properties) > 0 {
				loc = append(append([]string(nil), loc...), ap.Properties[0])
			}
			return nil, &FileError{File: name, Line: lineAt(doc, loc), Field: fieldPath(leaf.InstanceLocation),
				Msg: leaf.ErrorKind.LocalizedString(message.NewPrinter(language.English)) + " (see " + SchemaFile + ")"}
		}
		return nil, &FileError{File: name, Msg: err.Error()}
	}
	var p Policy
	if err := doc.Decode(&p); err != nil {
		return nil, yamlError(name, err)
	}
	sum := sha256.Sum256(data)
	p.Digest, p.Name = hex.EncodeToString(sum[:]), name
	if err := p.check(name, doc); err != nil {
		return nil, err
	}
	return &p, nil
}

var yamlLineRE = regexp.MustCompile(`line (\d+)`)

func yamlError(name string, err error) error {
	line := 0
	if m := yamlLineRE.FindStringSubmatch(err.Error()); m != nil {
		line, _ = strconv.Atoi(m[1])
	}
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	msg = regexp.MustCompile(`^line \d+: `).ReplaceAllString(msg, "")
	return &FileError{File: name, Line: line, Msg: "not valid YAML: " + msg}
}

// deepest follows the first cause down to the most specific schema error.
func deepest(e *jsonschema.ValidationError) *jsonschema.ValidationError {
	for i := 0; i < 64 && len(e.Causes) > 0; i++ {
		next := e.Causes[0]
		for _, c := range e.Causes {
			if len(c.InstanceLocation) > len(next.InstanceLocation) {
				next = c
			}
		}
		e = next
	}
	return e
}

func fieldPath(loc []string) string {
	var b strings.Builder
	for _, p := range loc {
		if _, err := strconv.Atoi(p); err == nil {
			b.WriteString("[" + p + "]")
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(p)
	}
	return b.String()
}

// lineAt finds the line of the value at a JSON-pointer-like location.
func lineAt(n *yaml.Node, loc []string) int {
	line := n.Line
	for _, p := range loc {
		switch n.Kind {
		case yaml.MappingNode:
			found := false
			for i := 0; i+1 < len(n.Content); i += 2 {
				if n.Content[i].Value == p {
					line, n, found = n.Content[i].Line, n.Content[i+1], true
					break
				}
			}
			if !found {
				return line
			}
		case yaml.SequenceNode:
			i, err := strconv.Atoi(p)
			if err != nil || i < 0 || i >= len(n.Content) {
				return line
			}
			n = n.Content[i]
			line = n.Line
		default:
			return line
		}
	}
	return line
}

// toJSONValue converts a YAML node to the values JSON Schema validates.
func toJSONValue(n *yaml.Node) (any, error) {
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			return nil, nil
		}
		return toJSONValue(n.Content[0])
	case yaml.AliasNode:
		return nil, fmt.Errorf("line %d: YAML aliases are not allowed in a policy", n.Line)
	case yaml.MappingNode:
		m := map[string]any{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			if _, dup := m[k.Value]; dup {
				return nil, fmt.Errorf("line %d: key %q appears twice", k.Line, k.Value)
			}
			v, err := toJSONValue(n.Content[i+1])
			if err != nil {
				return nil, err
			}
			m[k.Value] = v
		}
		return m, nil
	case yaml.SequenceNode:
		out := make([]any, 0, len(n.Content))
		for _, c := range n.Content {
			v, err := toJSONValue(c)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		return out, nil
	default:
		switch n.ShortTag() {
		case "!!int":
			i, err := strconv.ParseInt(n.Value, 0, 64)
			if err != nil {
				return n.Value, nil
			}
			return i, nil
		case "!!float":
			f, err := strconv.ParseFloat(n.Value, 64)
			if err != nil {
				return n.Value, nil
			}
			return f, nil
		case "!!bool":
			var b bool
			if err := n.Decode(&b); err != nil {
				return n.Value, nil
			}
			return b, nil
		case "!!null":
			return nil, nil
		}
		return n.Value, nil
	}
}

// check validates what the schema cannot: license expressions, dates,
// patterns. Errors name the line.
func (p *Policy) check(name string, doc *yaml.Node) error {
	bad := func(msg string, loc ...string) error {
		return &FileError{File: name, Line: lineAt(doc, loc), Field: fieldPath(loc), Msg: msg}
	}
	if v := p.Rules.Vulnerable; v != nil {
		v.minLevel = LevelHigh
		if v.MinSeverity != "" {
			v.minLevel, _ = parseLevel(v.MinSeverity)
		}
		for i := range v.Ignore {
			e := &v.Ignore[i]
			e.Line = lineAt(doc, []string{"rules", "vulnerable", "ignore", strconv.Itoa(i)})
			if e.Expires != "" {
				t, err := parseDate(e.Expires)
				if err != nil {
					return bad(err.Error(), "rules", "vulnerable", "ignore", strconv.Itoa(i), "expires")
				}
				e.until = t
			}
		}
	}
	if l := p.Rules.License; l != nil {
		l.denied = map[string]bool{}
		for field, list := range map[string][]string{"allow": l.Allow, "deny": l.Deny} {
			for i, expr := range list {
				ids, err := spdxexp.ExtractLicenses(expr)
				if err != nil {
					return bad(fmt.Sprintf("%q is not an SPDX license expression: %v", expr, err), "rules", "license", field, strconv.Itoa(i))
				}
				if field == "deny" {
					for _, id := range ids {
						l.denied[strings.ToLower(id)] = true
					}
				}
			}
		}
		if len(l.Allow) == 0 && len(l.Deny) == 0 {
			return bad("give an allow or a deny list (SPDX license identifiers)", "rules", "license")
		}
	}
	for field, list := range map[string][]PURLEntry{"deny": p.Rules.Deny, "allow": p.Rules.Allow} {
		for i := range list {
			list[i].Line = lineAt(doc, []string{"rules", field, strconv.Itoa(i)})
			if _, err := compilePattern(list[i].PURL); err != nil {
				return bad(err.Error(), "rules", field, strconv.Itoa(i), "purl")
			}
		}
	}
	if pr := p.Rules.Provenance; pr != nil {
		for i, r := range pr.Require {
			if r.PURL != "" {
				if _, err := compilePattern(r.PURL); err != nil {
					return bad(err.Error(), "rules", "provenance", "require", strconv.Itoa(i), "purl")
				}
			}
		}
	}
	for i := range p.Exceptions {
		e := &p.Exceptions[i]
		e.Line = lineAt(doc, []string{"exceptions", strconv.Itoa(i)})
		if _, err := compilePattern(e.PURL); err != nil {
			return bad(err.Error(), "exceptions", strconv.Itoa(i), "purl")
		}
		t, err := parseDate(e.Expires)
		if err != nil {
			return bad(err.Error(), "exceptions", strconv.Itoa(i), "expires")
		}
		e.until = t
		if e.Rule == "malicious" && e.ID == "" {
			return bad("an exception for a malicious finding must name the record (id: MAL-...)", "exceptions", strconv.Itoa(i))
		}
	}
	return nil
}

// parseDate reads YYYY-MM-DD; the returned instant is the end of that day, UTC.
func parseDate(s string) (time.Time, error) {
	t, err := time.Parse("2006-01-02", s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is not a date: write YYYY-MM-DD", s)
	}
	return t.Add(24 * time.Hour), nil
}

// pattern is a compiled purl pattern.
type pattern struct {
	re         *regexp.Regexp
	versioned  bool
	qualifiers bool
}

var patternCache sync.Map

// compilePattern compiles a purl pattern: "*" matches any run of characters;
// a pattern without "@" matches every version.
func compilePattern(s string) (*pattern, error) {
	if v, ok := patternCache.Load(s); ok {
		return v.(*pattern), nil
	}
	if !strings.HasPrefix(s, "pkg:") {
		return nil, fmt.Errorf("%q is not a purl pattern: start it with pkg:TYPE/", s)
	}
	var b strings.Builder
	b.WriteString("^")
	for i, part := range strings.Split(s, "*") {
		if i > 0 {
			b.WriteString(".*")
		}
		b.WriteString(regexp.QuoteMeta(part))
	}
	b.WriteString("$")
	re, err := regexp.Compile(b.String())
	if err != nil {
		return nil, fmt.Errorf("purl pattern %q: %v", s, err)
	}
	p := &pattern{re: re, versioned: strings.Contains(s, "@"), qualifiers: strings.Contains(s, "?")}
	patternCache.Store(s, p)
	return p, nil
}

// matches reports whether a component's purl matches the pattern.
func (p *pattern) matches(c Component) bool {
	full := c.PURL
	if !p.qualifiers {
		if i := strings.IndexAny(full, "?#"); i >= 0 {
			full = full[:i]
		}
	}
	if p.re.MatchString(full) {
		return true
	}
	if !p.versioned {
		if i := strings.LastIndex(full, "@"); i > strings.Index(full, "/") {
			return p.re.MatchString(full[:i])
		}
	}
	return false
}

func matchPattern(s string, c Component) bool {
	p, err := compilePattern(s)
	return err == nil && p.matches(c)
}
