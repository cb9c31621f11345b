package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const packageLock = `{
  "name": "demo",
  "version": "1.0.0",
  "lockfileVersion": 3,
  "requires": true,
  "packages": {
    "": {"name": "demo", "version": "1.0.0", "dependencies": {"lodash": "4.17.20"}},
    "node_modules/lodash": {
      "version": "4.17.20",
      "resolved": "https://registry.npmjs.org/lodash/-/lodash-4.17.20.tgz",
      "integrity": "sha512-PlhdFcillOINfeV7Ni6oF1TAEayyZBoZ8bcshTHqOYJYlrqzRK5hagpagky5o4HfCzzd1TRkXPMFq6cKk9rGmA==",
      "license": "MIT"
    }
  }
}
`

const strictPolicy = `version: 1
rules:
  vulnerable:
    action: deny
    min-score: 7.0
`

// TestSupplyChainAllInOne runs the all-in-one step as a GitHub job: SBOMs,
// provenance and a policy verdict over the same artifacts, one certificate for
// all of them; the policy denies a vulnerable lodash, so the step fails after
// writing and signing everything, and every bundle verifies.
func TestSupplyChainAllInOne(t *testing.T) {
	for _, mode := range []string{"enforce", "warn"} {
		t.Run(mode, func(t *testing.T) {
			ws := workspace(t)
			os.WriteFile(filepath.Join(ws, "package-lock.json"), []byte(packageLock), 0o644)
			os.WriteFile(filepath.Join(ws, "policy.yml"), []byte(strictPolicy), 0o644)
			reqURL, reqToken := stk.GitHubTokenRequest(ghRepo)
			ghOut := filepath.Join(t.TempDir(), "github_output")
			summary := filepath.Join(t.TempDir(), "summary")
			// The job downloads its offline OSV data into the workspace.
			osv := filepath.Join(ws, "osv")
			if r := execIn(t, "", nil, "cp", "-r", filepath.Join(repoRoot(t), "shared", "policy", "testdata", "osv"), osv); r.code != 0 {
				t.Fatal(r)
			}
			env := githubStep(ws, ghOut, summary, reqURL, reqToken,
				"INPUT_SUBJECT_PATH=dist/*", "INPUT_POLICY=policy.yml", "INPUT_OSV_DB="+osv, "INPUT_POLICY_MODE="+mode)
			r := execIn(t, ws, env, paved, "supply-chain")
			want := map[string]int{"enforce": 1, "warn": 0}[mode]
			if r.code != want {
				t.Fatalf("exit %d, want %d: %s", r.code, want, r)
			}
			out := outputsOf(t, ghOut)
			if out["policy-verdict"] != "FAILED" || out["bundle-path"] != "attestation.sigstore.json" || out["sbom-cyclonedx-path"] == "" {
				t.Fatalf("outputs %q", out)
			}
			if !strings.Contains(r.stdout, "::error title=paved policy%3A vulnerable pkg%3Anpm/lodash@4.17.20") && mode == "enforce" {
				t.Errorf("no error annotation for the denied dependency:\n%s", r.stdout)
			}
			sum, _ := os.ReadFile(summary)
			for _, s := range []string{"Paved attestation", "lodash", "Paved policy"} {
				if !strings.Contains(string(sum), s) {
					t.Errorf("step summary lacks %q", s)
				}
			}
			// The summary's paved commands, run as written in the workspace,
			// verify every bundle: provenance, both SBOMs and the VSA.
			var commands int
			for _, line := range strings.Split(string(sum), "\n") {
				if !strings.HasPrefix(line, "paved verify") {
					continue
				}
				commands++
				if v := execIn(t, ws, nil, paved, strings.Fields(line)[1:]...); v.code != 0 {
					t.Errorf("the summary's command %q fails: %s", line, v)
				}
			}
			if commands != 4 {
				t.Errorf("the summary gives %d paved verify commands, want 4 (provenance, two SBOMs, VSA):\n%s", commands, sum)
			}
			// Every bundle verifies as the job's identity; one certificate signed them all.
			bundles := append([]string{filepath.Join(ws, out["bundle-path"]), filepath.Join(ws, out["policy-bundle-path"])},
				strings.Fields(out["sbom-bundle-paths"])...)
			if len(bundles) != 4 {
				t.Fatalf("bundles %v", bundles)
			}
			certs := map[string]bool{}
			for _, b := range bundles {
				if !filepath.IsAbs(b) {
					b = filepath.Join(ws, b)
				}
				v := execIn(t, ws, nil, paved, "verify", filepath.Join("dist", "app-linux-amd64"), "--bundle", b, "--repo", ghRepo,
					"--cert-oidc-issuer", stk.GitHubIssuer, "--trusted-root", stk.TrustedRootPath, "--predicate-type", predicateTypeOf(t, b))
				if v.code != 0 {
					t.Errorf("%s does not verify: %s", b, v)
				}
				raw, _ := os.ReadFile(b)
				i := strings.Index(string(raw), `"rawBytes"`)
				certs[string(raw[i:i+200])] = true
			}
			if len(certs) != 1 {
				t.Errorf("%d certificates for one run, want 1", len(certs))
			}
			assertNoSecrets(t, []string{reqToken}, []string{r.stdout, r.stderr}, ws)
		})
	}
}

func predicateTypeOf(t *testing.T, bundle string) string {
	t.Helper()
	st := statement(t, bundle)
	return st["predicateType"].(string)
}
