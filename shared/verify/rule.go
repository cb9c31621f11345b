package verify

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"

	"github.com/sigstore/sigstore-go/pkg/fulcio/certificate"
	"go.yaml.in/yaml/v3"

	"github.com/paved-dev/paved/shared/fail"
)

// GitHubIssuer is the OIDC issuer of GitHub Actions on github.com.
const GitHubIssuer = "https://token.actions.githubusercontent.com"

// Rule is one accepted signer, in the terms of `gh attestation verify` for
// GitHub Actions and their equivalents for GitLab CI/CD. Zero fields are not
// checked; a rule must say who signed, through a platform field or a
// certificate identity.
type Rule struct {
	// Name labels the rule in messages.
	Name string `yaml:"name,omitempty" json:"name,omitempty"`

	// Owner is the GitHub organisation or user that owns the source repository.
	Owner string `yaml:"owner,omitempty" json:"owner,omitempty"`
	// Repo is the source repository, OWNER/REPO.
	Repo string `yaml:"repo,omitempty" json:"repo,omitempty"`
	// SignerRepo is the repository of the workflow that signed, when it is not
	// the source repository (a reusable workflow).
	SignerRepo string `yaml:"signer-repo,omitempty" json:"signer-repo,omitempty"`
	// SignerWorkflow is the signing workflow, [HOST/]OWNER/REPO/.github/workflows/FILE.
	SignerWorkflow string `yaml:"signer-workflow,omitempty" json:"signer-workflow,omitempty"`
	// Hostname is the GitHub host (default github.com).
	Hostname string `yaml:"hostname,omitempty" json:"hostname,omitempty"`

	// Project is the GitLab project path, GROUP/PROJECT.
	Project string `yaml:"project,omitempty" json:"project,omitempty"`
	// Namespace is the GitLab group or user that owns the project.
	Namespace string `yaml:"namespace,omitempty" json:"namespace,omitempty"`
	// CIConfigRefURI is the pipeline definition that must have signed,
	// HOST/GROUP/PROJECT//PATH@REF as in GitLab's ci_config_ref_uri claim.
	CIConfigRefURI string `yaml:"ci-config-ref-uri,omitempty" json:"ci-config-ref-uri,omitempty"`
	// GitLabURL is the GitLab instance (default https://gitlab.com).
	GitLabURL string `yaml:"gitlab-url,omitempty" json:"gitlab-url,omitempty"`

	// CertIdentity is the exact certificate identity (SAN).
	CertIdentity string `yaml:"cert-identity,omitempty" json:"cert-identity,omitempty"`
	// CertIdentityRegex is a regular expression the SAN must match.
	CertIdentityRegex string `yaml:"cert-identity-regex,omitempty" json:"cert-identity-regex,omitempty"`
	// CertOIDCIssuer is the OIDC issuer (default: the platform's).
	CertOIDCIssuer string `yaml:"cert-oidc-issuer,omitempty" json:"cert-oidc-issuer,omitempty"`
	// SignerDigest is the commit of the signing workflow.
	SignerDigest string `yaml:"signer-digest,omitempty" json:"signer-digest,omitempty"`
	// SourceRef is the git ref that was built, e.g. refs/heads/main.
	SourceRef string `yaml:"source-ref,omitempty" json:"source-ref,omitempty"`
	// SourceDigest is the commit that was built.
	SourceDigest string `yaml:"source-digest,omitempty" json:"source-digest,omitempty"`
	// DenySelfHostedRunners refuses signatures made on self-hosted runners.
	DenySelfHostedRunners bool `yaml:"deny-self-hosted-runners,omitempty" json:"deny-self-hosted-runners,omitempty"`
}

func (r Rule) github() bool {
	return r.Owner != "" || r.Repo != "" || r.SignerRepo != "" || r.SignerWorkflow != ""
}

func (r Rule) gitlab() bool { return r.Project != "" || r.Namespace != "" || r.CIConfigRefURI != "" }

// Identity converts the rule into the certificate checks it stands for.
func (r Rule) Identity() (Identity, error) {
	if r.github() && r.gitlab() {
		return Identity{}, fail.Configf("identity %s mixes GitHub fields (owner, repo, signer-*) and GitLab fields (project, namespace, ci-config-ref-uri): use one rule per platform", r.label())
	}
	id := Identity{SAN: r.CertIdentity, SANRegex: r.CertIdentityRegex, Issuer: r.CertOIDCIssuer}
	id.Extensions = certificate.Extensions{
		BuildSignerDigest:      r.SignerDigest,
		SourceRepositoryRef:    r.SourceRef,
		SourceRepositoryDigest: r.SourceDigest,
	}
	if err := r.sourceConstrained(); err != nil {
		return Identity{}, err
	}
	var err error
	switch {
	case r.github():
		err = r.githubIdentity(&id)
	case r.gitlab():
		r.gitlabIdentity(&id)
	default:
		err = r.bareIdentity(id)
	}
	if err != nil {
		return Identity{}, err
	}
	if id.SANRegex != "" {
		if _, err := regexp.Compile(id.SANRegex); err != nil {
			return Identity{}, fail.Configf("certificate identity regex: %w", err)
		}
	}
	return id, nil
}

// githubIdentity fills id from the rule's GitHub fields: the repository
// and owner extensions, and, unless a certificate identity is given, the
// workflow identity (SAN) of the signer, repository or owner named.
func (r Rule) githubIdentity(id *Identity) error {
	host := r.Hostname
	if host == "" {
		host = "github.com"
	}
	base := "https://" + host + "/"
	if id.Issuer == "" {
		id.Issuer = GitHubIssuer
	}
	if r.Owner != "" {
		id.Extensions.SourceRepositoryOwnerURI = base + r.Owner
	}
	if r.Repo != "" {
		if !strings.Contains(r.Repo, "/") {
			return fail.Configf("repo %q: want OWNER/REPO", r.Repo)
		}
		id.Extensions.SourceRepositoryURI = base + r.Repo
	}
	if id.SAN == "" && id.SANRegex == "" {
		switch {
		case r.SignerWorkflow != "":
			wf := strings.TrimPrefix(strings.TrimPrefix(r.SignerWorkflow, "https://"), host+"/")
			id.SANRegex = "^" + regexp.QuoteMeta(base+wf) + "@"
		case r.SignerRepo != "":
			id.SANRegex = "^" + regexp.QuoteMeta(base+r.SignerRepo+"/")
		case r.Repo != "":
			id.SANRegex = "^" + regexp.QuoteMeta(base+r.Repo+"/")
		default:
			id.SANRegex = "^" + regexp.QuoteMeta(base+r.Owner+"/")
		}
	}
	if r.DenySelfHostedRunners {
		id.Extensions.RunnerEnvironment = "github-hosted"
	}
	return nil
}

// gitlabIdentity fills id from the rule's GitLab fields: the project and
// namespace extensions, the pipeline definition, and, unless a certificate
// identity is given, the SAN of the pipeline or project named.
func (r Rule) gitlabIdentity(id *Identity) {
	base := strings.TrimSuffix(r.GitLabURL, "/")
	if base == "" {
		base = "https://gitlab.com"
	}
	if id.Issuer == "" {
		id.Issuer = base
	}
	ext := &id.Extensions
	if r.Project != "" {
		ext.SourceRepositoryURI = base + "/" + r.Project
	}
	if r.Namespace != "" {
		ext.SourceRepositoryOwnerURI = base + "/" + r.Namespace
	}
	if r.CIConfigRefURI != "" {
		ext.BuildConfigURI = "https://" + strings.TrimPrefix(r.CIConfigRefURI, "https://")
	}
	if id.SAN == "" && id.SANRegex == "" {
		switch {
		case r.CIConfigRefURI != "":
			id.SAN = ext.BuildConfigURI
		case r.Project != "":
			id.SANRegex = "^" + regexp.QuoteMeta(base+"/"+r.Project+"//")
		default:
			id.SANRegex = "^" + regexp.QuoteMeta(base+"/"+r.Namespace+"/")
		}
	}
	if r.DenySelfHostedRunners {
		ext.RunnerEnvironment = "gitlab-hosted"
	}
}

// bareIdentity checks a rule that names no platform: it must give a
// certificate identity and its issuer, and cannot ask about runners.
func (r Rule) bareIdentity(id Identity) error {
	if id.SAN == "" && id.SANRegex == "" {
		return fail.Configf("no identity to verify against: give --owner or --repo (GitHub), --project or --namespace (GitLab), or --cert-identity with --cert-oidc-issuer")
	}
	if id.Issuer == "" {
		return fail.Configf("--cert-identity needs --cert-oidc-issuer: the issuer of the identity that must have signed")
	}
	if r.DenySelfHostedRunners {
		return fail.Configf("--deny-self-hosted-runners needs a platform: give --owner/--repo or --project/--namespace")
	}
	return nil
}

// sourceConstrained refuses a rule that names who signed but not whose source
// was built. A signer alone (a shared or reusable workflow, a pipeline
// definition, a CI certificate identity) is run by any repository that calls
// it, so such a rule accepts artifacts built from anyone's code; gh attestation
// verify refuses the same shape.
func (r Rule) sourceConstrained() error {
	switch {
	case r.github():
		if r.Owner == "" && r.Repo == "" {
			return fail.Configf("identity %s names the signing workflow (signer-repo or signer-workflow) but not the source: any repository that calls that workflow would pass; add --owner OWNER or --repo OWNER/REPO (owner: or repo: in a policy file)", r.label())
		}
	case r.gitlab():
		if r.Project == "" && r.Namespace == "" {
			return fail.Configf("identity %s names the pipeline definition (ci-config-ref-uri) but not the source: any project whose pipeline runs that definition would pass; add --project GROUP/PROJECT or --namespace GROUP (project: or namespace: in a policy file)", r.label())
		}
	default:
		id := Identity{SAN: r.CertIdentity, SANRegex: r.CertIdentityRegex, Issuer: r.CertOIDCIssuer}
		if ciIdentity(id) {
			return fail.Configf("identity %s is a CI workflow or pipeline identity (%s) with no source constraint: the same workflow signs for every repository that calls it; add --owner OWNER or --repo OWNER/REPO (GitHub), or --project GROUP/PROJECT or --namespace GROUP (GitLab) (the same fields in a policy file)", r.label(), id.String())
		}
	}
	return nil
}

// ciIdentity reports whether id names a CI signer (GitHub Actions or GitLab
// CI/CD), by its issuer or by the shape of its certificate identity.
func ciIdentity(id Identity) bool {
	iss := strings.ToLower(id.Issuer + " " + id.IssuerRegex)
	if strings.Contains(iss, "token.actions.") || strings.Contains(iss, "gitlab") {
		return true
	}
	san := strings.ToLower(id.SAN + " " + id.SANRegex)
	unquoted := strings.ReplaceAll(san, `\`, "")
	if strings.Contains(unquoted, "/.github/workflows/") || strings.Contains(unquoted, ".gitlab-ci") {
		return true
	}
	// GitLab's identity is the ci_config_ref_uri, HOST/GROUP/PROJECT//PATH@REF.
	for _, s := range []string{id.SAN, id.SANRegex} {
		_, rest, ok := strings.Cut(s, "://")
		if !ok {
			rest = s
		}
		if strings.Contains(rest, "//") {
			return true
		}
	}
	return false
}

func (r Rule) label() string {
	if r.Name != "" {
		return fmt.Sprintf("%q", r.Name)
	}
	return "rule"
}

// PolicyVersion is the version of the policy file format this Paved reads.
const PolicyVersion = 1

// PolicyFile is an organisation's verification policy: the signers it accepts,
// the predicate type it requires and the trust roots it believes.
type PolicyFile struct {
	Version int `yaml:"version" json:"version"`
	// PredicateType every verified statement must have (default SLSA provenance v1).
	PredicateType string `yaml:"predicate-type,omitempty" json:"predicate-type,omitempty"`
	// TrustedRoots are trusted_root.json files, relative to the policy file,
	// "public-good" for Sigstore's public-good instance, or
	// "tuf:MIRROR_URL#ROOT_JSON" for an instance publishing its trusted root
	// through a TUF repository (ROOT_JSON relative to the policy file too).
	TrustedRoots []string `yaml:"trusted-roots,omitempty" json:"trusted-roots,omitempty"`
	// Identities are the accepted signers; any one of them suffices.
	Identities []Rule `yaml:"identities" json:"identities"`
}

// ParsePolicy reads a policy file, refusing unknown fields; errors carry the
// line number.
func ParsePolicy(data []byte) (*PolicyFile, error) {
	if len(data) > 1<<20 {
		return nil, fail.Configf("policy file is larger than 1 MiB")
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var p PolicyFile
	if err := dec.Decode(&p); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fail.Configf("policy file is empty: it needs version: %d and at least one entry under identities", PolicyVersion)
		}
		return nil, fail.Configf("policy file: %w", err)
	}
	if p.Version != PolicyVersion {
		return nil, fail.Configf("policy file version %d is not supported: set version: %d", p.Version, PolicyVersion)
	}
	if len(p.Identities) == 0 {
		return nil, fail.Configf("policy file lists no identities: add at least one under identities (owner, repo, project, or cert-identity with cert-oidc-issuer)")
	}
	for i, r := range p.Identities {
		if _, err := r.Identity(); err != nil {
			return nil, fail.Configf("policy file identities[%d]: %w", i, err)
		}
	}
	return &p, nil
}

// IdentityList turns every accepted signer of the policy into an Identity.
func (p *PolicyFile) IdentityList() ([]Identity, error) {
	ids := make([]Identity, 0, len(p.Identities))
	for _, r := range p.Identities {
		id, err := r.Identity()
		if err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, nil
}

// SignerRule is the rule that accepts exactly the signer of a certificate:
// its identity and issuer and, for a CI signer, the source repository the
// certificate names (sourceRepoURI, the Source Repository URI extension), so
// the rule passes the source constraint Identity requires. Step summaries
// build their suggested verify commands from it.
func SignerRule(san, issuer, sourceRepoURI string) Rule {
	r := Rule{CertIdentity: san, CertOIDCIssuer: issuer}
	if !ciIdentity(Identity{SAN: san, Issuer: issuer}) {
		return r
	}
	scheme, rest, ok := strings.Cut(sourceRepoURI, "://")
	host, path, _ := strings.Cut(rest, "/")
	if !ok || host == "" || !strings.Contains(path, "/") {
		return r
	}
	if strings.Contains(san, "/.github/workflows/") {
		r.Repo = path
		if host != "github.com" {
			r.Hostname = host
		}
		return r
	}
	r.Project = path
	if base := scheme + "://" + host; base != "https://gitlab.com" {
		r.GitLabURL = base
	}
	return r
}

// Args renders the rule as paved verify flags, in a fixed order.
func (r Rule) Args() []string {
	var out []string
	for _, kv := range [][2]string{
		{"owner", r.Owner}, {"repo", r.Repo}, {"hostname", r.Hostname},
		{"signer-repo", r.SignerRepo}, {"signer-workflow", r.SignerWorkflow},
		{"project", r.Project}, {"namespace", r.Namespace}, {"gitlab-url", r.GitLabURL},
		{"ci-config-ref-uri", r.CIConfigRefURI},
		{"cert-identity", r.CertIdentity}, {"cert-identity-regex", r.CertIdentityRegex}, {"cert-oidc-issuer", r.CertOIDCIssuer},
		{"signer-digest", r.SignerDigest}, {"source-ref", r.SourceRef}, {"source-digest", r.SourceDigest},
	} {
		if kv[1] != "" {
			out = append(out, "--"+kv[0], kv[1])
		}
	}
	if r.DenySelfHostedRunners {
		out = append(out, "--deny-self-hosted-runners")
	}
	return out
}
