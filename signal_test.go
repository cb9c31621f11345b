package main

import (
	"bytes"
	"context"
	"os"
	"syscall"
	"testing"
	"time"
)

// TestAttackSecondSignalEnds: a run that does not stop after the first
// SIGINT or SIGTERM (a blocked read, a server that never answers) ends on the
// second, with exit code 130.
func TestAttackSecondSignalEnds(t *testing.T) {
	sigs := make(chan os.Signal, 2)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	exited := make(chan int, 1)
	var stderr bytes.Buffer
	go onSignals(sigs, cancel, &stderr, func(code int) { exited <- code })

	sigs <- os.Interrupt
	select {
	case <-ctx.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("the first signal did not cancel the run")
	}
	select {
	case code := <-exited:
		t.Fatalf("exited with %d on the first signal", code)
	case <-time.After(50 * time.Millisecond):
	}
	sigs <- syscall.SIGTERM
	select {
	case code := <-exited:
		if code != 130 {
			t.Fatalf("exit code %d, want 130", code)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the second signal did not end the process")
	}
}
