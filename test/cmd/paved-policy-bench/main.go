// Command paved-policy-bench measures the dependency policy gate: 10,000 SBOM
// components against 200,000 generated OSV records in an all.zip export. It
// measures three runs, each in a process of its own so that each peak
// resident memory is its own (generation's memory does not count either):
// "no index" reads every record as a run without an index cache would; "cold"
// is the first run with an empty cache directory, which reads every record
// and writes the zip's index; "warm" is a later run that reads only the
// records the index points to. Each prints the time to load the database and
// to evaluate the policy, the records kept of those in the database, the live
// heap after loading and the peak resident memory.
//
//	go run ./test/cmd/paved-policy-bench [-components 10000] [-records 200000] [-dir DIR]
package main

import (
	"archive/zip"
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/paved-dev/paved/shared/policy"
)

func main() {
	components := flag.Int("components", 10000, "SBOM components")
	records := flag.Int("records", 200000, "OSV records in the all.zip")
	dir := flag.String("dir", "", "work directory (default: a temporary one, removed afterwards)")
	measure := flag.String("measure", "", "internal: measure one run (no-index, cold or warm) in an existing work directory")
	flag.Parse()
	if *measure != "" {
		if err := run(*dir, *measure); err != nil {
			fmt.Fprintln(os.Stderr, "paved-policy-bench:", err)
			os.Exit(1)
		}
		return
	}
	if *dir == "" {
		d, err := os.MkdirTemp("", "paved-policy-bench-")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		defer os.RemoveAll(d)
		*dir = d
	}
	start := time.Now()
	if err := generate(*dir, *components, *records); err != nil {
		fmt.Fprintln(os.Stderr, "paved-policy-bench: generating:", err)
		os.Exit(1)
	}
	fmt.Printf("generated %d components and %d OSV records in %s\n", *components, *records, time.Since(start).Round(time.Millisecond))
	self, err := os.Executable()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	// A cold run starts from an empty cache; the warm run reuses what it wrote.
	if err := os.RemoveAll(filepath.Join(*dir, "cache")); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	for _, mode := range []string{"no-index", "cold", "warm"} {
		cmd := exec.Command(self, "-measure", mode, "-dir", *dir)
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
		if err := cmd.Run(); err != nil {
			fmt.Fprintln(os.Stderr, "paved-policy-bench: measuring:", err)
			os.Exit(1)
		}
	}
	compareOSVScanner(*dir)
}

var ecosystems = []struct{ osv, purlType string }{{"npm", "npm"}, {"PyPI", "pypi"}, {"Go", "golang"}, {"Maven", "maven"}}

func pkgName(eco, i int) string {
	switch ecosystems[eco].osv {
	case "Go":
		return fmt.Sprintf("github.com/bench/mod%d", i)
	case "Maven":
		return fmt.Sprintf("org.bench:artifact%d", i)
	}
	return fmt.Sprintf("bench-pkg-%d", i)
}

func purl(eco, i int, version string) string {
	name := pkgName(eco, i)
	switch ecosystems[eco].osv {
	case "Maven":
		g, a, _ := strings.Cut(name, ":")
		return "pkg:maven/" + g + "/" + a + "@" + version
	case "Go":
		return "pkg:golang/" + name + "@v" + version
	}
	return "pkg:" + ecosystems[eco].purlType + "/" + name + "@" + version
}

// generate writes sbom.cdx.json, all.zip and policy.yaml. Every record
// affects package i (for i < records); components are every stride-th package,
// so records/stride records are relevant and the rest are not.
func generate(dir string, components, records int) error {
	stride := max(records/components, 1)
	zf, err := os.Create(filepath.Join(dir, "all.zip"))
	if err != nil {
		return err
	}
	zw := zip.NewWriter(bufio.NewWriterSize(zf, 1<<20))
	// The same records as osv-scanner's offline databases: one all.zip per
	// ecosystem under osvdb/osv-scanner/ECOSYSTEM/.
	perEco := map[string]*zip.Writer{}
	var perEcoFiles []*os.File
	for _, e := range ecosystems {
		d := filepath.Join(dir, "osvdb", "osv-scanner", e.osv)
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
		f, err := os.Create(filepath.Join(d, "all.zip"))
		if err != nil {
			return err
		}
		perEcoFiles = append(perEcoFiles, f)
		perEco[e.osv] = zip.NewWriter(bufio.NewWriterSize(f, 1<<20))
	}
	for i := range records {
		eco := i % len(ecosystems)
		id := fmt.Sprintf("BENCH-%07d", i)
		rec := policy.Record{ID: id, Modified: "2025-01-01T00:00:00Z", Published: "2025-01-01T00:00:00Z",
			Aliases: []string{fmt.Sprintf("CVE-2025-%d", 100000+i)}, Summary: "generated record " + id,
			Severity: []policy.Severity{{Type: "CVSS_V3", Score: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}}}
		var a policy.Affected
		a.Package.Ecosystem, a.Package.Name = ecosystems[eco].osv, pkgName(eco, i)
		a.Ranges = []policy.Range{{Type: "ECOSYSTEM", Events: []policy.Event{{Introduced: "1.0.0"}, {Fixed: "1.2.0"}}}}
		if ecosystems[eco].osv == "Go" {
			a.Ranges[0].Type = "SEMVER"
		}
		if i%1000 == 0 {
			rec.ID = fmt.Sprintf("MAL-2025-%d", i)
			a.Ranges = []policy.Range{{Type: "ECOSYSTEM", Events: []policy.Event{{Introduced: "0"}}}}
		}
		rec.Affected = []policy.Affected{a}
		raw, err := json.Marshal(rec)
		if err != nil {
			return err
		}
		for _, z := range []*zip.Writer{zw, perEco[ecosystems[eco].osv]} {
			w, err := z.Create(rec.ID + ".json")
			if err != nil {
				return err
			}
			if _, err := w.Write(raw); err != nil {
				return err
			}
		}
	}
	if err := zw.Close(); err != nil {
		return err
	}
	for i, e := range ecosystems {
		if err := perEco[e.osv].Close(); err != nil {
			return err
		}
		if err := perEcoFiles[i].Close(); err != nil {
			return err
		}
	}
	if err := zf.Close(); err != nil {
		return err
	}
	type comp struct {
		Type    string `json:"type"`
		BOMRef  string `json:"bom-ref"`
		Name    string `json:"name"`
		Version string `json:"version"`
		PURL    string `json:"purl"`
	}
	var comps []comp
	for c := range components {
		i := c * stride
		eco := i % len(ecosystems)
		version := "1.1.0"
		if c%2 == 1 {
			version = "1.3.0"
		}
		p := purl(eco, i, version)
		comps = append(comps, comp{"library", p, pkgName(eco, i), version, p})
	}
	sbom, err := json.Marshal(map[string]any{"bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1, "components": comps})
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "sbom.cdx.json"), sbom, 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "policy.yaml"), []byte("version: 1\nrules:\n  vulnerable:\n    min-severity: high\n"), 0o644)
}

func run(dir, mode string) error {
	ctx := context.Background()
	t0 := time.Now()
	raw, err := os.ReadFile(filepath.Join(dir, "sbom.cdx.json"))
	if err != nil {
		return err
	}
	sb, err := policy.ReadSBOM(bytes.NewReader(raw))
	if err != nil {
		return err
	}
	polRaw, err := os.ReadFile(filepath.Join(dir, "policy.yaml"))
	if err != nil {
		return err
	}
	pol, err := policy.Parse("policy.yaml", polRaw)
	if err != nil {
		return err
	}
	opts := policy.LoadOptions{CacheDir: filepath.Join(dir, "cache"), Log: os.Stderr}
	switch mode {
	case "no-index":
		opts.NoIndex = true
	case "cold", "warm":
	default:
		return fmt.Errorf("-measure %q: want no-index, cold or warm", mode)
	}
	t1 := time.Now()
	db, err := policy.LoadOSV(ctx, []string{filepath.Join(dir, "all.zip")}, sb.Components, opts)
	if err != nil {
		return err
	}
	t2 := time.Now()
	if mode == "warm" && db.Scanned == db.Total {
		return errors.New("the warm run read every record: the index written by the cold run was not used")
	}
	rep, err := policy.Evaluate(ctx, sb, pol, policy.Options{DB: db})
	if err != nil {
		return err
	}
	t3 := time.Now()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	fmt.Printf("--- %s run\n", mode)
	fmt.Printf("components:            %d\n", len(sb.Components))
	fmt.Printf("OSV records:           %d kept of %d in the database (%d read)\n", db.Kept, db.Total, db.Scanned)
	fmt.Printf("findings:              %d (%d deny)\n", len(rep.Findings), rep.Count(policy.Deny))
	fmt.Printf("read SBOM + policy:    %s\n", t1.Sub(t0).Round(time.Millisecond))
	fmt.Printf("load OSV all.zip:      %s\n", t2.Sub(t1).Round(time.Millisecond))
	fmt.Printf("evaluate:              %s\n", t3.Sub(t2).Round(time.Millisecond))
	fmt.Printf("total:                 %s (goal 500ms)\n", t3.Sub(t0).Round(time.Millisecond))
	fmt.Printf("live heap after load:  %.1f MiB\n", float64(ms.HeapAlloc)/(1<<20))
	fmt.Printf("peak RSS:              %s\n", peakRSS())
	runtime.KeepAlive(db)
	return nil
}

// peakRSS reads the process's high-water resident set size (Linux).
func peakRSS() string {
	raw, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return "unknown"
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if strings.HasPrefix(line, "VmHWM:") {
			return strings.TrimSpace(strings.TrimPrefix(line, "VmHWM:"))
		}
	}
	return "unknown"
}

// compareOSVScanner runs osv-scanner (tools/install.sh osv-scanner) offline
// on the same SBOM against the same records, laid out as its offline
// databases, and prints its time, peak memory and what it found.
func compareOSVScanner(dir string) {
	bin, err := exec.LookPath("osv-scanner")
	if err != nil {
		fmt.Println("osv-scanner: not installed here (tools/install.sh osv-scanner); no comparison")
		return
	}
	start := time.Now()
	cmd := exec.Command(bin, "scan", "source", "--offline", "--format", "json", "-L", filepath.Join(dir, "sbom.cdx.json"))
	cmd.Env = append(os.Environ(), "OSV_SCANNER_LOCAL_DB_CACHE_DIRECTORY="+filepath.Join(dir, "osvdb"))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	wall := time.Since(start)
	var rep struct {
		Results []struct {
			Packages []struct {
				Vulnerabilities []struct {
					ID string `json:"id"`
				} `json:"vulnerabilities"`
			} `json:"packages"`
		} `json:"results"`
	}
	if jerr := json.Unmarshal(stdout.Bytes(), &rep); jerr != nil {
		fmt.Printf("osv-scanner --offline: %s, exit %v, output not JSON (%v): %.300s\n", wall.Round(time.Millisecond), err, jerr, stderr.String())
		return
	}
	pkgs, vulns := 0, 0
	for _, r := range rep.Results {
		for _, p := range r.Packages {
			if len(p.Vulnerabilities) > 0 {
				pkgs++
				vulns += len(p.Vulnerabilities)
			}
		}
	}
	rss := "unknown"
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		rss = fmt.Sprintf("%d kB", ru.Maxrss)
	}
	fmt.Printf("osv-scanner --offline (same SBOM, same records as per-ecosystem all.zip): %s total, peak RSS %s, %d packages with %d records\n",
		wall.Round(time.Millisecond), rss, pkgs, vulns)
}
