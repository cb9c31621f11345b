// Command paved-gen writes the packaging that is derived from the commands'
// declarations: action.yml, actions/NAME/action.yml and templates/NAME.yml.
// Run it through `go generate` at the repository root; with -check it writes
// nothing and fails when a file is stale.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/paved-dev/paved/actions/gha"
	"github.com/paved-dev/paved/gitlab/glci"
	"github.com/paved-dev/paved/shared/command"
)

func main() {
	check := flag.Bool("check", false, "fail when a generated file is stale instead of writing it")
	flag.Parse()
	stale := 0
	for path, content := range Files() {
		old, _ := os.ReadFile(path)
		if bytes.Equal(old, []byte(content)) {
			continue
		}
		if *check {
			fmt.Fprintf(os.Stderr, "%s is stale: run go generate\n", path)
			stale++
			continue
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		fmt.Println("wrote", path)
	}
	if stale > 0 {
		os.Exit(1)
	}
}

// Files returns every generated file by path, relative to the repository root.
func Files() map[string]string {
	files := map[string]string{}
	for _, c := range command.All() {
		if !hasCIInputs(c) {
			continue
		}
		files[filepath.Join("actions", c.Name, "action.yml")] = gha.ActionYAML(c, c.CI.Title, c.CI.Description, "/../..")
		files[filepath.Join("templates", c.Name+".yml")] = glci.ComponentYAML(c)
	}
	attest, _ := command.Find("attest")
	files["action.yml"] = gha.ActionYAML(attest, "Paved",
		"Keyless SLSA provenance for your build artifacts: sign with the job's OIDC identity through Sigstore, write a verifiable bundle.", "")
	return files
}

func hasCIInputs(c *command.Command) bool {
	for _, in := range c.Inputs {
		if !in.CLIOnly {
			return true
		}
	}
	return false
}
