package sbom

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/paved-dev/paved/shared/fail"
)

// Config is the part of a syft configuration file (.syft.yaml) that decides
// what a scan finds: excluded paths and the catalogers that run.
type Config struct {
	// Exclude are glob patterns of paths left out of the scan, relative to
	// its root as syft requires: each starts with "./", "*/" or "**/".
	Exclude []string `yaml:"exclude"`
	// DefaultCatalogers replace the default cataloger set (syft's
	// --override-default-catalogers): names or tags.
	DefaultCatalogers []string `yaml:"default-catalogers"`
	// SelectCatalogers refine the set (syft's --select-catalogers): plain
	// names or tags keep only those, +NAME adds one, -NAME removes one.
	SelectCatalogers []string `yaml:"select-catalogers"`
}

// ConfigKeys are the syft configuration keys ParseConfig reads.
var ConfigKeys = []string{"exclude", "default-catalogers", "select-catalogers"}

// ParseConfig reads a syft configuration file. Any other key is refused
// rather than ignored: syft would honour it, and a scan that silently did not
// would list other packages than the user's syft does.
func ParseConfig(data []byte) (Config, error) {
	var keys map[string]yaml.Node
	if err := yaml.Unmarshal(data, &keys); err != nil {
		return Config{}, fail.Configf("syft config: %w", err)
	}
	var unknown []string
	for k := range keys {
		known := false
		for _, c := range ConfigKeys {
			known = known || k == c
		}
		if !known {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return Config{}, fail.Configf("syft config: %s not supported: Paved reads %s from a syft config file; remove the others or set them through Paved's inputs (catalogers, platform, network)", quoteAll(unknown), strings.Join(ConfigKeys, ", "))
	}
	var c Config
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil && !errors.Is(err, io.EOF) {
		return Config{}, fail.Configf("syft config: %w (each key takes a list of strings)", err)
	}
	for _, p := range c.Exclude {
		if !strings.HasPrefix(p, "./") && !strings.HasPrefix(p, "*/") && !strings.HasPrefix(p, "**/") {
			return Config{}, fail.Configf("syft config: exclude %q must start with ./, */ or **/ (relative to the scanned root, as syft requires)", p)
		}
	}
	for _, n := range c.DefaultCatalogers {
		if strings.HasPrefix(n, "+") || strings.HasPrefix(n, "-") {
			return Config{}, fail.Configf("syft config: default-catalogers %q: names or tags only; +NAME and -NAME belong in select-catalogers", n)
		}
	}
	return c, nil
}

func quoteAll(s []string) string {
	q := make([]string, len(s))
	for i, v := range s {
		q[i] = fmt.Sprintf("%q", v)
	}
	word := "key"
	if len(s) > 1 {
		word = "keys"
	}
	return word + " " + strings.Join(q, ", ") + " " + map[bool]string{true: "are", false: "is"}[len(s) > 1]
}
