package report

import (
	"bytes"
	"encoding/xml"
	"regexp"
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

// TestAttackMarkdownInComponentName gives the policy summary an SBOM
// component whose name carries a new table row, a link, HTML and a heading:
// each finding must stay one row of six cells with nothing rendered.
func TestAttackMarkdownInComponentName(t *testing.T) {
	evil := "pkg:npm/x@1 | deny | [click](https://evil.example) <img src=x onerror=alert(1)>\n### all clear\n| pass |"
	rep := &policy.Report{Policy: "p.yaml", SBOMFormat: "CycloneDX-1.6", Components: 1, Denied: true,
		Findings: []policy.Finding{{Rule: policy.RuleMalicious, Action: policy.Deny, Component: evil, Record: "MAL-<b>1</b>", Message: "known malicious `x`|y\n- z", Fix: "remove it", Path: []string{"pkg:npm/app@1", evil}}}}
	md := Markdown(rep, "FAILED", 100)
	rows := 0
	for _, l := range strings.Split(md, "\n") {
		if strings.Contains(l, "all clear") && !strings.HasPrefix(l, "| deny |") {
			t.Errorf("a component name started its own line: %q", l)
		}
		if !strings.HasPrefix(l, "| deny |") {
			continue
		}
		rows++
		if n := len(regexp.MustCompile(`(^|[^\\])\|`).FindAllString(l, -1)); n != 7 {
			t.Errorf("the finding row has %d cell separators, want 7: %s", n, l)
		}
		if !strings.HasPrefix(l, "| deny | malicious | `pkg:npm/x@1 \\| deny") && !strings.Contains(l, "| `pkg:npm/x@1 \\| deny") {
			t.Errorf("the component is not one code span: %s", l)
		}
		if strings.Count(l, "[click](") != 1 { // the one inside the code span
			t.Errorf("a link outside the code span renders: %s", l)
		}
		if strings.Contains(l, "<b>") {
			t.Errorf("HTML in a plain cell: %s", l)
		}
	}
	if rows != 1 {
		t.Errorf("want one finding row, got %d:\n%s", rows, md)
	}
}
