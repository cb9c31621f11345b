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
	return &Command{
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
		Run: runSupplyChain,
	}
}

// attestOnly are the inputs of attest that supply-chain does not take.
var attestOnly = []string{"subject-name", "predicate", "sbom-path", "subject-version", "create-storage-record", "show-summary"}

func runSupplyChain(ctx context.Context, env Env, v Values) (*Result, error) {
	// Validate every step's inputs before anything is signed.
	// One fixed name for the provenance bundle, whatever the number of
	// subjects, so that later jobs and steps can rely on it.
	bundlePath := v.String("bundle-path")
	if bundlePath == "" {
		bundlePath = "attestation.sigstore.json"
	}
	av, err := subValuesWith(Attest(), v, map[string][]string{"bundle-path": {bundlePath}})
	if err != nil {
		return nil, err
	}
	var sv, pv Values
	doSBOM, doPolicy := v.Bool("sbom"), v.String("policy") != ""
	if doPolicy && !doSBOM {
		return nil, fail.Configf("--policy gates the SBOM: keep --sbom on (the default)")
	}
	if doSBOM {
		m := map[string][]string{
			"source": {v.String("sbom-source")}, "attest": {"true"},
			"subject-path": v.List("subject-path"), "subject-digest": v.List("subject-digest"),
			// The all-in-one step attests; publishing SBOMs elsewhere is actions/sbom's.
			"upload-release-assets": {"false"}, "dependency-snapshot": {"false"},
		}
		if sv, err = subValuesWith(Sbom(), v, m); err != nil {
			return nil, err
		}
	}
	if doPolicy {
		polRaw, err := readInput(env, v.String("policy"), policy.MaxPolicy)
		if err != nil {
			return nil, fail.Configf("reading policy: %w", err)
		}
		if _, err := policy.Parse(v.String("policy"), polRaw); err != nil {
			return nil, fail.Configf("invalid policy: %w", err)
		}
	}
	plan, err := planAttest(ctx, env, av)
	if err != nil {
		return nil, err
	}
	sg, err := newSigning(ctx, env, signingFrom(v))
	if err != nil {
		return nil, err
	}
	env.shared = sg

	res, err := plan.run(ctx, env, av)
	if err != nil {
		return res, err
	}
	out := &Result{Outputs: maps.Clone(res.Outputs), Summary: res.Summary, Reports: res.Reports, Notices: res.Notices, Annotations: res.Annotations}
	if doSBOM {
		var so sbomOptions
		bindOptions(sv, &so)
		sres, err := runSbom(ctx, env, so)
		if err != nil {
			return out, err
		}
		out.Outputs["sbom-spdx-path"] = sres.Outputs["spdx-path"]
		out.Outputs["sbom-cyclonedx-path"] = sres.Outputs["cyclonedx-path"]
		out.Outputs["sbom-bundle-paths"] = sres.Outputs["bundle-paths"]
		out.merge(sres)
		if doPolicy {
			sbomPath := sres.Outputs["cyclonedx-path"]
			if sbomPath == "" {
				sbomPath = sres.Outputs["spdx-path"]
			}
			m := map[string][]string{
				"sbom": {sbomPath}, "policy": {v.String("policy")}, "osv-db": v.List("osv-db"), "mode": {v.String("policy-mode")},
				"vsa": {"true"}, "subject-path": v.List("subject-path"), "subject-digest": v.List("subject-digest"),
			}
			if d := v.String("policy-data"); d != "" {
				m["data"] = []string{d}
			}
			if d := v.String("policy-cache-dir"); d != "" {
				m["cache-dir"] = []string{d}
			}
			if d := v.String("policy-dependency-scanning"); d != "" {
				m["dependency-scanning"] = []string{d}
			}
			m["bundle-path"] = []string{filepath.Join(filepath.Dir(bundlePath), "paved-policy.sigstore.json")}
			pv, err = subValuesWith(Policy(), v, m)
			if err != nil {
				return out, err
			}
			var po policyOptions
			bindOptions(pv, &po)
			pres, perr := runPolicy(ctx, env, po)
			if pres != nil {
				out.Outputs["policy-verdict"] = pres.Outputs["verdict"]
				out.Outputs["policy-bundle-path"] = pres.Outputs["bundle-path"]
				out.merge(pres)
			}
			if perr != nil {
				return out, perr
			}
		}
	}
	return out, nil
}

func (r *Result) merge(o *Result) {
	r.Reports = append(r.Reports, o.Reports...)
	if o.Summary != "" {
		r.Summary = strings.TrimRight(r.Summary, "\n") + "\n\n" + o.Summary
	}
	r.Notices = append(r.Notices, o.Notices...)
	r.Annotations = append(r.Annotations, o.Annotations...)
}

// subValuesWith binds the inputs a sub-command shares with supply-chain by
// name, with explicit values that take precedence.
func subValuesWith(cmd *Command, v Values, explicit map[string][]string) (Values, error) {
	m := map[string][]string{}
	for _, in := range cmd.Inputs {
		if _, ok := v.cmd.Input(in.Name); ok && v.Set(in.Name) {
			m[in.Name] = v.List(in.Name)
		}
	}
	for k, vals := range explicit {
		if len(vals) == 0 || (len(vals) == 1 && vals[0] == "") {
			delete(m, k)
			continue
		}
		m[k] = vals
	}
	sub, err := NewValues(cmd, m)
	if err != nil {
		return Values{}, fail.Configf("%w", err)
	}
	return sub, nil
}
