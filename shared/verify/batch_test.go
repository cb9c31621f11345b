package verify_test

import (
	"context"
	"strings"
	"testing"

	"github.com/paved-dev/paved/shared/verify"
)

// TestAllCancelledReportsEveryTargetUnverified: a run cancelled before a
// target is reached leaves that target unverified with a reason, never a
// blank outcome.
func TestAllCancelledReportsEveryTargetUnverified(t *testing.T) {
	art, err := verify.ParseDigest("sha256:" + strings.Repeat("ab", 32))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	targets := []verify.Target{{Name: "a", Artifact: art}, {Name: "b", Artifact: art}}
	out := verify.All(ctx, nil, targets, nil, nil, verify.Options{}, 1)
	if len(out) != 2 {
		t.Fatalf("%d outcomes for 2 targets", len(out))
	}
	for i, oc := range out {
		if oc.Verified || oc.Target.Name != targets[i].Name || len(oc.Failures) == 0 || !strings.Contains(oc.Failures[0].Reason, "context canceled") {
			t.Errorf("outcome %d = %+v, want %s unverified because the run was cancelled", i, oc, targets[i].Name)
		}
	}
}
