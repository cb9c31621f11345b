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
	"strings"

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
	image, err := glci.ReleaseImage(".")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	for _, c := range command.All() {
		if !hasCIInputs(c) {
			continue
		}
		files[filepath.Join("actions", c.Name, "action.yml")] = gha.ActionYAML(c, c.CI.Title, c.CI.Description, "/../..")
		files[filepath.Join("templates", c.Name+".yml")] = glci.ComponentYAML(c, image)
	}
	if readme, err := os.ReadFile("README.md"); err == nil {
		files["README.md"] = readmeWithHelp(string(readme))
	}
	// The root action is the all-in-one step; its component is templates/supply-chain.yml.
	all, _ := command.Find("supply-chain")
	files["action.yml"] = gha.ActionYAML(all, all.CI.Title, all.CI.Description, "")
	return files
}

// readmeWithHelp refreshes every "$ paved NAME --help" block in README and adds
// the missing ones at the end of its "## Commands" section.
func readmeWithHelp(readme string) string {
	for _, c := range command.All() {
		block := "```text\n$ paved " + c.Name + " --help\n" + command.CommandHelp(c) + "```\n"
		start := strings.Index(readme, "```text\n$ paved "+c.Name+" --help\n")
		if start >= 0 {
			end := strings.Index(readme[start+8:], "```\n")
			if end >= 0 {
				readme = readme[:start] + block + readme[start+8+end+4:]
				continue
			}
		}
		sec := strings.Index(readme, "## Commands\n")
		if sec < 0 {
			continue
		}
		next := strings.Index(readme[sec+1:], "\n## ")
		at := len(readme)
		if next >= 0 {
			at = sec + 1 + next + 1
		}
		readme = readme[:at] + block + "\n" + readme[at:]
	}
	return readme
}

func hasCIInputs(c *command.Command) bool { return len(c.CIInputs()) > 0 }
