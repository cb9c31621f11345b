package command

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/paved-dev/paved/shared/atomicfile"
	"github.com/paved-dev/paved/shared/bounded"
	"github.com/paved-dev/paved/shared/logtext"

	"github.com/paved-dev/paved/shared/fail"
	"github.com/paved-dev/paved/shared/policy"
	policyreport "github.com/paved-dev/paved/shared/report"
	"github.com/paved-dev/paved/shared/sbom"
	"github.com/paved-dev/paved/shared/subject"
)

// VSAPredicateType is the SLSA Verification Summary Attestation predicate type.
const VSAPredicateType = policy.VSAPredicateType

// DependencyScanningReport is where the GitLab components have paved policy
// write the GitLab dependency-scanning report, and declare it under
// artifacts:reports:dependency_scanning.
const DependencyScanningReport = "paved-policy.gl-dependency-scanning.json"

// maxNotices bounds the per-finding log lines of one run.
const maxNotices = 200

// Bounds on what a run prints, whatever the SBOM holds: the findings table
// shows summaryRows rows of at most cellBytes per cell, the whole summary
// stays under maxSummary (GitHub caps a step summary near 1 MiB), and one
// log line or annotation under lineBytes. The reports keep every finding.
const (
	summaryRows = 100
	cellBytes   = 512
	lineBytes   = 2048
	maxSummary  = 512 << 10
)

// Policy declares `paved policy`.
func Policy() *Command {
	cmd := &Command{
		Name:      "policy",
		Summary:   "gate dependencies: deny malicious, vulnerable, unmaintained, unlicensed or unprovenanced components of an SBOM",
		Args:      "SBOM",
		ArgsInput: "sbom",
		Inputs: append([]Input{
			{Name: "sbom", Usage: "SPDX 2.3 or CycloneDX 1.4-1.6 JSON SBOM to evaluate"},
			{Name: "source", Usage: "instead of --sbom: a directory, file or archive, OCI layout, docker-archive or image reference to scan first (as paved sbom does by default)"},
			{Name: "sbom-output", Default: "paved-policy.cdx.json", Usage: "with --source: where to write the CycloneDX SBOM of the scan"},
			{Name: "policy", Usage: "policy file (YAML, version: 1; schema in shared/policy/schema)"},
			{Name: "osv-db", List: true, Usage: "offline OSV database: directories of OSV JSON records or ecosystem all.zip exports"},
			{Name: "data", Usage: "offline maintenance and provenance data file (JSON)"},
			{Name: "mode", Default: "enforce", Options: []string{"enforce", "warn"}, Usage: "enforce: denied findings fail the job; warn: report them and pass"},
			{Name: "online", Bool: true, Usage: "query the OSV API and deps.dev API v3 even when offline data is given (without --osv-db or --data they are queried unless the policy's online section turns them off)"},
			{Name: "osv-api-url", CLIOnly: true, Usage: "base URL of the OSV API (default https://api.osv.dev)"},
			{Name: "deps-dev-url", CLIOnly: true, Usage: "base URL of the deps.dev API (default https://api.deps.dev)"},
			{Name: "cache-dir", Usage: "directory caching online answers and the indexes of OSV export zips between runs (default for indexes: beside each zip)"},
			{Name: "sarif", Default: "paved-policy.sarif", Usage: "where to write the SARIF 2.1.0 report (\"\" to skip)"},
			{Name: "junit", Default: "paved-policy.junit.xml", Usage: "where to write the JUnit XML report (\"\" to skip)"},
			{Name: "json", Default: "paved-policy.json", Usage: "where to write the JSON report (\"\" to skip)"},
			{Name: "dependency-scanning", Usage: "where to write the findings as a GitLab dependency-scanning security report, for merge-request security widgets (default in the GitLab component: " + DependencyScanningReport + "; \"\" to skip)"},
			{Name: "vsa", Bool: true, Usage: "sign a SLSA Verification Summary Attestation of the verdict over the artifact"},
			{Name: "subject-path", List: true, Usage: "the artifact files the VSA is about (default: the SBOM)"},
			{Name: "subject-digest", List: true, Usage: "artifacts the VSA is about, given by digest, as NAME@sha256:HEX"},
			{Name: "bundle-path", Default: "paved-policy.sigstore.json", Usage: "where to write the VSA's Sigstore bundle"},
		}, signingInputs()...),
		Outputs: []Output{
			{Name: "verdict", Usage: "PASSED or FAILED"},
			{Name: "sbom", Usage: "the SBOM evaluated (with --source: the one the scan wrote)"},
			{Name: "denied", Usage: "number of findings that deny"},
			{Name: "warnings", Usage: "number of findings that warn"},
			{Name: "excused", Usage: "number of findings excused by the policy"},
			{Name: "policy-digest", Usage: "sha256 of the policy file"},
			{Name: "sarif", Usage: "path of the SARIF report"},
			{Name: "junit", Usage: "path of the JUnit XML report"},
			{Name: "json", Usage: "path of the JSON report"},
			{Name: "dependency-scanning-report", Usage: "path of the GitLab dependency-scanning report"},
			{Name: "bundle-path", Usage: "path of the VSA bundle, when --vsa"},
		},
		CI: CI{
			Title:          "Paved policy",
			Description:    "Fail the pipeline on malicious, vulnerable, unmaintained, unlicensed or unprovenanced dependencies listed in an SBOM, with SARIF, JUnit and JSON reports and an optional signed SLSA verification summary.",
			Signs:          true,
			ArtifactPaths:  []string{"paved-policy.*", "*.sigstore.json"},
			Reports:        map[string]string{"junit": "paved-policy.junit.xml", "dependency_scanning": DependencyScanningReport},
			GitLabDefaults: map[string]string{"dependency-scanning": DependencyScanningReport},
			Stage:          "test",
			CacheInput:     "cache-dir",
		},
	}
	return typed(cmd, runPolicy)
}

// policyOptions are the inputs of paved policy.
type policyOptions struct {
	signingOptions
	SBOM               string   `input:"sbom"`
	Source             string   `input:"source"`
	SBOMOutput         string   `input:"sbom-output"`
	Policy             string   `input:"policy"`
	OSVDB              []string `input:"osv-db"`
	Data               string   `input:"data"`
	Mode               string   `input:"mode"`
	Online             bool     `input:"online"`
	OSVAPIURL          string   `input:"osv-api-url"`
	DepsDevURL         string   `input:"deps-dev-url"`
	CacheDir           string   `input:"cache-dir"`
	SARIF              string   `input:"sarif"`
	JUnit              string   `input:"junit"`
	JSON               string   `input:"json"`
	DependencyScanning string   `input:"dependency-scanning"`
	VSA                bool     `input:"vsa"`
	SubjectPaths       []string `input:"subject-path"`
	SubjectDigests     []string `input:"subject-digest"`
	BundlePath         string   `input:"bundle-path"`
}

func runPolicy(ctx context.Context, env Env, o policyOptions) (*Result, error) {
	res, _, err := evaluatePolicy(ctx, env, o)
	return res, err
}

// policyOutcome is what one policy run decided and signed, typed for the
// steps that build on it (supply-chain).
type policyOutcome struct {
	verdict string // PASSED or FAILED
	vsa     string // the VSA bundle's path; "" without --vsa
}

// evaluatePolicy is paved policy, returning its verdict typed as well as its
// Result. An enforced denial returns both with the error.
func evaluatePolicy(ctx context.Context, env Env, o policyOptions) (*Result, policyOutcome, error) {
	var oc policyOutcome
	in, err := readPolicyInputs(ctx, env, o)
	if err != nil {
		return nil, oc, err
	}
	opts, err := policyEvalOptions(ctx, env, o, in)
	if err != nil {
		return nil, oc, err
	}
	rep, err := policy.Evaluate(ctx, in.sbom, in.policy, opts)
	if err != nil {
		var se *policy.SourceError
		if errors.As(err, &se) {
			return nil, oc, fail.Transientf("%w", err)
		}
		return nil, oc, fail.Configf("evaluating the policy: %w", err)
	}
	oc.verdict = "PASSED"
	if rep.Denied {
		oc.verdict = "FAILED"
	}
	outputs := map[string]string{
		"verdict": oc.verdict, "sbom": in.sbomPath, "policy-digest": "sha256:" + in.policy.Digest,
		"denied": fmt.Sprint(rep.Count(policy.Deny)), "warnings": fmt.Sprint(rep.Count(policy.Warn)), "excused": fmt.Sprint(rep.Count(policy.Excused)),
	}
	if err := writePolicyReports(o, rep, in.sbomPath, outputs); err != nil {
		return nil, oc, err
	}
	vsaCommand := ""
	if o.VSA {
		if vsaCommand, err = signVSA(ctx, env, o, in, rep, oc.verdict); err != nil {
			return nil, oc, err
		}
		oc.vsa = o.BundlePath
		outputs["bundle-path"] = oc.vsa
	}
	res := policyResult(o, rep, oc.verdict, outputs, vsaCommand)
	if rep.Denied && o.Mode == "enforce" {
		return res, oc, fail.Verificationf("%s", deniedMessage(rep))
	}
	return res, oc, nil
}

// policyInputs are what paved policy evaluates: the SBOM, the policy and,
// for a VSA, its subjects.
type policyInputs struct {
	sbomPath string
	sbomRaw  []byte
	sbom     *policy.SBOM
	policy   *policy.Policy
	subjects []subject.Subject
}

// readPolicyInputs checks the inputs and reads (or scans) the SBOM, the
// policy and the VSA's subjects, before anything is evaluated.
func readPolicyInputs(ctx context.Context, env Env, o policyOptions) (*policyInputs, error) {
	in := &policyInputs{sbomPath: o.SBOM}
	switch {
	case o.SBOM != "" && o.Source != "":
		return nil, fail.Configf("--sbom and --source both name what to evaluate: keep one (an SBOM file, or a tree or image to scan)")
	case o.SBOM == "" && o.Source == "":
		return nil, fail.Configf("no SBOM: pass it as the argument (paved policy sbom.cdx.json), set --sbom, or --source DIR|IMAGE to scan one first")
	}
	if o.Policy == "" {
		return nil, fail.Configf("no policy: set --policy to a policy file (YAML, version: 1)")
	}
	for _, out := range []struct{ name, path string }{{"sarif", o.SARIF}, {"junit", o.JUnit}, {"json", o.JSON}, {"dependency-scanning", o.DependencyScanning}} {
		if out.path != "" {
			if err := checkOutputDir(out.path, out.name); err != nil {
				return nil, err
			}
		}
	}
	var err error
	if o.Source != "" {
		if in.sbomRaw, in.sbomPath, err = scanForPolicy(ctx, env, o.Source, o.SBOMOutput); err != nil {
			return nil, err
		}
	} else if in.sbomRaw, err = readInput(env, in.sbomPath, policy.MaxSBOM); err != nil {
		return nil, fail.Configf("reading SBOM: %w", err)
	}
	if in.sbom, err = policy.ReadSBOM(bytes.NewReader(in.sbomRaw)); err != nil {
		return nil, fail.Configf("SBOM %s: %w", in.sbomPath, err)
	}
	polRaw, err := readInput(env, o.Policy, policy.MaxPolicy)
	if err != nil {
		return nil, fail.Configf("reading policy: %w", err)
	}
	if in.policy, err = policy.Parse(o.Policy, polRaw); err != nil {
		return nil, fail.Configf("invalid policy: %w", err)
	}
	if !o.VSA {
		return in, nil
	}
	if err := checkOutputDir(o.BundlePath, "bundle-path"); err != nil {
		return nil, err
	}
	spec := subject.Spec{Paths: o.SubjectPaths, Digests: o.SubjectDigests}
	if spec.Empty() {
		spec.Paths = []string{in.sbomPath}
	}
	files, err := env.files()
	if err != nil {
		return nil, err
	}
	if in.subjects, err = subject.Resolve(ctx, spec, subject.Options{Files: files}); err != nil {
		return nil, err
	}
	return in, nil
}

// policyEvalOptions loads the offline data and, when the policy needs
// sources they do not cover, the online client.
func policyEvalOptions(ctx context.Context, env Env, o policyOptions, in *policyInputs) (policy.Options, error) {
	opts := policy.Options{Now: env.Now}
	var dbPaths []string
	for _, p := range o.OSVDB {
		p, err := confine(env, p)
		if err != nil {
			return opts, fail.Configf("--osv-db: %w", err)
		}
		dbPaths = append(dbPaths, p)
	}
	var err error
	if len(dbPaths) > 0 {
		if opts.DB, err = policy.LoadOSV(ctx, dbPaths, in.sbom.Components, policy.LoadOptions{CacheDir: o.CacheDir, Log: env.log()}); err != nil {
			return opts, fail.Configf("loading the OSV database: %w", err)
		}
	}
	if d := o.Data; d != "" {
		raw, err := readInput(env, d, policy.MaxData)
		if err != nil {
			return opts, fail.Configf("reading --data: %w", err)
		}
		if opts.Data, err = policy.ParseData(d, raw); err != nil {
			return opts, fail.Configf("--data: %w", err)
		}
	}
	if o.Online {
		in.policy.SetOnline(true)
	}
	if useOSV, useDepsDev := in.policy.Sources(opts.DB != nil, opts.Data != nil); useOSV || useDepsDev {
		if env.Retry.PerTry, err = serviceTimeout(o.ServiceTimeout); err != nil {
			return opts, err
		}
		opts.Online = policy.NewClient(policy.ClientOptions{
			OSVURL: o.OSVAPIURL, DepsDevURL: o.DepsDevURL,
			Transport: env.Transport, Retry: env.Retry,
			CacheDir: o.CacheDir, Now: env.Now,
		})
	}
	return opts, nil
}

// writePolicyReports writes each report file asked for and names it in
// outputs.
func writePolicyReports(o policyOptions, rep *policy.Report, sbomPath string, outputs map[string]string) error {
	ropts := policyreport.Options{SBOMPath: filepath.ToSlash(sbomPath), ToolVersion: Version()}
	writers := []struct {
		input, output, path string
		write               func(*bytes.Buffer) error
	}{
		{"sarif", "sarif", o.SARIF, func(b *bytes.Buffer) error { return policyreport.SARIF(b, rep, ropts) }},
		{"junit", "junit", o.JUnit, func(b *bytes.Buffer) error { return policyreport.JUnit(b, rep) }},
		{"json", "json", o.JSON, func(b *bytes.Buffer) error { return policyreport.JSON(b, rep) }},
		// Named apart from supply-chain's policy-dependency-scanning input.
		{"dependency-scanning", "dependency-scanning-report", o.DependencyScanning, func(b *bytes.Buffer) error { return policyreport.GitLabDependencyScanning(b, rep, ropts) }},
	}
	for _, w := range writers {
		if w.path == "" {
			continue
		}
		var buf bytes.Buffer
		if err := w.write(&buf); err != nil {
			return fmt.Errorf("rendering the %s report: %w", w.input, err)
		}
		if err := atomicfile.WriteFile(w.path, buf.Bytes(), 0o644); err != nil {
			return fail.Configf("writing --%s %s: %w", w.input, w.path, err)
		}
		outputs[w.output] = w.path
	}
	return nil
}

// signVSA signs the verification summary for the subjects, writes its
// bundle at --bundle-path and returns the command that verifies it.
func signVSA(ctx context.Context, env Env, o policyOptions, in *policyInputs, rep *policy.Report, verdict string) (string, error) {
	pred, err := json.Marshal(policy.NewVSA(rep, in.policy, verdict, in.subjects[0].Name, in.sbomPath, in.sbomRaw, Version(), env.now()))
	if err != nil {
		return "", err
	}
	sg, err := newSigning(ctx, env, o.signingOptions)
	if err != nil {
		return "", err
	}
	data, err := sg.sign(ctx, in.subjects, VSAPredicateType, pred)
	if err != nil {
		return "", err
	}
	if err := writeBundle(o.BundlePath, data); err != nil {
		return "", err
	}
	return sg.verifyCommand(in.subjects[0], o.BundlePath, VSAPredicateType), nil
}

// policyResult is what paved policy shows: the summary, the terminal
// report, an annotation per finding (bounded) and the notes.
func policyResult(o policyOptions, rep *policy.Report, verdict string, outputs map[string]string, vsaCommand string) *Result {
	mode := o.Mode
	res := &Result{Outputs: outputs}
	shown := verdict
	if rep.Denied && mode == "warn" {
		shown = "FAILED (warn mode: not enforced)"
	}
	res.Summary = boundedSummary(rep, shown)
	res.Reports = policyText(rep, shown, mode, outputs)
	if vsaCommand != "" {
		res.Summary += fmt.Sprintf("\nVerification summary attestation: %s. Verify it:\n\n```sh\n%s\n```\n", logtext.Code(o.BundlePath), vsaCommand)
		res.Reports = append(res.Reports, Report{Lines: []string{"verification summary attestation: " + logtext.Line(o.BundlePath) + "; verify it with:", "  " + vsaCommand}})
	}
	for _, f := range rep.Findings {
		if f.Action == policy.Excused {
			continue
		}
		if len(res.Annotations) == maxNotices {
			res.Notices = append(res.Notices, fmt.Sprintf("paved policy: … %d findings in all; see the reports", len(rep.Findings)))
			break
		}
		level := LevelWarning
		if f.Action == policy.Deny && mode == "enforce" {
			level = LevelError
		}
		res.Annotations = append(res.Annotations, Annotation{Level: level, Title: clip(fmt.Sprintf("paved policy: %s %s", f.Rule, f.Component), cellBytes), Message: noticeLine(f)})
	}
	for _, n := range rep.Notes {
		res.Notices = append(res.Notices, clip(n, lineBytes))
	}
	return res
}

// policyText is what a terminal shows after the findings, which the
// annotations already printed one per line: where the reports are, and the
// verdict as a ✓ (or ! when not enforced) row unless the run fails, whose
// error is then the one verdict line.
func policyText(rep *policy.Report, verdict, mode string, outputs map[string]string) []Report {
	var out []Report
	var reports []string
	for _, k := range []string{"sarif", "junit", "json"} {
		if p := outputs[k]; p != "" {
			reports = append(reports, p)
		}
	}
	if len(reports) > 0 {
		out = append(out, Report{Lines: []string{"reports: " + logtext.Line(strings.Join(reports, ", "))}})
	}
	if rep.Denied && mode == "enforce" {
		return out
	}
	status := logtext.OK
	if rep.Denied || rep.Count(policy.Warn) > 0 {
		status = logtext.Warning
	}
	line := fmt.Sprintf("paved policy: %s: %d components, %d denied, %d warnings, %d excused",
		verdict, rep.Components, rep.Count(policy.Deny), rep.Count(policy.Warn), rep.Count(policy.Excused))
	return append(out, Report{Rows: []logtext.Row{{Status: status, Cells: []string{line}}}})
}

// noticeLine is one finding on one line, for logs and CI annotations.
func noticeLine(f policy.Finding) string {
	s := fmt.Sprintf("paved policy: %s %s %s", f.Action, f.Rule, f.Component)
	if f.Record != "" && f.Record != f.Component {
		s += " [" + f.Record + "]"
	}
	s += ": " + f.Message
	if len(f.Path) > 1 {
		s += " (via " + strings.Join(f.Path, " > ") + ")"
	}
	if f.Fix != "" {
		s += "; fix: " + f.Fix
	}
	return clip(strings.ReplaceAll(s, "\n", " "), lineBytes)
}

// boundedSummary renders the Markdown summary of a report whatever its size:
// the first summaryRows findings with clipped cells, then a byte cap.
func boundedSummary(rep *policy.Report, verdict string) string {
	shown := *rep
	shown.Findings = make([]policy.Finding, len(rep.Findings))
	copy(shown.Findings, rep.Findings)
	for i := range shown.Findings[:min(summaryRows, len(shown.Findings))] {
		f := &shown.Findings[i]
		f.Component, f.Record, f.Message, f.Fix, f.ExcusedBy = clip(f.Component, cellBytes/2), clip(f.Record, cellBytes/2), clip(f.Message, cellBytes), clip(f.Fix, cellBytes), clip(f.ExcusedBy, cellBytes)
		if len(f.Path) > 0 {
			path := make([]string, len(f.Path))
			for j, p := range f.Path {
				path[j] = clip(p, cellBytes/10)
			}
			f.Path = path
		}
	}
	md := policyreport.Markdown(&shown, verdict, summaryRows)
	if len(md) <= maxSummary {
		return md
	}
	cut := clip(md, maxSummary-256)
	if i := strings.LastIndexByte(cut, '\n'); i > 0 {
		cut = cut[:i+1]
	}
	return cut + fmt.Sprintf("\n…summary cut at %d KiB: more findings are in the JSON and SARIF reports (%d in all).\n", maxSummary>>10, len(rep.Findings))
}

// clip shortens s to at most n bytes, on a rune boundary, marking the cut.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	const mark = "…"
	return bounded.Prefix(s, n-len(mark)) + mark
}

// deniedMessage is the error of a denied run: one verdict line with the
// fix. The findings themselves were printed once each, as annotations.
func deniedMessage(rep *policy.Report) string {
	return fmt.Sprintf("the policy denies %d finding(s) in %d components (each listed above, and in the reports): fix them, "+
		"or excuse them under exceptions: in the policy (purl, rule, reason, expires); --mode warn reports without failing",
		rep.Count(policy.Deny), rep.Components)
}

// readInput reads a regular file the user named, relative to the working
// directory, confined to the workspace.
func readInput(env Env, path string, limit int64) ([]byte, error) {
	files, err := env.files()
	if err != nil {
		return nil, err
	}
	return files.ReadFile(path, limit)
}

// confine resolves a path the user named, relative to the working directory,
// for a reader that needs a path: it must exist inside the workspace, through
// symlinks too.
func confine(env Env, path string) (string, error) {
	files, err := env.files()
	if err != nil {
		return "", err
	}
	rel, err := files.Rel(path)
	if err != nil {
		return "", err
	}
	if _, err := files.Stat(path); err != nil {
		return "", err
	}
	return files.Abs(rel), nil
}

// scanForPolicy scans source as paved sbom does by default and writes its
// CycloneDX SBOM to out, returning the SBOM's bytes and path.
func scanForPolicy(ctx context.Context, env Env, source, out string) ([]byte, string, error) {
	if err := checkOutputDir(out, "sbom-output"); err != nil {
		return nil, "", err
	}
	confineTo, err := sbomSource(env, source)
	if err != nil {
		return nil, "", err
	}
	s, err := sbom.Generate(ctx, source, sbom.Options{
		ConfineTo:   confineTo,
		Credentials: sbom.Credentials{Keychain: env.keychain()},
		Progress:    env.log(), Bar: env.terminal(), Now: env.Now,
	})
	if err != nil {
		return nil, "", err
	}
	var buf bytes.Buffer
	if err := s.Encode(&buf, sbom.CycloneDXJSON); err != nil {
		return nil, "", fmt.Errorf("encoding the SBOM of %s: %w", source, err)
	}
	if err := atomicfile.WriteFile(out, buf.Bytes(), 0o644); err != nil {
		return nil, "", fail.Configf("writing --sbom-output %s: %w", out, err)
	}
	fmt.Fprintf(env.log(), "policy: scanned %s into %s\n", source, out)
	return buf.Bytes(), out, nil
}
