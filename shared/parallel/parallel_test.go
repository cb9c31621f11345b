package parallel_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/paved-dev/paved/shared/parallel"
)

func TestEachRunsEveryIndexOnce(t *testing.T) {
	const n = 100
	var seen [n]atomic.Int32
	if err := parallel.Each(context.Background(), n, 3, func(_ context.Context, i int) error {
		seen[i].Add(1)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	for i := range seen {
		if c := seen[i].Load(); c != 1 {
			t.Fatalf("index %d ran %d times", i, c)
		}
	}
}

func TestEachBoundsConcurrency(t *testing.T) {
	var running, peak atomic.Int32
	err := parallel.Each(context.Background(), 40, 3, func(_ context.Context, i int) error {
		r := running.Add(1)
		for {
			p := peak.Load()
			if r <= p || peak.CompareAndSwap(p, r) {
				break
			}
		}
		time.Sleep(time.Millisecond)
		running.Add(-1)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if p := peak.Load(); p > 3 || p < 1 {
		t.Fatalf("%d calls ran at once, want at most 3", p)
	}
}

// TestEachStopsAtFirstError: the first error is returned, the calls already
// running see their context cancelled, and no further call starts.
func TestEachStopsAtFirstError(t *testing.T) {
	boom := errors.New("boom")
	var started atomic.Int32
	var mu sync.Mutex
	var cancelled int
	err := parallel.Each(context.Background(), 1000, 2, func(ctx context.Context, i int) error {
		started.Add(1)
		if i == 0 {
			return boom
		}
		select {
		case <-ctx.Done():
			mu.Lock()
			cancelled++
			mu.Unlock()
		case <-time.After(5 * time.Second):
		}
		return nil
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Each = %v, want the first error", err)
	}
	if s := started.Load(); s > 3 {
		t.Fatalf("%d calls started after the first error (limit 2)", s)
	}
	if cancelled != int(started.Load())-1 {
		t.Fatalf("%d of %d running calls saw the cancellation", cancelled, started.Load()-1)
	}
}

func TestEachHonoursTheCallersContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var ran atomic.Int32
	err := parallel.Each(ctx, 10, 2, func(context.Context, int) error {
		ran.Add(1)
		return nil
	})
	if !errors.Is(err, context.Canceled) || ran.Load() != 0 {
		t.Fatalf("Each on a cancelled context = %v after %d calls; want context.Canceled and none", err, ran.Load())
	}
}

func TestEachDefaultLimit(t *testing.T) {
	var ran atomic.Int32
	if err := parallel.Each(context.Background(), 5, 0, func(context.Context, int) error {
		ran.Add(1)
		return nil
	}); err != nil || ran.Load() != 5 {
		t.Fatalf("Each with limit 0 = %v after %d calls", err, ran.Load())
	}
}
