package command

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/paved-dev/paved/shared/atomicfile"
	"github.com/paved-dev/paved/shared/attest"
	"github.com/paved-dev/paved/shared/ci"
	"github.com/paved-dev/paved/shared/fail"
	"github.com/paved-dev/paved/shared/identity"
	"github.com/paved-dev/paved/shared/logtext"
	"github.com/paved-dev/paved/shared/subject"
	"github.com/paved-dev/paved/shared/trust"
	"github.com/paved-dev/paved/shared/verify"
)

// signingInputs are the inputs of every command that signs, declared once.
func signingInputs() []Input {
	return []Input{
		{Name: "identity-token", Secret: true, CLIOnly: true, Usage: "OIDC identity token to sign with (default: the CI platform's token)"},
		{Name: "identity-token-file", Usage: "file holding the OIDC identity token"},
		{Name: "trusted-root", Usage: "trusted_root.json of a private Sigstore instance (default: public-good Sigstore through TUF)"},
		{Name: "signing-config", Usage: "signing_config.json (v0.2) naming that instance's Fulcio, timestamp authority and Rekor"},
		{Name: "allow-public-log", Bool: true, Usage: "sign a private or internal repository's artifacts with public-good Sigstore anyway, which publishes the repository, commit and workflow in its public logs (default: refused; use a private instance instead)"},
		{Name: "service-timeout", Default: "30s", Pattern: `^[0-9]+(\.[0-9]+)?(ms|s|m)$`, Usage: "how long one request to Fulcio, a timestamp authority or Rekor may take; each is tried 4 times with backoff"},
	}
}

// signingOptions are the signingInputs.
type signingOptions struct {
	IdentityToken     string `input:"identity-token"`
	IdentityTokenFile string `input:"identity-token-file"`
	TrustedRoot       string `input:"trusted-root"`
	SigningConfig     string `input:"signing-config"`
	AllowPublicLog    bool   `input:"allow-public-log"`
	ServiceTimeout    string `input:"service-timeout"`
}

// signingFrom binds the signing inputs of a run that still reads Values.
func signingFrom(v Values) signingOptions {
	var o signingOptions
	bindPart(v, &o)
	return o
}

// signing is one invocation's keyless signer: its trust material, identity
// token and certificate. Commands that sign call newSigning once, after
// validating their other inputs, and sign every statement through it.
type signing struct {
	mat    *trust.Material
	token  string
	signer *attest.Signer
}

// newSigning obtains and checks the identity token, loads trust material and
// gets the signing certificate. Its errors never contain the token.
func newSigning(ctx context.Context, env Env, o signingOptions) (*signing, error) {
	if env.shared != nil {
		return env.shared, nil
	}
	// The local inputs first: trust files, then the token, so that what is
	// missing is named before any service (TUF, Fulcio) is asked anything.
	var err error
	if env.Retry.PerTry, err = serviceTimeout(o.ServiceTimeout); err != nil {
		return nil, err
	}
	topts := trust.Options{
		TrustedRootPath: o.TrustedRoot, SigningConfigPath: o.SigningConfig,
		TUFCacheDir: env.TUFCacheDir, Transport: env.Transport, ForSigning: true,
	}
	var mat *trust.Material
	local := topts.TrustedRootPath != "" || topts.SigningConfigPath != ""
	if local {
		if mat, err = trust.Load(ctx, topts); err != nil {
			return nil, err
		}
	}
	token, err := idToken(ctx, env, o.IdentityToken, o.IdentityTokenFile)
	if err != nil {
		return nil, err
	}
	if !local {
		if mat, err = trust.Load(ctx, topts); err != nil {
			return nil, err
		}
	}
	// Before the certificate request: public-good Fulcio already publishes
	// the certificate, and with it the repository's name.
	if err := checkPublicLog(env.Platform.Run(), token, mat, o.AllowPublicLog); err != nil {
		return nil, err
	}
	s := &signing{mat: mat, token: token}
	s.signer, err = attest.NewSigner(ctx, mat, token, attest.Options{Transport: env.Transport, Retry: env.Retry, Now: env.Now})
	if err != nil {
		return nil, s.redact(err)
	}
	return s, nil
}

// checkPublicLog refuses to sign a private or internal repository's
// artifacts with a Sigstore instance whose logs are public, unless the
// caller opted in (allowPublic). The visibility is the stricter of what the
// platform reported and the token's repository_visibility claim (GitHub).
// It fails closed: in a CI system that reports visibility, not learning it
// counts as private; outside CI the signer is a person who chose the
// instance, and nothing is refused.
func checkPublicLog(run ci.Run, token string, mat *trust.Material, allowPublic bool) error {
	public := mat.PublicServices()
	if allowPublic || len(public) == 0 {
		return nil
	}
	vis := run.Visibility
	if c, err := identity.ParseUnverified(token); err == nil {
		for _, claim := range []string{"repository_visibility", "project_visibility"} {
			if s, ok := c.Raw[claim].(string); ok {
				vis = ci.Stricter(vis, ci.ParseVisibility(s))
			}
		}
	}
	if vis == ci.Public || (vis == ci.Unknown && run.Kind == ci.Local) {
		return nil
	}
	repo := run.ProjectPath
	if repo == "" {
		repo = "the repository"
	}
	what := fmt.Sprintf("%s is %s", repo, vis)
	if vis == ci.Unknown {
		what = fmt.Sprintf("Paved could not tell whether %s is public (neither the platform nor the identity token says), so it is treated as private", repo)
	}
	return fail.Configf("%s: signing with public-good Sigstore (%s) would publish its name, commit and workflow in public logs for anyone to read. "+
		"Either sign with a private Sigstore instance: set trusted-root and signing-config to its trusted_root.json and signing_config.json "+
		"(on GitHub, GitHub's own instance for private repositories, as actions/attest uses); "+
		"or, if publishing these details is intended, set allow-public-log: true (--allow-public-log)", what, strings.Join(public, ", "))
}

// redact removes the identity token from an error message.
func (s *signing) redact(err error) error { return redact(err, s.token) }

// serviceTimeout is --service-timeout, the bound of each call to a service.
func serviceTimeout(s string) (time.Duration, error) {
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, fail.Configf("--service-timeout %q: want a positive duration such as 30s or 2m", s)
	}
	return d, nil
}

// verifyCommand is the paved verify command line that checks the bundle at
// bundlePath about subj as this run's signer, for a step summary. The
// artifact is named by digest, so the command works wherever the bundle is.
func (s *signing) verifyCommand(subj subject.Subject, bundlePath, predType string) string {
	ext := s.signer.Extensions()
	return verifyCommandLine(subj.DigestString(), bundlePath, verify.SignerRule(s.signer.Identity(), ext.Issuer, ext.SourceRepositoryURI), predType, s.mat.Source)
}

// verifyCommandLine is the paved verify command line a step summary gives for
// one signer's attestation about artifact: with the bundle file, or fetched
// (bundle ""); signer is verify.SignerRule of the certificate, which carries
// the source constraint a CI identity needs; trust is the trust material's
// source (trust.Material.Source).
func verifyCommandLine(artifact, bundle string, signer verify.Rule, predType, trust string) string {
	q := logtext.Shell
	b := "paved verify " + q(artifact)
	if bundle != "" {
		b += " --bundle " + q(bundle)
	}
	args := signer.Args()
	for i, a := range args {
		if !flagName.MatchString(a) {
			args[i] = q(a)
		}
	}
	return fmt.Sprintf("%s %s --predicate-type %s%s", b, strings.Join(args, " "), q(predType), trustedRootFlag(trust))
}

// flagName matches a flag as Rule.Args writes it, which needs no quoting.
var flagName = regexp.MustCompile(`^--[a-z][a-z-]*$`)

// trustedRootFlag is the --trusted-root flag a verify command needs for trust
// material from source: none for public-good Sigstore (the default).
func trustedRootFlag(source string) string {
	if source == "" || strings.HasPrefix(source, "public-good") {
		return ""
	}
	return " --trusted-root " + logtext.Shell(source)
}

// sign signs an in-toto statement over subjects and returns the bundle's
// JSON, verified but not yet written anywhere: the caller stores it first and
// writes the file last (writeBundle), so a run that fails leaves no bundle
// file that looks like a finished attestation.
func (s *signing) sign(ctx context.Context, subjects []subject.Subject, predType string, predicate []byte) ([]byte, error) {
	stmt, err := attest.Statement(subjects, predType, predicate)
	if err != nil {
		return nil, err
	}
	b, err := s.signer.SignStatement(ctx, stmt)
	if err != nil {
		return nil, s.redact(err)
	}
	return attest.Marshal(b)
}

// writeBundle writes a bundle file atomically: readers see the old file or
// the whole new one, never a part.
func writeBundle(path string, data []byte) error {
	if err := atomicfile.WriteFile(path, data, 0o644); err != nil {
		return fail.Configf("writing bundle: %w", err)
	}
	return nil
}

// checkOutputDir fails early, before any signing, when a file cannot be written.
func checkOutputDir(path, input string) error {
	dir := filepath.Dir(path)
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return fail.Configf("directory %s does not exist: create it or choose another --%s", dir, input)
	}
	return nil
}
