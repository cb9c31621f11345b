package command_test

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/owenrumney/go-sarif/v3/pkg/report/v210/sarif"

	"github.com/paved-dev/paved/shared/command"
	"github.com/paved-dev/paved/shared/fail"
	"github.com/paved-dev/paved/shared/retry"
)

const policyTestdata = "../policy/testdata"

func runPaved(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	door := &command.Local{Stdout: &stdout, Stderr: &stderr, Getenv: func(string) string { return "" }}
	code := command.Main(context.Background(), door, args, door.Getenv, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

func policyArgs(dir string, extra ...string) []string {
	return append([]string{"policy",
		"--policy", filepath.Join(policyTestdata, "policy-all.yaml"),
		"--osv-db", filepath.Join(policyTestdata, "osv"),
		"--data", filepath.Join(policyTestdata, "maintenance.json"),
		"--sarif", filepath.Join(dir, "p.sarif"), "--junit", filepath.Join(dir, "p.junit.xml"), "--json", filepath.Join(dir, "p.json"),
		"--dependency-scanning", filepath.Join(dir, "p.gl.json"),
	}, extra...)
}

func TestPolicyDeniesAndReports(t *testing.T) {
	dir := t.TempDir()
	code, stdout, stderr := runPaved(t, policyArgs(dir, filepath.Join(policyTestdata, "sbom-syft.cdx.json"))...)
	if code != 1 {
		t.Fatalf("exit %d, want 1 (denied)\n%s\n%s", code, stdout, stderr)
	}
	for _, want := range []string{"verification failed", "malicious pkg:npm/evil-pkg@1.0.0 [MAL-2025-1001]", "exceptions:", "--mode warn"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	rep, err := sarif.Open(filepath.Join(dir, "p.sarif"))
	if err != nil {
		t.Fatal(err)
	}
	if err := rep.Validate(); err != nil {
		t.Fatalf("SARIF does not validate against the 2.1.0 schema: %v", err)
	}
	var suppressed, errorsN int
	for _, r := range rep.Runs[0].Results {
		if len(r.Suppressions) > 0 {
			suppressed++
		}
		if r.Level == "error" && len(r.Suppressions) == 0 {
			errorsN++
		}
	}
	if suppressed != 2 || errorsN < 10 {
		t.Errorf("SARIF: %d suppressed (want 2 excused), %d errors", suppressed, errorsN)
	}
	var gl struct {
		Scan struct {
			Type string `json:"type"`
		} `json:"scan"`
		Vulnerabilities []struct {
			Severity string `json:"severity"`
			Location struct {
				File string `json:"file"`
			} `json:"location"`
		} `json:"vulnerabilities"`
	}
	if raw, err := os.ReadFile(filepath.Join(dir, "p.gl.json")); err != nil || json.Unmarshal(raw, &gl) != nil {
		t.Fatalf("GitLab dependency-scanning report: %v", err)
	}
	if gl.Scan.Type != "dependency_scanning" || len(gl.Vulnerabilities) < 10 || gl.Vulnerabilities[0].Location.File != filepath.ToSlash(filepath.Join(policyTestdata, "sbom-syft.cdx.json")) {
		t.Errorf("GitLab report: type %q, %d vulnerabilities, first %+v", gl.Scan.Type, len(gl.Vulnerabilities), gl.Vulnerabilities)
	}
	if _, err := os.Stat("paved-policy.gl-dependency-scanning.json"); err == nil {
		t.Error("the CLI wrote the GitLab report by default")
	}
	raw, err := os.ReadFile(filepath.Join(dir, "p.junit.xml"))
	if err != nil {
		t.Fatal(err)
	}
	var ju struct {
		Tests    int `xml:"tests,attr"`
		Failures int `xml:"failures,attr"`
		Skipped  int `xml:"skipped,attr"`
	}
	if err := xml.Unmarshal(raw, &ju); err != nil {
		t.Fatal(err)
	}
	var js struct {
		Denied   bool `json:"denied"`
		Findings []struct {
			Rule, Action, Component string
		} `json:"findings"`
	}
	raw, err = os.ReadFile(filepath.Join(dir, "p.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &js); err != nil {
		t.Fatal(err)
	}
	if !js.Denied || len(js.Findings) != ju.Tests || ju.Skipped != 2 || ju.Failures != len(js.Findings)-2-countWarn(js.Findings) {
		t.Fatalf("JUnit %+v vs JSON %d findings", ju, len(js.Findings))
	}
}

func countWarn(fs []struct{ Rule, Action, Component string }) int {
	n := 0
	for _, f := range fs {
		if f.Action == "warn" {
			n++
		}
	}
	return n
}

func TestPolicyWarnModePasses(t *testing.T) {
	dir := t.TempDir()
	code, stdout, stderr := runPaved(t, policyArgs(dir, "--mode", "warn", filepath.Join(policyTestdata, "sbom-syft.cdx.json"))...)
	if code != 0 || !strings.Contains(stdout, "verdict: FAILED") || !strings.Contains(stderr, "warn mode: not enforced") {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	if !strings.Contains(stderr, "paved policy: deny malicious pkg:npm/evil-pkg@1.0.0 [MAL-2025-1001]") {
		t.Errorf("the log lacks the malicious finding:\n%s", stderr)
	}
}

// TestPolicyPrintsEachFindingOnce runs paved policy as a person at a terminal
// would: each finding is one line, with one "paved policy:" prefix, the
// Markdown summary stays out of the shell, and one line gives the verdict.
func TestPolicyPrintsEachFindingOnce(t *testing.T) {
	for _, tc := range []struct {
		mode    string
		code    int
		verdict string
	}{
		{"enforce", 1, "paved policy: verification failed: the policy denies 14 finding(s)"},
		{"warn", 0, "paved policy: FAILED (warn mode: not enforced): 20 components, 14 denied"},
	} {
		t.Run(tc.mode, func(t *testing.T) {
			dir := t.TempDir()
			code, stdout, stderr := runPaved(t, policyArgs(dir, "--mode", tc.mode, filepath.Join(policyTestdata, "sbom-syft.cdx.json"))...)
			if code != tc.code {
				t.Fatalf("exit %d, want %d\n%s\n%s", code, tc.code, stdout, stderr)
			}
			all := stdout + stderr
			for _, finding := range []string{"pkg:npm/evil-pkg@1.0.0", "Command Injection in lodash", "github.com/request/request is archived", "flatmap-stream"} {
				if n := strings.Count(all, finding); n != 1 {
					t.Errorf("%q printed %d times, want once:\n%s", finding, n, all)
				}
			}
			for _, bad := range []string{"paved policy: paved policy", "| deny |", "### Paved policy"} {
				if strings.Contains(all, bad) {
					t.Errorf("output has %q:\n%s", bad, all)
				}
			}
			var verdicts []string
			for _, line := range strings.Split(stderr, "\n") {
				if strings.Contains(line, "finding(s)") || strings.Contains(line, "PASSED") || strings.Contains(line, "FAILED") {
					verdicts = append(verdicts, unmarked(line))
				}
			}
			if len(verdicts) != 1 || !strings.HasPrefix(verdicts[0], tc.verdict) {
				t.Errorf("verdict lines %q, want one starting %q", verdicts, tc.verdict)
			}
			if lines := strings.Split(strings.TrimRight(stderr, "\n"), "\n"); !strings.HasPrefix(unmarked(lines[len(lines)-1]), tc.verdict) {
				t.Errorf("the last line is not the verdict:\n%s", stderr)
			}
		})
	}
}

// unmarked drops the ✓, ✗ or ! a terminal row starts with.
func unmarked(line string) string {
	for _, m := range []string{"✓ ", "✗ ", "! "} {
		if s, ok := strings.CutPrefix(line, m); ok {
			return s
		}
	}
	return line
}

func TestPolicyInvalidFileNamesLine(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("version: 1\nrules:\n  license:\n    allow: [MIT]\n    unknwn: deny\n"), 0o644)
	code, _, stderr := runPaved(t, "policy", "--policy", bad, "--sarif", "", "--junit", "", "--json", "", filepath.Join(policyTestdata, "sbom-syft.cdx.json"))
	if code != 2 || !strings.Contains(stderr, bad+":5:") || !strings.Contains(stderr, "unknwn") {
		t.Fatalf("exit %d, want 2 naming %s:5\n%s", code, bad, stderr)
	}
	if _, err := os.Stat("paved-policy.json"); err == nil {
		t.Fatal("an invalid policy must write nothing")
	}
}

// osvAPI speaks the OSV API as documented at https://google.github.io/osv.dev/post-v1-querybatch/
// and https://google.github.io/osv.dev/get-v1-vulns/: POST /v1/querybatch answers ids per query
// (with next_page_token for more), GET /v1/vulns/{id} answers the full record.
func osvAPI(t *testing.T, records map[string]string, byPURL map[string][]string) *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == http.MethodPost && r.URL.Path == "/v1/querybatch":
			var req struct {
				Queries []struct {
					Package struct {
						PURL string `json:"purl"`
					} `json:"package"`
				} `json:"queries"`
			}
			if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
				http.Error(w, err.Error(), 400)
				return
			}
			type vuln struct {
				ID       string `json:"id"`
				Modified string `json:"modified"`
			}
			type result struct {
				Vulns []vuln `json:"vulns,omitempty"`
			}
			out := struct {
				Results []result `json:"results"`
			}{}
			for _, q := range req.Queries {
				var res result
				for _, id := range byPURL[q.Package.PURL] {
					res.Vulns = append(res.Vulns, vuln{ID: id, Modified: "2025-03-01T00:00:00Z"})
				}
				out.Results = append(out.Results, res)
			}
			json.NewEncoder(w).Encode(out)
		case r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/v1/vulns/"):
			rec, ok := records[strings.TrimPrefix(r.URL.Path, "/v1/vulns/")]
			if !ok {
				http.Error(w, `{"code":5,"message":"Bug not found."}`, 404)
				return
			}
			w.Write([]byte(rec))
		default:
			http.NotFound(w, r)
		}
	}))
}

func TestPolicyOnlineOSV(t *testing.T) {
	rec, err := os.ReadFile(filepath.Join(policyTestdata, "osv", "MAL-2025-1001.json"))
	if err != nil {
		t.Fatal(err)
	}
	srv := osvAPI(t, map[string]string{"MAL-2025-1001": string(rec)}, map[string][]string{"pkg:npm/evil-pkg@1.0.0": {"MAL-2025-1001"}})
	defer srv.Close()
	dir := t.TempDir()
	pol := filepath.Join(dir, "online.yaml")
	os.WriteFile(pol, []byte("version: 1\nonline:\n  osv: true\n"), 0o644)
	code, _, stderr := runPaved(t, "policy", "--policy", pol, "--osv-api-url", srv.URL, "--json", filepath.Join(dir, "o.json"), "--sarif", "", "--junit", "",
		filepath.Join(policyTestdata, "sbom-github.spdx.json"))
	if code != 1 || !strings.Contains(stderr, "malicious pkg:npm/evil-pkg@1.0.0 [MAL-2025-1001]") {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
}

func TestPolicyOnlineUnreachable(t *testing.T) {
	var hits atomic.Int32
	var release chan struct{}
	failing := map[string]http.HandlerFunc{
		"500": func(w http.ResponseWriter, r *http.Request) { hits.Add(1); http.Error(w, "boom", 500) },
		"429": func(w http.ResponseWriter, r *http.Request) {
			hits.Add(1)
			w.Header().Set("Retry-After", "0")
			http.Error(w, "slow down", http.StatusTooManyRequests)
		},
		"timeout": func(w http.ResponseWriter, r *http.Request) {
			hits.Add(1)
			select {
			case <-r.Context().Done():
			case <-release:
			case <-time.After(time.Minute):
			}
		},
	}
	for name, h := range failing {
		for _, failOpen := range []bool{false, true} {
			t.Run(name+map[bool]string{false: "/closed", true: "/open"}[failOpen], func(t *testing.T) {
				hits.Store(0)
				release = make(chan struct{})
				srv := httptest.NewServer(h)
				defer srv.Close()
				defer close(release)
				dir := t.TempDir()
				pol := filepath.Join(dir, "online.yaml")
				src := "version: 1\nonline:\n  osv: true\n"
				if failOpen {
					src += "  fail-open: true\n"
				}
				os.WriteFile(pol, []byte(src), 0o644)
				var stdout, stderr bytes.Buffer
				cmd := command.Policy()
				v, err := command.NewValues(cmd, map[string][]string{"policy": {pol}, "osv-api-url": {srv.URL}, "service-timeout": {"300ms"},
					"json": {filepath.Join(dir, "o.json")}, "sarif": {""}, "junit": {""}, "sbom": {filepath.Join(policyTestdata, "sbom-github.spdx.json")}})
				if err != nil {
					t.Fatal(err)
				}
				env := command.Env{Platform: &command.Local{Stdout: &stdout, Stderr: &stderr}, Retry: retry.Options{Attempts: 3, BaseDelay: time.Millisecond}}
				res, err := cmd.Run(context.Background(), env, v)
				if failOpen {
					if err != nil || res.Outputs["warnings"] == "0" || !annotated(res, "warn source OSV API") {
						t.Fatalf("fail-open: %v %+v", err, res)
					}
				} else if fail.ClassOf(err) != fail.Transient || !strings.Contains(err.Error(), "fails closed") || !strings.Contains(err.Error(), "online.fail-open") {
					t.Fatalf("fail-closed: want a transient error with a clear message, got %v", err)
				}
				if n := hits.Load(); n != 3 {
					t.Errorf("%d requests: want 3 (bounded retries)", n)
				}
			})
		}
	}
}

// annotated reports whether one of the result's annotations says want.
func annotated(res *command.Result, want string) bool {
	for _, a := range res.Annotations {
		if strings.Contains(a.Message, want) {
			return true
		}
	}
	return false
}

// TestPolicyScansASource: --source scans a tree first (as paved sbom does),
// writes its CycloneDX SBOM to --sbom-output and gates it: the vulnerable
// lodash of the tree's package-lock.json is denied. --sbom and --source
// together are refused.
func TestPolicyScansASource(t *testing.T) {
	dir := t.TempDir()
	tree := filepath.Join(dir, "app")
	os.MkdirAll(tree, 0o755)
	os.WriteFile(filepath.Join(tree, "package-lock.json"), []byte(`{"name": "demo", "version": "1.0.0", "lockfileVersion": 3, "requires": true,
  "packages": {"": {"name": "demo", "version": "1.0.0", "dependencies": {"lodash": "4.17.20"}},
    "node_modules/lodash": {"version": "4.17.20", "resolved": "https://registry.npmjs.org/lodash/-/lodash-4.17.20.tgz", "license": "MIT"}}}`), 0o644)
	pol := filepath.Join(dir, "policy.yml")
	os.WriteFile(pol, []byte("version: 1\nrules:\n  vulnerable:\n    action: deny\n    min-score: 7.0\n"), 0o644)
	out := filepath.Join(dir, "scan.cdx.json")
	args := []string{"policy", "--source", tree, "--sbom-output", out, "--policy", pol, "--osv-db", filepath.Join(policyTestdata, "osv"),
		"--sarif", "", "--junit", "", "--json", filepath.Join(dir, "p.json")}
	code, stdout, stderr := runPaved(t, args...)
	if code != 1 || !strings.Contains(stderr, "vulnerable pkg:npm/lodash@4.17.20") || !strings.Contains(stdout, "sbom: "+out) {
		t.Fatalf("exit %d, want 1 denying lodash and naming the SBOM written\n%s\n%s", code, stdout, stderr)
	}
	raw, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var bom struct {
		BOMFormat  string `json:"bomFormat"`
		Components []struct {
			PURL string `json:"purl"`
		} `json:"components"`
	}
	if err := json.Unmarshal(raw, &bom); err != nil || bom.BOMFormat != "CycloneDX" {
		t.Fatalf("--sbom-output holds %.80q (%v), want a CycloneDX SBOM", raw, err)
	}
	found := false
	for _, c := range bom.Components {
		found = found || c.PURL == "pkg:npm/lodash@4.17.20"
	}
	if !found {
		t.Errorf("the scan's SBOM does not list lodash: %s", raw)
	}
	if code, _, stderr := runPaved(t, append(args, "--sbom", out)...); code != 2 || !strings.Contains(stderr, "keep one") {
		t.Errorf("--sbom with --source: exit %d, want 2: %s", code, stderr)
	}
}

// policyJSON reads the JSON report's verdict and its unchecked findings.
func policyJSON(t *testing.T, path string) (denied bool, unchecked map[string]string) {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var js struct {
		Denied   bool `json:"denied"`
		Findings []struct {
			Rule, Action, Record string
		} `json:"findings"`
	}
	if err := json.Unmarshal(raw, &js); err != nil {
		t.Fatal(err)
	}
	unchecked = map[string]string{}
	for _, f := range js.Findings {
		if f.Rule == "unchecked" {
			unchecked[f.Record] = f.Action
		}
	}
	return js.Denied, unchecked
}

// TestAttackPolicyPassesWithNoData: a policy gate given no OSV data and no
// online source used to skip the malicious and vulnerable rules with a log
// line and pass (a signed VSA said PASSED over a known malicious package).
// Now the default policy asks the OSV API (here an httptest server speaking
// its documented querybatch and vulns endpoints), and a policy that turns the
// API off without offline data fails on the rules it could not evaluate.
func TestAttackPolicyPassesWithNoData(t *testing.T) {
	rec, err := os.ReadFile(filepath.Join(policyTestdata, "osv", "MAL-2025-1001.json"))
	if err != nil {
		t.Fatal(err)
	}
	var queries atomic.Int32
	api := osvAPI(t, map[string]string{"MAL-2025-1001": string(rec)}, map[string][]string{"pkg:npm/evil-pkg@1.0.0": {"MAL-2025-1001"}})
	defer api.Close()
	counting := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		queries.Add(1)
		api.Config.Handler.ServeHTTP(w, r)
	}))
	defer counting.Close()
	sbomFile := filepath.Join(policyTestdata, "sbom-github.spdx.json")
	t.Run("default policy asks the OSV API", func(t *testing.T) {
		dir := t.TempDir()
		pol := filepath.Join(dir, "default.yaml")
		os.WriteFile(pol, []byte("version: 1\nrules:\n  vulnerable:\n    action: deny\n"), 0o644)
		report := filepath.Join(dir, "p.json")
		code, stdout, stderr := runPaved(t, "policy", "--policy", pol, "--osv-api-url", counting.URL, "--json", report, "--sarif", "", "--junit", "", sbomFile)
		if code != 1 || !strings.Contains(stderr, "malicious pkg:npm/evil-pkg@1.0.0 [MAL-2025-1001]") || !strings.Contains(stdout, "verdict: FAILED") {
			t.Fatalf("exit %d, want 1 denying evil-pkg found through the OSV API\n%s\n%s", code, stdout, stderr)
		}
		if queries.Load() == 0 {
			t.Fatal("the OSV API was not asked")
		}
		if denied, unchecked := policyJSON(t, report); !denied || len(unchecked) != 0 {
			t.Fatalf("report: denied %v, unchecked %v", denied, unchecked)
		}
	})
	t.Run("OSV API off and no data", func(t *testing.T) {
		queries.Store(0)
		dir := t.TempDir()
		pol := filepath.Join(dir, "offline.yaml")
		os.WriteFile(pol, []byte("version: 1\nonline:\n  osv: false\nrules:\n  vulnerable:\n    action: deny\n"), 0o644)
		report := filepath.Join(dir, "p.json")
		code, stdout, stderr := runPaved(t, "policy", "--policy", pol, "--osv-api-url", counting.URL, "--json", report, "--sarif", "", "--junit", "", sbomFile)
		if code != 1 || !strings.Contains(stdout, "verdict: FAILED") || strings.Contains(stdout, "PASSED") {
			t.Fatalf("exit %d, want 1 and verdict FAILED\n%s\n%s", code, stdout, stderr)
		}
		for _, want := range []string{"unchecked rules.malicious", "--osv-db", "unchecked: warn"} {
			if !strings.Contains(stderr, want) {
				t.Errorf("stderr lacks %q:\n%s", want, stderr)
			}
		}
		if queries.Load() != 0 {
			t.Errorf("online.osv: false, yet the OSV API was asked %d times", queries.Load())
		}
		denied, unchecked := policyJSON(t, report)
		if !denied || unchecked["malicious"] != "deny" || unchecked["vulnerable"] != "deny" {
			t.Fatalf("report: denied %v, unchecked %v; want both OSV rules denied as unchecked", denied, unchecked)
		}
	})
}

// TestAttackOnlineSourceDownFailsClosed: with no offline data the default
// policy depends on the OSV API; when it cannot be reached the run exits 3
// and writes no report and no VSA that could be mistaken for a verdict.
func TestAttackOnlineSourceDownFailsClosed(t *testing.T) {
	down := httptest.NewServer(http.NotFoundHandler())
	url := down.URL
	down.Close() // nothing listens there any more
	dir := t.TempDir()
	pol := filepath.Join(dir, "default.yaml")
	os.WriteFile(pol, []byte("version: 1\n"), 0o644)
	report, bundle := filepath.Join(dir, "p.json"), filepath.Join(dir, "p.sigstore.json")
	code, stdout, stderr := runPaved(t, "policy", "--policy", pol, "--osv-api-url", url, "--service-timeout", "2s",
		"--json", report, "--sarif", "", "--junit", "", "--vsa", "--bundle-path", bundle, "--identity-token", "x",
		filepath.Join(policyTestdata, "sbom-github.spdx.json"))
	if code != 3 || !strings.Contains(stderr, "OSV API could not be reached") || !strings.Contains(stderr, "--osv-db") {
		t.Fatalf("exit %d, want 3 naming the unreachable OSV API and the offline choice\n%s\n%s", code, stdout, stderr)
	}
	if strings.Contains(stdout, "PASSED") {
		t.Errorf("an unreachable source must not report PASSED:\n%s", stdout)
	}
	for _, f := range []string{report, bundle} {
		if _, err := os.Stat(f); err == nil {
			t.Errorf("%s written although no verdict was reached", f)
		}
	}
}

// TestPolicyUncheckedWarnOptIn: a policy that says unchecked: warn accepts
// rules it cannot evaluate, with a warning per rule, and passes.
func TestPolicyUncheckedWarnOptIn(t *testing.T) {
	dir := t.TempDir()
	pol := filepath.Join(dir, "offline.yaml")
	os.WriteFile(pol, []byte("version: 1\nunchecked: warn\nonline:\n  osv: false\n  deps-dev: false\nrules:\n  provenance:\n    require:\n      - ecosystem: cargo\n"), 0o644)
	report := filepath.Join(dir, "p.json")
	code, stdout, stderr := runPaved(t, "policy", "--policy", pol, "--json", report, "--sarif", "", "--junit", "", filepath.Join(policyTestdata, "sbom-github.spdx.json"))
	if code != 0 || !strings.Contains(stdout, "verdict: PASSED") {
		t.Fatalf("exit %d, want 0 with unchecked: warn\n%s\n%s", code, stdout, stderr)
	}
	denied, unchecked := policyJSON(t, report)
	if denied || unchecked["malicious"] != "warn" || unchecked["provenance"] != "warn" || len(unchecked) != 2 {
		t.Fatalf("report: denied %v, unchecked %v; want malicious and provenance as warnings", denied, unchecked)
	}
	if !strings.Contains(stderr, "warn unchecked rules.malicious") {
		t.Errorf("no warning names the unchecked rule:\n%s", stderr)
	}
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("version: 1\nunchecked: allow\n"), 0o644)
	if code, _, stderr := runPaved(t, "policy", "--policy", bad, "--json", "", "--sarif", "", "--junit", "", filepath.Join(policyTestdata, "sbom-github.spdx.json")); code != 2 || !strings.Contains(stderr, bad+":2:") {
		t.Errorf("unchecked: allow: exit %d, want 2 naming line 2: %s", code, stderr)
	}
}

// TestAttackFindingFloodSummaryBounded: an SBOM of thousands of denied
// components with long names, each deep in a dependency chain, used to make
// a step summary, annotations and an error of many megabytes (GitHub drops
// a summary over 1 MiB, and with it the verdict). Now every printed part is
// bounded, while the JSON report still holds every finding.
func TestAttackFindingFloodSummaryBounded(t *testing.T) {
	const n = 3000
	dir := t.TempDir()
	long := strings.Repeat("x", 1500)
	var b strings.Builder
	b.WriteString(`{"bomFormat":"CycloneDX","specVersion":"1.6","version":1,"components":[`)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"type":"library","bom-ref":"c%d","name":"%s%d","version":"1.0.0","purl":"pkg:npm/%s%d@1.0.0","licenses":[{"expression":"LicenseRef-%s"}]}`, i, long, i, long, i, long)
	}
	b.WriteString(`],"dependencies":[`)
	for i := range n - 1 {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"ref":"c%d","dependsOn":["c%d"]}`, i, i+1)
	}
	b.WriteString(`]}`)
	sbomFile := filepath.Join(dir, "flood.cdx.json")
	os.WriteFile(sbomFile, []byte(b.String()), 0o644)
	pol := filepath.Join(dir, "flood.yaml")
	os.WriteFile(pol, []byte("version: 1\nrules:\n  deny:\n    - purl: \"pkg:npm/*\"\n      reason: "+strings.Repeat("r", 3000)+"\n"), 0o644)
	report := filepath.Join(dir, "p.json")
	var stdout, stderr bytes.Buffer
	cmd := command.Policy()
	v, err := command.NewValues(cmd, map[string][]string{"policy": {pol}, "osv-db": {filepath.Join(policyTestdata, "osv")}, "json": {report}, "sarif": {""}, "junit": {""}, "sbom": {sbomFile}})
	if err != nil {
		t.Fatal(err)
	}
	res, err := cmd.Run(context.Background(), command.Env{Platform: &command.Local{Stdout: &stdout, Stderr: &stderr}}, v)
	if fail.ClassOf(err) != fail.Verification || res == nil {
		t.Fatalf("want a denial with a result, got %v", err)
	}
	if len(res.Summary) > 512<<10 || !strings.Contains(res.Summary, "### Paved policy: FAILED") || !strings.Contains(res.Summary, "more findings") {
		t.Errorf("summary of %d bytes: want at most 512 KiB, starting with the verdict and saying more findings exist", len(res.Summary))
	}
	total := 0
	for _, a := range res.Annotations {
		total += len(a.Title) + len(a.Message)
	}
	for _, m := range res.Notices {
		total += len(m)
	}
	if total > 1<<20 || len(err.Error()) > 64<<10 {
		t.Errorf("annotations and notices %d bytes, error %d bytes: want at most 1 MiB and 64 KiB", total, len(err.Error()))
	}
	raw, rerr := os.ReadFile(report)
	if rerr != nil {
		t.Fatal(rerr)
	}
	var js struct {
		Findings []struct{ Rule string } `json:"findings"`
	}
	if err := json.Unmarshal(raw, &js); err != nil {
		t.Fatal(err)
	}
	deny := 0
	for _, f := range js.Findings {
		if f.Rule == "deny" {
			deny++
		}
	}
	if deny != n {
		t.Errorf("the JSON report holds %d deny findings, want all %d", deny, n)
	}
}
