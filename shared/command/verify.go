package command

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/paved-dev/paved/shared/atomicfile"
	"github.com/paved-dev/paved/shared/bounded"
	"github.com/paved-dev/paved/shared/logtext"
	"github.com/paved-dev/paved/shared/parallel"

	"github.com/sigstore/sigstore-go/pkg/fulcio/certificate"
	"github.com/sigstore/sigstore-go/pkg/root"

	"github.com/paved-dev/paved/shared/fail"
	"github.com/paved-dev/paved/shared/ghformat"
	"github.com/paved-dev/paved/shared/provenance"
	"github.com/paved-dev/paved/shared/store"
	"github.com/paved-dev/paved/shared/subject"
	"github.com/paved-dev/paved/shared/trust"
	"github.com/paved-dev/paved/shared/verify"
)

// publicGood names Sigstore's public-good instance among trusted roots.
const publicGood = "public-good"

// Verify declares `paved verify`, the gate deploy jobs run.
func Verify() *Command {
	cmd := &Command{
		Name:      "verify",
		Summary:   "refuse artifacts that cannot prove their history: verify attestations offline against an identity policy",
		Args:      "FILE|sha256:HEX|oci://IMAGE...",
		ArgsInput: "artifact",
		Inputs: append([]Input{
			{Name: "artifact", List: true, Usage: "artifacts to verify: files, digests (sha256:HEX, sha512:HEX) or oci://IMAGE references"},
			{Name: "bundle", List: true, Usage: "Sigstore bundles: files, JSON Lines files or directories of *.sigstore.json"},
			{Name: "bundle-from", List: true, Options: []string{"registry", "github", "gitlab"}, Usage: "also fetch bundles by artifact digest: registry (OCI referrers of oci:// artifacts; the default for them without --bundle), github (the artifact attestations API of --repo or --github-repository), gitlab (in GitLab CI/CD: the project's generic package --gitlab-package, with the job token)"},
			{Name: "github-repository", Usage: "OWNER/NAME whose attestations API --bundle-from github reads (default: --repo)"},
			{Name: "github-token", Secret: true, Usage: "token for --bundle-from github (in GitHub Actions, default: the job's token, github.token; public repositories need none)"},
			{Name: "github-api-url", Usage: "GitHub REST API base for --bundle-from github (default: GITHUB_API_URL in GitHub Actions, else derived from --hostname)"},
			{Name: "gitlab-package", Usage: "generic package that --bundle-from gitlab reads: the --gitlab-package paved attest stored the bundles in"},
			{Name: "gitlab-package-version", Usage: "version of --gitlab-package (default: the tag, else the commit SHA)"},
			{Name: "trusted-root", List: true, Usage: "trusted_root.json files to believe, public-good, or tuf:MIRROR_URL#ROOT_JSON for an instance that publishes its trusted root through TUF (default: public-good Sigstore through TUF)"},
		}, append(verifyPolicyInputs(), []Input{
			{Name: "kit", Usage: "verification kit directory: read bundles, trusted roots and policy from it, or write them there after a successful verification"},
			{Name: "format", Default: "text", Options: []string{"text", "json", formatGHJSON}, Usage: "text; json to print Paved's report of the verified statements for scripts; gh-json to print what gh attestation verify --format json prints, an array of {attestation, verificationResult}"},
			{Name: "jq", Short: "q", CLIOnly: true, Usage: "filter the --format json or gh-json output with a jq expression, as gh's --jq does"},
			{Name: "template", Short: "t", CLIOnly: true, Usage: "format the --format json or gh-json output with a Go template, as gh's --template does (functions: join, pluck, truncate, timefmt, timeago, tablerow, tablerender)"},
			{Name: "report-path", Usage: "also write the JSON report to this file"},
			{Name: "any-identity-unsafe", Bool: true, Usage: "accept any signer (prints a warning; for debugging only)"},
			{Name: "bundle-from-oci", Bool: true, CLIOnly: true, Usage: "gh's spelling of --bundle-from registry: fetch the bundles of oci:// artifacts from their registry"},
			{Name: "no-public-good", Bool: true, CLIOnly: true, Usage: "refuse Sigstore's public-good instance as a trusted root, as gh's flag does: name the roots to believe with --trusted-root"},
			{Name: "digest-alg", Short: "d", CLIOnly: true, Options: []string{"sha256", "sha512"}, Usage: "match file artifacts by this digest only, as gh does (default: sha256 and any algorithm a bundle names)"},
			{Name: "limit", Short: "L", CLIOnly: true, Pattern: `^([1-9][0-9]{0,2}|1000)$`, Usage: "at most this many bundles fetched per artifact from each --bundle-from source, 1 to 1000 (default: the verification budget)"},
		}...)...),
		Outputs: []Output{
			{Name: "verified", Usage: "true when every artifact has an attestation that verifies under the policy"},
			{Name: "artifacts", Usage: "the verified artifacts, one \"DIGEST NAME\" per line"},
		},
		CI: CI{
			Title:       "Paved verify",
			Description: "Refuse artifacts that cannot prove their history: verify their attestations offline against an identity policy before deploying them.",
			Stage:       "deploy",
		},
		// As gh attestation verify refuses them: one source identity, one
		// signer constraint, and bundles either from files or from the registry.
		Exclusive: [][]string{
			{"owner", "repo"},
			{"cert-identity", "cert-identity-regex", "signer-repo", "signer-workflow"},
			{"bundle", "bundle-from-oci"},
			{"jq", "template"},
		},
	}
	// gh attestation verify's spellings of the same flags, so that a gh user
	// changes only the command name.
	gh := map[string]struct {
		short   string
		aliases []string
	}{
		"bundle":              {short: "b"},
		"repo":                {short: "R"},
		"owner":               {short: "o"},
		"cert-identity-regex": {short: "i"},
		"trusted-root":        {aliases: []string{"custom-trusted-root"}},
	}
	for i, in := range cmd.Inputs {
		if g, ok := gh[in.Name]; ok {
			cmd.Inputs[i].Short, cmd.Inputs[i].Aliases = g.short, g.aliases
		}
	}
	return typed(cmd, runVerify)
}

// verifyOptions are the inputs of paved verify.
type verifyOptions struct {
	identityOptions
	Artifacts            []string `input:"artifact"`
	Bundles              []string `input:"bundle"`
	BundleFrom           []string `input:"bundle-from"`
	BundleFromOCI        bool     `input:"bundle-from-oci"`
	GitHubRepository     string   `input:"github-repository"`
	GitHubToken          string   `input:"github-token"`
	GitHubAPIURL         string   `input:"github-api-url"`
	GitLabPackage        string   `input:"gitlab-package"`
	GitLabPackageVersion string   `input:"gitlab-package-version"`
	TrustedRoots         []string `input:"trusted-root"`
	Kit                  string   `input:"kit"`
	Format               string   `input:"format"`
	JQ                   string   `input:"jq"`
	Template             string   `input:"template"`
	ReportPath           string   `input:"report-path"`
	AnyIdentityUnsafe    bool     `input:"any-identity-unsafe"`
	NoPublicGood         bool     `input:"no-public-good"`
	DigestAlg            string   `input:"digest-alg"`
	Limit                string   `input:"limit"`
}

// identityOptions are the verifyPolicyInputs: whose attestations a gate accepts.
type identityOptions struct {
	Policy                string `input:"policy"`
	Owner                 string `input:"owner"`
	Repo                  string `input:"repo"`
	SignerRepo            string `input:"signer-repo"`
	SignerWorkflow        string `input:"signer-workflow"`
	Hostname              string `input:"hostname"`
	Project               string `input:"project"`
	Namespace             string `input:"namespace"`
	CIConfigRefURI        string `input:"ci-config-ref-uri"`
	GitLabURL             string `input:"gitlab-url"`
	CertIdentity          string `input:"cert-identity"`
	CertIdentityRegex     string `input:"cert-identity-regex"`
	CertOIDCIssuer        string `input:"cert-oidc-issuer"`
	SignerDigest          string `input:"signer-digest"`
	SourceRef             string `input:"source-ref"`
	SourceDigest          string `input:"source-digest"`
	DenySelfHostedRunners bool   `input:"deny-self-hosted-runners"`
	PredicateType         string `input:"predicate-type"`
}

// rule is the identity the flags describe (the zero Rule when none is set).
func (o identityOptions) rule() verify.Rule {
	return verify.Rule{
		Owner: o.Owner, Repo: o.Repo, SignerRepo: o.SignerRepo, SignerWorkflow: o.SignerWorkflow,
		Hostname: o.Hostname, Project: o.Project, Namespace: o.Namespace,
		CIConfigRefURI: o.CIConfigRefURI, GitLabURL: o.GitLabURL,
		CertIdentity: o.CertIdentity, CertIdentityRegex: o.CertIdentityRegex, CertOIDCIssuer: o.CertOIDCIssuer,
		SignerDigest: o.SignerDigest, SourceRef: o.SourceRef, SourceDigest: o.SourceDigest,
		DenySelfHostedRunners: o.DenySelfHostedRunners,
	}
}

// formatGHJSON is the --format that prints gh attestation verify's JSON.
const formatGHJSON = "gh-json"

// verifyPolicyInputs are the inputs that say whose attestations a gate
// accepts, shared by every command that verifies before it acts.
func verifyPolicyInputs() []Input {
	return []Input{
		{Name: "policy", Usage: "YAML policy file with the accepted identities, predicate type and trusted roots"},
		{Name: "owner", Usage: "GitHub owner of the source repository"},
		{Name: "repo", Usage: "GitHub source repository, OWNER/REPO"},
		{Name: "signer-repo", Usage: "repository of the signing workflow when it is a reusable workflow elsewhere, OWNER/REPO"},
		{Name: "signer-workflow", Usage: "signing workflow, [HOST/]OWNER/REPO/.github/workflows/FILE"},
		{Name: "hostname", Usage: "GitHub host for owner/repo checks (default github.com)"},
		{Name: "project", Usage: "GitLab source project, GROUP/PROJECT"},
		{Name: "namespace", Usage: "GitLab group or user that owns the source project"},
		{Name: "ci-config-ref-uri", Usage: "GitLab pipeline definition that must have signed, HOST/GROUP/PROJECT//PATH@REF"},
		{Name: "gitlab-url", Usage: "GitLab instance for project/namespace checks (default https://gitlab.com)"},
		{Name: "cert-identity", Usage: "exact certificate identity (SAN) that must have signed"},
		{Name: "cert-identity-regex", Usage: "regular expression the certificate identity must match"},
		{Name: "cert-oidc-issuer", Usage: "OIDC issuer of the signer (default: GitHub Actions' or the GitLab instance's)"},
		{Name: "signer-digest", Usage: "commit of the signing workflow"},
		{Name: "source-ref", Usage: "git ref that was built, e.g. refs/heads/main"},
		{Name: "source-digest", Usage: "git commit that was built"},
		{Name: "deny-self-hosted-runners", Bool: true, Usage: "refuse attestations signed on self-hosted runners"},
		{Name: "predicate-type", Default: provenance.PredicateType, Usage: "predicate type the attestation must have"},
	}
}

// verifyReport is the machine-readable result of paved verify.
type verifyReport struct {
	Verified  bool              `json:"verified"`
	Policy    verify.PolicyFile `json:"policy"`
	Artifacts []artifactReport  `json:"artifacts"`
}

// failed counts the artifacts that did not verify.
func (r verifyReport) failed() int {
	n := 0
	for _, a := range r.Artifacts {
		if !a.Verified {
			n++
		}
	}
	return n
}

type artifactReport struct {
	Name          string                `json:"name"`
	Digest        string                `json:"digest"`
	Verified      bool                  `json:"verified"`
	Bundle        string                `json:"bundle,omitempty"`
	TrustedRoot   string                `json:"trustedRoot,omitempty"`
	Signer        *signerReport         `json:"signer,omitempty"`
	PredicateType string                `json:"predicateType,omitempty"`
	Statement     json.RawMessage       `json:"statement,omitempty"`
	Build         *provenance.BuildInfo `json:"build,omitempty"`
	Failures      []verify.Failure      `json:"failures,omitempty"`
}

type signerReport struct {
	Identity string `json:"identity"`
	provenance.SignerClaims
}

func runVerify(ctx context.Context, env Env, o verifyOptions) (*Result, error) {
	shape, err := verifyShaping(env, o)
	if err != nil {
		return nil, err
	}
	plan, err := planVerify(env, o)
	if err != nil {
		return nil, err
	}
	targets, cands, err := verifyCandidates(ctx, env, o, plan.readKit)
	if err != nil {
		return nil, err
	}
	if o.NoPublicGood {
		if err := noPublicGood(plan.pol.TrustedRoots, plan.readKit); err != nil {
			return nil, err
		}
	}
	roots, err := verifyRoots(ctx, env, plan.pol.TrustedRoots, plan.kit, plan.readKit, o.Policy)
	if err != nil {
		return nil, err
	}
	outcomes := verify.All(ctx, roots, targets, cands, plan.ids, verify.Options{PredicateType: plan.pol.PredicateType, CheckStatement: provenanceAgrees, Every: o.Format == formatGHJSON}, 0)
	rep, verifiedLines := reportOutcomes(*plan.pol, outcomes)
	doc, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return nil, err
	}
	doc = append(doc, '\n')
	if p := o.ReportPath; p != "" {
		if err := atomicfile.WriteFile(p, doc, 0o644); err != nil {
			return nil, fail.Configf("writing report: %w", err)
		}
	}
	res := &Result{
		Outputs: map[string]string{"verified": fmt.Sprint(rep.Verified), "artifacts": strings.Join(verifiedLines, "\n")},
		Summary: verifySummary(rep, roots),
		Reports: []Report{verifyText(rep, roots)},
		Notices: plan.notices,
	}
	if err := shape.document(ctx, res, doc, rep.Verified, outcomes); err != nil {
		return nil, err
	}
	if !rep.Verified {
		return res, fail.Verificationf("%d of %d artifact(s) have no attestation that verifies under the policy; the report above (the step summary in CI) says what was expected and what was found", rep.failed(), len(rep.Artifacts))
	}
	if plan.kit != "" && !plan.readKit {
		if err := verify.WriteKit(plan.kit, outcomes, roots, plan.pol); err != nil {
			return res, err
		}
		res.Notices = append(res.Notices, fmt.Sprintf("verification kit written to %s: verify again offline with 'paved verify --kit %s ARTIFACT'", plan.kit, plan.kit))
	}
	return res, nil
}

// verifyPlan is what paved verify checks against: the policy, the
// identities it accepts, and the verification kit it reads or writes.
type verifyPlan struct {
	pol *verify.PolicyFile
	ids []verify.Identity
	// kit is the kit directory ("" for none); readKit is true when it
	// already holds a policy, which is then read instead of written.
	kit     string
	readKit bool
	notices []string
}

// planVerify reads the policy and the identities from the inputs or the kit.
func planVerify(env Env, o verifyOptions) (verifyPlan, error) {
	p := verifyPlan{kit: o.Kit}
	if p.kit != "" {
		// Checked before anything is looked at: the kit is read and written.
		if err := insideWorkspace(env, p.kit, "kit"); err != nil {
			return p, err
		}
	}
	p.readKit = p.kit != "" && fileExists(filepath.Join(p.kit, verify.KitPolicy))
	var err error
	if p.pol, err = verifyPolicy(env, o.identityOptions, o.TrustedRoots, p.kit, p.readKit, o.AnyIdentityUnsafe); err != nil {
		return p, err
	}
	if p.ids, err = p.pol.IdentityList(); err != nil {
		return p, err
	}
	if o.AnyIdentityUnsafe {
		p.notices = append(p.notices, "WARNING: --any-identity-unsafe accepts attestations signed by anyone: this proves integrity, not who built the artifact")
		p.ids = []verify.Identity{{SANRegex: ".*", IssuerRegex: ".*"}}
	}
	return p, nil
}

// verifyOutput is how paved verify prints its JSON: --format, then --jq or
// --template over it, each checked before anything is verified.
type verifyOutput struct {
	format string
	jq     *ghformat.Query
	tmpl   *ghformat.Template
}

func verifyShaping(env Env, o verifyOptions) (verifyOutput, error) {
	out := verifyOutput{format: o.Format}
	isJSON := out.format == "json" || out.format == formatGHJSON
	if q := o.JQ; q != "" {
		if !isJSON {
			return out, fail.Configf("--jq filters JSON output: add --format gh-json (gh's schema, what gh's --jq expressions expect) or --format json (Paved's report)")
		}
		code, err := ghformat.ParseQuery(q)
		if err != nil {
			return out, err
		}
		out.jq = code
	}
	if t := o.Template; t != "" {
		if !isJSON {
			return out, fail.Configf("--template formats JSON output: add --format gh-json (gh's schema, what gh's --template expressions expect) or --format json (Paved's report)")
		}
		parsed, err := ghformat.ParseTemplate(t, env.now)
		if err != nil {
			return out, err
		}
		out.tmpl = parsed
	}
	return out, nil
}

// document sets the result's document: Paved's report (json) or gh's schema
// (gh-json, nothing when verification failed, as gh), then filtered.
func (out verifyOutput) document(ctx context.Context, res *Result, report []byte, verified bool, outcomes []verify.Outcome) error {
	var err error
	switch out.format {
	case "json":
		res.Document = report
	case formatGHJSON:
		// gh prints nothing on standard output when verification fails.
		res.DocumentOnly = true
		if verified {
			if res.Document, err = ghformat.Attestations(outcomes); err != nil {
				return err
			}
		}
	}
	if out.jq != nil && len(res.Document) > 0 {
		if res.Document, err = out.jq.Run(ctx, res.Document); err != nil {
			return err
		}
	}
	if out.tmpl != nil && len(res.Document) > 0 {
		if res.Document, err = out.tmpl.Execute(res.Document); err != nil {
			return err
		}
	}
	return nil
}

// verifyCandidates digests the artifacts and gathers the bundles that may
// verify them: from files, the kit, and the stores --bundle-from names.
func verifyCandidates(ctx context.Context, env Env, o verifyOptions, readKit bool) ([]verify.Target, []verify.Candidate, error) {
	bundlePaths := o.Bundles
	if readKit {
		bundlePaths = append(bundlePaths, filepath.Join(o.Kit, verify.KitBundles))
	}
	from := o.BundleFrom
	if o.BundleFromOCI && !slices.Contains(from, "registry") {
		from = append(from, "registry")
	}
	var images []string
	for _, a := range o.Artifacts {
		if strings.HasPrefix(a, subject.ImagePrefix) {
			images = append(images, strings.TrimPrefix(a, subject.ImagePrefix))
		}
	}
	if len(from) == 0 && len(bundlePaths) == 0 && len(images) > 0 {
		from = []string{"registry"}
	}
	if len(bundlePaths) == 0 && len(from) == 0 {
		return nil, nil, fail.Configf("no bundles to verify with: pass --bundle FILE|DIR (bundles written by paved attest, cosign or gh attestation download), or --bundle-from registry|github|gitlab")
	}
	files, err := env.files()
	if err != nil {
		return nil, nil, err
	}
	// One budget bounds the bundles read from files and fetched, together.
	bundles := verify.Collector{Files: files}
	if err := bundles.Load(bundlePaths); err != nil {
		return nil, nil, err
	}
	algs := verify.Algorithms(bundles.Candidates)
	if a := o.DigestAlg; a != "" && a != "sha256" && !slices.Contains(algs, a) {
		algs = append(algs, a)
	}
	targets, err := verifyTargets(ctx, env, o.Artifacts, algs)
	if err != nil {
		return nil, nil, err
	}
	if a := o.DigestAlg; a != "" {
		onlyAlgorithm(targets, a)
	}
	if err := fetchBundles(ctx, env, o, from, images, targets, &bundles); err != nil {
		return nil, nil, err
	}
	return targets, bundles.Candidates, nil
}

// reportOutcomes is Paved's report of the outcomes, and the "DIGEST NAME"
// line of each verified artifact.
func reportOutcomes(pol verify.PolicyFile, outcomes []verify.Outcome) (verifyReport, []string) {
	rep := verifyReport{Verified: true, Policy: pol}
	var verifiedLines []string
	for _, oc := range outcomes {
		ar := artifactReport{Name: oc.Target.Name, Digest: oc.Target.Digest(), Verified: oc.Verified, Failures: oc.Failures}
		if oc.Verified {
			ar.Bundle, ar.TrustedRoot = oc.Candidate.Source, oc.Root
			ar.PredicateType = oc.Result.PredicateType
			ar.Statement = oc.Result.Statement
			if s := oc.Result.Signer; s != nil {
				ar.Signer = signerOf(s)
				// The build as the certificate authority verified it, never
				// as the predicate (which the build may have written) says.
				ar.Build = provenance.DescribeCertificate(s.Extensions)
			}
			verifiedLines = append(verifiedLines, ar.Digest+" "+ar.Name)
		} else {
			rep.Verified = false
		}
		rep.Artifacts = append(rep.Artifacts, ar)
	}
	return rep, verifiedLines
}

// provenanceAgrees refuses a SLSA provenance statement with a field that
// contradicts its signing certificate.
func provenanceAgrees(statement []byte, signer *certificate.Summary) error {
	if signer == nil {
		return nil
	}
	return provenance.Check(statement, signer.Extensions)
}

// FetcherProvider is implemented by front doors that fetch bundles from a
// store of their own platform (the GitLab package registry), which the core
// cannot import, for --bundle-from SOURCE. name describes where the bundles
// come from in reports.
type FetcherProvider interface {
	BundleFetcher(source string, pkg GitLabPackage) (name string, f store.Fetcher, err error)
}

// fetchBundles adds the bundles about each target from the named sources to
// into, within its limits. Fetching is the only network step of verification;
// what is fetched is verified offline afterwards like any file.
func fetchBundles(ctx context.Context, env Env, o verifyOptions, from, images []string, targets []verify.Target, into *verify.Collector) error {
	limit := 0
	if l := o.Limit; l != "" {
		limit, _ = strconv.Atoi(l) // the input's pattern admits only 1 to 1000
	}
	var fetchers []namedFetcher
	for _, src := range from {
		f, err := bundleFetcher(env, o, src, images)
		if err != nil {
			return err
		}
		fetchers = append(fetchers, f)
	}
	for _, t := range targets {
		if t.Artifact.Algorithm != "sha256" {
			continue
		}
		for _, f := range fetchers {
			docs, err := f.Fetch(ctx, t.Digest())
			if err != nil {
				return fmt.Errorf("fetching bundles for %s from %s: %w", t.Name, f.name, err)
			}
			if limit > 0 && len(docs) > limit {
				docs = docs[:limit]
			}
			for i, d := range docs {
				if err := into.Parse(d, fmt.Sprintf("%s #%d for %s", f.name, i+1, shortDigest(t.Digest()))); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// namedFetcher is a bundle store and how messages name it.
type namedFetcher struct {
	store.Fetcher
	name string
}

// bundleFetcher is the store one --bundle-from value reads.
func bundleFetcher(env Env, o verifyOptions, src string, images []string) (namedFetcher, error) {
	httpo := store.HTTPOptions{Transport: env.Transport, Retry: env.Retry}
	switch src {
	case "registry":
		if len(images) == 0 {
			return namedFetcher{}, fail.Configf("--bundle-from registry reads the referrers of oci:// artifacts: name the image as oci://REGISTRY/REPO@sha256:HEX or :TAG")
		}
		oci, err := store.NewOCI(images, store.OCIOptions{HTTPOptions: httpo, Keychain: env.keychain()})
		return namedFetcher{oci, "registry"}, err
	case "github":
		repo := o.GitHubRepository
		if repo == "" {
			repo = o.Repo
		}
		if repo == "" {
			return namedFetcher{}, fail.Configf("--bundle-from github needs the repository whose attestations to read: --repo OWNER/NAME or --github-repository")
		}
		server := ""
		if host := o.Hostname; host != "" {
			server = "https://" + host
		}
		ep := githubEndpoints(env, server, o.GitHubAPIURL, o.GitHubToken)
		g, err := store.NewGitHub(repo, store.GitHubOptions{APIURL: ep.APIURL, ServerURL: ep.ServerURL, Token: ep.Token, HTTPOptions: httpo})
		return namedFetcher{g, "GitHub attestations API of " + repo}, err
	case "gitlab":
		if env.Fetchers == nil {
			return namedFetcher{}, fail.Configf("--bundle-from gitlab works only inside a GitLab CI/CD job (it reads the project's package registry with the job token); elsewhere download the bundles and pass --bundle")
		}
		name, f, err := env.Fetchers.BundleFetcher(src, GitLabPackage{Name: o.GitLabPackage, Version: o.GitLabPackageVersion})
		return namedFetcher{f, name}, err
	}
	// The input's options admit only the stores above.
	return namedFetcher{}, fail.Configf("--bundle-from %q: unknown store; use registry, github or gitlab", src)
}

// verifyPolicy builds the effective policy from the flags, a policy file, or
// a kit; trustedRoots are the roots the flags name.
func verifyPolicy(env Env, o identityOptions, trustedRoots []string, kit string, readKit, anyIdentity bool) (*verify.PolicyFile, error) {
	flagRule := o.rule()
	flagsSet := flagRule != (verify.Rule{})
	path := o.Policy
	if readKit {
		if path != "" || flagsSet {
			return nil, fail.Configf("--kit %s already holds a policy: drop --policy and the identity flags, or use a new kit directory", kit)
		}
		path = filepath.Join(kit, verify.KitPolicy)
	}
	if path != "" {
		if flagsSet {
			return nil, fail.Configf("give the accepted identities either in --policy or as flags, not both")
		}
		data, err := readInput(env, path, 1<<20)
		if err != nil {
			return nil, fail.Configf("reading policy: %w", err)
		}
		p, err := verify.ParsePolicy(data)
		if err != nil {
			return nil, fail.Configf("%s: %w", path, err)
		}
		if p.PredicateType == "" {
			p.PredicateType = o.PredicateType
		}
		return p, nil
	}
	p := &verify.PolicyFile{Version: verify.PolicyVersion, PredicateType: o.PredicateType, TrustedRoots: trustedRoots}
	if anyIdentity {
		return p, nil
	}
	if !flagsSet {
		return nil, fail.Configf("no identity to verify against: give --owner or --repo (GitHub), --project or --namespace (GitLab), --cert-identity with --cert-oidc-issuer, or --policy FILE")
	}
	p.Identities = []verify.Rule{flagRule}
	return p, nil
}

func verifyTargets(ctx context.Context, env Env, args []string, algs []string) ([]verify.Target, error) {
	if len(args) == 0 {
		return nil, fail.Configf("no artifact to verify: name files, digests (sha256:HEX) or oci://IMAGE references")
	}
	out := make([]verify.Target, len(args))
	errs := make([]error, len(args))
	// Every artifact is digested even after one fails, so that all bad names
	// are reported at once.
	if err := parallel.Each(ctx, len(args), 0, func(ctx context.Context, i int) error {
		out[i], errs[i] = verifyTarget(ctx, env, args[i], algs)
		return nil
	}); err != nil {
		return nil, err
	}
	if err := fail.Join(errs); err != nil {
		return nil, err
	}
	return out, nil
}

// verifyTarget digests one artifact: an image resolved once, a digest as given,
// or a file streamed once through SHA-256 and each other algorithm (algs) some
// bundle names artifacts by.
func verifyTarget(ctx context.Context, env Env, a string, algs []string) (verify.Target, error) {
	switch {
	case strings.HasPrefix(a, subject.ImagePrefix):
		repo, dig, err := subject.ImageDigest(ctx, a, env.Transport, env.keychain())
		if err != nil {
			return verify.Target{}, err
		}
		art, err := verify.ParseDigest(dig)
		if err != nil {
			return verify.Target{}, err
		}
		return verify.Target{Name: repo + "@" + dig, Artifact: art}, nil
	case looksLikeDigest(a):
		art, err := verify.ParseDigest(a)
		if err != nil {
			return verify.Target{}, err
		}
		return verify.Target{Name: a, Artifact: art}, nil
	default:
		files, err := env.files()
		if err != nil {
			return verify.Target{}, err
		}
		f, err := files.Open(a)
		if err != nil {
			return verify.Target{}, fmt.Errorf("artifact: %w", err)
		}
		defer f.Close()
		arts, err := verify.ReaderDigestsOf(ctx, f, a, append([]string{"sha256"}, algs...))
		if err != nil {
			return verify.Target{}, err
		}
		return verify.Target{Name: a, Artifact: arts[0], Alternates: arts[1:]}, nil
	}
}

// verifyRoots loads each trusted root named by the policy, relative to the
// policy file; none means public-good.
// tufPrefix marks a trusted root published by a TUF repository other than
// public-good's: tuf:MIRROR_URL#ROOT_JSON.
const tufPrefix = "tuf:"

// maxTUFRoot bounds a TUF root.json.
const maxTUFRoot = 1 << 20

func verifyRoots(ctx context.Context, env Env, names []string, kit string, readKit bool, policyPath string) ([]verify.Root, error) {
	if readKit {
		matches := verify.KitRoots(kit)
		names, policyPath = matches, ""
		if len(names) == 0 {
			return nil, fail.Configf("kit %s has no trusted_root*.json", kit)
		}
	}
	if len(names) == 0 {
		names = []string{publicGood}
	}
	var out []verify.Root
	rel := func(p string) string {
		if policyPath != "" && !filepath.IsAbs(p) {
			return filepath.Join(filepath.Dir(policyPath), p)
		}
		return p
	}
	for _, n := range names {
		var o trust.Options
		switch {
		case n == publicGood:
		case strings.HasPrefix(n, tufPrefix):
			mirror, rootFile, ok := strings.Cut(strings.TrimPrefix(n, tufPrefix), "#")
			if !ok || mirror == "" || rootFile == "" {
				return nil, fail.Configf("trusted root %q: a TUF repository is written tuf:MIRROR_URL#ROOT_JSON (its URL and a file with its initial root.json)", n)
			}
			rootJSON, err := bounded.ReadFile(rel(rootFile), maxTUFRoot)
			if err != nil {
				return nil, fail.Configf("trusted root %q: reading the TUF root: %w", n, err)
			}
			o.TUFMirror, o.TUFRoot = mirror, rootJSON
		default:
			o.TrustedRootPath = rel(n)
			lines, err := trustedRootLines(o.TrustedRootPath)
			if err != nil {
				return nil, err
			}
			if len(lines) > 1 {
				for i, l := range lines {
					tr, err := root.NewTrustedRootFromJSON(l)
					if err != nil {
						return nil, fail.Configf("trusted root %s line %d is not a Sigstore trusted root: %w", n, i+1, err)
					}
					out = append(out, verify.Root{Name: fmt.Sprintf("%s#%d", n, i+1), Material: tr, JSON: l})
				}
				continue
			}
		}
		o.TUFCacheDir, o.Transport, o.EmbeddedFallback = env.TUFCacheDir, env.Transport, n == publicGood
		m, err := trust.Load(ctx, o)
		if err != nil {
			return nil, err
		}
		if m.Note != "" {
			fmt.Fprintln(env.log(), m.Note)
		}
		out = append(out, verify.Root{Name: n, Material: m.Root, JSON: m.RootJSON})
	}
	return out, nil
}

func signerOf(s *certificate.Summary) *signerReport {
	return &signerReport{Identity: s.SubjectAlternativeName, SignerClaims: provenance.ClaimsOf(s.Extensions)}
}

func verifySummary(rep verifyReport, roots []verify.Root) string {
	var b strings.Builder
	verdict := "every artifact proved its history"
	if !rep.Verified {
		verdict = "**refused**: some artifacts cannot prove their history"
	}
	names := make([]string, len(roots))
	for i, r := range roots {
		names[i] = logtext.Cell(r.Name)
	}
	fmt.Fprintf(&b, "### Paved verify: %s\n\n", verdict)
	fmt.Fprintf(&b, "Policy: predicate type %s; accepted signers: ", logtext.Code(rep.Policy.PredicateType))
	var who []string
	for _, r := range rep.Policy.Identities {
		id, _ := r.Identity()
		who = append(who, logtext.Code(id.String()))
	}
	if len(who) == 0 {
		who = []string{"anyone (unsafe)"}
	}
	fmt.Fprintf(&b, "%s; trusted roots: %s.\n\n", strings.Join(who, ", "), strings.Join(names, ", "))
	b.WriteString("| artifact | digest | verdict | signer | source | why |\n| --- | --- | --- | --- | --- | --- |\n")
	for _, a := range rep.Artifacts {
		verdict, signer, source, why := "verified", "", "", ""
		if a.Signer != nil {
			signer = a.Signer.Identity
			source = strings.TrimSuffix(a.Signer.SourceRepository+"@"+a.Signer.SourceRef, "@")
		}
		if !a.Verified {
			verdict = "REFUSED"
			var rs []string
			for _, f := range a.Failures {
				r := f.Reason
				if f.Source != "" {
					r = filepath.Base(f.Source) + ": " + r
				}
				rs = append(rs, logtext.Code(r))
			}
			why = strings.Join(rs, "<br>")
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s |\n", logtext.Code(a.Name), logtext.Code(shortDigest(a.Digest)), verdict, logtext.Cell(signer), logtext.Cell(source), why)
	}
	return b.String()
}

// verifyText is the verdict for a terminal: a ✓/✗ row per artifact with
// its signer or why it was refused, and the policy it was held to.
func verifyText(rep verifyReport, roots []verify.Root) Report {
	r := Report{Title: "paved verify: every artifact proved its history"}
	failed := 0
	for _, a := range rep.Artifacts {
		if a.Verified {
			signer := ""
			if a.Signer != nil {
				signer = "signed by " + a.Signer.Identity
			}
			r.Rows = append(r.Rows, logtext.Row{Status: logtext.OK, Cells: []string{a.Name, shortDigest(a.Digest), signer}})
			continue
		}
		failed++
		why := "refused"
		if len(a.Failures) > 0 {
			f := a.Failures[0]
			why = f.Reason
			if f.Source != "" {
				why = filepath.Base(f.Source) + ": " + why
			}
			if len(a.Failures) > 1 {
				why += fmt.Sprintf(" (and %d more bundle(s) refused)", len(a.Failures)-1)
			}
		}
		r.Rows = append(r.Rows, logtext.Row{Status: logtext.Failed, Cells: []string{a.Name, shortDigest(a.Digest), why}})
	}
	if failed > 0 {
		r.Title = fmt.Sprintf("paved verify: refused: %d of %d artifact(s) cannot prove their history", failed, len(rep.Artifacts))
		var who, names []string
		for _, rule := range rep.Policy.Identities {
			id, _ := rule.Identity()
			who = append(who, id.String())
		}
		if len(who) == 0 {
			who = []string{"anyone (unsafe)"}
		}
		for _, root := range roots {
			names = append(names, root.Name)
		}
		r.Lines = append(r.Lines, logtext.Line(fmt.Sprintf("policy: predicate type %s; accepted signers: %s; trusted roots: %s", rep.Policy.PredicateType, strings.Join(who, ", "), strings.Join(names, ", "))))
	}
	return r
}

func shortDigest(d string) string {
	alg, h, _ := strings.Cut(d, ":")
	if len(h) > 16 {
		h = h[:16] + "…"
	}
	return alg + ":" + h
}

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir()
}
