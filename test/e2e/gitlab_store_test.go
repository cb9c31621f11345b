package e2e

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/paved-dev/paved/gitlab/glstore/glstoretest"
)

const storePipeline = `stages: [build, attest, promote, deploy, check]
include:
  - local: paved/attest.yml
    inputs:
      stage: attest
      needs: [build]
      paved: $PAVED_BIN
      subject-path: dist/*
      trusted-root: $PAVED_STACK_TRUSTED_ROOT
      signing-config: $PAVED_STACK_SIGNING_CONFIG
      gitlab-package: demo
  - local: paved/promote.yml
    inputs:
      stage: promote
      needs: [build, paved-attest]
      paved: $PAVED_BIN
      source: dist/app-amd64
      destination: gitlab-package://app
      bundle: attestation.sigstore.json
      project: paved-dev/demo
      cert-oidc-issuer: $PAVED_STACK_GITLAB_ISSUER
      trusted-root: $PAVED_STACK_TRUSTED_ROOT
      signing-config: $PAVED_STACK_SIGNING_CONFIG
  - local: paved/verify.yml
    inputs:
      stage: deploy
      needs: [build, {job: paved-attest, artifacts: false}]
      paved: $PAVED_BIN
      artifact: dist/app-arm64
      bundle-from: gitlab
      gitlab-package: demo
      project: paved-dev/demo
      cert-oidc-issuer: $PAVED_STACK_GITLAB_ISSUER
      trusted-root: $PAVED_STACK_TRUSTED_ROOT
build:
  stage: build
  script:
    - mkdir -p dist && printf 'app for amd64\n' > dist/app-amd64 && printf 'app for arm64\n' > dist/app-arm64
  artifacts:
    paths: [dist/]
check:
  stage: check
  needs: [paved-attest, paved-promote, paved-verify]
  script:
    - test -s "$PAVED_ATTEST_BUNDLE_PATH"
    - echo "verified from the package registry=$PAVED_VERIFY_VERIFIED"
    - echo "dotenv bundle=$(basename "$PAVED_ATTEST_BUNDLE_PATH") jsonl=$(basename "$PAVED_ATTEST_BUNDLES_JSONL") package=$PAVED_ATTEST_GITLAB_PACKAGE_URL"
    - echo "promoted file=$PAVED_PROMOTE_FILE_URL digest=$PAVED_PROMOTE_DIGEST"
`

// TestGitLabStoreFromTheComponent runs the attest component in gitlab-ci-local
// with gitlab-package set, against a GitLab API on loopback (CI_API_V4_URL)
// that follows GitLab's generic packages and release links documentation: a
// branch pipeline stores the bundle under the commit SHA; a tag pipeline
// stores it under the tag and links it from the tag's release. The uploaded
// bundle is read back by the job, named in the dotenv outputs, and accepted
// by paved verify; the verify component of a later job fetches it from the
// package registry itself (--bundle-from gitlab), without the attest job's files.
func TestGitLabStoreFromTheComponent(t *testing.T) {
	component := componentYAML(t, "attest")
	promoteComponent := componentYAML(t, "promote")
	verifyComponent := componentYAML(t, "verify")
	const jobToken = "glcbt-64_e2eJobToken0123456789abcdef"
	const project = "4242"
	for _, tc := range []struct {
		name, tag string
	}{
		{"branch pipeline", ""},
		{"tag pipeline", "v1.0.0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// GitLab's API cannot run here: package glstoretest serves the
			// generic packages and release links endpoints after GitLab's docs.
			api := glstoretest.New(project, jobToken)
			defer api.Close()
			if tc.tag != "" {
				api.CreateRelease(tc.tag)
			}
			consumer := consumer(t, map[string]string{".gitlab-ci.yml": storePipeline, "paved/attest.yml": component, "paved/promote.yml": promoteComponent, "paved/verify.yml": verifyComponent})
			sha := strings.TrimSpace(execIn(t, consumer, nil, "git", "rev-parse", "HEAD").stdout)
			token, err := stk.MintGitLabToken(glProject, 10*time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			home := t.TempDir()
			args := append(shellRunner(consumer, token),
				"--variable", "CI_API_V4_URL="+api.URL(),
				"--variable", "CI_PROJECT_ID="+project,
				"--variable", "CI_JOB_TOKEN="+jobToken)
			version := sha
			if tc.tag != "" {
				args = append(args, "--variable", "CI_COMMIT_TAG="+tc.tag)
				version = tc.tag
			}
			r := gitlabCILocal(t, consumer, home, args...)
			if r.code != 0 {
				t.Fatalf("gitlab-ci-local run failed: %s", r)
			}
			if !strings.Contains(r.stdout, "verified from the package registry=true") {
				t.Errorf("the verify job did not pass with bundles from the package registry:\n%s", r.stdout)
			}
			files, releases, log, badAuth := api.Snapshot()
			if badAuth != 0 {
				t.Errorf("%d requests came without the job token in JOB-TOKEN", badAuth)
			}
			var bundleKey string
			for k := range files {
				if strings.HasPrefix(k, "demo/"+version+"/attestation-") && strings.HasSuffix(k, ".sigstore.json") {
					bundleKey = k
				}
			}
			if bundleKey == "" {
				t.Fatalf("no bundle in package demo@%s; files %v\n%s", version, keys(files), r)
			}
			put, readBack := -1, false
			for i, l := range log {
				if l == "PUT "+bundleKey && put < 0 {
					put = i
				}
				if l == "GET "+bundleKey && put >= 0 && i > put {
					readBack = true
				}
			}
			if put < 0 || !readBack {
				t.Errorf("the bundle was not uploaded and read back: %v", log)
			}
			bundleURL := api.URL() + "/projects/" + project + "/packages/generic/" + bundleKey
			if want := "package=" + bundleURL; !strings.Contains(r.stdout, "dotenv bundle=attestation.sigstore.json jsonl=attestations.jsonl "+want) {
				t.Errorf("dotenv outputs in the next job: want bundle, jsonl and %s\n%s", want, r.stdout)
			}
			armSum := sha256.Sum256([]byte("app for arm64\n"))
			if idx := "GET demo/" + version + "/sha256-" + hex.EncodeToString(armSum[:]) + ".jsonl"; !slices.Contains(log, idx) {
				t.Errorf("the verify job did not read %s from the package registry: %v", idx, log)
			}
			if tc.tag != "" {
				// The bundle (other), then the promoted file and its promotion
				// attestation (package), in the order the jobs ran.
				links := releases[tc.tag]
				fileURL := api.URL() + "/projects/" + project + "/packages/generic/app/" + version + "/app-amd64"
				if len(links) != 3 || links[0]["url"] != bundleURL || links[0]["link_type"] != "other" ||
					links[1]["url"] != fileURL || links[1]["link_type"] != "package" ||
					!strings.Contains(links[2]["url"].(string), "/app-amd64.promotion-") || links[2]["link_type"] != "package" {
					t.Errorf("release links of %s: %v, want the bundle, then %s and its promotion attestation", tc.tag, links, fileURL)
				}
			} else if len(releases) != 0 {
				t.Errorf("a branch pipeline touched releases: %v", releases)
			}

			// The promote component uploaded the attested release file to the
			// generic package app with the job token, and read it back.
			fileKey := "app/" + version + "/app-amd64"
			if string(files[fileKey]) != "app for amd64\n" || !slices.Contains(log, "GET "+fileKey) {
				t.Errorf("package app holds %q, want the attested file read back; log %v", files[fileKey], log)
			}
			promotions := 0
			for k := range files {
				if strings.HasPrefix(k, "app/"+version+"/app-amd64.promotion-") && strings.HasSuffix(k, ".sigstore.json") {
					promotions++
				}
			}
			if promotions != 1 {
				t.Errorf("package app holds %d promotion attestations beside the file, want 1; files %v", promotions, keys(files))
			}
			fileDigest := sha256.Sum256([]byte("app for amd64\n"))
			if want := "promoted file=" + api.URL() + "/projects/" + project + "/packages/generic/" + fileKey + " digest=sha256:" + hex.EncodeToString(fileDigest[:]); !strings.Contains(r.stdout, want) {
				t.Errorf("promote outputs in the next job: want %q\n%s", want, r.stdout)
			}

			// Outside a GitLab job there is no job token to read the package with.
			if v := execIn(t, "", nil, paved, "verify", "sha256:"+hex.EncodeToString(armSum[:]), "--bundle-from", "gitlab", "--gitlab-package", "demo", "--project", glProject); v.code != 2 || !strings.Contains(v.stderr, "works only inside a GitLab CI/CD job") {
				t.Errorf("--bundle-from gitlab outside GitLab: want exit 2 naming the fix: %s", v)
			}

			// What the registry holds verifies: the bundle file and the
			// per-digest JSON Lines index, each written out and given to paved verify.
			dir := t.TempDir()
			artifact := filepath.Join(dir, "app-amd64")
			os.WriteFile(artifact, []byte("app for amd64\n"), 0o644)
			sum := sha256.Sum256([]byte("app for amd64\n"))
			index := "demo/" + version + "/sha256-" + hex.EncodeToString(sum[:]) + ".jsonl"
			if _, ok := files[index]; !ok {
				t.Fatalf("no index %s in the package; files %v", index, keys(files))
			}
			for name, key := range map[string]string{"bundle.sigstore.json": bundleKey, "index.jsonl": index} {
				p := filepath.Join(dir, name)
				os.WriteFile(p, files[key], 0o644)
				v := execIn(t, "", nil, paved, "verify", artifact, "--bundle", p, "--project", glProject, "--source-ref", "refs/heads/main",
					"--cert-oidc-issuer", stk.GitLabIssuer, "--trusted-root", stk.TrustedRootPath)
				if v.code != 0 || !strings.Contains(v.stdout, "verified: true") {
					t.Errorf("paved verify rejects the %s read from the package registry: %s", name, v)
				}
			}
			assertNoSecrets(t, []string{token, jobToken}, []string{r.stdout, r.stderr})
		})
	}
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
