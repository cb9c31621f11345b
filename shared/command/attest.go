package command

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/paved-dev/paved/shared/attest"
	"github.com/paved-dev/paved/shared/fail"
	"github.com/paved-dev/paved/shared/identity"
	"github.com/paved-dev/paved/shared/provenance"
	"github.com/paved-dev/paved/shared/subject"
	"github.com/paved-dev/paved/shared/trust"
)

// maxPredicate bounds a custom predicate file.
const maxPredicate = 16 << 20

// Attest declares `paved attest`.
func Attest() *Command {
	return &Command{
		Name:      "attest",
		Summary:   "sign SLSA provenance (or a custom predicate) for build artifacts, keylessly",
		Args:      "[FILE|GLOB...]",
		ArgsInput: "subject-path",
		Inputs: []Input{
			{Name: "subject-path", List: true, Usage: "artifact files or globs to attest (** spans directories)"},
			{Name: "subject-digest", List: true, Usage: "artifacts given by digest, as NAME@sha256:HEX"},
			{Name: "subject-checksums", List: true, Usage: "checksums files in sha256sum format listing the artifacts"},
			{Name: "predicate-type", Default: provenance.PredicateType, Usage: "predicate type URI of the statement"},
			{Name: "predicate-path", Usage: "JSON file holding a custom predicate (requires --predicate-type)"},
			{Name: "bundle-path", Usage: "where to write the Sigstore bundle (default: ARTIFACT.sigstore.json for one subject, attestation.sigstore.json for several)"},
			{Name: "identity-token", Secret: true, CLIOnly: true, Usage: "OIDC identity token to sign with (default: the CI platform's token)"},
			{Name: "identity-token-file", Usage: "file holding the OIDC identity token"},
			{Name: "trusted-root", Usage: "trusted_root.json of a private Sigstore instance (default: public-good Sigstore through TUF)"},
			{Name: "signing-config", Usage: "signing_config.json (v0.2) naming that instance's Fulcio, timestamp authority and Rekor"},
			{Name: "service-timeout", Default: "30s", Usage: "how long one request to Fulcio, a timestamp authority or Rekor may take; each is tried 4 times with backoff"},
		},
		Outputs: []Output{
			{Name: "bundle-path", Usage: "path of the Sigstore bundle written"},
			{Name: "subjects", Usage: "the attested subjects, one \"sha256:HEX NAME\" per line"},
			{Name: "signer-identity", Usage: "the certificate identity (SAN) that signed"},
			{Name: "signer-issuer", Usage: "the OIDC issuer of that identity"},
		},
		Run: runAttest,
	}
}

func runAttest(ctx context.Context, env Env, v Values) (*Result, error) {
	spec := subject.Spec{Paths: v.List("subject-path"), Digests: v.List("subject-digest"), ChecksumsFiles: v.List("subject-checksums")}
	subjects, err := subject.Resolve(ctx, spec, subject.Options{Root: env.Workspace})
	if err != nil {
		return nil, err
	}
	predType := v.String("predicate-type")
	var customPredicate []byte
	if p := v.String("predicate-path"); p != "" {
		if !v.Set("predicate-type") {
			return nil, fail.Configf("--predicate-path needs --predicate-type: name the type of the custom predicate (a URI)")
		}
		if customPredicate, err = readBounded(p, maxPredicate); err != nil {
			return nil, fail.Configf("reading predicate: %w", err)
		}
	} else if predType != provenance.PredicateType {
		return nil, fail.Configf("--predicate-type %s needs --predicate-path: Paved builds only SLSA provenance (%s) itself", predType, provenance.PredicateType)
	}
	bundlePath := v.String("bundle-path")
	if bundlePath == "" {
		bundlePath = "attestation.sigstore.json"
		if len(subjects) == 1 {
			bundlePath = filepath.Base(subjects[0].Name) + ".sigstore.json"
		}
	}
	if dir := filepath.Dir(bundlePath); dir != "" {
		if st, err := os.Stat(dir); err != nil || !st.IsDir() {
			return nil, fail.Configf("bundle directory %s does not exist: create it or choose another --bundle-path", dir)
		}
	}
	mat, err := trust.Load(ctx, trust.Options{
		TrustedRootPath: v.String("trusted-root"), SigningConfigPath: v.String("signing-config"),
		TUFCacheDir: env.TUFCacheDir, ForSigning: true,
	})
	if err != nil {
		return nil, err
	}
	if env.Retry.PerTry, err = time.ParseDuration(v.String("service-timeout")); err != nil || env.Retry.PerTry <= 0 {
		return nil, fail.Configf("--service-timeout %q: want a positive duration such as 30s or 2m", v.String("service-timeout"))
	}
	token, err := idToken(ctx, env, v)
	if err != nil {
		return nil, err
	}
	res, err := attestWith(ctx, env, mat, token, subjects, predType, customPredicate, bundlePath)
	return res, redact(err, token)
}

func attestWith(ctx context.Context, env Env, mat *trust.Material, token string, subjects []subject.Subject, predType string, predicate []byte, bundlePath string) (*Result, error) {
	signer, err := attest.NewSigner(ctx, mat, token, attest.Options{Transport: env.Transport, Retry: env.Retry, Now: env.Now})
	if err != nil {
		return nil, err
	}
	if predicate == nil {
		if predicate, err = provenance.Build(signer.Extensions(), env.Platform.Run()); err != nil {
			return nil, fmt.Errorf("building provenance: %w", err)
		}
	}
	stmt, err := attest.Statement(subjects, predType, predicate)
	if err != nil {
		return nil, err
	}
	b, err := signer.SignStatement(ctx, stmt)
	if err != nil {
		return nil, err
	}
	data, err := attest.Marshal(b)
	if err != nil {
		return nil, err
	}
	if err := WriteFileAtomic(bundlePath, data, 0o644); err != nil {
		return nil, fail.Configf("writing bundle: %w", err)
	}
	var lines []string
	for _, s := range subjects {
		lines = append(lines, "sha256:"+s.SHA256()+" "+s.Name)
	}
	ext := signer.Extensions()
	return &Result{
		Outputs: map[string]string{
			"bundle-path":     bundlePath,
			"subjects":        strings.Join(lines, "\n"),
			"signer-identity": signer.Identity(),
			"signer-issuer":   ext.Issuer,
		},
		Summary: attestSummary(subjects, signer.Identity(), ext.Issuer, ext.SourceRepositoryOwnerURI, predType, bundlePath, mat),
	}, nil
}

// idToken returns the identity token from the explicit inputs or the platform,
// checked for audience and expiry, and masked.
func idToken(ctx context.Context, env Env, v Values) (string, error) {
	var src identity.Source
	switch {
	case v.String("identity-token") != "":
		src = identity.Static{Value: v.String("identity-token")}
	case v.String("identity-token-file") != "":
		src = identity.File{Path: v.String("identity-token-file")}
	default:
		src = env.Platform.Identity()
	}
	fix := env.Platform.TokenFix()
	if src == nil {
		return "", fail.Configf("no OIDC identity token to sign with: %s", fix)
	}
	token, err := src.Token(ctx, identity.Audience)
	if err != nil {
		return "", fail.As(fail.Config, fmt.Errorf("getting an identity token from %s: %w; %s", src.Describe(), err, fix))
	}
	env.Platform.Mask(token)
	if _, err := identity.Check(token, identity.Audience, env.now(), fix); err != nil {
		return "", err
	}
	return token, nil
}

func attestSummary(subjects []subject.Subject, san, issuer, ownerURI, predType, bundlePath string, mat *trust.Material) string {
	var b strings.Builder
	fmt.Fprintf(&b, "### Paved attestation\n\n")
	fmt.Fprintf(&b, "Signed `%s` for %d subject(s) as **%s** (issuer `%s`), trust: %s.\n\n", predType, len(subjects), san, issuer, mat.Source)
	b.WriteString("| subject | sha256 |\n| --- | --- |\n")
	for _, s := range subjects {
		fmt.Fprintf(&b, "| `%s` | `%s` |\n", s.Name, s.SHA256())
	}
	fmt.Fprintf(&b, "\nBundle: `%s`\n\nVerify it:\n\n```sh\n", bundlePath)
	root := ""
	if !strings.HasPrefix(mat.Source, "public-good") {
		root = " --trusted-root " + mat.Source
	}
	first := subjects[0].Name
	fmt.Fprintf(&b, "paved verify-bundle --bundle %s --certificate-identity %s --certificate-oidc-issuer %s%s %s\n", bundlePath, san, issuer, root, first)
	cosignType := predType
	if predType == provenance.PredicateType {
		cosignType = "slsaprovenance1"
	}
	var extra string
	if len(mat.Root.TimestampingAuthorities()) > 0 {
		extra += " --use-signed-timestamps"
	}
	if len(mat.Root.CTLogs()) == 0 {
		extra += " --insecure-ignore-sct"
	}
	fmt.Fprintf(&b, "cosign verify-blob-attestation --bundle %s --certificate-identity %s --certificate-oidc-issuer %s --type %s%s%s %s\n",
		bundlePath, san, issuer, cosignType, extra, root, first)
	if owner := strings.TrimPrefix(ownerURI, "https://github.com/"); owner != ownerURI && owner != "" {
		fmt.Fprintf(&b, "gh attestation verify %s --bundle %s --owner %s\n", first, bundlePath, owner)
	}
	b.WriteString("```\n")
	return b.String()
}

func readBounded(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%s is larger than %d bytes", path, limit)
	}
	return data, nil
}

// redact removes a secret from an error's message, keeping its class.
func redact(err error, secret string) error {
	if err == nil || secret == "" || !strings.Contains(err.Error(), secret) {
		return err
	}
	return fail.As(fail.ClassOf(err), &redacted{msg: strings.ReplaceAll(err.Error(), secret, "***"), err: err})
}

type redacted struct {
	msg string
	err error
}

func (r *redacted) Error() string { return r.msg }

// Unwrap keeps errors.Is working; the wrapped message is never printed by Paved.
func (r *redacted) Unwrap() error { return errors.Unwrap(r.err) }
