package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/paved-dev/paved/shared/attest"
	"github.com/paved-dev/paved/shared/subject"
	"github.com/paved-dev/paved/shared/trust"
	"github.com/paved-dev/paved/test/stack"
)

// benchVerify signs n bundles (one per artifact) on the local stack, then times
// one `paved verify` over all of them against a loop of cosign
// verify-blob-attestation over a sample, and prints the ratio per bundle.
func benchVerify(ctx context.Context, stk *stack.Stack, paved, cosign, work string, n, sample int) error {
	dir := filepath.Join(work, "verify")
	bundles := filepath.Join(dir, "bundles")
	if err := os.MkdirAll(bundles, 0o755); err != nil {
		return err
	}
	tok, err := stk.MintGitHubToken("paved-dev/demo", 30*time.Minute)
	if err != nil {
		return err
	}
	mat, err := trust.Load(ctx, trust.Options{TrustedRootPath: stk.TrustedRootPath, SigningConfigPath: stk.SigningConfigPath, ForSigning: true})
	if err != nil {
		return err
	}
	signer, err := attest.NewSigner(ctx, mat, tok, attest.Options{})
	if err != nil {
		return err
	}
	pred := []byte(`{"buildDefinition":{"buildType":"https://example.com/bench"},"runDetails":{"builder":{"id":"https://example.com"}}}`)
	files := make([]string, n)
	errs := make(chan error, n)
	sem := make(chan struct{}, 32)
	var wg sync.WaitGroup
	start := time.Now()
	for i := 0; i < n; i++ {
		files[i] = filepath.Join(dir, fmt.Sprintf("artifact-%04d", i))
		content := []byte(fmt.Sprintf("artifact %d\n", i))
		if err := os.WriteFile(files[i], content, 0o644); err != nil {
			return err
		}
		sum := sha256.Sum256(content)
		wg.Add(1)
		go func(i int, digest string) {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			st, err := attest.Statement([]subject.Subject{{Name: filepath.Base(files[i]), Digest: map[string]string{"sha256": digest}}}, "https://slsa.dev/provenance/v1", pred)
			if err != nil {
				errs <- err
				return
			}
			b, err := signer.SignStatement(ctx, st)
			if err != nil {
				errs <- err
				return
			}
			data, err := attest.Marshal(b)
			if err != nil {
				errs <- err
				return
			}
			errs <- os.WriteFile(filepath.Join(bundles, fmt.Sprintf("artifact-%04d.sigstore.json", i)), data, 0o644)
		}(i, hex.EncodeToString(sum[:]))
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			return fmt.Errorf("signing bench bundles: %w", err)
		}
	}
	fmt.Printf("(signed %d bundles for the verify case in %s)\n", n, time.Since(start).Round(time.Millisecond))

	san := "https://github.com/paved-dev/demo/.github/workflows/build.yml@refs/heads/main"
	args := append([]string{"verify", "--bundle", bundles, "--repo", "paved-dev/demo", "--cert-oidc-issuer", stk.GitHubIssuer,
		"--trusted-root", stk.TrustedRootPath}, files...)
	pavedTime, err := timed(func() error { return runQuiet(paved, args...) })
	if err != nil {
		return err
	}
	if sample > n {
		sample = n
	}
	cosignTime, err := timed(func() error {
		for i := 0; i < sample; i++ {
			if err := runQuiet(cosign, "verify-blob-attestation", "--bundle", filepath.Join(bundles, fmt.Sprintf("artifact-%04d.sigstore.json", i)),
				"--trusted-root", stk.TrustedRootPath, "--certificate-identity", san, "--certificate-oidc-issuer", stk.GitHubIssuer,
				"--type", "slsaprovenance1", "--use-signed-timestamps", "--insecure-ignore-sct", files[i]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	perPaved := pavedTime / time.Duration(n)
	perCosign := cosignTime / time.Duration(sample)
	fmt.Printf("verify %d bundles:   paved (one process) %8s = %s/bundle (goal <= 3ms)   cosign loop %s/bundle (timed over %d)   paved is %.1fx faster (goal >= 20x)\n",
		n, pavedTime.Round(time.Millisecond), perPaved.Round(10*time.Microsecond), perCosign.Round(10*time.Microsecond), sample, float64(perCosign)/float64(perPaved))
	return nil
}
