// Package parallel runs indexed work on a bounded number of goroutines, the
// one worker pool of the project (digesting, verifying, copying blobs,
// reading OSV records, querying services).
package parallel

import (
	"context"
	"runtime"

	"golang.org/x/sync/errgroup"
)

// Each calls fn(ctx, i) for every i in [0, n), at most limit at a time
// (limit <= 0: one per CPU, GOMAXPROCS). The first error fn returns cancels
// the ctx the other calls see, stops further calls from starting, and is
// returned once every started call has finished. When ctx ends first, calls
// not yet started never start and its error is returned.
//
// Work that must go on past a failure (to report every bad file, say) records
// its error by index and returns nil.
func Each(ctx context.Context, n, limit int, fn func(ctx context.Context, i int) error) error {
	if limit <= 0 {
		limit = runtime.GOMAXPROCS(0)
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(limit)
	for i := range n {
		if gctx.Err() != nil {
			break
		}
		g.Go(func() error { return fn(gctx, i) })
	}
	if err := g.Wait(); err != nil {
		return err
	}
	return ctx.Err()
}
