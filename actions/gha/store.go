package gha

import "github.com/paved-dev/paved/shared/command"

var _ command.GitHubEnv = (*Door)(nil)

// GitHubAPIURL implements command.GitHubEnv: GITHUB_API_URL, which the runner
// sets for github.com, GHE.com and GitHub Enterprise Server alike.
func (d *Door) GitHubAPIURL() string { return d.getenv("GITHUB_API_URL") }

// GitHubToken implements command.GitHubEnv: GITHUB_TOKEN when the workflow put
// it in the step's environment.
func (d *Door) GitHubToken() string { return d.getenv("GITHUB_TOKEN") }
