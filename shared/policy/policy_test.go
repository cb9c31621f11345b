package policy

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
)

var testNow = time.Date(2026, 2, 1, 12, 0, 0, 0, time.UTC)

func loadSBOM(t *testing.T, name string) *SBOM {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	s, err := ReadSBOM(f)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return s
}

func loadPolicy(t *testing.T, name string) *Policy {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	p, err := Parse(name, raw)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func loadData(t *testing.T) *Data {
	t.Helper()
	raw, err := os.ReadFile("testdata/maintenance.json")
	if err != nil {
		t.Fatal(err)
	}
	d, err := ParseData("maintenance.json", raw)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func evaluate(t *testing.T, sbomName, policyName string, o Options) *Report {
	t.Helper()
	s := loadSBOM(t, sbomName)
	p := loadPolicy(t, policyName)
	if o.DB == nil {
		db, err := LoadOSV(context.Background(), []string{"testdata/osv"}, s.Components, LoadOptions{})
		if err != nil {
			t.Fatal(err)
		}
		o.DB = db
	}
	if o.Data == nil {
		o.Data = loadData(t)
	}
	if o.Now == nil {
		o.Now = func() time.Time { return testNow }
	}
	rep, err := Evaluate(context.Background(), s, p, o)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// key is "rule action component record".
func findingKeys(rep *Report) []string {
	var out []string
	for _, f := range rep.Findings {
		out = append(out, strings.Join([]string{f.Rule, string(f.Action), f.Component, f.Record}, " "))
	}
	sort.Strings(out)
	return out
}

func TestEveryRuleOnSyftCycloneDX(t *testing.T) {
	rep := evaluate(t, "sbom-syft.cdx.json", "policy-all.yaml", Options{})
	got := map[string]bool{}
	for _, k := range findingKeys(rep) {
		got[k] = true
	}
	want := []string{
		"malicious deny pkg:npm/evil-pkg@1.0.0 MAL-2025-1001",
		"malicious deny pkg:pypi/reqeusts@2.0.0 MAL-2025-2002",
		"vulnerable deny pkg:npm/lodash@4.17.20 GHSA-35jh-r3h4-6jhm",
		"vulnerable deny pkg:golang/golang.org/x/net@v0.22.0 GO-2024-2687",
		"vulnerable deny pkg:pypi/django@4.2.9 PYSEC-2024-47",
		"vulnerable deny pkg:npm/moment@2.29.1 GHSA-8hfj-j24r-96c4",
		"vulnerable excused pkg:deb/debian/openssl@3.0.11-1~deb12u1?arch=amd64&distro=debian-12 DSA-5532-1",
		"unmaintained deny pkg:npm/request@2.88.2 deprecated",
		"unmaintained deny pkg:npm/request@2.88.2 archived",
		"unmaintained deny pkg:npm/request@2.88.2 last-release",
		"unmaintained deny pkg:npm/lodash@4.17.20 last-release",
		"unmaintained excused pkg:npm/stale-lib@0.1.0 last-release",
		"license deny pkg:npm/left-pad@1.3.0 WTFPL",
		"license deny pkg:npm/both-licensed@1.0.0 MIT AND GPL-3.0-only",
		"provenance deny pkg:npm/unsigned-pkg@1.0.0 provenance",
		"deny deny pkg:npm/event-stream@3.3.6 pkg:npm/event-stream@3.3.6",
	}
	for _, w := range want {
		if !got[w] {
			t.Errorf("missing finding %q", w)
		}
		delete(got, w)
	}
	for k := range got {
		t.Errorf("unexpected finding %q", k)
	}
	// Each expected non-finding, named so a regression says which.
	for _, c := range []struct{ component, why string }{
		{"pkg:npm/axios@0.21.0", "medium severity is below the high threshold"},
		{"pkg:npm/minimist@1.2.5", "its only record is withdrawn"},
		{"pkg:maven/com.fasterxml.jackson.core/jackson-databind@2.9.10.1", "2.9.10.1 is after last_affected 2.9.10 in Maven ordering"},
		{"pkg:npm/dual-licensed@1.0.0", "MIT OR GPL-3.0-only is satisfied by MIT"},
		{"pkg:npm/signed-pkg@2.0.0", "its version carries provenance"},
		{"pkg:npm/%40paved/internal-tool@1.0.0", "first-party packages are allowed"},
		{"pkg:npm/express@4.18.2", "nothing is wrong with it"},
	} {
		for _, f := range rep.Findings {
			if f.Component == c.component {
				t.Errorf("%s has finding %s/%s (%s), but %s", c.component, f.Rule, f.Record, f.Message, c.why)
			}
		}
	}
	if !rep.Denied {
		t.Error("report must deny")
	}
	var expired bool
	for _, n := range rep.Notes {
		if strings.Contains(n, "pkg:npm/moment@2.29.1") && strings.Contains(n, "expired on 2025-01-31") {
			expired = true
		}
	}
	if !expired {
		t.Errorf("no note about the expired exception: %q", rep.Notes)
	}
	for _, f := range rep.Findings {
		switch {
		case f.Component == "pkg:npm/lodash@4.17.20" && f.Rule == RuleVulnerable:
			if f.Fix != "upgrade to 4.17.21 or later" || f.Severity != "high" || f.Score != 7.2 {
				t.Errorf("lodash finding: fix %q severity %q score %v", f.Fix, f.Severity, f.Score)
			}
			if strings.Join(f.Path, " > ") != "pkg:npm/express@4.18.2 > pkg:npm/lodash@4.17.20" && len(f.Path) < 2 {
				t.Errorf("lodash path %q", f.Path)
			}
		case f.Component == "pkg:pypi/django@4.2.9":
			if f.Severity != "critical" || f.Fix == "" {
				t.Errorf("django: severity %q fix %q", f.Severity, f.Fix)
			}
		case f.Rule == RuleMalicious:
			if !strings.Contains(f.Excuse, "id: MAL-") {
				t.Errorf("malicious excuse hint must name the record: %q", f.Excuse)
			}
		}
		if f.Action != Excused && (f.Fix == "" || f.Excuse == "") {
			t.Errorf("%s %s: a finding says how to fix and excuse it (fix %q, excuse %q)", f.Rule, f.Component, f.Fix, f.Excuse)
		}
	}
}

func TestDependencyPath(t *testing.T) {
	s := loadSBOM(t, "sbom-syft.cdx.json")
	for _, c := range s.Components {
		if c.PURL == "pkg:npm/lodash@4.17.20" {
			if got := strings.Join(s.PathOf(c), " > "); got != "pkg:npm/express@4.18.2 > pkg:npm/lodash@4.17.20" {
				t.Fatalf("path %q", got)
			}
			return
		}
	}
	t.Fatal("lodash not read")
}

func TestOtherGeneratorSPDX(t *testing.T) {
	rep := evaluate(t, "sbom-github.spdx.json", "policy-all.yaml", Options{})
	got := findingKeys(rep)
	var mal, nopurl bool
	for _, f := range rep.Findings {
		if f.Component == "pkg:npm/lodash@4.17.21" && f.Rule == RuleVulnerable {
			t.Errorf("lodash 4.17.21 is the fixed version: %s %s", f.Rule, f.Record)
		}
		if f.Component == "pkg:npm/dual-licensed@1.0.0" {
			t.Errorf("dual-licensed is allowed: %s", f.Message)
		}
		if f.Rule == RuleMalicious && f.Component == "pkg:npm/evil-pkg@1.0.0" {
			mal = true
			if got := strings.Join(f.Path, " > "); got != "pkg:github/paved-dev/demo@main > pkg:npm/lodash@4.17.21 > pkg:npm/evil-pkg@1.0.0" {
				t.Errorf("path to evil-pkg: %q", got)
			}
		}
		if f.Rule == RuleNoPURL && f.Component == "vendored-blob@1.0" && f.Action == Warn {
			nopurl = true
		}
	}
	if !mal || !nopurl {
		t.Fatalf("findings %q", got)
	}
	if rep.SBOMFormat != "SPDX-2.3" || rep.WithoutPURL != 1 {
		t.Fatalf("format %s without purl %d", rep.SBOMFormat, rep.WithoutPURL)
	}
}

func TestSBOMWithoutPURLs(t *testing.T) {
	s := loadSBOM(t, "sbom-nopurl.cdx.json")
	if len(s.Components) != 0 || len(s.WithoutPURL) != 2 {
		t.Fatalf("components %d, without purl %d", len(s.Components), len(s.WithoutPURL))
	}
	p, err := Parse("p.yaml", []byte("version: 1\nrules:\n  no-purl:\n    action: deny\n"))
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Evaluate(context.Background(), s, p, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Findings) != 2 || !rep.Denied {
		t.Fatalf("want two deny findings, got %+v", rep.Findings)
	}
	for _, f := range rep.Findings {
		if f.Rule != RuleNoPURL || f.Action != Deny || (f.Component != "mystery-lib@0.9" && f.Component != "hand-rolled@2.1") {
			t.Errorf("finding %+v", f)
		}
	}
}

func TestExceptionExpiry(t *testing.T) {
	for _, tc := range []struct {
		now  time.Time
		want Action
	}{
		{time.Date(2025, 1, 31, 23, 0, 0, 0, time.UTC), Excused},
		{time.Date(2025, 2, 1, 0, 0, 1, 0, time.UTC), Deny},
	} {
		rep := evaluate(t, "sbom-syft.cdx.json", "policy-all.yaml", Options{Now: func() time.Time { return tc.now }})
		found := false
		for _, f := range rep.Findings {
			if f.Component == "pkg:npm/moment@2.29.1" {
				found = true
				if f.Action != tc.want {
					t.Errorf("at %s: moment finding is %s, want %s", tc.now, f.Action, tc.want)
				}
			}
		}
		if !found {
			t.Errorf("at %s: no moment finding", tc.now)
		}
	}
}

func TestInvalidPolicyNamesLine(t *testing.T) {
	for _, tc := range []struct {
		name, src string
		line      int
		contains  string
	}{
		{"unknown key", "version: 1\nrules:\n  vulnerable:\n    min-severity: high\n    severty: low\n", 5, "severty"},
		{"bad enum", "version: 1\nrules:\n  vulnerable:\n    min-severity: huge\n", 4, "rules.vulnerable.min-severity"},
		{"wrong version", "version: 2\n", 1, "version"},
		{"bad license", "version: 1\nrules:\n  license:\n    allow:\n      - MIT\n      - MIT AND (\n", 6, "not an SPDX license expression"},
		{"bad date", "version: 1\nexceptions:\n  - purl: pkg:npm/x\n    reason: because\n    expires: 2025-02-30\n", 5, "not a date"},
		{"missing reason", "version: 1\nexceptions:\n  - purl: pkg:npm/x\n    expires: 2025-02-01\n", 3, "reason"},
		{"yaml syntax", "version: 1\nrules:\n  deny: [\n", 3, "not valid YAML"},
		{"malicious without id", "version: 1\nexceptions:\n  - purl: pkg:npm/x\n    rule: malicious\n    reason: false positive\n    expires: 2030-01-01\n", 3, "id: MAL-"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("policy.yaml", []byte(tc.src))
			var fe *FileError
			if !errors.As(err, &fe) {
				t.Fatalf("want *FileError, got %v", err)
			}
			if fe.Line != tc.line || !strings.Contains(err.Error(), tc.contains) {
				t.Fatalf("got %q (line %d), want line %d containing %q", err, fe.Line, tc.line, tc.contains)
			}
			if !strings.HasPrefix(err.Error(), "policy.yaml:") {
				t.Fatalf("error must start with file:line: %q", err)
			}
		})
	}
}

func TestSchemaExamplesValidate(t *testing.T) {
	files, _ := filepath.Glob("schema/examples/*.yaml")
	more, _ := filepath.Glob("testdata/policy*.yaml")
	files = append(files, more...)
	if len(files) < 3 {
		t.Fatalf("examples: %v", files)
	}
	sch, err := Schema()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Parse(f, raw); err != nil {
			t.Errorf("%s: %v", f, err)
		}
		inst, err := yamlToJSONValue(raw)
		if err != nil {
			t.Fatal(err)
		}
		if err := sch.Validate(inst); err != nil {
			t.Errorf("%s does not validate against %s: %v", f, SchemaFile, err)
		}
	}
	// And the schema rejects what it must.
	bad, _ := yamlToJSONValue([]byte("version: 1\nrules:\n  malicious: {enabled: false}\n"))
	if sch.Validate(bad) == nil {
		t.Error("the schema must not let a policy configure (switch off) the malicious rule")
	}
}

func TestVersionSemantics(t *testing.T) {
	rng := func(eco string, events ...Event) *Affected {
		a := &Affected{Ranges: []Range{{Type: "ECOSYSTEM", Events: events}}}
		a.Package.Ecosystem, a.Package.Name = eco, "x"
		return a
	}
	for _, tc := range []struct {
		eco, v string
		a      *Affected
		want   matchState
	}{
		{"PyPI", "1.0.0rc1", rng("PyPI", Event{Introduced: "0"}, Event{Fixed: "1.0.0"}), affected},
		{"PyPI", "1.0.post1", rng("PyPI", Event{Introduced: "0"}, Event{Fixed: "1.0"}), notAffected},
		{"Maven", "1.0-SNAPSHOT", rng("Maven", Event{Introduced: "0"}, Event{Fixed: "1.0"}), affected},
		{"Maven", "1.10", rng("Maven", Event{Introduced: "1.2"}, Event{LastAffected: "1.9"}), notAffected},
		{"Debian:12", "1.2-1~bpo1", rng("Debian:12", Event{Introduced: "0"}, Event{Fixed: "1.2-1"}), affected},
		{"Debian:12", "1:0.9", rng("Debian:12", Event{Introduced: "0"}, Event{Fixed: "1.2-1"}), notAffected},
		{"Go", "v0.0.0-20230101000000-abcdefabcdef", rng("Go", Event{Introduced: "0"}, Event{Fixed: "0.1.0"}), affected},
		{"npm", "2.0.0-beta.1", rng("npm", Event{Introduced: "1.0.0"}, Event{Fixed: "2.0.0"}), affected},
		{"npm", "3.0.0", rng("npm", Event{Introduced: "1.0.0"}, Event{Fixed: "2.0.0"}, Event{Introduced: "2.5.0"}), affected},
		{"npm", "2.1.0", rng("npm", Event{Introduced: "1.0.0"}, Event{Fixed: "2.0.0"}, Event{Introduced: "2.5.0"}), notAffected},
		{"RubyGems", "1.0.0.pre", rng("RubyGems", Event{Introduced: "0"}, Event{Fixed: "1.0.0"}), affected},
	} {
		if got := affectedVersion(tc.a, tc.v); got != tc.want {
			t.Errorf("%s %s in %+v: got %v, want %v", tc.eco, tc.v, tc.a.Ranges, got, tc.want)
		}
	}
}

func TestLoadOSVZipKeepsOnlyRelevant(t *testing.T) {
	dir := t.TempDir()
	zipPath := filepath.Join(dir, "all.zip")
	writeTestZip(t, zipPath, "testdata/osv")
	s := loadSBOM(t, "sbom-github.spdx.json")
	db, err := LoadOSV(context.Background(), []string{zipPath}, s.Components, LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if db.Scanned != 10 || db.Kept != 2 {
		t.Fatalf("scanned %d kept %d, want 10 and 2 (lodash and evil-pkg)", db.Scanned, db.Kept)
	}
}

// TestAttackUncheckedRuleDenies: rules whose data is missing used to be
// skipped and the gate passed. Now each one that cannot be evaluated denies,
// no exception (not even purl: "pkg:*" without a rule) excuses it, a source
// the evaluation needs but cannot reach is an error, and only unchecked: warn
// turns the denial into a warning.
func TestAttackUncheckedRuleDenies(t *testing.T) {
	s := loadSBOM(t, "sbom-github.spdx.json")
	db, err := LoadOSV(context.Background(), []string{"testdata/osv"}, s.Components, LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rules := "rules:\n  unmaintained:\n    archived: true\n  provenance:\n    require:\n      - ecosystem: npm\n"
	excuseAll := "exceptions:\n  - purl: \"pkg:*\"\n    reason: try to excuse everything\n    expires: 2099-01-01\n"
	now := func() time.Time { return testNow }
	for _, tc := range []struct {
		name, policy string
		want         Action
	}{
		{"deps.dev off", "version: 1\nonline:\n  deps-dev: false\n" + rules + excuseAll, Deny},
		{"opt-in", "version: 1\nunchecked: warn\nonline:\n  deps-dev: false\n" + rules, Warn},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := Parse("p.yaml", []byte(tc.policy))
			if err != nil {
				t.Fatal(err)
			}
			rep, err := Evaluate(context.Background(), s, p, Options{DB: db, Now: now})
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]Action{}
			for _, f := range rep.Findings {
				if f.Rule == RuleUnchecked {
					got[f.Record] = f.Action
				}
			}
			if len(got) != 2 || got[RuleUnmaintained] != tc.want || got[RuleProvenance] != tc.want {
				t.Fatalf("unchecked findings %v, want unmaintained and provenance %s (malicious is checked: --osv-db given)", got, tc.want)
			}
			if tc.want == Deny && !rep.Denied {
				t.Fatal("unchecked rules did not deny")
			}
		})
	}
	// deps.dev left unset and no data: the evaluation needs it; without a
	// client it counts as unreachable and the evaluation fails closed.
	p, err := Parse("p.yaml", []byte("version: 1\n"+rules))
	if err != nil {
		t.Fatal(err)
	}
	var se *SourceError
	if rep, err := Evaluate(context.Background(), s, p, Options{DB: db, Now: now}); !errors.As(err, &se) || se.Source != "deps.dev API" || rep != nil {
		t.Fatalf("want a deps.dev SourceError and no report, got %v, %v", rep, err)
	}
}
