//go:build unix

package subject_test

import (
	"context"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/paved-dev/paved/shared/subject"
)

// TestAttackFIFOSubjectDoesNotBlock: a FIFO named as a subject or checksums
// file is refused, and a glob skips it, without ever blocking on an open.
func TestAttackFIFOSubjectDoesNotBlock(t *testing.T) {
	dir := t.TempDir()
	if err := syscall.Mkfifo(filepath.Join(dir, "pipe"), 0o644); err != nil {
		t.Skip("no FIFOs here:", err)
	}
	app := write(t, filepath.Join(dir, "app"), "app")
	t.Chdir(dir)
	cases := []struct {
		spec subject.Spec
		want string
	}{
		{subject.Spec{Paths: []string{"pipe"}}, "named pipe"},
		{subject.Spec{ChecksumsFiles: []string{"pipe"}}, "named pipe"},
		{subject.Spec{Paths: []string{"*"}}, ""},
	}
	for _, tc := range cases {
		done := make(chan struct{})
		var got []subject.Subject
		var err error
		go func() {
			defer close(done)
			got, err = subject.Resolve(context.Background(), tc.spec, subject.Options{})
		}()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatalf("%+v: blocked on the FIFO", tc.spec)
		}
		if tc.want != "" {
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("%+v: %v, want a refusal naming %q", tc.spec, err, tc.want)
			}
			continue
		}
		if err != nil || len(got) != 1 || got[0].SHA256() != app {
			t.Fatalf("%+v: %+v, %v; want only app", tc.spec, got, err)
		}
	}
}
