package sbom

import (
	"runtime/debug"
	"testing"
)

func TestCollectOftenWhileRestoresTheTarget(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	for _, tt := range []struct{ start, during int }{
		{100, buildGCPercent},
		{400, buildGCPercent},
		{20, 20}, // a lower GOGC is kept
		{-1, -1}, // GOGC=off is kept
	} {
		debug.SetGCPercent(tt.start)
		restore := collectOftenWhile()
		if got := debug.SetGCPercent(tt.during); got != tt.during {
			t.Errorf("GOGC %d: target while building = %d, want %d", tt.start, got, tt.during)
		}
		restore()
		if got := debug.SetGCPercent(tt.start); got != tt.start {
			t.Errorf("GOGC %d: target after building = %d, want it restored", tt.start, got)
		}
	}
}
