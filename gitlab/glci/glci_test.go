package glci_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/paved-dev/paved/gitlab/glci"
	"github.com/paved-dev/paved/shared/command"
)

func TestDotenvAndRun(t *testing.T) {
	dir := t.TempDir()
	vars := map[string]string{
		"PAVED_DOTENV": filepath.Join(dir, "paved.env"), "CI_PIPELINE_ID": "7", "CI_JOB_ID": "9", "CI_PROJECT_DIR": dir,
		"CI_SERVER_URL": "https://gitlab.example.com", "CI_PROJECT_PATH": "g/p",
	}
	var stdout bytes.Buffer
	d := glci.New(glci.Options{Getenv: func(k string) string { return vars[k] }, Stdout: &stdout, Stderr: &stdout, Now: func() time.Time { return time.Unix(100, 0) }})
	if err := d.WriteOutputs(command.Attest(), map[string]string{"bundle-path": "a.sigstore.json", "subjects": "sha256:aa a\nsha256:bb b\n"}); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(vars["PAVED_DOTENV"])
	if err != nil {
		t.Fatal(err)
	}
	if string(raw) != "PAVED_ATTEST_BUNDLE_PATH=a.sigstore.json\nPAVED_ATTEST_SUBJECTS=sha256:aa a,sha256:bb b\n" {
		t.Fatalf("dotenv %q", raw)
	}
	run := d.Run()
	if run.PipelineID != "7" || run.JobID != "9" || run.ProjectPath != "g/p" || d.Workspace() != dir {
		t.Fatalf("run %+v", run)
	}
	if d.Identity() != nil || !strings.Contains(d.TokenFix(), "id_tokens:\n    SIGSTORE_ID_TOKEN:\n      aud: sigstore") {
		t.Fatal("without SIGSTORE_ID_TOKEN the door must name the id_tokens fix")
	}
	stdout.Reset()
	if err := d.WriteSummary("hello"); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stdout.String(), "section_start:100:paved_summary") || !strings.Contains(stdout.String(), "section_end:100:paved_summary") {
		t.Fatalf("summary is not a log section: %q", stdout.String())
	}
}
