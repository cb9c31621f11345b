// Package report renders the findings of a dependency policy evaluation for
// the places people read them: SARIF 2.1.0 for code scanning, JUnit XML for
// merge-request test widgets, JSON for tools, and a Markdown table for job
// summaries.
package report

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/owenrumney/go-sarif/v3/pkg/report/v210/sarif"

	"github.com/paved-dev/paved/shared/policy"
)

// Options configure the renderers. The zero value means defaults.
type Options struct {
	// SBOMPath is where results point in SARIF (the SBOM that was evaluated);
	// default "sbom.json".
	SBOMPath string
	// ToolVersion is Paved's version (default "devel").
	ToolVersion string
}

func (o Options) sbomPath() string {
	if o.SBOMPath == "" {
		return "sbom.json"
	}
	return strings.TrimPrefix(o.SBOMPath, "./")
}

var ruleHelp = map[string]string{
	policy.RuleMalicious:    "The component is a known malicious package (an OSV MAL- record). Remove it and rotate any secret it could have read.",
	policy.RuleVulnerable:   "The component is affected by an OSV record at or above the policy's severity threshold. Upgrade it, or ignore the record in the policy with a reason and an expiry.",
	policy.RuleUnmaintained: "The package is deprecated, its source repository is archived, or it has not been released for longer than the policy allows.",
	policy.RuleLicense:      "The component's SPDX license expression cannot be satisfied with the licenses the policy allows.",
	policy.RuleProvenance:   "The policy requires a provenance attestation for this component and none is known for its version.",
	policy.RuleDeny:         "The component matches an explicit deny pattern of the policy.",
	policy.RuleNoPURL:       "The SBOM names the component without a package URL, so it cannot be checked.",
	policy.RuleSource:       "An online data source could not be reached; the evaluation used offline data only.",
	policy.RuleUnchecked:    "A rule could not be evaluated: no offline data and no online source was available for it. Give the data (--osv-db, --data) or enable the online source; only unchecked: warn in the policy accepts it.",
}

// SARIF writes the report as SARIF 2.1.0, one result per finding; excused
// findings carry a suppression with the exception's reason.
func SARIF(w io.Writer, rep *policy.Report, o Options) error {
	log := sarif.NewReport()
	version := o.ToolVersion
	if version == "" {
		version = "devel"
	}
	run := sarif.NewRunWithInformationURI("paved-policy", "https://github.com/paved-dev/paved")
	run.Tool.Driver.WithVersion(version)
	rules := map[string]bool{}
	for _, f := range rep.Findings {
		rules[f.Rule] = true
	}
	var names []string
	for r := range rules {
		names = append(names, r)
	}
	sort.Strings(names)
	for _, r := range names {
		run.AddRule(r).WithName(r).WithDescription(ruleHelp[r]).
			WithMarkdownHelp(ruleHelp[r] + "\n\nExcuse a finding with an entry under `exceptions:` in the policy (purl, rule, reason, expires).")
	}
	run.AddDistinctArtifact(o.sbomPath())
	for _, f := range rep.Findings {
		level := "error"
		if f.Action == policy.Warn {
			level = "warning"
		}
		text := f.Component + ": " + f.Message
		if len(f.Path) > 1 {
			text += " (via " + strings.Join(f.Path, " > ") + ")"
		}
		if f.Fix != "" {
			text += ". Fix: " + f.Fix
		}
		props := sarif.NewPropertyBag().Add("component", f.Component).Add("action", string(f.Action))
		if f.Record != "" {
			props.Add("record", f.Record)
		}
		if len(f.Path) > 0 {
			props.Add("dependencyPath", f.Path)
		}
		if f.Severity != "" {
			props.Add("severity", f.Severity)
		}
		if f.Score > 0 {
			props.Add("security-severity", fmt.Sprintf("%.1f", f.Score))
		}
		res := run.CreateResultForRule(f.Rule).
			WithLevel(level).
			WithMessage(sarif.NewTextMessage(text)).
			WithProperties(props).
			WithPartialFingerprints(map[string]string{"paved/v1": fingerprint(f)}).
			AddLocation(sarif.NewLocationWithPhysicalLocation(
				sarif.NewPhysicalLocation().
					WithArtifactLocation(sarif.NewSimpleArtifactLocation(o.sbomPath())).
					WithRegion(sarif.NewSimpleRegion(1, 1))).
				AddLogicalLocation(sarif.NewLogicalLocation().WithFullyQualifiedName(f.Component).WithKind("package")))
		if f.Action == policy.Excused {
			res.AddSuppression(sarif.NewSuppression().WithKind("external").WithStatus("accepted").WithJustification(f.ExcusedBy))
		}
	}
	log.AddRun(run)
	return log.PrettyWrite(w)
}

func fingerprint(f policy.Finding) string {
	sum := sha256.Sum256([]byte(f.Rule + "\x00" + f.Component + "\x00" + f.Record))
	return hex.EncodeToString(sum[:16])
}

type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Skipped  int          `xml:"skipped,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name     string      `xml:"name,attr"`
	Tests    int         `xml:"tests,attr"`
	Failures int         `xml:"failures,attr"`
	Skipped  int         `xml:"skipped,attr"`
	Cases    []junitCase `xml:"testcase"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Failure   *junitMessage `xml:"failure,omitempty"`
	Skipped   *junitMessage `xml:"skipped,omitempty"`
	SystemOut string        `xml:"system-out,omitempty"`
}

type junitMessage struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr,omitempty"`
	Body    string `xml:",chardata"`
}

// JUnit writes the report as JUnit XML: one test suite per rule, one test
// case per finding; denials fail, warnings pass with their message on
// system-out, excused findings are skipped. A report without findings is
// one passing case, so the widget shows that the gate ran.
func JUnit(w io.Writer, rep *policy.Report) error {
	bySuite := map[string]*junitSuite{}
	var order []string
	for _, f := range rep.Findings {
		s, ok := bySuite[f.Rule]
		if !ok {
			s = &junitSuite{Name: "paved policy: " + f.Rule}
			bySuite[f.Rule] = s
			order = append(order, f.Rule)
		}
		c := junitCase{Name: f.Component + " " + f.Record, Classname: "paved.policy." + f.Rule}
		body := f.Message
		if len(f.Path) > 1 {
			body += "\npath: " + strings.Join(f.Path, " > ")
		}
		if f.Fix != "" {
			body += "\nfix: " + f.Fix
		}
		if f.Excuse != "" {
			body += "\nexcuse: " + f.Excuse
		}
		switch f.Action {
		case policy.Deny:
			c.Failure = &junitMessage{Message: f.Message, Type: f.Rule, Body: body}
			s.Failures++
		case policy.Excused:
			c.Skipped = &junitMessage{Message: "excused: " + f.ExcusedBy}
			s.Skipped++
		default:
			c.SystemOut = "warning: " + body
		}
		s.Tests++
		s.Cases = append(s.Cases, c)
	}
	out := junitSuites{Name: "paved policy"}
	for _, r := range order {
		out.Suites = append(out.Suites, *bySuite[r])
	}
	if len(out.Suites) == 0 {
		out.Suites = []junitSuite{{Name: "paved policy", Tests: 1, Cases: []junitCase{{
			Name: fmt.Sprintf("%d components satisfy the policy", rep.Components), Classname: "paved.policy"}}}}
	}
	for _, s := range out.Suites {
		out.Tests += s.Tests
		out.Failures += s.Failures
		out.Skipped += s.Skipped
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(out); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}

// JSON writes the report as indented JSON.
func JSON(w io.Writer, rep *policy.Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(rep)
}

// Markdown renders the verdict and a table of findings for a job summary.
// At most limit findings are listed (0: all).
func Markdown(rep *policy.Report, verdict string, limit int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "### Paved policy: %s\n\n", verdict)
	fmt.Fprintf(&b, "%d components (%s), policy `%s` (sha256 `%s`): %d denied, %d warnings, %d excused.\n\n",
		rep.Components, rep.SBOMFormat, rep.Policy, short(rep.PolicyDigest), rep.Count(policy.Deny), rep.Count(policy.Warn), rep.Count(policy.Excused))
	if len(rep.Findings) > 0 {
		b.WriteString("| action | rule | component | record | details | fix |\n| --- | --- | --- | --- | --- | --- |\n")
		for i, f := range rep.Findings {
			if limit > 0 && i >= limit {
				fmt.Fprintf(&b, "\n…and %d more findings (see the JSON or SARIF report).\n", len(rep.Findings)-limit)
				break
			}
			details := f.Message
			if len(f.Path) > 1 {
				details += " — via " + strings.Join(f.Path, " › ")
			}
			fix := f.Fix
			if f.Action == policy.Excused {
				fix = "excused: " + f.ExcusedBy
			}
			fmt.Fprintf(&b, "| %s | %s | `%s` | %s | %s | %s |\n", f.Action, f.Rule, cell(f.Component), cell(f.Record), cell(details), cell(fix))
		}
	}
	if len(rep.Notes) > 0 {
		b.WriteString("\n")
		for _, n := range rep.Notes {
			fmt.Fprintf(&b, "- %s\n", n)
		}
	}
	return b.String()
}

func cell(s string) string {
	s = strings.ReplaceAll(s, "|", "\\|")
	return strings.ReplaceAll(s, "\n", " ")
}

func short(d string) string {
	if len(d) > 12 {
		return d[:12]
	}
	return d
}
