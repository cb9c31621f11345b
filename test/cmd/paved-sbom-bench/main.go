// Command paved-sbom-bench compares `paved sbom` with the syft CLI of the same
// syft version (tools/syft) on generated inputs with thousands of packages —
// a Go module tree, an installed node_modules tree and a docker-archive image
// tarball built in-process — and prints, in one run on this machine:
//
//   - wall time and peak RSS of paved over syft, for the same input and format,
//     as min/median/max of the per-run ratios (goal: <= 0.5x wall, <= 1.0x RSS);
//   - the cost of the second format: what writing SPDX and CycloneDX from the
//     one scan adds over writing SPDX alone.
//
// Before timing, it checks that both tools find the same package set (name,
// version and syft package type) in every input: a faster scan that finds
// less is no comparison. The results are also written as JSON (-json).
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
	"runtime"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/paved-dev/paved/shared/sbom/sbomtest"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "paved-sbom-bench:", err)
		os.Exit(1)
	}
}

// Goals of the SBOM path, from the project's issue: paved over the syft CLI.
const (
	wallGoal = 0.5
	rssGoal  = 1.0
)

// sample is one measured process.
type sample struct {
	wall   time.Duration
	cpu    time.Duration // user + system
	rssKiB int64
	stderr string
}

// stats are the minimum, median and maximum of a series.
type stats struct {
	Min    float64 `json:"min"`
	Median float64 `json:"median"`
	Max    float64 `json:"max"`
}

func summarize(xs []float64) stats {
	c := append([]float64(nil), xs...)
	sort.Float64s(c)
	return stats{Min: c[0], Median: c[len(c)/2], Max: c[len(c)-1]}
}

// tool is one tool's measurements on one input.
type tool struct {
	WallSeconds stats `json:"wall_seconds"`
	CPUSeconds  stats `json:"cpu_seconds"`
	PeakRSSMiB  stats `json:"peak_rss_mib"`
}

// result is one input's comparison, as written to the JSON file.
type result struct {
	Input    string `json:"input"`
	Kind     string `json:"kind"`
	Packages int    `json:"packages"`
	Paved    tool   `json:"paved"`
	Syft     tool   `json:"syft"`
	// WallRatio and RSSRatio are paved over syft, per run (runs pair up).
	WallRatio stats `json:"wall_ratio"`
	RSSRatio  stats `json:"rss_ratio"`
	CPURatio  stats `json:"cpu_ratio"`
	// WallFloor is the wall ratio paved would reach if its CPU time (median)
	// kept every core of this machine busy from start to end: paved's CPU
	// seconds over CPUs times syft's wall seconds. A floor above the goal
	// means paved does too much work to meet it here; a floor below it with a
	// wall ratio above it means the work runs serially (see CoresBusy).
	WallFloor float64 `json:"wall_ratio_floor"`
	// CoresBusy is paved's median CPU time over its median wall time: how
	// many cores its run kept busy on average.
	CoresBusy float64 `json:"paved_cores_busy"`
	// SecondFormatPercent is paved's CycloneDX encoding time over the wall
	// time of an SPDX-only run (median; -1 when not measured).
	SecondFormatPercent float64 `json:"second_format_percent"`
	// GoalMet is whether the median ratios meet both goals.
	GoalMet bool `json:"goal_met"`
}

// report is the JSON file.
type report struct {
	SyftVersion string    `json:"syft_version"`
	Runs        int       `json:"runs"`
	CPUs        int       `json:"cpus"`
	GOOS        string    `json:"goos"`
	GOARCH      string    `json:"goarch"`
	Date        time.Time `json:"date"`
	WallGoal    float64   `json:"wall_ratio_goal"`
	RSSGoal     float64   `json:"rss_ratio_goal"`
	Results     []result  `json:"results"`
}

// input is one thing both tools scan.
type input struct {
	name       string
	kind       string
	path       string
	syftSource string   // syft's SCHEME:PATH
	pavedArgs  []string // paved's source flags
	catalogers string   // same selection for both tools
}

func run() error {
	goMods := flag.Int("go-modules", 3000, "modules required by the generated Go module")
	npmPkgs := flag.Int("npm-packages", 3000, "packages in the generated node_modules (plus a nested one every tenth)")
	imagePkgs := flag.Int("image-npm-packages", 3000, "generated npm packages installed in the image archive (plus a nested one every tenth)")
	runs := flag.Int("runs", 5, "runs of each command; min, median and max are reported")
	jsonPath := flag.String("json", "bench.json", "file the results are written to as JSON")
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
	// Built as releases are (.github/release/build.sh) and as tools/install.sh
	// builds syft: static, so neither binary pays for the dynamic loader or
	// the external linker's layout in its memory.
	build := exec.Command("go", "build", "-trimpath", "-buildvcs=false", "-o", paved, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("building paved: %v\n%s", err, out)
	}
	version, err := syftVersion()
	if err != nil {
		return err
	}

	inputs, err := writeInputs(work, *goMods, *npmPkgs, *imagePkgs)
	if err != nil {
		return err
	}
	rep := report{SyftVersion: version, Runs: *runs, CPUs: runtime.NumCPU(), GOOS: runtime.GOOS,
		GOARCH: runtime.GOARCH, Date: time.Now().UTC().Truncate(time.Second), WallGoal: wallGoal, RSSGoal: rssGoal}
	fmt.Printf("paved sbom vs syft CLI (%s), %d runs each, this machine (%d CPUs)\n\n", rep.SyftVersion, *runs, rep.CPUs)
	fmt.Printf("%-42s %8s %8s %-20s %7s %7s %-20s %8s\n", "input (packages found by both)", "paved", "syft",
		"wall min/med/max", "paved", "syft", "RSS min/med/max", "2nd fmt")
	for _, in := range inputs {
		r, err := compare(paved, syft, work, in, *runs)
		if err != nil {
			return fmt.Errorf("%s: %w", in.name, err)
		}
		rep.Results = append(rep.Results, r)
		fmt.Printf("%-42s %7.2fs %7.2fs %-20s %6.0fM %6.0fM %-20s %7.1f%%\n", fmt.Sprintf("%s (%d)", in.name, r.Packages),
			r.Paved.WallSeconds.Median, r.Syft.WallSeconds.Median, ratios(r.WallRatio),
			r.Paved.PeakRSSMiB.Median, r.Syft.PeakRSSMiB.Median, ratios(r.RSSRatio), r.SecondFormatPercent)
		fmt.Printf("%-42s CPU %.2fs vs %.2fs (%s); paved kept %.2f cores busy, wall floor %.2fx\n", "",
			r.Paved.CPUSeconds.Median, r.Syft.CPUSeconds.Median, ratios(r.CPURatio), r.CoresBusy, r.WallFloor)
	}
	fmt.Println()
	fmt.Printf("wall and RSS: paved / syft per run, same input and format (goal: wall <= %.2fx, peak RSS <= %.2fx);\n", wallGoal, rssGoal)
	fmt.Println("wall time is noisy on a shared machine, CPU time (user+system) less so;")
	fmt.Println("wall floor: the wall ratio paved's CPU time allows on this machine's cores if all were busy throughout;")
	fmt.Println("2nd fmt: paved's timing of the CycloneDX encoding from the same scan, over the wall time of an SPDX-only run.")
	data, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(*jsonPath, append(data, '\n'), 0o644); err != nil {
		return err
	}
	fmt.Printf("results written to %s\n", *jsonPath)
	return nil
}

func ratios(s stats) string {
	return fmt.Sprintf("%.2f/%.2f/%.2fx", s.Min, s.Median, s.Max)
}

// writeInputs generates the three inputs under work.
func writeInputs(work string, goMods, npmPkgs, imagePkgs int) ([]input, error) {
	goTree, nodeTree := filepath.Join(work, "gomod"), filepath.Join(work, "node")
	if err := sbomtest.WriteGoModule(goTree, goMods); err != nil {
		return nil, err
	}
	if err := sbomtest.WriteNodeModules(nodeTree, npmPkgs); err != nil {
		return nil, err
	}
	img, err := sbomtest.ImageWithNodeModules(imagePkgs)
	if err != nil {
		return nil, err
	}
	archive := filepath.Join(work, "image.tar")
	tag, err := name.NewTag("paved.invalid/bench/image:latest")
	if err != nil {
		return nil, err
	}
	if err := tarball.WriteToFile(archive, tag, img); err != nil {
		return nil, fmt.Errorf("writing the image archive: %w", err)
	}
	return []input{
		{name: fmt.Sprintf("Go module, %d modules", goMods), kind: "dir", path: goTree, syftSource: "dir:" + goTree},
		{name: fmt.Sprintf("node_modules, %d packages", npmPkgs+(npmPkgs+9)/10), kind: "dir", path: nodeTree,
			syftSource: "dir:" + nodeTree, catalogers: "+javascript-package-cataloger"},
		{name: fmt.Sprintf("image archive, %d npm packages", imagePkgs+(imagePkgs+9)/10), kind: "docker-archive", path: archive,
			syftSource: "docker-archive:" + archive, pavedArgs: []string{"--source-type", "docker-archive"}},
	}, nil
}

// compare checks that both tools find the same packages in the input, then
// measures them runs times each.
func compare(paved, syft, work string, in input, runs int) (result, error) {
	out := filepath.Join(work, "out")
	if err := os.MkdirAll(out, 0o755); err != nil {
		return result{}, err
	}
	pavedArgs := func(formats string) []string {
		a := append([]string{"sbom", in.path, "--output-dir", out, "--output-name", "paved", "--format", formats}, in.pavedArgs...)
		if in.catalogers != "" {
			a = append(a, "--catalogers", in.catalogers)
		}
		return a
	}
	syftArgs := func(format, path string) []string {
		a := []string{"scan", in.syftSource, "-q", "-o", format + "=" + path}
		if in.catalogers != "" {
			a = append(a, "--select-catalogers", in.catalogers)
		}
		return a
	}

	// The same package set, compared on syft JSON: it carries syft's package type.
	if _, err := measure(paved, pavedArgs("syft-json")); err != nil {
		return result{}, err
	}
	if _, err := measure(syft, syftArgs("syft-json", filepath.Join(out, "syft.syft.json"))); err != nil {
		return result{}, err
	}
	ps, err := packageSet(filepath.Join(out, "paved.syft.json"))
	if err != nil {
		return result{}, err
	}
	ss, err := packageSet(filepath.Join(out, "syft.syft.json"))
	if err != nil {
		return result{}, err
	}
	if diff := setDiff(ps, ss); diff != "" {
		return result{}, fmt.Errorf("paved and syft found different packages (%d and %d): %s; the comparison is not like for like", len(ps), len(ss), diff)
	}
	if len(ps) == 0 {
		return result{}, fmt.Errorf("neither tool found a package: the input is wrong")
	}

	var p1, s1, p2 []sample
	for i := range runs {
		// Alternate the order so neither tool always runs on a warmer cache.
		order := []func() error{
			func() error { s, err := measure(paved, pavedArgs("spdx-json")); p1 = append(p1, s); return err },
			func() error {
				s, err := measure(syft, syftArgs("spdx-json", filepath.Join(out, "syft.spdx.json")))
				s1 = append(s1, s)
				return err
			},
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
				return result{}, err
			}
		}
	}
	r := result{Input: in.name, Kind: in.kind, Packages: len(ps), Paved: toolStats(p1), Syft: toolStats(s1)}
	var wall, rss, cpu []float64
	for i := range p1 {
		wall = append(wall, p1[i].wall.Seconds()/s1[i].wall.Seconds())
		rss = append(rss, float64(p1[i].rssKiB)/float64(s1[i].rssKiB))
		cpu = append(cpu, p1[i].cpu.Seconds()/s1[i].cpu.Seconds())
	}
	r.WallRatio, r.RSSRatio, r.CPURatio = summarize(wall), summarize(rss), summarize(cpu)
	r.WallFloor = r.Paved.CPUSeconds.Median / (float64(runtime.NumCPU()) * r.Syft.WallSeconds.Median)
	r.CoresBusy = r.Paved.CPUSeconds.Median / r.Paved.WallSeconds.Median
	r.SecondFormatPercent = secondFormatCost(p2, time.Duration(r.Paved.WallSeconds.Median*float64(time.Second)))
	r.GoalMet = r.WallRatio.Median <= wallGoal && r.RSSRatio.Median <= rssGoal
	return r, nil
}

func toolStats(s []sample) tool {
	var wall, cpu, rss []float64
	for _, x := range s {
		wall = append(wall, x.wall.Seconds())
		cpu = append(cpu, x.cpu.Seconds())
		rss = append(rss, float64(x.rssKiB)/1024)
	}
	return tool{WallSeconds: summarize(wall), CPUSeconds: summarize(cpu), PeakRSSMiB: summarize(rss)}
}

// syftVersion is the version tools/syft pins, which tools/install.sh builds
// (a source build reports no version of its own).
func syftVersion() (string, error) {
	data, err := os.ReadFile(filepath.Join("tools", "syft", "go.mod"))
	if err != nil {
		return "", fmt.Errorf("reading the pinned syft version: %w (run from the repository root)", err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "github.com/anchore/syft" {
			return "syft " + f[1], nil
		}
	}
	return "", fmt.Errorf("tools/syft/go.mod does not require github.com/anchore/syft")
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

var encodedRE = regexp.MustCompile(`sbom: encoded cyclonedx-json, \d+ bytes \(([^)]+)\)`)

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
	return summarize(pct).Median
}

// packageSet reads a syft JSON document's packages as name@version@type.
func packageSet(path string) (map[string]bool, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var doc struct {
		Artifacts []struct {
			Name    string `json:"name"`
			Version string `json:"version"`
			Type    string `json:"type"`
		} `json:"artifacts"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	set := map[string]bool{}
	for _, a := range doc.Artifacts {
		set[a.Name+"@"+a.Version+"@"+a.Type] = true
	}
	return set, nil
}

// setDiff names up to five packages only one side found ("" when equal).
func setDiff(paved, syft map[string]bool) string {
	var only []string
	for k := range paved {
		if !syft[k] {
			only = append(only, "only paved: "+k)
		}
	}
	for k := range syft {
		if !paved[k] {
			only = append(only, "only syft: "+k)
		}
	}
	sort.Strings(only)
	if len(only) > 5 {
		only = append(only[:5], fmt.Sprintf("and %d more", len(only)-5))
	}
	return strings.Join(only, ", ")
}
