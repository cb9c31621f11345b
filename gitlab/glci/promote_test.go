package glci_test

import (
	"io"
	"strings"
	"testing"

	"github.com/paved-dev/paved/gitlab/glci"
	"github.com/paved-dev/paved/shared/command"
	"github.com/paved-dev/paved/shared/fail"
)

// TestFileUploader: the GitLab door supplies the generic package as a
// release-file destination, versioned by the tag, else the commit, unless the
// destination names a version; without the job token it says what is missing.
func TestFileUploader(t *testing.T) {
	job := map[string]string{"CI_API_V4_URL": "https://gitlab.example.com/api/v4", "CI_PROJECT_ID": "42", "CI_JOB_TOKEN": "glcbt-secret", "CI_COMMIT_SHA": "0123abcd"}
	door := func() command.FileUploaderProvider {
		return glci.New(glci.Options{Getenv: func(k string) string { return job[k] }, Stdout: io.Discard, Stderr: io.Discard})
	}
	for _, tc := range []struct {
		tag, version, want string
	}{
		{"", "", "app@0123abcd"},
		{"v1.2.3", "", "app@v1.2.3"},
		{"v1.2.3", "2.0.0", "app@2.0.0"},
	} {
		job["CI_COMMIT_TAG"] = tc.tag
		up, err := door().FileUploader("app", tc.version)
		if err != nil || !strings.Contains(up.Name(), tc.want+" of project 42") {
			t.Fatalf("tag %q version %q: %v, %v; want %s", tc.tag, tc.version, up, err, tc.want)
		}
	}
	delete(job, "CI_JOB_TOKEN")
	if _, err := door().FileUploader("app", ""); fail.ClassOf(err) != fail.Config || !strings.Contains(err.Error(), "CI_JOB_TOKEN") {
		t.Fatalf("without the job token: %v", err)
	}
}
