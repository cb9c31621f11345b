// Command paved-trust-root refreshes the public-good trusted root that Paved
// embeds (shared/trust/publicgood) from Sigstore's TUF repository, verified
// through TUF, and records the date. Run it with `make trust-root` before a
// release; paved verify falls back to this root only when TUF is unreachable.
package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/paved-dev/paved/shared/trust"
)

func main() {
	dir := filepath.Join("shared", "trust", "publicgood")
	if len(os.Args) > 1 {
		dir = os.Args[1]
	}
	m, err := trust.Load(context.Background(), trust.Options{TUFCacheDir: filepath.Join(os.TempDir(), "paved-trust-root-tuf")})
	if err != nil {
		fmt.Fprintln(os.Stderr, "paved-trust-root:", err)
		os.Exit(3)
	}
	if m.Note != "" {
		fmt.Fprintln(os.Stderr, "paved-trust-root: TUF did not answer; refusing to write the embedded root again")
		os.Exit(3)
	}
	for name, data := range map[string][]byte{
		"trusted_root.json": m.RootJSON,
		"as-of":             []byte(time.Now().UTC().Format(time.DateOnly) + "\n"),
	} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "paved-trust-root:", err)
			os.Exit(2)
		}
	}
	fmt.Printf("paved-trust-root: wrote %s from %s\n", dir, m.Source)
}
