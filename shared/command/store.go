package command

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/paved-dev/paved/shared/fail"
	"github.com/paved-dev/paved/shared/githubapi"
	"github.com/paved-dev/paved/shared/promote"
	"github.com/paved-dev/paved/shared/store"
	"github.com/paved-dev/paved/shared/subject"
)

// storeInputs are the inputs of every command that stores bundles, named after
// the options of GitHub's own attest action where they mean the same.
func storeInputs() []Input {
	return []Input{
		{Name: "bundles-jsonl", Usage: "JSON Lines file collecting every bundle of the run (default: attestations.jsonl beside the bundle; \"none\" to skip)"},
		{Name: "push-to-registry", Bool: true, Usage: "attach the bundle to each --registry-image as an OCI 1.1 referrer (credentials: the Docker config, else the job's own for its platform's registry)"},
		{Name: "registry-image", List: true, Usage: "images the attestation is about, by tag or digest, for --push-to-registry"},
		{Name: "registry-platforms", Bool: true, Usage: "also attach to each platform manifest of a multi-arch image that the attestation names as a subject"},
		{Name: "github-attestations", Bool: true, Usage: "store the bundle with GitHub's artifact attestations API (needs 'permissions: attestations: write'); in GitHub Actions it is stored there by default, as actions/attest does, with a warning when the job lacks the permission; true makes a refusal fail the step, false skips it"},
		{Name: "github-repository", Usage: "OWNER/NAME for --github-attestations (default: the workflow's repository)"},
		{Name: "github-token", Secret: true, Usage: "token for --github-attestations (in GitHub Actions, default: the job's token, github.token)"},
		{Name: "github-api-url", Usage: "GitHub REST API base for --github-attestations (default: GITHUB_API_URL in GitHub Actions, else derived from the server URL)"},
		{Name: "gitlab-package", Usage: "in GitLab CI/CD, also store the bundle in the project's generic package registry under this package name (with the job token)"},
		{Name: "gitlab-package-version", Usage: "version of --gitlab-package (default: the tag, else the commit SHA)"},
	}
}

// storeOptions are the storeInputs.
type storeOptions struct {
	BundlesJSONL          string   `input:"bundles-jsonl"`
	PushToRegistry        bool     `input:"push-to-registry"`
	RegistryImages        []string `input:"registry-image"`
	RegistryImagesSet     bool     `input:"registry-image,set"`
	RegistryPlatforms     bool     `input:"registry-platforms"`
	GitHubAttestations    bool     `input:"github-attestations"`
	GitHubAttestationsSet bool     `input:"github-attestations,set"`
	GitHubRepository      string   `input:"github-repository"`
	GitHubToken           string   `input:"github-token"`
	GitHubAPIURL          string   `input:"github-api-url"`
	GitLabPackage         string   `input:"gitlab-package"`
	GitLabPackageVersion  string   `input:"gitlab-package-version"`
}

// StoreProvider is implemented by front doors that add storage targets of
// their own platform (the GitLab package registry), which the core cannot
// import. StoreTargets returns none when the inputs ask for none.
type StoreProvider interface {
	StoreTargets(pkg GitLabPackage) ([]store.Writer, error)
}

// GitLabPackage is the generic package of the job's GitLab project that
// --gitlab-package and --gitlab-package-version name: where bundles are
// stored and read ("" Name: none; "" Version: the platform's default).
type GitLabPackage struct {
	Name, Version string
}

// FileUploaderProvider is implemented by front doors that can upload release
// files to a store of their own platform (the GitLab generic package
// registry), which the core cannot import. An empty version means the
// platform's default.
type FileUploaderProvider interface {
	FileUploader(pkg, version string) (promote.Uploader, error)
}

// GitHubEnv is implemented by the GitHub Actions front door: the job's API URL
// and token, the defaults of --github-api-url and --github-token.
type GitHubEnv interface {
	GitHubAPIURL() string
	GitHubToken() string
}

// GitHubEvent is implemented by the GitHub Actions front door: what started
// the workflow run.
type GitHubEvent interface {
	// ReleaseTag is the tag of the release a `release` event is about, ""
	// for any other event.
	ReleaseTag() string
	// Workflow is the name of the workflow (GITHUB_WORKFLOW).
	Workflow() string
}

// storing is one invocation's set of storage targets, validated before any
// signing so that bad inputs fail early and nothing is half-stored.
type storing struct {
	// writers are the remote targets, stored in first.
	writers []store.Writer
	// jsonl is the JSON Lines file ("" for none), written with the bundle
	// file once every remote target holds the bundle.
	jsonl string
	// githubOptional is the index in writers of the GitHub attestations
	// target stored in by default, whose refusal (no permission) is a
	// warning; -1 when there is none.
	githubOptional int
}

// githubByDefault reports whether the attestation goes to GitHub's
// attestations API without being asked: in GitHub Actions (whose door
// provides the GitHub defaults), with a token (the action's github-token
// input defaults to the job's) and the workflow's repository.
func githubByDefault(env Env, o storeOptions) bool {
	gh := env.GitHub
	if gh == nil || env.Platform.Run().ProjectPath == "" && o.GitHubRepository == "" {
		return false
	}
	return o.GitHubToken != "" || gh.GitHubToken() != ""
}

// newStoring validates the storage inputs and builds the targets. bundlePath
// places the default JSON Lines file; images are the images to attach to
// when --registry-image names none.
func newStoring(env Env, o storeOptions, bundlePath string, images []string) (*storing, error) {
	s := &storing{githubOptional: -1}
	httpo := store.HTTPOptions{Transport: env.Transport, Retry: env.Retry}
	switch p := o.BundlesJSONL; p {
	case "none":
	case "":
		s.jsonl = filepath.Join(filepath.Dir(bundlePath), "attestations.jsonl")
	default:
		if err := checkOutputDir(p, "bundles-jsonl"); err != nil {
			return nil, err
		}
		s.jsonl = p
	}
	if o.RegistryImagesSet {
		images = o.RegistryImages
	}
	switch {
	case o.PushToRegistry:
		if len(images) == 0 {
			return nil, fail.Configf("--push-to-registry needs --registry-image (or, as with actions/attest, the image as --subject-name with its --subject-digest): name the images to attach the attestation to")
		}
		oci, err := store.NewOCI(images, store.OCIOptions{HTTPOptions: httpo, Platforms: o.RegistryPlatforms, Keychain: env.keychain()})
		if err != nil {
			return nil, err
		}
		s.writers = append(s.writers, oci)
	case len(images) > 0:
		return nil, fail.Configf("--registry-image is set but --push-to-registry is not: set push-to-registry to attach the attestation to the images")
	}
	switch {
	case o.GitHubAttestations:
		gh, err := githubTarget(env, o, httpo)
		if err != nil {
			return nil, err
		}
		s.writers = append(s.writers, gh)
	case !o.GitHubAttestationsSet && githubByDefault(env, o):
		// As actions/attest: in GitHub Actions the attestation goes to the
		// repository's attestations, so that `gh attestation verify --repo`
		// finds it. Whether the job granted 'attestations: write' shows only
		// in GitHub's answer, so a refusal is a warning, not a failure.
		gh, err := githubTarget(env, o, httpo)
		if err != nil {
			return nil, err
		}
		s.githubOptional = len(s.writers)
		s.writers = append(s.writers, gh)
	}
	if p := env.Stores; p != nil {
		extra, err := p.StoreTargets(GitLabPackage{Name: o.GitLabPackage, Version: o.GitLabPackageVersion})
		if err != nil {
			return nil, err
		}
		s.writers = append(s.writers, extra...)
	} else if o.GitLabPackage != "" {
		return nil, fail.Configf("--gitlab-package works only inside a GitLab CI/CD job (it uses the job token)")
	}
	return s, nil
}

func githubTarget(env Env, o storeOptions, httpo store.HTTPOptions) (*store.GitHub, error) {
	gh := env.GitHub
	run := env.Platform.Run()
	repo := o.GitHubRepository
	if repo == "" && gh != nil {
		repo = run.ProjectPath
	}
	if repo == "" {
		return nil, fail.Configf("--github-attestations needs --github-repository OWNER/NAME outside GitHub Actions")
	}
	ep := githubEndpoints(env, "", o.GitHubAPIURL, o.GitHubToken)
	if ep.Token == "" {
		return nil, fail.Configf("--github-attestations needs a token: pass github-token: ${{ github.token }} (with 'permissions: attestations: write') or set --github-token")
	}
	return store.NewGitHub(repo, store.GitHubOptions{APIURL: ep.APIURL, ServerURL: ep.ServerURL, Token: ep.Token, HTTPOptions: httpo})
}

// githubEndpoints resolves the GitHub instance and token from the inputs
// github-token and github-api-url, the web server (from the command's own
// input, "" for none) and the GitHub Actions job; the token is masked.
func githubEndpoints(env Env, server, apiURL, token string) githubapi.Endpoints {
	var job githubapi.Endpoints
	if gh := env.GitHub; gh != nil {
		job = githubapi.Endpoints{ServerURL: env.Platform.Run().ServerURL, APIURL: gh.GitHubAPIURL(), Token: gh.GitHubToken()}
	}
	ep := githubapi.Resolve(githubapi.Endpoints{ServerURL: server, APIURL: apiURL, Token: token}, job)
	if ep.Token != "" {
		env.Platform.Mask(ep.Token)
	}
	return ep
}

// put stores one bundle in every remote target, then writes the bundle file
// at bundlePath and adds it to the JSON Lines file. A failing target is
// reported after the others completed, and then no file is written: the
// files a run leaves are what claims it attested, so they appear only when
// every store it was asked for holds the bundle. The log says where it is.
func (s *storing) put(ctx context.Context, env Env, bundleJSON []byte, subjects []subject.Subject, bundlePath string) (map[string]string, []Annotation, error) {
	b, err := store.Parse(bundleJSON)
	if err != nil {
		return nil, nil, fmt.Errorf("storing the bundle: %w", err)
	}
	for _, sub := range subjects {
		if !b.About(sub.DigestString()) {
			return nil, nil, fmt.Errorf("storing the bundle: it does not name subject %s", sub.Name)
		}
	}
	outputs := map[string]string{}
	var warnings []Annotation
	results := store.PutAll(ctx, b, s.writers)
	for i, r := range results {
		if r.Err != nil && i == s.githubOptional && errors.Is(r.Err, store.ErrNoAccess) {
			warnings = append(warnings, Annotation{
				Level: LevelWarning,
				Title: "Attestation not stored with GitHub",
				Message: "paved: the attestation is signed and written to " + bundlePath + ", but GitHub refused to store it with the repository's attestations, so `gh attestation verify --repo` will not find it: " +
					"add 'permissions: attestations: write' (with id-token: write and contents: read) to the job, or set github-attestations: false to stop trying (" + r.Err.Error() + ")",
			})
			results[i].Err = nil
			continue
		}
		if r.Err != nil {
			fmt.Fprintf(env.log(), "paved: storing in %s failed\n", r.Target)
			continue
		}
		state := "stored"
		if r.Receipt.Existed {
			state = "already stored"
		}
		where := strings.Join(r.Receipt.Locations, ", ")
		if r.Receipt.URL != "" {
			where = r.Receipt.URL
		}
		fmt.Fprintf(env.log(), "paved: %s in %s: %s\n", state, r.Target, where)
		for k, val := range r.Receipt.Outputs {
			if prev := outputs[k]; prev != "" {
				val = prev + "\n" + val
			}
			outputs[k] = val
		}
	}
	if err := store.Errors(results); err != nil {
		return outputs, warnings, fmt.Errorf("the bundle is signed, but storing it failed, so %s (run the job again once the store is reachable): %w", s.notWritten(bundlePath), err)
	}
	if err := writeBundle(bundlePath, bundleJSON); err != nil {
		return outputs, warnings, err
	}
	if s.jsonl != "" {
		r, err := (&store.JSONLines{Path: s.jsonl}).Put(ctx, b)
		if err != nil {
			os.Remove(bundlePath)
			return outputs, warnings, fmt.Errorf("adding the bundle to %s (so %s was removed again): %w", s.jsonl, bundlePath, err)
		}
		state := "stored"
		if r.Existed {
			state = "already stored"
		}
		fmt.Fprintf(env.log(), "paved: %s in JSON Lines %s\n", state, s.jsonl)
		outputs["bundles-jsonl"] = s.jsonl
	}
	return outputs, warnings, nil
}

// notWritten says which files put left unwritten, for messages.
func (s *storing) notWritten(bundlePath string) string {
	if s.jsonl == "" {
		return bundlePath + " was not written"
	}
	return "neither " + bundlePath + " nor " + s.jsonl + " was written"
}

// storeOutputs are the outputs of commands that store bundles.
func storeOutputs() []Output {
	return []Output{
		{Name: "bundles-jsonl", Usage: "the JSON Lines file of this run's bundles"},
		{Name: store.OutputAttestationID, Usage: "id of the attestation stored with GitHub's attestations API"},
		{Name: store.OutputAttestationURL, Usage: "where GitHub shows that attestation"},
		{Name: store.OutputRegistryReferrer, Usage: "the referrer manifests attached to the images, one IMAGE@sha256:HEX per line"},
		{Name: store.OutputGitLabPackageURL, Usage: "the bundle in the GitLab generic package registry"},
	}
}
