package report

import (
	"bytes"
	"encoding/xml"
	"strings"
	"testing"

	"github.com/owenrumney/go-sarif/v3/pkg/report/v210/sarif"

	"github.com/paved-dev/paved/shared/policy"
)

func TestRenderers(t *testing.T) {
	full := &policy.Report{Policy: "p.yaml", PolicyDigest: strings.Repeat("ab", 32), SBOMFormat: "CycloneDX-1.6", Components: 3, Denied: true,
		Findings: []policy.Finding{
			{Rule: policy.RuleMalicious, Action: policy.Deny, Component: "pkg:npm/evil@1.0.0", Record: "MAL-2025-1", Message: "known malicious package", Fix: "remove it", Path: []string{"pkg:npm/app@1", "pkg:npm/evil@1.0.0"}},
			{Rule: policy.RuleLicense, Action: policy.Warn, Component: "pkg:npm/x@1", Record: "WTFPL", Message: "license | odd", Fix: "review"},
			{Rule: policy.RuleVulnerable, Action: policy.Excused, Component: "pkg:npm/y@2", Record: "GHSA-1", Message: "vuln", Score: 7.5, ExcusedBy: "not reachable (until 2099-01-01)"},
		}}
	empty := &policy.Report{Policy: "p.yaml", SBOMFormat: "SPDX-2.3", Components: 5}
	for name, rep := range map[string]*policy.Report{"full": full, "empty": empty} {
		t.Run(name, func(t *testing.T) {
			var s bytes.Buffer
			if err := SARIF(&s, rep, Options{SBOMPath: "./sbom.cdx.json"}); err != nil {
				t.Fatal(err)
			}
			log, err := sarif.FromBytes(s.Bytes())
			if err != nil {
				t.Fatal(err)
			}
			if err := log.Validate(); err != nil {
				t.Fatalf("SARIF 2.1.0 schema: %v\n%s", err, s.String())
			}
			if n := len(log.Runs[0].Results); n != len(rep.Findings) {
				t.Fatalf("%d results for %d findings", n, len(rep.Findings))
			}
			var j bytes.Buffer
			if err := JUnit(&j, rep); err != nil {
				t.Fatal(err)
			}
			var ju struct {
				Tests    int `xml:"tests,attr"`
				Failures int `xml:"failures,attr"`
				Skipped  int `xml:"skipped,attr"`
			}
			if err := xml.Unmarshal(j.Bytes(), &ju); err != nil {
				t.Fatal(err)
			}
			wantTests := max(len(rep.Findings), 1)
			if ju.Tests != wantTests || ju.Failures != rep.Count(policy.Deny) || ju.Skipped != rep.Count(policy.Excused) {
				t.Fatalf("JUnit %+v", ju)
			}
			md := Markdown(rep, "FAILED", 0)
			if len(rep.Findings) > 0 && !strings.Contains(md, `license \| odd`) {
				t.Fatalf("Markdown must escape table cells:\n%s", md)
			}
		})
	}
}
