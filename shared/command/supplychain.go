package command

import (
	"context"
	"maps"
	"path/filepath"
	"slices"
	"strings"

	"github.com/paved-dev/paved/shared/fail"
	"github.com/paved-dev/paved/shared/policy"
)

// SupplyChain declares `paved supply-chain`, the all-in-one step: SBOM,
// provenance, policy gate and storage for a build's artifacts, signed with one
// certificate. Its inputs are those of attest, plus the switches of the SBOM
// and policy steps.
func SupplyChain() *Command {
	attest := Attest()
	var inputs []Input
	for _, in := range attest.Inputs {
		// The actions/attest spellings name one attestation's subject and
		// predicate; supply-chain signs several and builds each predicate.
		if slices.Contains(attestOnly, in.Name) {
			continue
		}
		if in.Name == "subject-digest" {
			in.Usage = "artifacts given by digest, as NAME@sha256:HEX or NAME@sha512:HEX"
		}
		inputs = append(inputs, in)
	}
	inputs = append(inputs,
		Input{Name: "sbom", Bool: true, Default: "true", Usage: "generate SPDX and CycloneDX SBOMs of --sbom-source and attest them for the subjects"},
		Input{Name: "sbom-source", Default: ".", Usage: "what the SBOM describes: the checked-out source tree (default), a build output directory or an image"},
		Input{Name: "policy", Usage: "dependency policy file (YAML): when set, the SBOM is gated and a signed verification summary (VSA) is written"},
		Input{Name: "osv-db", List: true, Usage: "offline OSV database for the policy: directories of OSV JSON records or ecosystem all.zip exports"},
		Input{Name: "policy-data", Usage: "offline maintenance and provenance data file (JSON) for the policy"},
		Input{Name: "policy-cache-dir", Usage: "directory keeping OSV indexes and online answers between runs (cache it to make later runs fast)"},
		Input{Name: "policy-dependency-scanning", Usage: "where the policy step writes its findings as a GitLab dependency-scanning security report (default in the GitLab component: " + DependencyScanningReport + "; \"\" to skip)"},
		Input{Name: "policy-mode", Default: "enforce", Options: []string{"enforce", "warn"}, Usage: "enforce: denied dependencies fail the step; warn: report them and pass"},
	)
	outputs := append([]Output{}, attest.Outputs...)
	outputs = append(outputs,
		Output{Name: "sbom-spdx-path", Usage: "path of the SPDX 2.3 SBOM"},
		Output{Name: "sbom-cyclonedx-path", Usage: "path of the CycloneDX 1.6 SBOM"},
		Output{Name: "sbom-bundle-paths", Usage: "the SBOM attestation bundles, one per line"},
		Output{Name: "policy-verdict", Usage: "PASSED or FAILED, when --policy is set"},
		Output{Name: "policy-bundle-path", Usage: "the VSA bundle, when --policy is set"},
	)
	cmd := &Command{
		Name:      "supply-chain",
		Summary:   "the paved road in one step: SBOM, provenance, dependency policy gate and storage for build artifacts",
		Args:      attest.Args,
		ArgsInput: attest.ArgsInput,
		Inputs:    inputs,
		Outputs:   outputs,
		CI: CI{
			Title:          "Paved",
			Description:    "Every artifact leaves with an SBOM, a keyless-signed SLSA provenance attestation and a signed dependency-policy verdict.",
			Signs:          true,
			ArtifactPaths:  []string{"*.sigstore.json", "*.spdx.json", "*.cdx.json", "attestations.jsonl", "paved-policy.*"},
			Reports:        map[string]string{"cyclonedx": "*.cdx.json", "junit": "paved-policy.junit.xml", "dependency_scanning": DependencyScanningReport},
			GitLabDefaults: map[string]string{"policy-dependency-scanning": DependencyScanningReport},
			Stage:          "build",
			CacheInput:     "policy-cache-dir",
		},
	}
	return typed(cmd, runSupplyChain)
}

// supplyChainOptions are the inputs of paved supply-chain.
type supplyChainOptions struct {
	attestCore
	SBOM           bool     `input:"sbom"`
	SBOMSource     string   `input:"sbom-source"`
	Policy         string   `input:"policy"`
	OSVDB          []string `input:"osv-db"`
	PolicyData     string   `input:"policy-data"`
	PolicyCacheDir string   `input:"policy-cache-dir"`
	PolicyMode     string   `input:"policy-mode"`
	// PolicyDependencyScanning is the policy step's dependency-scanning.
	PolicyDependencyScanning string `input:"policy-dependency-scanning"`
}

// defaults are the options of cmd with no input set.
func defaults[T any](cmd *Command) (T, error) {
	var o T
	v, err := NewValues(cmd, nil)
	if err != nil {
		return o, err
	}
	return o, bindOptions(v, &o)
}

// attestOnly are the inputs of attest that supply-chain does not take.
var attestOnly = []string{"subject-name", "predicate", "sbom-path", "subject-version", "create-storage-record", "show-summary"}

func runSupplyChain(ctx context.Context, env Env, o supplyChainOptions) (*Result, error) {
	// Validate every step's inputs before anything is signed.
	// One fixed name for the provenance bundle, whatever the number of
	// subjects, so that later jobs and steps can rely on it.
	ao := attestOptions{attestCore: o.attestCore}
	if ao.BundlePath == "" {
		ao.BundlePath = "attestation.sigstore.json"
	}
	if err := checkSupplyChainPolicy(env, o); err != nil {
		return nil, err
	}
	plan, err := planAttest(ctx, env, ao)
	if err != nil {
		return nil, err
	}
	sg, err := newSigning(ctx, env, o.signingOptions)
	if err != nil {
		return nil, err
	}
	o.signer = sg // the SBOM and policy steps sign with it too

	res, err := plan.run(ctx, env, o.signingOptions)
	if err != nil {
		return res, err
	}
	out := &Result{Outputs: maps.Clone(res.Outputs), Summary: res.Summary, Reports: res.Reports, Notices: res.Notices, Annotations: res.Annotations}
	if !o.SBOM {
		return out, nil
	}
	return o.sbomAndPolicy(ctx, env, out, filepath.Dir(ao.BundlePath))
}

// checkSupplyChainPolicy refuses a policy without the SBOM it gates, and a
// policy file that does not parse, before anything is signed.
func checkSupplyChainPolicy(env Env, o supplyChainOptions) error {
	if o.Policy == "" {
		return nil
	}
	if !o.SBOM {
		return fail.Configf("--policy gates the SBOM: keep --sbom on (the default)")
	}
	polRaw, err := readInput(env, o.Policy, policy.MaxPolicy)
	if err != nil {
		return fail.Configf("reading policy: %w", err)
	}
	if _, err := policy.Parse(o.Policy, polRaw); err != nil {
		return fail.Configf("invalid policy: %w", err)
	}
	return nil
}

// sbomAndPolicy are supply-chain's SBOM step and, with --policy, the
// policy gate over the SBOM it wrote; their outputs join out's.
func (o supplyChainOptions) sbomAndPolicy(ctx context.Context, env Env, out *Result, bundleDir string) (*Result, error) {
	so, err := o.sbomOptions()
	if err != nil {
		return nil, err
	}
	sres, files, err := generateSbom(ctx, env, so)
	if err != nil {
		return out, err
	}
	out.Outputs["sbom-spdx-path"] = files.spdx
	out.Outputs["sbom-cyclonedx-path"] = files.cyclonedx
	out.Outputs["sbom-bundle-paths"] = strings.Join(files.bundles, "\n")
	out.merge(sres)
	if o.Policy == "" {
		return out, nil
	}
	sbomPath := files.cyclonedx
	if sbomPath == "" {
		sbomPath = files.spdx
	}
	po, perr := o.policyOptions(sbomPath, filepath.Join(bundleDir, "paved-policy.sigstore.json"))
	if perr != nil {
		return nil, perr
	}
	pres, gate, perr := evaluatePolicy(ctx, env, po)
	if pres != nil {
		out.Outputs["policy-verdict"] = gate.verdict
		out.Outputs["policy-bundle-path"] = gate.vsa
		out.merge(pres)
	}
	return out, perr
}

// sbomOptions are the options of the SBOM step: paved sbom's defaults, the
// inputs it shares with supply-chain, and an attestation about the subjects.
func (o supplyChainOptions) sbomOptions() (sbomOptions, error) {
	so, err := defaults[sbomOptions](Sbom())
	so.signingOptions = o.signingOptions
	so.GitHubToken, so.GitHubAPIURL = o.GitHubToken, o.GitHubAPIURL
	if o.SBOMSource != "" {
		so.Source, so.Sources = o.SBOMSource, []string{o.SBOMSource}
	}
	so.Attest = true
	// The all-in-one step attests; publishing SBOMs elsewhere is actions/sbom's.
	so.UploadReleaseAssets, so.DependencySnapshot = false, false
	so.SubjectPaths, so.SubjectDigests = o.SubjectPaths, o.SubjectDigests
	return so, err
}

// policyOptions are the options of the policy step: paved policy's
// defaults, the inputs it shares with supply-chain, the SBOM the SBOM step
// wrote and a VSA about the subjects at bundlePath.
func (o supplyChainOptions) policyOptions(sbomPath, bundlePath string) (policyOptions, error) {
	po, err := defaults[policyOptions](Policy())
	po.signingOptions = o.signingOptions
	po.SBOM, po.Policy, po.OSVDB = sbomPath, o.Policy, o.OSVDB
	if o.PolicyMode != "" {
		po.Mode = o.PolicyMode
	}
	if o.PolicyData != "" {
		po.Data = o.PolicyData
	}
	if o.PolicyCacheDir != "" {
		po.CacheDir = o.PolicyCacheDir
	}
	if o.PolicyDependencyScanning != "" {
		po.DependencyScanning = o.PolicyDependencyScanning
	}
	po.VSA = true
	po.SubjectPaths, po.SubjectDigests = o.SubjectPaths, o.SubjectDigests
	po.BundlePath = bundlePath
	return po, err
}

func (r *Result) merge(o *Result) {
	r.Reports = append(r.Reports, o.Reports...)
	if o.Summary != "" {
		r.Summary = strings.TrimRight(r.Summary, "\n") + "\n\n" + o.Summary
	}
	r.Notices = append(r.Notices, o.Notices...)
	r.Annotations = append(r.Annotations, o.Annotations...)
}
