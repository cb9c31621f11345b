// Command paved-sbom-bench compares `paved sbom` with the syft CLI of the same
// syft version (tools/syft) on generated inputs with thousands of packages —
// a Go module tree and an installed node_modules tree — and prints, in one
// run on this machine:
//
//   - wall time and peak RSS of paved over syft, for the same input and format;
//   - the cost of the second format: what writing SPDX and CycloneDX from the
//     one scan adds over writing SPDX alone.
//
// Both tools get the same configuration: no network lookups, no update check,
// the same cataloger selection. Run it with
//
//	PATH="$PAVED_TOOLS_BIN:$PATH" go run ./test/cmd/paved-sbom-bench
//
// after tools/install.sh syft.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/paved-dev/paved/shared/sbom/sbomtest"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "paved-sbom-bench:", err)
		os.Exit(1)
	}
}

// sample is one measured process.
type sample struct {
	wall   time.Duration
	cpu    time.Duration // user + system
	rssKiB int64
	stderr string
}

func run() error {
	goMods := flag.Int("go-modules", 3000, "modules required by the generated Go module")
	npmPkgs := flag.Int("npm-packages", 3000, "packages in the generated node_modules (plus a nested one every tenth)")
	runs := flag.Int("runs", 5, "runs of each command; the median is reported")
	flag.Parse()
	if *runs < 1 || *runs > 20 {
		return fmt.Errorf("-runs must be between 1 and 20")
	}
	syft, err := exec.LookPath("syft")
	if err != nil {
		return fmt.Errorf("syft not on PATH: run tools/install.sh syft and add its bin directory")
	}
	work, err := os.MkdirTemp("", "paved-sbom-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	paved := filepath.Join(work, "paved")
	if out, err := exec.Command("go", "build", "-o", paved, ".").CombinedOutput(); err != nil {
		return fmt.Errorf("building paved: %v\n%s", err, out)
	}
	version, err := exec.Command(syft, "version").Output()
	if err != nil {
		return fmt.Errorf("syft version: %w", err)
	}

	goTree, nodeTree := filepath.Join(work, "gomod"), filepath.Join(work, "node")
	if err := sbomtest.WriteGoModule(goTree, *goMods); err != nil {
		return err
	}
	if err := sbomtest.WriteNodeModules(nodeTree, *npmPkgs); err != nil {
		return err
	}
	fmt.Printf("paved sbom vs syft CLI (%s), median of %d runs, this machine\n\n", syftVersion(version), *runs)
	fmt.Printf("%-34s %10s %10s %8s %10s %10s %8s %12s\n", "input", "paved", "syft", "time", "paved RSS", "syft RSS", "memory", "2nd format")
	cases := []struct {
		name       string
		dir        string
		catalogers string // same selection for both tools
	}{
		{fmt.Sprintf("Go module, %d modules", *goMods), goTree, ""},
		{fmt.Sprintf("node_modules, %d packages", *npmPkgs+(*npmPkgs+9)/10), nodeTree, "+javascript-package-cataloger"},
	}
	for _, c := range cases {
		out := filepath.Join(work, "out")
		if err := os.MkdirAll(out, 0o755); err != nil {
			return err
		}
		pavedArgs := func(formats string) []string {
			a := []string{"sbom", c.dir, "--output-dir", out, "--format", formats}
			if c.catalogers != "" {
				a = append(a, "--catalogers", c.catalogers)
			}
			return a
		}
		syftArgs := []string{"scan", "dir:" + c.dir, "-q", "-o", "spdx-json=" + filepath.Join(out, "syft.spdx.json")}
		if c.catalogers != "" {
			syftArgs = append(syftArgs, "--select-catalogers", c.catalogers)
		}
		var p1, s1, p2 []sample
		for i := range *runs {
			// Alternate the order so neither tool always runs on a warmer cache.
			order := []func() error{
				func() error { s, err := measure(paved, pavedArgs("spdx-json")); p1 = append(p1, s); return err },
				func() error { s, err := measure(syft, syftArgs); s1 = append(s1, s); return err },
				func() error {
					s, err := measure(paved, pavedArgs("spdx-json,cyclonedx-json"))
					p2 = append(p2, s)
					return err
				},
			}
			if i%2 == 1 {
				order[0], order[1] = order[1], order[0]
			}
			for _, f := range order {
				if err := f(); err != nil {
					return fmt.Errorf("%s: %w", c.name, err)
				}
			}
		}
		pc, err := countSPDX(filepath.Join(out, filepath.Base(c.dir)+".spdx.json"))
		if err != nil {
			return err
		}
		sc, err := countSPDX(filepath.Join(out, "syft.spdx.json"))
		if err != nil {
			return err
		}
		if pc != sc {
			return fmt.Errorf("%s: paved found %d packages, syft %d: the comparison is not like for like", c.name, pc, sc)
		}
		pm, sm, pb := median(p1), median(s1), median(p2)
		second := secondFormatCost(p2, pm.wall)
		fmt.Printf("%-34s %10s %10s %7.2fx %8.0fMB %8.0fMB %7.2fx %11.1f%%\n", c.name+fmt.Sprintf(" (%d found)", pc),
			pm.wall.Round(time.Millisecond), sm.wall.Round(time.Millisecond), pm.wall.Seconds()/sm.wall.Seconds(),
			float64(pm.rssKiB)/1024, float64(sm.rssKiB)/1024, float64(pm.rssKiB)/float64(sm.rssKiB), second)
		fmt.Printf("%-34s CPU time: paved %s, syft %s (%.2fx); both formats: %s wall (%+.1f%% over SPDX alone)\n", "",
			pm.cpu.Round(time.Millisecond), sm.cpu.Round(time.Millisecond), pm.cpu.Seconds()/sm.cpu.Seconds(),
			pb.wall.Round(time.Millisecond), 100*(pb.wall.Seconds()-pm.wall.Seconds())/pm.wall.Seconds())
	}
	fmt.Println()
	fmt.Println("time and memory: paved / syft, same input and format (goal <= 1.00x); wall time is noisy on a shared")
	fmt.Println("machine, CPU time (user+system) less so;")
	fmt.Println("2nd format: paved's timing of the CycloneDX encoding from the same scan, over the wall time of an SPDX-only run (goal < 10%).")
	return nil
}

func syftVersion(out []byte) string {
	for _, line := range strings.Split(string(out), "\n") {
		if v, ok := strings.CutPrefix(line, "Version:"); ok {
			return "syft " + strings.TrimSpace(v)
		}
	}
	return "syft"
}

// measure runs one command with no network lookups and no update check, and
// returns its wall time and peak resident set size.
func measure(bin string, args []string) (sample, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(os.Environ(), "SYFT_CHECK_FOR_APP_UPDATE=false", "SYFT_GOLANG_USE_PACKAGES_LIB=false",
		"SYFT_GOLANG_SEARCH_REMOTE_LICENSES=false", "SYFT_JAVASCRIPT_SEARCH_REMOTE_LICENSES=false", "GOPROXY=off", "GOFLAGS=-mod=mod")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	start := time.Now()
	err := cmd.Run()
	wall := time.Since(start)
	if err != nil {
		return sample{}, fmt.Errorf("%s %s: %v\n%s", filepath.Base(bin), strings.Join(args, " "), err, stderr.String())
	}
	ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	if !ok {
		return sample{}, fmt.Errorf("no resource usage for %s", bin)
	}
	cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	return sample{wall: wall, cpu: cpu, rssKiB: ru.Maxrss, stderr: stderr.String()}, nil
}

func median(s []sample) sample {
	c := append([]sample(nil), s...)
	sort.Slice(c, func(i, j int) bool { return c[i].wall < c[j].wall })
	m := c[len(c)/2]
	cpu := make([]time.Duration, len(s))
	for i, x := range s {
		cpu[i] = x.cpu
	}
	sort.Slice(cpu, func(i, j int) bool { return cpu[i] < cpu[j] })
	m.cpu = cpu[len(cpu)/2]
	rss := make([]int64, len(s))
	for i, x := range s {
		rss[i] = x.rssKiB
	}
	sort.Slice(rss, func(i, j int) bool { return rss[i] < rss[j] })
	m.rssKiB = rss[len(rss)/2]
	return m
}

var (
	encodedRE = regexp.MustCompile(`sbom: encoded cyclonedx-json, \d+ bytes \(([^)]+)\)`)
)

// secondFormatCost is the median, over the runs that wrote both formats, of
// paved's own timing of the CycloneDX encoding (the second format) as a
// percentage of scan, the wall time of a run that writes SPDX alone.
func secondFormatCost(runs []sample, scan time.Duration) float64 {
	var pct []float64
	for _, r := range runs {
		e := encodedRE.FindStringSubmatch(r.stderr)
		if e == nil {
			continue
		}
		ed, err := time.ParseDuration(e[1])
		if err != nil || scan <= 0 {
			continue
		}
		pct = append(pct, 100*ed.Seconds()/scan.Seconds())
	}
	if len(pct) == 0 {
		return -1
	}
	sort.Float64s(pct)
	return pct[len(pct)/2]
}

func countSPDX(path string) (int, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	var doc struct {
		Packages []struct {
			SPDXID string `json:"SPDXID"`
		} `json:"packages"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return 0, fmt.Errorf("%s: %w", path, err)
	}
	n := 0
	for _, p := range doc.Packages {
		if !strings.HasPrefix(p.SPDXID, "SPDXRef-DocumentRoot") {
			n++
		}
	}
	return n, nil
}
