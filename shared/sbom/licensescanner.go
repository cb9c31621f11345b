package sbom

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"runtime/debug"
	"sync"
	"sync/atomic"
	_ "unsafe" // for go:linkname

	"github.com/anchore/syft/syft/cataloging"
	"github.com/google/licensecheck"
)

// syft identifies licenses in license files with a scanner built from every
// license text licensecheck knows: 1 to 2 s of CPU, which syft spends before
// any cataloger runs, whether or not a license file is ever read. Most scans
// read none (a Go module tree without its module cache, npm packages that
// declare their license in package.json), so Paved builds the matcher on the
// first license text a cataloger hands the scanner, once per process.
//
// syft takes a scanner only through its internal licenses package, so the two
// functions below are syft's own, reached by name: licenses.NewScanner wraps a
// licensecheck scan function in syft's scanner (syft's coverage threshold and
// evidence logic unchanged), licenses.SetContextLicenseScanner hands it to the
// catalogers. The declarations must match syft's; syftInternalsAsDeclared in
// the tests reads syft's source of the version in go.mod and fails when they
// drift. Values of syft's Scanner interface are only passed from one function
// to the other, never called here.

// syftScannerConfig has the fields of syft's licenses.ScannerConfig, in order.
type syftScannerConfig struct {
	CoverageThreshold float64
	Scanner           func([]byte) licensecheck.Coverage
}

// syftScanner holds a value of syft's licenses.Scanner interface. Its method
// set is Paved's own and unimplementable, so it cannot be called or satisfied
// here; an interface value is the same two words whatever its methods.
type syftScanner interface{ syftInternal() }

//go:linkname syftNewScanner github.com/anchore/syft/internal/licenses.NewScanner
func syftNewScanner(c *syftScannerConfig) (syftScanner, error)

//go:linkname syftSetScanner github.com/anchore/syft/internal/licenses.SetContextLicenseScanner
func syftSetScanner(ctx context.Context, s syftScanner) context.Context

// matcher is licensecheck's scanner over its built-in licenses, as syft
// builds it, built on first use.
var (
	matcher = sync.OnceValues(func() (*licensecheck.Scanner, error) {
		defer collectOftenWhile()()
		return licensecheck.NewScanner(licensecheck.BuiltinLicenses())
	})
)

// errMatcher is recorded when the matcher could not be built; Generate fails
// the scan rather than report license files as unidentified.
var errMatcher atomic.Pointer[error]

// scans counts the license texts handed to lazyScan (the tests read it).
var scans atomic.Int64

// lazyScan is the scan function syft's scanner calls with each license text.
func lazyScan(text []byte) licensecheck.Coverage {
	scans.Add(1)
	m, err := matcher()
	if err != nil {
		errMatcher.CompareAndSwap(nil, &err)
		return licensecheck.Coverage{}
	}
	return m.Scan(text)
}

// licenseScannerValues is a values-only context carrying the lazy scanner.
var licenseScannerValues = sync.OnceValues(func() (context.Context, error) {
	s, err := syftNewScanner(&syftScannerConfig{
		CoverageThreshold: cataloging.DefaultLicenseConfig().Coverage, Scanner: lazyScan})
	if err != nil {
		return nil, err
	}
	if s == nil {
		return nil, errors.New("syft returned no license scanner")
	}
	return syftSetScanner(context.Background(), s), nil
})

// matcherErr is the error of a matcher build a scan needed, if any.
func matcherErr() error {
	if p := errMatcher.Load(); p != nil {
		return *p
	}
	return nil
}

// buildGCPercent is the garbage collector's target while the license scanner
// builds.
const buildGCPercent = 50

// collectOftenWhile lowers the garbage collector's target until the returned
// function runs, which collects and restores it. The license scanner's build
// allocates about 100 MB of short-lived maps for a result of about 20 MB, and
// runs while catalogers hold their packages: at the default target that garbage
// set the process's peak memory above the syft CLI's, which builds the scanner
// before it catalogs. Collecting twice as often costs about a tenth
// more CPU in the build. A lower target the process runs with (GOGC) is kept.
func collectOftenWhile() (restore func()) {
	old := debug.SetGCPercent(buildGCPercent)
	if old <= buildGCPercent { // GOGC=off (-1) or a lower target: keep it
		debug.SetGCPercent(old)
		return func() {}
	}
	return func() {
		// Collect before restoring: the target applies to the heap left by the
		// last collection, which still held the build's working set.
		runtime.GC()
		debug.SetGCPercent(old)
	}
}

// withValues is ctx (deadline, cancellation, values) plus the values of extra.
type withValues struct {
	context.Context
	extra context.Context
}

func (c withValues) Value(key any) any {
	if v := c.Context.Value(key); v != nil {
		return v
	}
	return c.extra.Value(key)
}

// WithLicenseScanner returns ctx carrying syft's license scanner, whose
// matcher is built on first use, once per process.
func WithLicenseScanner(ctx context.Context) (context.Context, error) {
	lv, err := licenseScannerValues()
	if err != nil {
		return nil, fmt.Errorf("building the license scanner: %w", err)
	}
	return withValues{ctx, lv}, nil
}
