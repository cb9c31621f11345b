package report

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/paved-dev/paved/shared/policy"
)

// GitLabSchemaVersion is the version of GitLab's security report schema
// (dependency-scanning-report-format.json) that GitLabDependencyScanning
// writes. GitLab has no Go library for it meant for use outside its own
// analyzers, so the types below follow the published schema.
const GitLabSchemaVersion = "15.2.1"

// gitlabTime is the schema's date-time form: no fraction, no zone (UTC).
const gitlabTime = "2006-01-02T15:04:05"

// Bounds of the schema: a vulnerability's name and an identifier list.
const (
	maxGitLabName        = 255
	maxGitLabIdentifiers = 20
)

// GitLabReport is a GitLab security report of type dependency_scanning.
type GitLabReport struct {
	Version         string                `json:"version"`
	Scan            GitLabScan            `json:"scan"`
	Vulnerabilities []GitLabVulnerability `json:"vulnerabilities"`
}

// GitLabScan describes the scan: the analyzer and scanner that ran it, when,
// and whether it completed.
type GitLabScan struct {
	Analyzer  GitLabTool `json:"analyzer"`
	Scanner   GitLabTool `json:"scanner"`
	Type      string     `json:"type"`
	StartTime string     `json:"start_time"`
	EndTime   string     `json:"end_time"`
	Status    string     `json:"status"`
}

// GitLabTool is the schema's analyzer or scanner object.
type GitLabTool struct {
	ID      string       `json:"id"`
	Name    string       `json:"name"`
	URL     string       `json:"url,omitempty"`
	Version string       `json:"version"`
	Vendor  GitLabVendor `json:"vendor"`
}

// GitLabVendor names who makes an analyzer or scanner.
type GitLabVendor struct {
	Name string `json:"name"`
}

// GitLabVulnerability is one finding. GitLab tracks it across pipelines by
// its first identifier and its location.
type GitLabVulnerability struct {
	ID          string             `json:"id"`
	Name        string             `json:"name,omitempty"`
	Description string             `json:"description,omitempty"`
	Severity    string             `json:"severity,omitempty"`
	Solution    string             `json:"solution,omitempty"`
	Identifiers []GitLabIdentifier `json:"identifiers"`
	Links       []GitLabLink       `json:"links,omitempty"`
	Location    GitLabLocation     `json:"location"`
}

// GitLabIdentifier is a typed reference such as a CVE or GHSA id.
type GitLabIdentifier struct {
	Type  string `json:"type"`
	Name  string `json:"name"`
	Value string `json:"value"`
	URL   string `json:"url,omitempty"`
}

// GitLabLink is a URL about a vulnerability.
type GitLabLink struct {
	Name string `json:"name,omitempty"`
	URL  string `json:"url"`
}

// GitLabLocation is where a dependency_scanning finding is: the dependency
// file (here the SBOM) and the package in it.
type GitLabLocation struct {
	File       string           `json:"file"`
	Dependency GitLabDependency `json:"dependency"`
}

// GitLabDependency is a package at a version.
type GitLabDependency struct {
	Package GitLabPackage `json:"package"`
	Version string        `json:"version,omitempty"`
}

// GitLabPackage names a package.
type GitLabPackage struct {
	Name string `json:"name"`
}

// GitLabDependencyScanning writes the findings that deny or warn as a GitLab
// dependency_scanning security report, which a job declares under
// artifacts:reports:dependency_scanning so that they show in the merge
// request's security widget and the vulnerability report. Excused findings
// are left out: the policy already accepted them. Vulnerable findings keep
// their severity and advisory ids; malicious ones are Critical; the other
// rules (license, unmaintained, provenance...) are Medium when they deny and
// Info when they only warn.
func GitLabDependencyScanning(w io.Writer, rep *policy.Report, o Options) error {
	version := o.ToolVersion
	if version == "" {
		version = "devel"
	}
	tool := GitLabTool{ID: "paved-policy", Name: "Paved policy", URL: "https://github.com/paved-dev/paved", Version: version, Vendor: GitLabVendor{Name: "Paved"}}
	at := rep.EvaluatedAt.UTC().Format(gitlabTime)
	out := GitLabReport{
		Version:         GitLabSchemaVersion,
		Scan:            GitLabScan{Analyzer: tool, Scanner: tool, Type: "dependency_scanning", StartTime: at, EndTime: at, Status: "success"},
		Vulnerabilities: []GitLabVulnerability{},
	}
	for _, f := range rep.Findings {
		if f.Action == policy.Excused {
			continue
		}
		out.Vulnerabilities = append(out.Vulnerabilities, gitlabVulnerability(f, o.sbomPath()))
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

func gitlabVulnerability(f policy.Finding, file string) GitLabVulnerability {
	name := f.Name
	if name == "" {
		name = f.Component
	}
	title := f.Rule + ": " + f.Component
	if f.Record != "" && f.Record != f.Component {
		title += " (" + f.Record + ")"
	}
	desc := f.Message
	if len(f.Path) > 1 {
		desc += "\n\nDependency path: " + strings.Join(f.Path, " > ")
	}
	if f.Excuse != "" {
		desc += "\n\nTo accept it instead: " + f.Excuse
	}
	v := GitLabVulnerability{
		ID:          findingUUID(f, file),
		Name:        clipRunes(title, maxGitLabName),
		Description: desc,
		Severity:    gitlabSeverity(f),
		Solution:    f.Fix,
		Identifiers: gitlabIdentifiers(f),
		Location:    GitLabLocation{File: file, Dependency: GitLabDependency{Package: GitLabPackage{Name: name}, Version: f.Version}},
	}
	for _, id := range v.Identifiers {
		if id.URL != "" {
			v.Links = append(v.Links, GitLabLink{Name: id.Name, URL: id.URL})
		}
	}
	return v
}

// gitlabSeverity maps a finding to the schema's severity words.
func gitlabSeverity(f policy.Finding) string {
	switch f.Rule {
	case policy.RuleMalicious:
		return "Critical"
	case policy.RuleVulnerable:
		switch strings.ToLower(f.Severity) {
		case "critical":
			return "Critical"
		case "high", "important":
			return "High"
		case "medium", "moderate":
			return "Medium"
		case "low":
			return "Low"
		}
		return "Unknown"
	}
	if f.Action == policy.Deny {
		return "Medium"
	}
	return "Info"
}

// gitlabIdentifiers puts the advisory first (GitLab tracks a finding by its
// first identifier), then its aliases, then the policy rule, which is the
// only identifier of findings that have no advisory.
func gitlabIdentifiers(f policy.Finding) []GitLabIdentifier {
	var ids []GitLabIdentifier
	seen := map[string]bool{}
	for _, rec := range append([]string{f.Record}, f.Aliases...) {
		if rec == "" || rec == f.Component || seen[rec] || (f.Rule != policy.RuleVulnerable && f.Rule != policy.RuleMalicious) {
			continue
		}
		seen[rec] = true
		ids = append(ids, advisoryIdentifier(rec))
	}
	if len(ids) > maxGitLabIdentifiers-1 {
		ids = ids[:maxGitLabIdentifiers-1]
	}
	return append(ids, GitLabIdentifier{Type: "paved_policy", Name: "Paved policy rule " + f.Rule, Value: f.Rule})
}

func advisoryIdentifier(id string) GitLabIdentifier {
	switch {
	case strings.HasPrefix(id, "CVE-"):
		return GitLabIdentifier{Type: "cve", Name: id, Value: id, URL: "https://www.cve.org/CVERecord?id=" + url.QueryEscape(id)}
	case strings.HasPrefix(id, "GHSA-"):
		return GitLabIdentifier{Type: "ghsa", Name: id, Value: id, URL: "https://github.com/advisories/" + url.PathEscape(id)}
	}
	return GitLabIdentifier{Type: "osv", Name: id, Value: id, URL: "https://osv.dev/vulnerability/" + url.PathEscape(id)}
}

// findingUUID is a stable UUID (version 5 layout over SHA-256) of the finding
// and the file, so the same finding keeps its id from one pipeline to the next.
func findingUUID(f policy.Finding, file string) string {
	sum := sha256.Sum256([]byte(fingerprint(f) + "\x00" + file))
	sum[6] = sum[6]&0x0f | 0x50
	sum[8] = sum[8]&0x3f | 0x80
	h := hex.EncodeToString(sum[:16])
	return fmt.Sprintf("%s-%s-%s-%s-%s", h[:8], h[8:12], h[12:16], h[16:20], h[20:32])
}

func clipRunes(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}
