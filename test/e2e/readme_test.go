package e2e

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/paved-dev/paved/shared/verify"
)

// readmeExample returns the fenced block that follows "<!-- example: NAME" in README.md.
func readmeExample(t *testing.T, name string) string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(repoRoot(t), "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	s := string(raw)
	i := strings.Index(s, "<!-- example: "+name)
	if i < 0 {
		t.Fatalf("README.md has no example %q", name)
	}
	s = s[i:]
	start := strings.Index(s, "```")
	s = s[start:]
	body := s[strings.Index(s, "\n")+1:]
	return body[:strings.Index(body, "```")]
}

const demoMain = "package main\n\nimport \"fmt\"\n\nfunc main() { fmt.Println(\"demo\") }\n"

// TestReadmeGitHubExample runs README's workflow, unchanged, in act; only the
// trust material of the local Sigstore stack comes from the environment.
func TestReadmeGitHubExample(t *testing.T) {
	wf := readmeExample(t, "github-workflow")
	consumer := gitRepo(t, map[string]string{".github/workflows/release.yml": wf, "go.mod": "module example.com/demo\n\ngo 1.26\n", "main.go": demoMain})
	reqURL, reqToken := stk.GitHubTokenRequest(ghRepo)
	args := []string{"push", "-W", ".github/workflows/release.yml",
		"-P", "ubuntu-latest=-self-hosted", "--no-cache-server", "--action-offline-mode",
		"--local-repository", "paved-dev/paved@v1=" + repoRoot(t),
		"--env", "ACTIONS_ID_TOKEN_REQUEST_URL=" + reqURL, "--env", "ACTIONS_ID_TOKEN_REQUEST_TOKEN=" + reqToken,
		"--env", "PAVED_TRUSTED_ROOT=" + stk.TrustedRootPath, "--env", "PAVED_SIGNING_CONFIG=" + stk.SigningConfigPath,
		"--env", "PAVED_BINARY=" + paved,
		"--env", "GOMODCACHE=" + goEnv(t, "GOMODCACHE"), "--env", "GOCACHE=" + goEnv(t, "GOCACHE"),
		"--env", "GOPROXY=off", "--env", "GOFLAGS=-buildvcs=false", "--env", "GOTOOLCHAIN=local",
	}
	r := execIn(t, consumer, []string{"HOME=" + t.TempDir(), "GH_TOKEN=", "GITHUB_TOKEN="}, tool(t, "act"), args...)
	if r.code != 0 || !strings.Contains(r.stdout, "provenance in attestation.sigstore.json") {
		t.Fatalf("README's GitHub example failed in act: %s", r)
	}
	assertNoSecrets(t, []string{reqToken}, []string{r.stdout, r.stderr})
}

// TestReadmeGitLabExample runs README's pipeline in gitlab-ci-local. The
// component includes are resolved to this repository's templates, and the
// inputs that point at the local Sigstore stack are added.
func TestReadmeGitLabExample(t *testing.T) {
	pipeline := readmeExample(t, "gitlab-pipeline")
	files := map[string]string{"go.mod": "module example.com/demo\n\ngo 1.26\n", "main.go": demoMain}
	extra := map[string]string{
		"supply-chain": "      paved: $PAVED_BIN\n      trusted-root: $STACK_TRUSTED_ROOT\n      signing-config: $STACK_SIGNING_CONFIG\n",
		"verify":       "      paved: $PAVED_BIN\n      trusted-root: $STACK_TRUSTED_ROOT\n      cert-oidc-issuer: $STACK_GITLAB_ISSUER\n",
	}
	re := regexp.MustCompile(`- component: \$CI_SERVER_FQDN/paved-dev/paved/([a-z-]+)@v1\n    inputs:\n`)
	pipeline = re.ReplaceAllStringFunc(pipeline, func(m string) string {
		name := re.FindStringSubmatch(m)[1]
		comp := componentYAML(t, name)
		files["paved/"+name+".yml"] = comp
		return "- local: paved/" + name + ".yml\n    inputs:\n" + extra[name]
	})
	files[".gitlab-ci.yml"] = pipeline
	consumer := consumer(t, files)
	token, err := stk.MintGitLabToken(glProject, 10*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	home := t.TempDir()
	r := gitlabCILocal(t, consumer, home, "--shell-executor-no-image", "--force-shell-executor",
		"--variable", "CI_PROJECT_DIR="+consumer,
		"--variable", "SIGSTORE_ID_TOKEN="+token, "--variable", "PAVED_BIN="+paved,
		"--variable", "STACK_TRUSTED_ROOT="+stk.TrustedRootPath, "--variable", "STACK_SIGNING_CONFIG="+stk.SigningConfigPath,
		"--variable", "STACK_GITLAB_ISSUER="+stk.GitLabIssuer,
		"--variable", "GOMODCACHE="+goEnv(t, "GOMODCACHE"), "--variable", "GOCACHE="+goEnv(t, "GOCACHE"),
		"--variable", "GOPROXY=off", "--variable", "GOFLAGS=-buildvcs=false")
	if r.code != 0 || !strings.Contains(r.stdout, "every artifact proved its history") {
		t.Fatalf("README's GitLab example failed in gitlab-ci-local: %s", r)
	}
	assertNoSecrets(t, []string{token}, []string{r.stdout, r.stderr})
}

// TestReadmeVerifyByHand runs README's three verification commands on an
// artifact attested as a GitHub job, with OWNER/REPO filled in and the flags
// that point each verifier at the local stack's trust root appended.
func TestReadmeVerifyByHand(t *testing.T) {
	ws := t.TempDir()
	os.MkdirAll(filepath.Join(ws, "dist"), 0o755)
	os.WriteFile(filepath.Join(ws, "dist", "app"), []byte("the app\n"), 0o755)
	tok, _ := stk.MintGitHubToken(ghRepo, 10*time.Minute)
	a := execIn(t, ws, nil, paved, "attest", "--identity-token-file", writeToken(t, tok), "--trusted-root", stk.TrustedRootPath,
		"--signing-config", stk.SigningConfigPath, "--bundle-path", "attestation.sigstore.json", "dist/app")
	if a.code != 0 {
		t.Fatal(a)
	}
	script := strings.ReplaceAll(readmeExample(t, "verify-by-hand"), "\\\n", "")
	script = strings.ReplaceAll(script, "OWNER/REPO", ghRepo)
	script = strings.ReplaceAll(script, "https://token.actions.githubusercontent.com", stk.GitHubIssuer)
	local := map[string]string{
		"paved ":  " --cert-oidc-issuer " + stk.GitHubIssuer + " --trusted-root " + stk.TrustedRootPath,
		"cosign ": " --trusted-root " + stk.TrustedRootPath + " --use-signed-timestamps --insecure-ignore-sct",
		"gh ":     " --cert-oidc-issuer " + stk.GitHubIssuer + " --custom-trusted-root " + stk.TrustedRootJSONLPath,
	}
	lines := 0
	for _, line := range strings.Split(strings.TrimSpace(script), "\n") {
		line = strings.Join(strings.Fields(line), " ")
		for prefix, flags := range local {
			if strings.HasPrefix(line, prefix) {
				bin := strings.TrimSpace(prefix)
				switch bin {
				case "paved":
					line = paved + strings.TrimPrefix(line, "paved") + flags
				default:
					line = tool(t, bin) + strings.TrimPrefix(line, bin) + flags
				}
			}
		}
		r := execIn(t, ws, []string{"GH_TOKEN=", "GH_NO_UPDATE_NOTIFIER=1"}, "bash", "-c", line)
		if r.code != 0 {
			t.Errorf("README verification command failed: %s\n%s", line, r)
		}
		lines++
	}
	if lines != 3 {
		t.Fatalf("ran %d commands, want README's 3", lines)
	}
}

// TestReadmePolicyExample: the verification policy in README is a valid policy file.
func TestReadmePolicyExample(t *testing.T) {
	raw, _ := os.ReadFile(filepath.Join(repoRoot(t), "README.md"))
	s := string(raw)
	i := strings.Index(s, "```yaml\nversion: 1\npredicate-type:")
	if i < 0 {
		t.Fatal("README lost its verification policy example")
	}
	body := s[i+len("```yaml\n"):]
	body = body[:strings.Index(body, "```")]
	p, err := verify.ParsePolicy([]byte(body))
	if err != nil || len(p.Identities) != 2 {
		t.Fatalf("README's policy: %v %+v", err, p)
	}
}
