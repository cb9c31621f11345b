package command_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/paved-dev/paved/shared/command"
)

// ciDoor is a front door that confines paths to a workspace, as the GitHub
// and GitLab doors do.
type ciDoor struct {
	*command.Local
	ws string
}

func (d ciDoor) Workspace() string { return d.ws }

// inWorkspace runs paved with the workspace ws, from the working directory wd.
func inWorkspace(t *testing.T, ws, wd string, args ...string) (int, string) {
	t.Helper()
	t.Chdir(wd)
	var stdout, stderr bytes.Buffer
	getenv := func(string) string { return "" }
	door := ciDoor{Local: &command.Local{Stdout: &stdout, Stderr: &stderr, Getenv: getenv}, ws: ws}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	code := command.Main(ctx, door, args, getenv, &stdout, &stderr)
	return code, stderr.String()
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// fixtures copies a bundle, an SBOM and a policy into the workspace ws.
func fixtures(t *testing.T, ws string) {
	t.Helper()
	for from, to := range map[string]string{pub("custom-issuer.sigstore.json"): "app.sigstore.json", filepath.Join(policyTestdata, "sbom-syft.cdx.json"): "sbom.cdx.json", filepath.Join(policyTestdata, "policy-all.yaml"): "policy.yaml"} {
		data, err := os.ReadFile(from)
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(ws, to), string(data))
	}
}

// entries lists every file under dir, for asserting nothing was written.
func entries(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && p != dir {
			out = append(out, p)
		}
		return nil
	})
	return out
}

// TestAttackChecksumsNameRootWritesOutside: a checksums line naming "/" (or
// ".", "..") must be refused before a bundle path is derived from it; it used
// to become the bundle path /.sigstore.json at the filesystem root.
func TestAttackChecksumsNameRootWritesOutside(t *testing.T) {
	hex := strings.Repeat("a", 64)
	for _, name := range []string{"/", ".", "..", "../"} {
		ws := t.TempDir()
		writeFile(t, filepath.Join(ws, "SHA256SUMS"), hex+"  "+name+"\n")
		before := entries(t, ws)
		code, stderr := inWorkspace(t, ws, ws, "attest", "--subject-checksums", "SHA256SUMS", "--identity-token", "x.y.z")
		if code != 2 || !strings.Contains(stderr, "not a file name") {
			t.Fatalf("name %q: exit %d, stderr %q; want 2, refusing the name", name, code, stderr)
		}
		if after := entries(t, ws); len(after) != len(before) {
			t.Fatalf("name %q: files written: %v", name, after)
		}
		if _, err := os.Lstat("/.sigstore.json"); err == nil {
			t.Fatalf("/.sigstore.json exists")
		}
	}
}

// TestAttackInputPathsOutsideWorkspace: every path a job names — subjects,
// globs, checksums files, predicates, policies, bundles — stays inside the
// workspace, through .., absolute paths and symlinks alike.
func TestAttackInputPathsOutsideWorkspace(t *testing.T) {
	out := t.TempDir()
	secret := filepath.Join(out, "secret")
	writeFile(t, secret, "outside the workspace")
	writeFile(t, filepath.Join(out, "SHA256SUMS"), strings.Repeat("a", 64)+"  app\n")
	writeFile(t, filepath.Join(out, "pred.json"), `{"a":1}`)
	ws := t.TempDir()
	writeFile(t, filepath.Join(ws, "app"), "app")
	fixtures(t, ws)
	if err := os.Symlink(secret, filepath.Join(ws, "link")); err != nil {
		t.Fatal(err)
	}
	rel, _ := filepath.Rel(ws, secret)
	cases := map[string][]string{
		"subject absolute":  {"attest", secret},
		"subject dotdot":    {"attest", rel},
		"subject symlink":   {"attest", "link"},
		"subject glob":      {"attest", filepath.Join(out, "*")},
		"checksums":         {"attest", "--subject-checksums", filepath.Join(out, "SHA256SUMS")},
		"predicate":         {"attest", "app", "--predicate-type", "https://example.com/p", "--predicate-path", filepath.Join(out, "pred.json")},
		"predicate symlink": {"attest", "app", "--predicate-type", "https://example.com/p", "--predicate-path", "link"},
		"verify artifact":   {"verify", secret, "--bundle", "app.sigstore.json", "--repo", "o/r"},
		"verify bundle":     {"verify", "app", "--bundle", secret, "--repo", "o/r"},
		"verify bundle dir": {"verify", "app", "--bundle", out, "--repo", "o/r"},
		"verify policy":     {"verify", "app", "--bundle", "app", "--policy", "link"},
		"verify kit":        {"verify", "app", "--bundle", "app.sigstore.json", "--repo", "o/r", "--kit", out},
		"policy file":       {"policy", "--policy", secret, "sbom.cdx.json"},
		"policy sbom":       {"policy", "--policy", "policy.yaml", rel},
		"policy data":       {"policy", "--policy", "policy.yaml", "sbom.cdx.json", "--data", "link"},
		"sbom source":       {"sbom", out},
		"sbom source dots":  {"sbom", rel},
		"sbom source gone":  {"sbom", rel + "-missing"},
		"sbom dotted dir":   {"sbom", "x.d/../../" + filepath.Base(out) + "/secret"},
		"sbom subject":      {"sbom", ".", "--attest", "--subject-path", "link"},
		"promote file":      {"promote", secret, "github-release://o/r@v1"},
		"promote bundle":    {"promote", "app", "github-release://o/r@v1", "--bundle", secret, "--repo", "o/r"},
	}
	for name, args := range cases {
		t.Run(name, func(t *testing.T) {
			before := entries(t, ws)
			if args[0] == "attest" {
				args = append(args, "--identity-token", "x.y.z")
			}
			code, stderr := inWorkspace(t, ws, ws, args...)
			if code != 2 || !strings.Contains(stderr, "outside the workspace") {
				t.Fatalf("exit %d, stderr %q; want 2, outside the workspace", code, stderr)
			}
			if len(entries(t, ws)) != len(before) {
				t.Fatalf("files written: %v", entries(t, ws))
			}
		})
	}
}

// TestAttackSBOMSymlinkOutsideWorkspace: a manifest or directory symlinked
// to a place outside the workspace must not be read by the scan, so what
// lies there never appears in the SBOM.
func TestAttackSBOMSymlinkOutsideWorkspace(t *testing.T) {
	out := t.TempDir()
	writeFile(t, filepath.Join(out, "requirements.txt"), "evilpkg==6.6.6\n")
	writeFile(t, filepath.Join(out, "dir", "requirements.txt"), "otherevil==6.6.6\n")
	ws := t.TempDir()
	writeFile(t, filepath.Join(ws, "app", "requirements-dev.txt"), "goodpkg==1.0.0\n")
	if err := os.Symlink(filepath.Join(out, "requirements.txt"), filepath.Join(ws, "app", "requirements.txt")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../../"+filepath.Base(out)+"/dir", filepath.Join(ws, "app", "vendor")); err != nil {
		t.Fatal(err)
	}
	// A link to a directory inside the workspace that itself links outside.
	writeFile(t, filepath.Join(out, "nested.txt"), "nestedevil==6.6.6\n")
	if err := os.MkdirAll(filepath.Join(ws, "other"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(out, "nested.txt"), filepath.Join(ws, "other", "requirements.txt")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../other", filepath.Join(ws, "app", "shared")); err != nil {
		t.Fatal(err)
	}
	code, stderr := inWorkspace(t, ws, filepath.Join(ws, "app"), "sbom", ".", "--format", "cyclonedx-json", "--output-name", "s")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	doc, err := os.ReadFile(filepath.Join(ws, "app", "s.cdx.json"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(doc), "goodpkg") {
		t.Fatalf("the scan missed the workspace's own requirements: %s", doc)
	}
	if strings.Contains(string(doc), "evil") {
		t.Fatalf("the SBOM lists packages read outside the workspace: %s", doc)
	}
}

// TestAttackWorkingDirectoryPolicyReadsOtherFile: with the job's working
// directory below the workspace, --policy and --sbom name the files there,
// not the files of the same name at the workspace root.
func TestAttackWorkingDirectoryPolicyReadsOtherFile(t *testing.T) {
	ws := t.TempDir()
	sb, err := os.ReadFile(filepath.Join(policyTestdata, "sbom-syft.cdx.json"))
	if err != nil {
		t.Fatal(err)
	}
	deny := "version: 1\nonline:\n  osv: false\n  fail-open: true\nrules:\n  deny:\n    - purl: \"pkg:npm/evil-pkg\"\n      reason: denied by the job's policy\n"
	writeFile(t, filepath.Join(ws, "policy.yaml"), "version: 1\nrules:\n  no-purl:\n    action: warn\n")
	writeFile(t, filepath.Join(ws, "sub", "policy.yaml"), deny)
	writeFile(t, filepath.Join(ws, "sub", "sbom.cdx.json"), string(sb))
	code, stderr := inWorkspace(t, ws, filepath.Join(ws, "sub"), "policy", "--policy", "policy.yaml", "sbom.cdx.json")
	if code != 1 || !strings.Contains(stderr, "denied by the job's policy") {
		t.Fatalf("exit %d, stderr %q; want 1 from the policy in the working directory", code, stderr)
	}
}
