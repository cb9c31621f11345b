// Package shared_test enforces the architecture of the core library.
package shared_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestCoreStaysNeutral fails when anything under shared/ depends on a CI front
// door or a platform SDK: the core speaks neutral vocabulary only.
func TestCoreStaysNeutral(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}", "./...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	forbidden := []string{
		"github.com/paved-dev/paved/actions",
		"github.com/paved-dev/paved/gitlab",
		"github.com/sethvargo/go-githubactions",
		"gitlab.com/gitlab-org/api/client-go",
		"github.com/xanzy/go-gitlab",
	}
	n := 0
	for _, dep := range strings.Fields(string(out)) {
		n++
		for _, f := range forbidden {
			if dep == f || strings.HasPrefix(dep, f+"/") {
				t.Errorf("shared/ depends on %s: the core must not import a CI front door or platform SDK", dep)
			}
		}
	}
	if n < 10 {
		t.Fatalf("go list returned only %d packages; the check did not run", n)
	}
}
