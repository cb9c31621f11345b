// Command paved-bench prints Paved's performance as ratios against the tools
// users would otherwise run, measured in one run on the same machine and the
// same local Sigstore stack:
//
//   - attest 1 and 100 files: one `paved attest` vs a loop of `cosign attest-blob`
//   - digest a 1 GiB file: Paved's streaming digest vs `sha256sum` and `openssl dgst`
//
// Run it with `make bench`; it needs the tools that tools/install.sh builds.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/paved-dev/paved/shared/subject"
	"github.com/paved-dev/paved/test/stack"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "paved-bench:", err)
		os.Exit(1)
	}
}

func run() error {
	loops := flag.Int("cosign-files", 100, "files in the many-files case")
	gib := flag.Int("digest-mib", 1024, "size of the digest test file in MiB")
	verifyN := flag.Int("verify-bundles", 1000, "bundles in the verification case")
	cosignSample := flag.Int("cosign-verify-sample", 50, "cosign verify-blob-attestation runs timed to estimate its per-bundle cost")
	flag.Parse()
	ctx := context.Background()
	work, err := os.MkdirTemp("", "paved-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)

	paved := filepath.Join(work, "paved")
	if out, err := exec.Command("go", "build", "-o", paved, ".").CombinedOutput(); err != nil {
		return fmt.Errorf("building paved: %v\n%s", err, out)
	}
	cosign, err := exec.LookPath("cosign")
	if err != nil {
		return fmt.Errorf("cosign not on PATH: run tools/install.sh and add its bin directory (make bench does)")
	}
	stk, err := stack.Start(ctx, stack.Options{})
	if err != nil {
		return err
	}
	defer stk.Close()

	fmt.Println("Paved benchmark (one run, this machine, local Sigstore stack on loopback)")
	fmt.Println()
	for _, n := range []int{1, *loops} {
		dir := filepath.Join(work, fmt.Sprintf("files-%d", n))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		var files []string
		for i := 0; i < n; i++ {
			p := filepath.Join(dir, fmt.Sprintf("artifact-%03d.bin", i))
			if err := os.WriteFile(p, []byte(strings.Repeat(fmt.Sprintf("artifact %d\n", i), 4096)), 0o644); err != nil {
				return err
			}
			files = append(files, p)
		}
		tokenFile := filepath.Join(work, "token")
		mint := func() error {
			tok, err := stk.MintGitHubToken("paved-dev/demo", 30*time.Minute)
			if err != nil {
				return err
			}
			return os.WriteFile(tokenFile, []byte(tok), 0o600)
		}
		if err := mint(); err != nil {
			return err
		}
		pavedTime, err := timed(func() error {
			return runQuiet(paved, "attest", "--identity-token-file", tokenFile, "--trusted-root", stk.TrustedRootPath,
				"--signing-config", stk.SigningConfigPath, "--bundle-path", filepath.Join(work, "paved.sigstore.json"),
				filepath.Join(dir, "*"))
		})
		if err != nil {
			return err
		}
		predicate := filepath.Join(work, "predicate.json")
		if err := os.WriteFile(predicate, []byte(`{"buildDefinition":{"buildType":"https://example.com/bench"},"runDetails":{"builder":{"id":"https://example.com"}}}`), 0o644); err != nil {
			return err
		}
		tok, err := os.ReadFile(tokenFile)
		if err != nil {
			return err
		}
		cosignTime, err := timed(func() error {
			for i, f := range files {
				if err := runQuiet(cosign, "attest-blob", "--yes", "--identity-token", string(tok),
					"--signing-config", stk.SigningConfigPath, "--trusted-root", stk.TrustedRootPath,
					"--predicate", predicate, "--type", "slsaprovenance1",
					"--bundle", filepath.Join(work, fmt.Sprintf("cosign-%d.sigstore.json", i)), f); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
		fmt.Printf("attest %3d file(s):  paved %8s   cosign attest-blob loop %8s   paved is %.1fx faster (goal for 100: >= 20x)\n",
			n, pavedTime.Round(time.Millisecond), cosignTime.Round(time.Millisecond), float64(cosignTime)/float64(pavedTime))
	}

	if err := benchVerify(ctx, stk, paved, cosign, work, *verifyN, *cosignSample); err != nil {
		return err
	}

	big := filepath.Join(work, "big.bin")
	if err := writeBig(big, *gib); err != nil {
		return err
	}
	// Read it once so that every contender starts from the page cache.
	if _, err := subject.File(ctx, nil, big, nil); err != nil {
		return err
	}
	pavedDigest, err := timed(func() error { _, err := subject.File(ctx, nil, big, nil); return err })
	if err != nil {
		return err
	}
	shaTime, err := timed(func() error { return runQuiet("sha256sum", big) })
	if err != nil {
		return err
	}
	fmt.Printf("digest %d MiB:      paved %8s   sha256sum %8s   paved throughput is %.2fx sha256sum's (goal >= 0.9x)\n",
		*gib, pavedDigest.Round(time.Millisecond), shaTime.Round(time.Millisecond), float64(shaTime)/float64(pavedDigest))
	if _, err := exec.LookPath("openssl"); err == nil {
		sslTime, err := timed(func() error { return runQuiet("openssl", "dgst", "-sha256", big) })
		if err != nil {
			return err
		}
		fmt.Printf("                     openssl dgst %8s   paved throughput is %.2fx openssl's\n",
			sslTime.Round(time.Millisecond), float64(sslTime)/float64(pavedDigest))
	}
	return nil
}

func writeBig(path string, mib int) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	chunk := make([]byte, 1<<20)
	for i := range chunk {
		chunk[i] = byte(i*31 + i/7)
	}
	for i := 0; i < mib; i++ {
		chunk[0] = byte(i)
		if _, err := f.Write(chunk); err != nil {
			f.Close()
			return err
		}
	}
	return f.Close()
}

func timed(fn func() error) (time.Duration, error) {
	start := time.Now()
	err := fn()
	return time.Since(start), err
}

func runQuiet(name string, args ...string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %s: %v\n%s", name, strings.Join(args[:1], " "), err, redactTokens(string(out)))
	}
	return nil
}

func redactTokens(s string) string {
	if i := strings.Index(s, "eyJ"); i >= 0 {
		return s[:i] + "[token redacted]"
	}
	return s
}
