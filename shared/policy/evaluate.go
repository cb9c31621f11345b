package policy

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/github/go-spdx/v2/spdxexp"
)

// Rule names, as findings and exceptions name them.
const (
	RuleMalicious    = "malicious"
	RuleVulnerable   = "vulnerable"
	RuleUnmaintained = "unmaintained"
	RuleLicense      = "license"
	RuleProvenance   = "provenance"
	RuleDeny         = "deny"
	RuleNoPURL       = "no-purl"
	// RuleSource findings say an online source could not be reached (fail-open only).
	RuleSource = "source"
	// RuleUnchecked findings say a rule could not be evaluated: no data and
	// no online source was available for it. They act as the policy's
	// unchecked field says (default deny) and no exception excuses them.
	RuleUnchecked = "unchecked"
)

// Finding is one rule's verdict about one component.
type Finding struct {
	Rule   string `json:"rule"`
	Action Action `json:"action"`
	// Component is the component's purl (name@version when it has none).
	Component string `json:"component"`
	Name      string `json:"name,omitempty"`
	Version   string `json:"version,omitempty"`
	// Path is the dependency path from a root to the component, when known.
	Path []string `json:"path,omitempty"`
	// Record is the OSV id, or the data source, behind the finding.
	Record   string   `json:"record,omitempty"`
	Aliases  []string `json:"aliases,omitempty"`
	Severity string   `json:"severity,omitempty"`
	Score    float64  `json:"score,omitempty"`
	Message  string   `json:"message"`
	// Fix says how to resolve the finding; Excuse how to excuse it instead.
	Fix    string `json:"fix,omitempty"`
	Excuse string `json:"excuse,omitempty"`
	// ExcusedBy describes the exception that excuses it, when Action is excused.
	ExcusedBy string `json:"excused_by,omitempty"`
}

// Report is the outcome of evaluating a policy on an SBOM.
type Report struct {
	Policy       string    `json:"policy"`
	PolicyDigest string    `json:"policy_digest"`
	SBOMFormat   string    `json:"sbom_format"`
	Components   int       `json:"components"`
	WithoutPURL  int       `json:"components_without_purl"`
	Findings     []Finding `json:"findings"`
	// Notes are things a reader should know that are not findings (expired
	// exceptions, sources consulted).
	Notes []string `json:"notes,omitempty"`
	// Denied is true when any finding denies.
	Denied bool `json:"denied"`
	// EvaluatedAt is the clock's time of the evaluation.
	EvaluatedAt time.Time `json:"evaluated_at"`
}

// Count returns how many findings have the action.
func (r *Report) Count(a Action) int {
	n := 0
	for _, f := range r.Findings {
		if f.Action == a {
			n++
		}
	}
	return n
}

// Sources answer online questions; *Client implements it.
type Sources interface {
	// OSV returns the records the OSV API lists for each component, by purl.
	OSV(ctx context.Context, comps []Component) (map[string][]*Record, error)
	// Packages returns maintenance and provenance facts about the components' packages.
	Packages(ctx context.Context, comps []Component) ([]PackageInfo, error)
}

var _ Sources = (*Client)(nil)

// Options configure Evaluate. The zero value means defaults.
type Options struct {
	// DB holds offline OSV records (nil: none).
	DB *DB
	// Data is the offline maintenance and provenance data (nil: none).
	Data *Data
	// Online answers the online questions (nil: every online source the
	// evaluation would query counts as unreachable). Which sources are
	// queried is Policy.Sources of whether DB and Data are given.
	Online Sources
	// Now is the clock (default time.Now), for exception expiry and release age.
	Now func() time.Time
}

// SourceError reports an online source that could not be reached while the
// policy fails closed.
type SourceError struct {
	Source string
	Err    error
}

func (e *SourceError) Error() string {
	return fmt.Sprintf("%s could not be reached: %v; the policy fails closed: rerun, use offline data (--osv-db, --data), or set online.fail-open: true in the policy", e.Source, e.Err)
}

func (e *SourceError) Unwrap() error { return e.Err }

// Evaluate applies the policy to the SBOM's components.
func Evaluate(ctx context.Context, s *SBOM, p *Policy, o Options) (*Report, error) {
	now := time.Now
	if o.Now != nil {
		now = o.Now
	}
	t := now().UTC()
	rep := &Report{Policy: p.Name, PolicyDigest: p.Digest, SBOMFormat: s.Format, Components: len(s.Components) + len(s.WithoutPURL), WithoutPURL: len(s.WithoutPURL), EvaluatedAt: t}
	src, err := gatherSources(ctx, s, p, o, rep)
	if err != nil {
		return nil, err
	}
	src.reportUnchecked(p, rep)
	ev := &evaluator{p: p, now: t, rep: rep, data: src.data, sbom: s}
	for _, c := range s.Components {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		ev.component(c, o.DB, src.osv[c.PURL])
	}
	for _, c := range s.WithoutPURL {
		action := Warn
		if p.Rules.NoPURL != nil && p.Rules.NoPURL.Action != "" {
			action = p.Rules.NoPURL.Action
		}
		ev.add(c, Finding{Rule: RuleNoPURL, Action: action,
			Message: "the SBOM gives no package URL (purl) for this component, so no database can be checked for it",
			Fix:     "generate the SBOM with a tool that records purls (paved sbom, syft), or remove the component"})
	}
	sortFindings(rep.Findings)
	for _, f := range rep.Findings {
		if f.Action == Deny {
			rep.Denied = true
		}
	}
	return rep, nil
}

// sources are the data an evaluation checks components against, and which
// rules' data it has: a rule is checked when its data was given, its online
// source answered, or the policy accepted an unreachable source (fail-open).
type sources struct {
	osv                     map[string][]*Record // OSV API records by purl
	data                    *Data                // maintenance data, given and from deps.dev
	osvChecked, dataChecked bool
}

// gatherSources asks the online sources the policy turns on. An unreachable
// source is a SourceError, or with online.fail-open a warning finding in rep.
func gatherSources(ctx context.Context, s *SBOM, p *Policy, o Options, rep *Report) (sources, error) {
	src := sources{data: o.Data, osvChecked: o.DB != nil, dataChecked: o.Data != nil}
	if src.data == nil {
		src.data = &Data{}
	}
	if len(s.Components) == 0 {
		// Nothing has a purl to ask about: the rules hold for no component,
		// and the no-purl rule reports the components without one.
		src.osvChecked, src.dataChecked = true, true
		return src, nil
	}
	failed := func(name string, err error) error {
		if !p.Online.FailOpen {
			return &SourceError{Source: name, Err: err}
		}
		rep.Findings = append(rep.Findings, Finding{Rule: RuleSource, Action: Warn, Component: name, Record: name,
			Message: fmt.Sprintf("%s could not be reached (%v); evaluated with offline data only because the policy sets online.fail-open", name, err),
			Fix:     "rerun when the source is reachable, or provide offline data"})
		return nil
	}
	useOSV, useDepsDev := p.Sources(o.DB != nil, o.Data != nil)
	if useOSV {
		var err error
		if o.Online == nil {
			err = fmt.Errorf("no online client")
		} else {
			src.osv, err = o.Online.OSV(ctx, s.Components)
		}
		if err != nil {
			if e := failed("OSV API", err); e != nil {
				return src, e
			}
		}
		src.osvChecked = true
	}
	if useDepsDev {
		var infos []PackageInfo
		var err error
		if o.Online == nil {
			err = fmt.Errorf("no online client")
		} else {
			infos, err = o.Online.Packages(ctx, s.Components)
		}
		if err != nil {
			if e := failed("deps.dev API", err); e != nil {
				return src, e
			}
		}
		src.dataChecked = true
		if len(infos) > 0 {
			src.data = withPackages(src.data, infos)
		}
	}
	return src, nil
}

// withPackages is a copy of data with infos merged in; data is not changed.
func withPackages(data *Data, infos []PackageInfo) *Data {
	merged := &Data{Version: 1, Packages: append([]PackageInfo(nil), data.Packages...)}
	for i := range merged.Packages {
		prov := map[string]string{}
		for k, v := range merged.Packages[i].Provenance {
			prov[k] = v
		}
		merged.Packages[i].Provenance = prov
	}
	merged.index()
	for _, in := range infos {
		merged.merge(in)
	}
	return merged
}

// reportUnchecked adds a finding for each rule the policy turns on whose
// data the evaluation does not have, with the policy's unchecked action.
func (src sources) reportUnchecked(p *Policy, rep *Report) {
	unchecked := actionOr(p.Unchecked)
	if !src.osvChecked {
		rules := []string{RuleMalicious}
		if p.Rules.Vulnerable != nil {
			rules = append(rules, RuleVulnerable)
		}
		for _, r := range rules {
			rep.Findings = append(rep.Findings, uncheckedFinding(r, unchecked, "no OSV records: --osv-db is not given and the policy turns the OSV API off (online.osv: false)",
				"give an OSV database with --osv-db (an ecosystem all.zip export or a directory of records), or remove online.osv: false so the OSV API is queried"))
		}
	}
	if !src.dataChecked {
		for r, on := range map[string]bool{RuleUnmaintained: p.Rules.Unmaintained != nil, RuleProvenance: p.Rules.Provenance != nil} {
			if on {
				rep.Findings = append(rep.Findings, uncheckedFinding(r, unchecked, "no maintenance data: --data is not given and the policy turns deps.dev off (online.deps-dev: false)",
					"give a maintenance data file with --data, or remove online.deps-dev: false so deps.dev is queried"))
			}
		}
	}
}

// sortFindings orders findings as reports list them: by action (deny first),
// rule, component, record.
func sortFindings(fs []Finding) {
	sort.SliceStable(fs, func(i, j int) bool {
		a, b := fs[i], fs[j]
		if rank(a.Action) != rank(b.Action) {
			return rank(a.Action) < rank(b.Action)
		}
		if a.Rule != b.Rule {
			return a.Rule < b.Rule
		}
		if a.Component != b.Component {
			return a.Component < b.Component
		}
		return a.Record < b.Record
	})
}

// uncheckedFinding says a rule was not evaluated; exceptions do not excuse
// it, only the policy's unchecked: warn does.
func uncheckedFinding(rule string, action Action, why, fix string) Finding {
	f := Finding{Rule: RuleUnchecked, Action: action, Component: "rules." + rule, Record: rule,
		Message: fmt.Sprintf("the %s rule was not evaluated: %s", rule, why),
		Fix:     fix + "; exceptions do not excuse an unchecked rule: to accept it, set unchecked: warn in the policy",
		Excuse:  "set unchecked: warn in the policy to accept rules that cannot be evaluated"}
	if action == Warn {
		f.Message += "; the policy accepts it (unchecked: warn)"
	}
	return f
}

func rank(a Action) int {
	switch a {
	case Deny:
		return 0
	case Warn:
		return 1
	}
	return 2
}

type evaluator struct {
	p    *Policy
	now  time.Time
	rep  *Report
	data *Data
	sbom *SBOM
	// expiredSeen avoids repeating the note about one expired exception.
	expiredSeen map[int]bool
}

func (ev *evaluator) component(c Component, db *DB, online []*Record) {
	ev.records(c, db, online)
	if ev.allowListed(c) {
		return
	}
	info := ev.data.lookup(c)
	if u := ev.p.Rules.Unmaintained; u != nil && info != nil {
		ev.maintenance(c, u, info)
	}
	if l := ev.p.Rules.License; l != nil {
		ev.license(c, l)
	}
	if pr := ev.p.Rules.Provenance; pr != nil {
		ev.provenance(c, pr, info)
	}
}

// records checks the component against its OSV records, offline (db) and
// from the OSV API (online), each record once.
func (ev *evaluator) records(c Component, db *DB, online []*Record) {
	key, known := osvPackage(c.purl)
	if !known {
		return
	}
	seen := map[string]bool{}
	var recs []*Record
	if db != nil {
		recs = db.records(key)
	}
	for _, r := range recs {
		if seen[r.ID] {
			continue
		}
		seen[r.ID] = true
		state, a := r.affects(key, c.Version)
		ev.record(c, key, r, state, a)
	}
	for _, r := range online {
		if seen[r.ID] {
			continue
		}
		seen[r.ID] = true
		state, a := r.affects(key, c.Version)
		if state == notAffected {
			// The API matched it; trust its answer and rate it by the entry for the package.
			state = affected
			for i := range r.Affected {
				if baseEcosystem(r.Affected[i].Package.Ecosystem) == key.Ecosystem {
					a = &r.Affected[i]
					break
				}
			}
		}
		ev.record(c, key, r, state, a)
	}
}

// allowListed reports whether an allow pattern matches the component, which
// then passes the remaining rules; otherwise the first deny pattern that
// matches it is a finding.
func (ev *evaluator) allowListed(c Component) bool {
	for _, e := range ev.p.Rules.Allow {
		if matchPattern(e.PURL, c) {
			return true
		}
	}
	for _, e := range ev.p.Rules.Deny {
		if matchPattern(e.PURL, c) {
			msg := "denied by the policy's pattern " + e.PURL
			if e.Reason != "" {
				msg += ": " + e.Reason
			}
			ev.add(c, Finding{Rule: RuleDeny, Action: Deny, Record: e.PURL, Message: msg,
				Fix: "remove this dependency or replace it; or add an allow entry for it in the policy"})
			break
		}
	}
	return false
}

// maintenance applies the unmaintained rule to what the data says of the
// component: deprecated, archived, or no release for too long.
func (ev *evaluator) maintenance(c Component, u *Unmaintained, info *PackageInfo) {
	action := actionOr(u.Action)
	if info.Deprecated && (u.Deprecated == nil || *u.Deprecated) {
		msg := "the package is deprecated"
		if info.DeprecationMessage != "" {
			msg += ": " + info.DeprecationMessage
		}
		ev.add(c, Finding{Rule: RuleUnmaintained, Action: action, Record: "deprecated", Message: msg,
			Fix: "replace it with a maintained package"})
	}
	if info.Archived && (u.Archived == nil || *u.Archived) {
		repo := info.Repository
		if repo == "" {
			repo = "its source repository"
		}
		ev.add(c, Finding{Rule: RuleUnmaintained, Action: action, Record: "archived", Message: repo + " is archived",
			Fix: "replace it with a maintained package or a maintained fork"})
	}
	if m := u.MaxMonthsWithoutRelease; m > 0 && !info.lastRelease.IsZero() && info.lastRelease.AddDate(0, m, 0).Before(ev.now) {
		ev.add(c, Finding{Rule: RuleUnmaintained, Action: action, Record: "last-release",
			Message: fmt.Sprintf("no release since %s (more than %d months)", info.lastRelease.Format("2006-01-02"), m),
			Fix:     "replace it with a maintained package"})
	}
}

// provenance applies the provenance rule: a component of a required
// ecosystem or pattern needs a known attestation for its version.
func (ev *evaluator) provenance(c Component, pr *Provenance, info *PackageInfo) {
	required := false
	for _, r := range pr.Require {
		if (r.Ecosystem != "" && strings.EqualFold(r.Ecosystem, c.purl.Type)) || (r.PURL != "" && matchPattern(r.PURL, c)) {
			required = true
			break
		}
	}
	if required && (info == nil || info.Provenance[c.Version] == "") {
		ev.add(c, Finding{Rule: RuleProvenance, Action: actionOr(pr.Action), Record: "provenance",
			Message: "no provenance attestation is known for this version",
			Fix:     "use a version published with provenance (npm publish --provenance, PyPI trusted publishing), or record its attestation in the data file"})
	}
}

func actionOr(a Action) Action {
	if a == "" {
		return Deny
	}
	return a
}

// record turns one OSV record that may affect c into a finding, or nothing.
func (ev *evaluator) record(c Component, key pkgKey, r *Record, state matchState, a *Affected) {
	if state == notAffected || r.Withdrawn != "" {
		return
	}
	rating := rate(r, a)
	f := Finding{Record: r.ID, Aliases: r.Aliases, Severity: rating.Level.String(), Score: rating.Score}
	if r.Malicious() {
		f.Rule, f.Action, f.Record = RuleMalicious, Deny, r.malID()
		f.Severity, f.Score = "", 0
		f.Message = "known malicious package (" + r.malID() + ")"
		if r.Summary != "" {
			f.Message += ": " + r.Summary
		}
		f.Fix = "remove it now, rotate any credentials the build or developers exposed to it, and check how it was introduced"
		ev.add(c, f)
		return
	}
	v := ev.p.Rules.Vulnerable
	if v == nil {
		return
	}
	f.Rule, f.Action = RuleVulnerable, actionOr(v.Action)
	f.Message = r.ID
	if r.Summary != "" {
		f.Message += ": " + r.Summary
	}
	if state == unknownVersion {
		f.Action = Warn
		f.Message += fmt.Sprintf(" (version %q could not be compared with the record's ranges)", c.Version)
	} else if rating.Level == LevelUnknown {
		switch v.UnknownSeverity {
		case "ignore":
			return
		case "warn":
			f.Action = Warn
		}
		f.Message += " (no severity in the record)"
	} else {
		below := rating.Level < v.minLevel
		if v.MinScore != nil {
			below = rating.Score < *v.MinScore || rating.Score == 0
		}
		if below {
			return
		}
		if rating.Score > 0 {
			f.Message += fmt.Sprintf(" (CVSS %.1f, %s)", rating.Score, rating.Level)
		} else {
			f.Message += fmt.Sprintf(" (%s)", rating.Level)
		}
	}
	f.Fix = fixHint(a, c.Version)
	for _, ig := range v.Ignore {
		if ig.ID != r.ID && !contains(r.Aliases, ig.ID) {
			continue
		}
		if !ig.until.IsZero() && ev.now.After(ig.until) {
			ev.note(ig.Line, fmt.Sprintf("the ignore entry for %s (policy line %d) expired on %s and no longer applies", ig.ID, ig.Line, ig.Expires))
			continue
		}
		f.Action = Excused
		f.ExcusedBy = "ignored: " + ig.Reason
		if ig.Expires != "" {
			f.ExcusedBy += " (until " + ig.Expires + ")"
		}
		break
	}
	ev.add(c, f)
}

func fixHint(a *Affected, v string) string {
	if a == nil {
		return "upgrade to a version the record does not list as affected"
	}
	var fixed []string
	for _, rg := range a.Ranges {
		for _, e := range rg.Events {
			if e.Fixed != "" && (v == "" || laterThan(a.Package.Ecosystem, e.Fixed, v)) {
				fixed = append(fixed, e.Fixed)
			}
		}
	}
	if len(fixed) == 0 {
		return "no fixed version is known: replace the dependency or excuse it with an exception"
	}
	sort.Slice(fixed, func(i, j int) bool { return laterThan(a.Package.Ecosystem, fixed[j], fixed[i]) })
	return "upgrade to " + fixed[0] + " or later"
}

func (ev *evaluator) license(c Component, l *License) {
	action := actionOr(l.Action)
	expr := strings.TrimSpace(c.License)
	if expr == "" {
		switch l.Unknown {
		case "allow":
			return
		case "deny":
		default:
			action = Warn
		}
		ev.add(c, Finding{Rule: RuleLicense, Action: action, Record: "license",
			Message: "the SBOM gives no license for this component",
			Fix:     "find the license and record it (or set rules.license.unknown)"})
		return
	}
	ids, err := spdxexp.ExtractLicenses(expr)
	if err != nil {
		ev.add(c, Finding{Rule: RuleLicense, Action: action, Record: expr,
			Message: fmt.Sprintf("license %q is not a valid SPDX expression", expr),
			Fix:     "check the license and record it as an SPDX expression"})
		return
	}
	denied := l.denied
	var usable []string
	if len(l.Allow) > 0 {
		for _, a := range l.Allow {
			if !denied[strings.ToLower(a)] {
				usable = append(usable, a)
			}
		}
	} else {
		for _, id := range ids {
			if !denied[strings.ToLower(id)] {
				usable = append(usable, id)
			}
		}
	}
	ok := false
	if len(usable) > 0 {
		ok, err = spdxexp.Satisfies(expr, usable)
		if err != nil {
			ok = false
		}
	}
	if ok {
		return
	}
	msg := fmt.Sprintf("license %s is not satisfied by the licenses the policy allows", expr)
	for _, id := range ids {
		if denied[strings.ToLower(id)] {
			msg = fmt.Sprintf("license %s requires %s, which the policy denies", expr, id)
			break
		}
	}
	ev.add(c, Finding{Rule: RuleLicense, Action: action, Record: expr, Message: msg,
		Fix: "replace the dependency, or have the license reviewed and add it to rules.license.allow"})
}

// add applies exceptions and records the finding.
func (ev *evaluator) add(c Component, f Finding) {
	f.Component, f.Name, f.Version, f.Path = c.Label(), c.Name, c.Version, ev.sbom.PathOf(c)
	if f.Excuse == "" && f.Action != Excused {
		f.Excuse = excuseHint(f, ev.now)
	}
	if f.Action != Excused {
		for _, e := range ev.p.Exceptions {
			if !ev.covers(e, c, f) {
				continue
			}
			if ev.now.After(e.until) {
				ev.note(e.Line, fmt.Sprintf("the exception for %s (policy line %d, %q) expired on %s and no longer excuses anything", e.PURL, e.Line, e.Reason, e.Expires))
				continue
			}
			f.Action = Excused
			f.ExcusedBy = fmt.Sprintf("%s (until %s, policy line %d)", e.Reason, e.Expires, e.Line)
			break
		}
	}
	ev.rep.Findings = append(ev.rep.Findings, f)
}

func (ev *evaluator) covers(e Exception, c Component, f Finding) bool {
	if f.Rule == RuleUnchecked || f.Rule == RuleSource {
		return false
	}
	if e.Rule != "" && e.Rule != f.Rule {
		return false
	}
	if e.Rule == "" && f.Rule == RuleMalicious {
		return false
	}
	if e.ID != "" && e.ID != f.Record && !contains(f.Aliases, e.ID) {
		return false
	}
	if f.Rule == RuleMalicious && e.ID == "" {
		return false
	}
	if c.PURL == "" {
		return e.PURL == "pkg:*"
	}
	return matchPattern(e.PURL, c)
}

func (ev *evaluator) note(line int, msg string) {
	if ev.expiredSeen == nil {
		ev.expiredSeen = map[int]bool{}
	}
	if ev.expiredSeen[line] {
		return
	}
	ev.expiredSeen[line] = true
	ev.rep.Notes = append(ev.rep.Notes, msg)
}

func excuseHint(f Finding, now time.Time) string {
	target := f.Component
	if !strings.HasPrefix(target, "pkg:") {
		target = "pkg:*"
	}
	h := fmt.Sprintf("exceptions: [{purl: %q, rule: %s", target, f.Rule)
	if f.Rule == RuleMalicious || f.Rule == RuleVulnerable {
		h += ", id: " + f.Record
	}
	return h + fmt.Sprintf(", reason: \"...\", expires: %s}]", now.AddDate(0, 1, 0).Format("2006-01-02"))
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
