package report

import (
	"bytes"
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/paved-dev/paved/shared/policy"
)

// TestGitLabDependencyScanning checks the report against what GitLab's
// dependency-scanning report schema (15.x) requires: version, scan and
// vulnerabilities at the top; scan with analyzer and scanner (id, name,
// version, vendor.name), type dependency_scanning, start_time and end_time
// as YYYY-MM-DDTHH:MM:SS, status success or failure; each vulnerability with
// an id, at least one identifier (type, name, value) and a location (file,
// dependency.package.name); severities from the schema's list and names of
// at most 255 characters. Excused findings stay out; the ids are stable.
func TestGitLabDependencyScanning(t *testing.T) {
	rep := &policy.Report{Policy: "p.yaml", Components: 4, Denied: true, EvaluatedAt: time.Date(2026, 12, 6, 4, 5, 6, 7, time.FixedZone("x", 3600)),
		Findings: []policy.Finding{
			{Rule: policy.RuleMalicious, Action: policy.Deny, Component: "pkg:npm/evil@1.0.0", Name: "evil", Version: "1.0.0", Record: "MAL-2025-1", Message: "known malicious package", Fix: "remove it", Path: []string{"pkg:npm/app@1", "pkg:npm/evil@1.0.0"}},
			{Rule: policy.RuleVulnerable, Action: policy.Deny, Component: "pkg:npm/lodash@4.17.0", Name: "lodash", Version: "4.17.0", Record: "GHSA-aaaa-bbbb-cccc", Aliases: []string{"CVE-2020-1", "GHSA-aaaa-bbbb-cccc"}, Severity: "HIGH", Score: 7.5, Message: "prototype pollution", Fix: "upgrade to 4.17.21"},
			{Rule: policy.RuleLicense, Action: policy.Warn, Component: "pkg:npm/x@1", Record: "WTFPL", Message: "license not allowed"},
			{Rule: policy.RuleUnmaintained, Action: policy.Deny, Component: "pkg:npm/" + strings.Repeat("long", 100) + "@1", Message: "archived"},
			{Rule: policy.RuleVulnerable, Action: policy.Excused, Component: "pkg:npm/y@2", Record: "GHSA-1", Message: "vuln", ExcusedBy: "not reachable"},
		}}
	render := func(rep *policy.Report) (map[string]any, []byte) {
		t.Helper()
		var b bytes.Buffer
		if err := GitLabDependencyScanning(&b, rep, Options{SBOMPath: "./dist/app.cdx.json", ToolVersion: "1.2.3"}); err != nil {
			t.Fatal(err)
		}
		var doc map[string]any
		if err := json.Unmarshal(b.Bytes(), &doc); err != nil {
			t.Fatalf("not JSON: %v\n%s", err, b.String())
		}
		return doc, b.Bytes()
	}
	str := func(m any, path ...string) string {
		for _, k := range path {
			mm, _ := m.(map[string]any)
			m = mm[k]
		}
		s, _ := m.(string)
		return s
	}
	doc, raw := render(rep)
	if str(doc, "version") != GitLabSchemaVersion {
		t.Errorf("version %q", str(doc, "version"))
	}
	timeRE := regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$`)
	for _, tool := range []string{"analyzer", "scanner"} {
		for _, k := range []string{"id", "name", "version"} {
			if str(doc, "scan", tool, k) == "" {
				t.Errorf("scan.%s.%s missing", tool, k)
			}
		}
		if str(doc, "scan", tool, "vendor", "name") == "" {
			t.Errorf("scan.%s.vendor.name missing", tool)
		}
	}
	if str(doc, "scan", "type") != "dependency_scanning" || str(doc, "scan", "status") != "success" {
		t.Errorf("scan type %q status %q", str(doc, "scan", "type"), str(doc, "scan", "status"))
	}
	if s, e := str(doc, "scan", "start_time"), str(doc, "scan", "end_time"); !timeRE.MatchString(s) || !timeRE.MatchString(e) || s != "2026-12-06T03:05:06" {
		t.Errorf("scan times %q %q, want UTC without zone", s, e)
	}
	vulns, _ := doc["vulnerabilities"].([]any)
	if len(vulns) != 4 {
		t.Fatalf("%d vulnerabilities, want the 4 findings that are not excused:\n%s", len(vulns), raw)
	}
	uuidRE := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	severities := map[string]bool{"Info": true, "Unknown": true, "Low": true, "Medium": true, "High": true, "Critical": true}
	var got []string
	for i, v := range vulns {
		if !uuidRE.MatchString(str(v, "id")) {
			t.Errorf("vulnerability %d id %q is not a UUID", i, str(v, "id"))
		}
		if !severities[str(v, "severity")] {
			t.Errorf("vulnerability %d severity %q", i, str(v, "severity"))
		}
		if n := len([]rune(str(v, "name"))); n == 0 || n > 255 {
			t.Errorf("vulnerability %d name of %d characters", i, n)
		}
		if str(v, "location", "file") != "dist/app.cdx.json" || str(v, "location", "dependency", "package", "name") == "" {
			t.Errorf("vulnerability %d location %v", i, v.(map[string]any)["location"])
		}
		ids, _ := v.(map[string]any)["identifiers"].([]any)
		if len(ids) == 0 {
			t.Errorf("vulnerability %d has no identifiers", i)
		}
		for _, id := range ids {
			if str(id, "type") == "" || str(id, "name") == "" || str(id, "value") == "" {
				t.Errorf("vulnerability %d identifier %v lacks type, name or value", i, id)
			}
		}
		got = append(got, str(v, "severity")+" "+str(ids[0], "type")+":"+str(ids[0], "value"))
	}
	want := []string{"Critical osv:MAL-2025-1", "High ghsa:GHSA-aaaa-bbbb-cccc", "Info paved_policy:license", "Medium paved_policy:unmaintained"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("severity and primary identifier %q, want %q", got, want)
	}
	if ids, _ := vulns[1].(map[string]any)["identifiers"].([]any); len(ids) != 3 || str(ids[1], "type") != "cve" {
		t.Errorf("lodash identifiers %v, want the GHSA, its CVE alias once, and the rule", ids)
	}
	if bytes.Contains(raw, []byte("pkg:npm/y@2")) {
		t.Error("an excused finding reached the report")
	}
	if again, _ := render(rep); str(again["vulnerabilities"].([]any)[0], "id") != str(vulns[0], "id") {
		t.Error("the id of a finding changes from one run to the next")
	}
	empty, _ := render(&policy.Report{})
	if v, ok := empty["vulnerabilities"].([]any); !ok || len(v) != 0 {
		t.Errorf("no findings: vulnerabilities %v, want []", empty["vulnerabilities"])
	}
}
