package verify

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/paved-dev/paved/shared/atomicfile"
	"github.com/paved-dev/paved/shared/fail"
)

// A verification kit is a directory holding what verified a set of
// artifacts, so that anyone can verify them again offline: the bundles (one
// JSON Lines file), the trusted roots that verified them and the policy.
const (
	// KitPolicy is the kit's policy file, whose trusted-roots name the kit's roots.
	KitPolicy = "policy.yaml"
	// KitBundles is the kit's bundles, one compact JSON document per line.
	KitBundles = "bundles.jsonl"
)

// KitRoots are the trusted root files of the kit in dir.
func KitRoots(dir string) []string {
	matches, _ := filepath.Glob(filepath.Join(dir, "trusted_root*.json"))
	return matches
}

// WriteKit writes what verified each artifact — the bundles, the trusted roots
// and the policy — into dir, so anyone can verify again offline.
func WriteKit(dir string, outcomes []Outcome, roots []Root, pol *PolicyFile) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fail.Configf("creating kit directory: %w", err)
	}
	var bundles strings.Builder
	seen := map[string]bool{}
	used := map[string]bool{}
	for _, oc := range outcomes {
		var line bytes.Buffer
		if err := json.Compact(&line, oc.Candidate.JSON); err != nil {
			return fmt.Errorf("compacting bundle for the kit: %w", err)
		}
		if !seen[line.String()] {
			seen[line.String()] = true
			bundles.Write(line.Bytes())
			bundles.WriteByte('\n')
		}
		used[oc.Root] = true
	}
	kp := *pol
	kp.TrustedRoots = nil
	for i, r := range roots {
		if !used[r.Name] {
			continue
		}
		name := fmt.Sprintf("trusted_root-%d.json", i)
		if err := atomicfile.WriteFile(filepath.Join(dir, name), r.JSON, 0o644); err != nil {
			return fail.Configf("writing kit: %w", err)
		}
		kp.TrustedRoots = append(kp.TrustedRoots, name)
	}
	polYAML, err := yaml.Marshal(kp)
	if err != nil {
		return err
	}
	header := "# Paved verification kit: verify again offline with\n#   paved verify --kit DIR ARTIFACT\n"
	if err := atomicfile.WriteFile(filepath.Join(dir, KitBundles), []byte(bundles.String()), 0o644); err != nil {
		return fail.Configf("writing kit: %w", err)
	}
	return writeKitPolicy(filepath.Join(dir, KitPolicy), append([]byte(header), polYAML...))
}

func writeKitPolicy(path string, data []byte) error {
	if err := atomicfile.WriteFile(path, data, 0o644); err != nil {
		return fail.Configf("writing kit: %w", err)
	}
	return nil
}
