package command

import (
	"fmt"
	"strings"
)

// exitCodes is the help text on what each exit status means, the same for
// every command (fail.Class.ExitCode).
const exitCodes = `Exit codes:
  0  success
  1  a check failed: verification refused, or the policy denied
  2  usage or configuration error: the message names the flag or file to fix
  3  a service or source could not be reached (Sigstore, TUF, a registry, OSV); retry later
  4  internal error
`

// examples are the command lines a person at a terminal starts from, kept
// beside the help text rather than in each declaration.
var examples = map[string][]string{
	"attest": {
		"paved attest dist/app --identity-token-file token.jwt",
		"paved attest 'dist/**' --bundle-path dist/attestation.sigstore.json",
	},
	"verify": {
		"paved verify dist/app --bundle app.sigstore.json --repo OWNER/REPO",
		"paved verify oci://ghcr.io/OWNER/app@sha256:HEX --bundle-from registry --owner OWNER",
		"paved verify dist/app --bundle app.sigstore.json --repo OWNER/REPO --trusted-root trusted_root.json",
	},
	"policy": {
		"paved policy sbom.cdx.json --policy policy.yml",
		"paved policy --source . --policy policy.yml --mode warn",
	},
	"sbom": {
		"paved sbom .",
		"paved sbom ghcr.io/OWNER/app:1.0 --attest --subject-digest app@sha256:HEX",
	},
	"supply-chain": {
		"paved supply-chain 'dist/*' --policy policy.yml",
	},
}

// helpTail is what follows the flags in a command's help: its examples,
// then the exit codes.
func helpTail(name string) string {
	var b strings.Builder
	if ex := examples[name]; len(ex) > 0 {
		b.WriteString("\nExamples:\n")
		for _, e := range ex {
			fmt.Fprintf(&b, "  %s\n", e)
		}
	}
	b.WriteString("\n" + exitCodes)
	return b.String()
}
