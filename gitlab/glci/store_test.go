package glci_test

import (
	"io"
	"strings"
	"testing"

	"github.com/paved-dev/paved/gitlab/glci"
	"github.com/paved-dev/paved/shared/command"
	"github.com/paved-dev/paved/shared/fail"
)

func TestStoreTargets(t *testing.T) {
	job := map[string]string{"CI_API_V4_URL": "https://gitlab.example.com/api/v4", "CI_PROJECT_ID": "42", "CI_JOB_TOKEN": "glcbt-secret", "CI_COMMIT_SHA": "0123abcd"}
	values := func(m map[string][]string) command.Values {
		v, err := command.NewValues(command.Attest(), m)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	door := func(env map[string]string) *glci.Door {
		return glci.New(glci.Options{Getenv: func(k string) string { return env[k] }, Stdout: io.Discard, Stderr: io.Discard})
	}
	if ws, err := door(job).StoreTargets(values(nil)); err != nil || len(ws) != 0 {
		t.Fatalf("without gitlab-package: %v, %v", ws, err)
	}
	ws, err := door(job).StoreTargets(values(map[string][]string{"gitlab-package": {"attestations"}}))
	if err != nil || len(ws) != 1 || ws[0].Name() != "GitLab package registry" {
		t.Fatalf("with gitlab-package: %v, %v", ws, err)
	}
	delete(job, "CI_JOB_TOKEN")
	_, err = door(job).StoreTargets(values(map[string][]string{"gitlab-package": {"attestations"}}))
	if fail.ClassOf(err) != fail.Config || !strings.Contains(err.Error(), "CI_JOB_TOKEN") {
		t.Fatalf("without the job token: %v", err)
	}
}
