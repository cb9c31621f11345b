package bounded_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/paved-dev/paved/shared/bounded"
)

func TestReadFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(p, []byte("12345"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		limit int64
		ok    bool
	}{{5, true}, {6, true}, {4, false}, {0, false}} {
		data, err := bounded.ReadFile(p, tc.limit)
		if tc.ok && (err != nil || string(data) != "12345") {
			t.Errorf("limit %d: %q, %v", tc.limit, data, err)
		}
		if !tc.ok && (!errors.Is(err, bounded.ErrTooLarge) || !strings.Contains(err.Error(), p)) {
			t.Errorf("limit %d: want a too-large error naming the file, got %v", tc.limit, err)
		}
	}
	if _, err := bounded.ReadFile(filepath.Join(t.TempDir(), "missing"), 10); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}
