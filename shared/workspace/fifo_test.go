//go:build unix

package workspace_test

import (
	"errors"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/paved-dev/paved/shared/workspace"
)

func TestOpenRefusesFIFOWithoutBlocking(t *testing.T) {
	root := t.TempDir()
	if err := syscall.Mkfifo(filepath.Join(root, "pipe"), 0o644); err != nil {
		t.Skip("no FIFOs here:", err)
	}
	w := open(t, root, root)
	done := make(chan error, 1)
	go func() { _, err := w.ReadFile("pipe", 10); done <- err }()
	select {
	case err := <-done:
		var nr *workspace.NotRegularError
		if !errors.As(err, &nr) {
			t.Fatalf("ReadFile(pipe): %v, want a not-a-regular-file refusal", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("opening a FIFO blocked")
	}
	if es, err := w.Glob("*"); err != nil || len(es) != 0 {
		t.Fatalf("Glob(*) = %v, %v; a FIFO is not a file to match", es, err)
	}
}
