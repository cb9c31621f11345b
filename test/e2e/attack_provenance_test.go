package e2e

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestAttackForgedProvenancePredicateRefused: a build step holds the job's
// identity and signs a SLSA provenance statement it wrote itself, claiming a
// trusted builder, another repository's commit and a release workflow. The
// signature and the identity are genuine (the local Fulcio issued the
// certificate for paved-dev/demo), so only the predicate lies. paved verify
// must refuse it naming the forged fields, report nothing it claimed, and
// verify-bundle (the conformance client) only warns when asked.
func TestAttackForgedProvenancePredicateRefused(t *testing.T) {
	dir := t.TempDir()
	token, err := stk.MintGitHubToken(ghRepo, 10*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	art := filepath.Join(dir, "app")
	if err := os.WriteFile(art, []byte("built by a hostile step\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte("built by a hostile step\n"))
	forged := map[string]any{
		"_type":         "https://in-toto.io/Statement/v1",
		"subject":       []any{map[string]any{"name": "app", "digest": map[string]any{"sha256": hex.EncodeToString(sum[:])}}},
		"predicateType": "https://slsa.dev/provenance/v1",
		"predicate": map[string]any{
			"buildDefinition": map[string]any{
				"buildType":          "https://actions.github.io/buildtypes/workflow/v1",
				"externalParameters": map[string]any{"workflow": map[string]any{"repository": "https://github.com/trusted/release", "path": ".github/workflows/release.yml", "ref": "refs/tags/v1"}},
				"resolvedDependencies": []any{map[string]any{"uri": "git+https://github.com/trusted/release@refs/tags/v1",
					"digest": map[string]any{"gitCommit": strings.Repeat("1", 40)}}},
			},
			"runDetails": map[string]any{"builder": map[string]any{"id": "https://github.com/trusted/release/.github/workflows/release.yml@refs/tags/v1"}},
		},
	}
	stmt, _ := json.Marshal(forged)
	if err := os.WriteFile(filepath.Join(dir, "stmt.json"), stmt, 0o644); err != nil {
		t.Fatal(err)
	}
	if r := execIn(t, dir, nil, paved, "sign-bundle", "--in-toto", "--identity-token", token, "--bundle", "forged.sigstore.json",
		"--signing-config", stk.SigningConfigPath, "--trusted-root", stk.TrustedRootPath, "stmt.json"); r.code != 0 {
		t.Fatalf("sign-bundle: %s", r)
	}
	report := filepath.Join(dir, "report.json")
	v := execIn(t, dir, nil, paved, "verify", "app", "--bundle", "forged.sigstore.json", "--repo", ghRepo,
		"--cert-oidc-issuer", stk.GitHubIssuer, "--trusted-root", stk.TrustedRootPath, "--report-path", report, "--kit", "kit")
	if v.code != 1 {
		t.Fatalf("paved verify accepted forged provenance: %s", v)
	}
	for _, field := range []string{"runDetails.builder.id", "resolvedDependencies[0].uri", "resolvedDependencies[0].digest.gitCommit", "workflow.repository"} {
		if !strings.Contains(v.stderr+v.stdout, field) {
			t.Errorf("the refusal does not name %s: %s", field, v)
		}
	}
	data, err := os.ReadFile(report)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(data), `"verified": true`) || strings.Contains(string(data), `"build"`) {
		t.Errorf("the report verifies or describes the forged build: %s", data)
	}
	if _, err := os.Stat(filepath.Join(dir, "kit")); err == nil {
		t.Error("a verification kit was written for forged provenance")
	}
	base := []string{"verify-bundle", "--bundle", "forged.sigstore.json", "--certificate-identity", ghSAN,
		"--certificate-oidc-issuer", stk.GitHubIssuer, "--trusted-root", stk.TrustedRootPath, "app"}
	if b := execIn(t, dir, nil, paved, base...); b.code != 0 || strings.Contains(b.stderr, "contradicts") {
		t.Errorf("verify-bundle (conformance protocol) must verify the signature only: %s", b)
	}
	if b := execIn(t, dir, nil, paved, append(base, "--warn-provenance-contradictions")...); b.code != 0 || !strings.Contains(b.stderr, "runDetails.builder.id") {
		t.Errorf("verify-bundle --warn-provenance-contradictions does not warn: %s", b)
	}
	assertNoSecrets(t, []string{token}, []string{v.stdout, v.stderr}, dir)
}
