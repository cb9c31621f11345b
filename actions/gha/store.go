package gha

import (
	"encoding/json"

	"github.com/google/go-containerregistry/pkg/authn"

	"github.com/paved-dev/paved/shared/bounded"
	"github.com/paved-dev/paved/shared/command"
)

var _ command.GitHubEnv = (*Door)(nil)

// GitHubAPIURL implements command.GitHubEnv: GITHUB_API_URL, which the runner
// sets for github.com, GHE.com and GitHub Enterprise Server alike.
func (d *Door) GitHubAPIURL() string { return d.getenv("GITHUB_API_URL") }

// GitHubToken implements command.GitHubEnv: GITHUB_TOKEN when the workflow put
// it in the step's environment.
func (d *Door) GitHubToken() string { return d.getenv("GITHUB_TOKEN") }

var _ command.RegistryKeychain = (*Door)(nil)

// RegistryKeychain implements command.RegistryKeychain: ghcr.io with the
// job's token (as GITHUB_ACTOR): GITHUB_TOKEN when the workflow put it in the
// step's environment, else the action's github-token input, which defaults to
// it. The job then needs no docker login for its own packages (with
// `permissions: packages: read`, or `write` to attach attestations).
func (d *Door) RegistryKeychain() authn.Keychain {
	token := d.GitHubToken()
	if token == "" {
		token = d.getenv("INPUT_GITHUB_TOKEN")
	}
	d.Mask(token)
	return command.HostKeychain{Host: "ghcr.io", Username: d.getenv("GITHUB_ACTOR"), Password: token}
}

var _ command.GitHubEvent = (*Door)(nil)

// ReleaseTag implements command.GitHubEvent: the tag_name of the release a
// `release` event is about (GITHUB_EVENT_NAME and the event payload), "" for
// any other event or a payload that does not say.
func (d *Door) ReleaseTag() string {
	if d.getenv("GITHUB_EVENT_NAME") != "release" {
		return ""
	}
	p := d.getenv("GITHUB_EVENT_PATH")
	if p == "" {
		return ""
	}
	data, err := bounded.ReadFile(p, maxEvent)
	if err != nil {
		return ""
	}
	var ev struct {
		Release struct {
			TagName string `json:"tag_name"`
		} `json:"release"`
	}
	if json.Unmarshal(data, &ev) != nil {
		return ""
	}
	return ev.Release.TagName
}

// Workflow implements command.GitHubEvent: GITHUB_WORKFLOW, the workflow's name.
func (d *Door) Workflow() string { return d.getenv("GITHUB_WORKFLOW") }
