package command

import (
	"reflect"
	"slices"
	"strings"
	"testing"
)

// TestOptionsMatchDeclarations: every typed command's options struct has a
// field for each declared input and no field for an input it does not
// declare, each of the input's type, and binds without an error.
func TestOptionsMatchDeclarations(t *testing.T) {
	for _, c := range All() {
		if c.options == nil {
			t.Errorf("paved %s has no typed options: declare it with typed(cmd, run)", c.Name)
			continue
		}
		t.Run(c.Name, func(t *testing.T) {
			if err := checkOptions(c, c.options); err != nil {
				t.Fatal(err)
			}
			v, err := NewValues(c, nil)
			if err != nil {
				t.Fatal(err)
			}
			if err := bindOptions(v, reflect.New(c.options).Interface()); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestCheckOptionsRefusesDisagreement: a tag naming an undeclared input, a
// field of the wrong type and an input without a field are each reported.
func TestCheckOptionsRefusesDisagreement(t *testing.T) {
	cmd := &Command{Name: "demo", Inputs: []Input{
		{Name: "path"}, {Name: "tags", List: true}, {Name: "force", Bool: true},
	}}
	type good struct {
		Path    string   `input:"path"`
		PathSet bool     `input:"path,set"`
		Tags    []string `input:"tags"`
		Force   bool     `input:"force"`
	}
	if err := checkOptions(cmd, reflect.TypeFor[good]()); err != nil {
		t.Fatalf("good options refused: %v", err)
	}
	type undeclared struct {
		good
		Extra string `input:"extra"`
	}
	type wrongType struct {
		Path  []string `input:"path"`
		Tags  []string `input:"tags"`
		Force bool     `input:"force"`
	}
	type missing struct {
		Path string   `input:"path"`
		Tags []string `input:"tags"`
	}
	for name, tc := range map[string]struct {
		typ  reflect.Type
		want string
	}{
		"undeclared": {reflect.TypeFor[undeclared](), `field for "extra": paved demo declares no such input`},
		"wrong type": {reflect.TypeFor[wrongType](), `field for "path" is []string, want string`},
		"missing":    {reflect.TypeFor[missing](), `input "force" has no field`},
	} {
		t.Run(name, func(t *testing.T) {
			err := checkOptions(cmd, tc.typ)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v, want one containing %q", err, tc.want)
			}
		})
	}
	v, err := NewValues(cmd, map[string][]string{"path": {"a"}, "tags": {"x", "y"}, "force": {"true"}})
	if err != nil {
		t.Fatal(err)
	}
	var o good
	if err := bindOptions(v, &o); err != nil {
		t.Fatal(err)
	}
	if o.Path != "a" || !o.PathSet || len(o.Tags) != 2 || !o.Force {
		t.Fatalf("bound %+v", o)
	}
}

// TestSupplyChainSharedInputs: supply-chain passes the inputs it shares with
// paved sbom and paved policy to their steps by field (sbomOptions,
// policyOptions). A newly shared input fails here until it is passed on too.
func TestSupplyChainSharedInputs(t *testing.T) {
	signing := []string{}
	for _, in := range signingInputs() {
		signing = append(signing, in.Name)
	}
	for _, c := range []struct {
		step *Command
		want []string
	}{
		{Sbom(), append([]string{"github-api-url", "github-token", "subject-digest", "subject-path"}, signing...)},
		{Policy(), append([]string{"bundle-path", "osv-db", "policy", "sbom", "subject-digest", "subject-path"}, signing...)},
	} {
		var shared []string
		for _, in := range SupplyChain().Inputs {
			if _, ok := c.step.Input(in.Name); ok {
				shared = append(shared, in.Name)
			}
		}
		slices.Sort(shared)
		slices.Sort(c.want)
		if !slices.Equal(shared, c.want) {
			t.Errorf("supply-chain shares %q with %s, passes on %q: pass the new ones in supplyChainOptions.%sOptions", shared, c.step.Name, c.want, c.step.Name)
		}
	}
}

// TestSupplyChainStepOptions: the SBOM and policy steps get the shared
// inputs and the step's own defaults.
func TestSupplyChainStepOptions(t *testing.T) {
	v, err := NewValues(SupplyChain(), map[string][]string{
		"sbom-source": {"dist"}, "policy": {"p.yaml"}, "osv-db": {"a", "b"}, "policy-mode": {"warn"},
		"subject-path": {"app"}, "trusted-root": {"root.json"}, "github-token": {"tok"}, "policy-cache-dir": {"cache"},
	})
	if err != nil {
		t.Fatal(err)
	}
	var o supplyChainOptions
	if err := bindOptions(v, &o); err != nil {
		t.Fatal(err)
	}
	so, err := o.sbomOptions()
	if err != nil {
		t.Fatal(err)
	}
	if so.Source != "dist" || !slices.Equal(so.Sources, []string{"dist"}) || !so.Attest || so.TrustedRoot != "root.json" || so.GitHubToken != "tok" ||
		!slices.Equal(so.SubjectPaths, []string{"app"}) || so.OutputDir != "." || so.InlineLimit != "2MiB" || so.UploadReleaseAssets || so.DependencySnapshot {
		t.Errorf("sbom step options %+v", so)
	}
	po, err := o.policyOptions("x.cdx.json", "out/paved-policy.sigstore.json")
	if err != nil {
		t.Fatal(err)
	}
	if po.SBOM != "x.cdx.json" || po.Policy != "p.yaml" || !slices.Equal(po.OSVDB, []string{"a", "b"}) || po.Mode != "warn" || po.CacheDir != "cache" || po.Data != "" ||
		!po.VSA || po.TrustedRoot != "root.json" || po.SARIF != "paved-policy.sarif" || po.BundlePath != "out/paved-policy.sigstore.json" {
		t.Errorf("policy step options %+v", po)
	}
}
