package command

import (
	"context"
	"crypto/sha256"
	"os"
	"strings"

	"github.com/paved-dev/paved/shared/atomicfile"
	"github.com/paved-dev/paved/shared/bounded"

	"github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore/pkg/cryptoutils"

	"github.com/paved-dev/paved/shared/attest"
	"github.com/paved-dev/paved/shared/fail"
	"github.com/paved-dev/paved/shared/logtext"
	"github.com/paved-dev/paved/shared/provenance"
	"github.com/paved-dev/paved/shared/trust"
	"github.com/paved-dev/paved/shared/verify"
)

// maxBundle bounds a bundle file read.
const maxBundle = 64 << 20

// SignBundle declares `paved sign-bundle`, the signing half of the
// sigstore-conformance client protocol.
func SignBundle() *Command {
	return &Command{
		Name:      "sign-bundle",
		Summary:   "sign a file into a Sigstore bundle (sigstore-conformance client protocol)",
		Args:      "FILE",
		ArgsInput: "file",
		Inputs: []Input{
			{Name: "identity-token", Secret: true, CLIOnly: true, Usage: "OIDC identity token to sign with"},
			{Name: "bundle", CLIOnly: true, Usage: "where to write the bundle"},
			{Name: "signing-config", CLIOnly: true, Usage: "signing_config.json of the Sigstore instance"},
			{Name: "trusted-root", CLIOnly: true, Usage: "trusted_root.json of the Sigstore instance"},
			{Name: "in-toto", Bool: true, CLIOnly: true, Usage: "FILE is an in-toto statement: sign it as a DSSE envelope"},
			{Name: "staging", Bool: true, CLIOnly: true, Usage: "use Sigstore's staging instance"},
			{Name: "file", List: true, CLIOnly: true, Usage: "the file to sign (the positional argument)"},
		},
		Run: runSignBundle,
	}
}

func runSignBundle(ctx context.Context, env Env, v Values) (*Result, error) {
	files := v.List("file")
	if len(files) != 1 || v.String("bundle") == "" {
		return nil, fail.Configf("usage: paved sign-bundle --identity-token TOKEN --bundle FILE [--signing-config FILE --trusted-root FILE] [--in-toto] FILE")
	}
	data, err := bounded.ReadFile(files[0], maxBundle)
	if err != nil {
		return nil, fail.Configf("reading file to sign: %w", err)
	}
	mat, err := trust.Load(ctx, trust.Options{
		TrustedRootPath: v.String("trusted-root"), SigningConfigPath: v.String("signing-config"),
		Staging: v.Bool("staging"), TUFCacheDir: env.TUFCacheDir, ForSigning: true,
	})
	if err != nil {
		return nil, err
	}
	token, err := idToken(ctx, env, v.String("identity-token"), "")
	if err != nil {
		return nil, err
	}
	signer, err := attest.NewSigner(ctx, mat, token, attest.Options{Transport: env.Transport, Retry: env.Retry, Now: env.Now})
	if err != nil {
		return nil, redact(err, token)
	}
	var b *bundle.Bundle
	if v.Bool("in-toto") {
		b, err = signer.SignStatement(ctx, data)
	} else {
		sum := sha256.Sum256(data)
		b, err = signer.SignBlob(ctx, data, sum[:])
	}
	if err != nil {
		return nil, redact(err, token)
	}
	out, err := attest.Marshal(b)
	if err != nil {
		return nil, err
	}
	if err := atomicfile.WriteFile(v.String("bundle"), out, 0o644); err != nil {
		return nil, fail.Configf("writing bundle: %w", err)
	}
	return &Result{Outputs: map[string]string{"bundle-path": v.String("bundle")}}, nil
}

// VerifyBundle declares `paved verify-bundle`, the verification half of the
// sigstore-conformance client protocol.
func VerifyBundle() *Command {
	return &Command{
		Name:      "verify-bundle",
		Summary:   "verify one Sigstore bundle against a file or digest, offline (sigstore-conformance client protocol)",
		Args:      "FILE|sha256:HEX",
		ArgsInput: "artifact",
		Inputs: []Input{
			{Name: "bundle", CLIOnly: true, Usage: "the Sigstore bundle to verify"},
			{Name: "certificate-identity", CLIOnly: true, Usage: "the certificate identity (SAN) that must have signed"},
			{Name: "certificate-identity-regexp", CLIOnly: true, Usage: "a regular expression the SAN must match, instead of --certificate-identity"},
			{Name: "certificate-oidc-issuer", CLIOnly: true, Usage: "the OIDC issuer of that identity"},
			{Name: "trusted-root", CLIOnly: true, Usage: "trusted_root.json (default: public-good Sigstore through TUF)"},
			{Name: "key", CLIOnly: true, Usage: "PEM public key, for bundles signed with a key instead of a certificate"},
			{Name: "staging", Bool: true, CLIOnly: true, Usage: "use Sigstore's staging instance"},
			{Name: "artifact", List: true, CLIOnly: true, Usage: "the artifact file or its digest (the positional argument)"},
			{Name: "warn-provenance-contradictions", Bool: true, CLIOnly: true, Usage: "warn about SLSA provenance predicate fields that contradict the signing certificate (verify-bundle never fails on them; paved verify does)"},
		},
		Outputs: []Output{
			{Name: "signer-identity", Usage: "the certificate identity (SAN) that signed"},
			{Name: "predicate-type", Usage: "the predicate type of the verified statement, if any"},
		},
		Run: runVerifyBundle,
	}
}

func runVerifyBundle(ctx context.Context, env Env, v Values) (*Result, error) {
	args := v.List("artifact")
	if len(args) != 1 || v.String("bundle") == "" {
		return nil, fail.Configf("usage: paved verify-bundle --bundle FILE --certificate-identity IDENTITY --certificate-oidc-issuer URL [--trusted-root FILE] [--key FILE] FILE_OR_DIGEST")
	}
	raw, err := bounded.ReadFile(v.String("bundle"), maxBundle)
	if err != nil {
		return nil, fail.Configf("reading bundle: %w", err)
	}
	var b bundle.Bundle
	if err := b.UnmarshalJSON(raw); err != nil {
		return nil, fail.Verificationf("bundle %s is not a valid Sigstore bundle: %w", v.String("bundle"), err)
	}
	var art verify.Artifact
	if looksLikeDigest(args[0]) {
		art, err = verify.ParseDigest(args[0])
	} else {
		art, err = verify.BundleArtifact(ctx, args[0], &b)
	}
	if err != nil {
		return nil, err
	}
	mat, err := trust.Load(ctx, trust.Options{TrustedRootPath: v.String("trusted-root"), Staging: v.Bool("staging"), TUFCacheDir: env.TUFCacheDir})
	if err != nil {
		return nil, err
	}
	var o verify.Options
	if k := v.String("key"); k != "" {
		pemBytes, err := bounded.ReadFile(k, 1<<20)
		if err != nil {
			return nil, fail.Configf("reading public key: %w", err)
		}
		if o.Key, err = cryptoutils.UnmarshalPEMToPublicKey(pemBytes); err != nil {
			return nil, fail.Configf("public key %s is not a PEM public key: %w", k, err)
		}
	}
	id := verify.Identity{SAN: v.String("certificate-identity"), SANRegex: v.String("certificate-identity-regexp"), Issuer: v.String("certificate-oidc-issuer")}
	var ids []verify.Identity
	if o.Key == nil {
		ids = []verify.Identity{id}
	}
	res, err := verify.Bundle(mat.Root, &b, art, ids, o)
	if err != nil {
		return nil, err
	}
	out := map[string]string{"predicate-type": res.PredicateType}
	var notices []string
	if res.Signer != nil {
		out["signer-identity"] = res.Signer.SubjectAlternativeName
		if v.Bool("warn-provenance-contradictions") {
			for _, c := range provenance.Contradictions(res.Statement, res.Signer.Extensions) {
				notices = append(notices, "WARNING: the provenance predicate contradicts the signing certificate: "+c.String())
			}
		}
	}
	signer := "the key " + v.String("key")
	if res.Signer != nil {
		signer = res.Signer.SubjectAlternativeName
	}
	text := Report{Rows: []logtext.Row{{Status: logtext.OK, Cells: []string{args[0], "verified by " + v.String("bundle"), "signed by " + signer}}}}
	return &Result{Outputs: out, Notices: notices, Reports: []Report{text}}, nil
}

// looksLikeDigest reports whether arg is ALGORITHM:HEX rather than a file name.
func looksLikeDigest(arg string) bool {
	alg, _, ok := strings.Cut(arg, ":")
	if !ok || (alg != "sha256" && alg != "sha384" && alg != "sha512") {
		return false
	}
	_, err := os.Stat(arg)
	return err != nil
}
