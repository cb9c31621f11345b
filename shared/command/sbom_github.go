package command

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/paved-dev/paved/shared/fail"
	"github.com/paved-dev/paved/shared/promote"
	"github.com/paved-dev/paved/shared/sbom"
	"github.com/paved-dev/paved/shared/snapshot"
)

// sbomGitHubInputs are what `paved sbom` sends to GitHub besides files, named
// as in anchore/sbom-action.
func sbomGitHubInputs() []Input {
	return []Input{
		{Name: "upload-release-assets", Bool: true, Default: "true", GitHubOnly: true, Usage: "in GitHub Actions, on a release event: upload the SBOMs (and bundles) as assets of that release (needs 'permissions: contents: write'); an asset of the same name with other bytes is refused, not replaced"},
		{Name: "dependency-snapshot", Bool: true, GitHubOnly: true, Usage: "in GitHub Actions: submit the packages found to GitHub's dependency graph through the dependency submission API (needs 'permissions: contents: write')"},
		{Name: "github-token", Secret: true, GitHubOnly: true, Usage: "token for upload-release-assets and dependency-snapshot (in GitHub Actions, default: the job's token, github.token)"},
		{Name: "github-api-url", GitHubOnly: true, Usage: "GitHub REST API base for upload-release-assets and dependency-snapshot (default: GITHUB_API_URL in GitHub Actions)"},
	}
}

// sbomGitHub is the GitHub side of one `paved sbom`: release assets and a
// dependency snapshot, built before the scan so that a missing token or
// repository fails first.
type sbomGitHub struct {
	release *promote.GitHubReleaseAssets
	snap    *snapshot.Client
	job     snapshot.Job
	sha     string
	ref     string
}

// sbomGitHubOptions are the sbomGitHubInputs.
type sbomGitHubOptions struct {
	UploadReleaseAssets bool   `input:"upload-release-assets"`
	DependencySnapshot  bool   `input:"dependency-snapshot"`
	GitHubToken         string `input:"github-token"`
	GitHubAPIURL        string `input:"github-api-url"`
}

func newSbomGitHub(env Env, o sbomGitHubOptions) (*sbomGitHub, error) {
	g := &sbomGitHub{}
	ev, _ := env.Platform.(GitHubEvent)
	tag := ""
	if ev != nil && o.UploadReleaseAssets {
		tag = ev.ReleaseTag()
	}
	snap := o.DependencySnapshot
	if tag == "" && !snap {
		return g, nil
	}
	run := env.Platform.Run()
	ep := githubEndpoints(env, "", o.GitHubAPIURL, o.GitHubToken)
	api, token := ep.APIURL, ep.Token
	if tag != "" {
		r, err := promote.NewGitHubRelease(run.ProjectPath, tag, promote.GitHubReleaseOptions{APIURL: api, Token: token, Transport: env.Transport, Retry: env.Retry})
		if err != nil {
			return nil, fmt.Errorf("upload-release-assets: %w", err)
		}
		g.release = r
	}
	if snap {
		if ev == nil {
			return nil, fail.Configf("--dependency-snapshot submits to the dependency graph of the GitHub repository the workflow runs for: it works inside GitHub Actions only")
		}
		c, err := snapshot.New(run.ProjectPath, snapshot.Options{APIURL: api, Token: token, Transport: env.Transport, Retry: env.Retry})
		if err != nil {
			return nil, err
		}
		g.snap, g.sha, g.ref = c, run.Commit, run.Ref
		g.job = snapshot.Job{Correlator: ev.Workflow() + "_" + run.JobName, ID: run.PipelineID}
		if run.ServerURL != "" && run.PipelineID != "" {
			g.job.HTMLURL = strings.TrimRight(run.ServerURL, "/") + "/" + run.ProjectPath + "/actions/runs/" + run.PipelineID
		}
		// Checked now, as the API would, so a bad ref fails before the scan.
		probe := snapshot.Snapshot{Job: g.job, Sha: g.sha, Ref: g.ref, Detector: detector(), Scanned: time.Unix(0, 0).UTC().Format(time.RFC3339)}
		if err := probe.Validate(); err != nil {
			return nil, fail.Configf("--dependency-snapshot: %v", err)
		}
	}
	return g, nil
}

func detector() snapshot.Detector {
	return snapshot.Detector{Name: "paved sbom (syft " + sbom.SyftVersion + ")", Version: Version(), URL: "https://github.com/paved-dev/paved"}
}

// checkAssetNames refuses asset names a release would rename or that could
// point somewhere else, before anything is written.
func (g *sbomGitHub) checkAssetNames(paths []string) error {
	if g.release == nil {
		return nil
	}
	for _, p := range paths {
		if err := checkAssetName(filepath.Base(p)); err != nil {
			return err
		}
	}
	return nil
}

// checkAssetName refuses names with a path separator, "..", a control
// character, or anything a release asset does not keep as given.
func checkAssetName(name string) error {
	if strings.ContainsAny(name, "/\\") || strings.Contains(name, "..") || strings.ContainsFunc(name, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return fail.Configf("release asset name %q: no '/', '..' or control characters; choose another --output-name or --output-file", name)
	}
	if err := promote.CheckFileName(name); err != nil {
		return fmt.Errorf("release asset: %w", err)
	}
	return nil
}

// maxAsset bounds the size of an SBOM or bundle uploaded as a release asset.
const maxAsset = 2 << 30

// uploadAssets uploads each file under its base name and returns lines for
// the summary.
func (g *sbomGitHub) uploadAssets(ctx context.Context, paths []string) ([]string, error) {
	if g.release == nil {
		return nil, nil
	}
	var lines []string
	for _, p := range paths {
		up, err := g.uploadOne(ctx, p)
		if err != nil {
			return lines, err
		}
		how := "uploaded"
		if up.Existed {
			how = "already there"
		}
		lines = append(lines, fmt.Sprintf("%s: %s %s", filepath.Base(p), how, up.URL))
	}
	return lines, nil
}

func (g *sbomGitHub) uploadOne(ctx context.Context, path string) (promote.Uploaded, error) {
	f, err := os.Open(path)
	if err != nil {
		return promote.Uploaded{}, fail.Configf("reading %s back: %v", path, err)
	}
	defer f.Close()
	digest, size, err := promote.Digest(f, maxAsset)
	if err != nil {
		return promote.Uploaded{}, fail.Configf("hashing %s: %v", path, err)
	}
	// promote.File's Close would delete the file: f is closed above instead.
	return g.release.Upload(ctx, filepath.Base(path), &promote.File{File: f, Digest: digest, Size: size})
}

// submit sends the packages of s to the dependency graph. root is the scanned
// directory relative to the workspace ("" for images and archives).
func (g *sbomGitHub) submit(ctx context.Context, s *sbom.SBOM, root string, now time.Time) (string, error) {
	if g.snap == nil {
		return "", nil
	}
	prefix := ""
	if root == "" {
		prefix = s.Source.Name
	}
	job := g.job
	// One correlator per thing scanned: a second scan in the same job adds to
	// the graph instead of replacing the first.
	job.Correlator += "_" + outputName(s.Source)
	snap := snapshot.Snapshot{
		Version:   snapshot.Version,
		Job:       job,
		Sha:       g.sha,
		Ref:       g.ref,
		Detector:  detector(),
		Scanned:   now.UTC().Format(time.RFC3339),
		Manifests: snapshot.Build(s.Manifests(), root, prefix),
	}
	r, err := g.snap.Submit(ctx, snap)
	if err != nil {
		return "", err
	}
	n := 0
	for _, m := range snap.Manifests {
		n += len(m.Resolved)
	}
	return fmt.Sprintf("dependency snapshot %d: %d packages in %d manifests (%s)", r.ID, n, len(snap.Manifests), r.Result), nil
}

// sbomRoot is the scanned directory relative to the repository: the
// workspace in CI, else the working directory; "" when it lies outside.
func sbomRoot(env Env, dir string) (string, error) {
	files, err := env.files()
	if err != nil {
		return "", err
	}
	if files.Confined() {
		rel, err := files.Rel(dir)
		if err != nil {
			return "", fail.Configf("--source: %w", err)
		}
		return filepath.ToSlash(rel), nil
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", nil
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", nil
	}
	rel, err := filepath.Rel(wd, abs)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return "", nil
	}
	return filepath.ToSlash(rel), nil
}

func prefixed(p string, lines []string) []string {
	out := make([]string, 0, len(lines))
	for _, l := range lines {
		out = append(out, p+l)
	}
	return out
}
