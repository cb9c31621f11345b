package gha

import (
	"github.com/google/go-containerregistry/pkg/authn"

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
