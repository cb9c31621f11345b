package verify

import (
	"cmp"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/paved-dev/paved/shared/bounded"
	"github.com/paved-dev/paved/shared/parallel"

	"github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/root"

	"github.com/paved-dev/paved/shared/fail"
)

// maxBundleFile bounds one bundle or JSON Lines file.
const maxBundleFile = 256 << 20

// Candidate is a bundle that may attest some artifacts, with the digests it
// names ("sha256:HEX"), so that each artifact is checked only against bundles
// about it.
type Candidate struct {
	Bundle *bundle.Bundle
	// JSON is the bundle as read, for verification kits and reports.
	JSON []byte
	// Source says where the bundle came from.
	Source  string
	Digests []string
}

// Limits bound what verification reads and tries across all its inputs, so a
// flood of bundles (many files, huge JSON Lines, a hostile attestation store)
// costs bounded memory and time. Zero fields mean the defaults.
type Limits struct {
	// Bytes of bundle JSON read from all inputs together (default 256 MiB).
	Bytes int64
	// Bundles from all inputs together (default 10,000).
	Bundles int
}

// Default bounds of Limits and Options.
const (
	DefaultMaxBytes      = 256 << 20
	DefaultMaxBundles    = 10000
	DefaultMaxCandidates = 256
	DefaultMaxFailures   = 20
	// maxReason bounds one failure reason (a hostile bundle controls parts of it).
	maxReason = 2000
)

func (l Limits) bytes() int64 { return cmp.Or(max(l.Bytes, 0), DefaultMaxBytes) }

func (l Limits) bundles() int { return cmp.Or(max(l.Bundles, 0), DefaultMaxBundles) }

// Collector gathers candidate bundles from files and fetched documents within
// one shared budget of Limits. The zero value uses the default limits.
type Collector struct {
	Limits Limits
	// Files opens the files Load reads (default: the operating system's,
	// regular files only; a *workspace.Workspace confines them).
	Files Files
	// Candidates collected so far.
	Candidates []Candidate
	read       int64
}

// errTooMuch is the message of inputs that exceed Limits.
const errTooMuch = "bundle inputs exceed %s (%s): pass only the bundles of the artifacts to verify, for example one bundle file per artifact"

// reserve accounts n more bytes, before they are read.
func (c *Collector) reserve(n int64, source string) error {
	if c.read+n > c.Limits.bytes() {
		return fail.Configf(errTooMuch, fmt.Sprintf("%d MiB in all", c.Limits.bytes()>>20), "at "+source)
	}
	c.read += n
	return nil
}

// Parse adds the bundles of one document: a bundle JSON document or JSON
// Lines of bundles, fetched or read.
func (c *Collector) Parse(data []byte, source string) error {
	if err := c.reserve(int64(len(data)), source); err != nil {
		return err
	}
	cands, err := parseBundles(data, source, c.Limits.bundles()-len(c.Candidates), c.Limits.bundles())
	if err != nil {
		return err
	}
	c.Candidates = append(c.Candidates, cands...)
	return nil
}

// Load adds bundle files, JSON Lines files, or directories of them
// (*.sigstore.json, *.sigstore, *.jsonl, *.intoto.jsonl). The files' sizes
// are checked against the budget, all together, before any is read.
// In a directory, FIFOs, devices and sockets are skipped; named directly,
// they are refused.
func (c *Collector) Load(paths []string) error {
	fsys := c.Files
	if fsys == nil {
		fsys = osFiles{}
	}
	var files []string
	var size int64
	for _, p := range paths {
		st, err := fsys.Stat(p)
		if err != nil {
			return fail.Configf("bundle %s: %w", p, fail.PathCause(err))
		}
		found := []string{p}
		if st.IsDir() {
			found = nil
			entries, err := fsys.ReadDir(p)
			if err != nil {
				return fail.Configf("reading bundle directory: %w", err)
			}
			for _, e := range entries {
				n := e.Name()
				if (e.Type().IsRegular() || e.Type()&fs.ModeSymlink != 0) && (strings.HasSuffix(n, ".sigstore.json") || strings.HasSuffix(n, ".sigstore") || strings.HasSuffix(n, ".jsonl")) {
					found = append(found, filepath.Join(p, n))
				}
			}
			if len(found) == 0 {
				return fail.Configf("bundle directory %s holds no *.sigstore.json, *.sigstore or *.jsonl files", p)
			}
		}
		for _, f := range found {
			if len(files) >= c.Limits.bundles()-len(c.Candidates) {
				return fail.Configf(errTooMuch, fmt.Sprintf("%d bundles in all", c.Limits.bundles()), "at "+f)
			}
			if fst, err := fsys.Stat(f); err == nil && fst.Mode().IsRegular() {
				size += fst.Size()
				if c.read+size > c.Limits.bytes() {
					return fail.Configf(errTooMuch, fmt.Sprintf("%d MiB in all", c.Limits.bytes()>>20), "at "+f)
				}
			}
			files = append(files, f)
		}
	}
	for _, f := range files {
		limit := c.Limits.bytes() - c.read
		if limit > maxBundleFile {
			limit = maxBundleFile
		}
		data, err := fsys.ReadFile(f, limit)
		if err != nil {
			return fail.Configf("reading bundle: %w", err)
		}
		if err := c.Parse(data, f); err != nil {
			return err
		}
	}
	return nil
}

// ParseBundles reads one bundle JSON document or JSON Lines of bundles, at
// most DefaultMaxBundles of them.
func ParseBundles(data []byte, source string) ([]Candidate, error) {
	return parseBundles(data, source, DefaultMaxBundles, DefaultMaxBundles)
}

// parseBundles parses at most room bundles of the limit in all.
func parseBundles(data []byte, source string, room, limit int) ([]Candidate, error) {
	tooMany := func() error {
		return fail.Configf(errTooMuch, fmt.Sprintf("%d bundles in all", limit), "at "+source)
	}
	trimmed := strings.TrimSpace(string(data))
	var docs []string
	if strings.HasPrefix(trimmed, "{") && json.Valid([]byte(trimmed)) {
		docs = []string{trimmed}
	} else {
		for i, line := range strings.Split(trimmed, "\n") {
			line = strings.TrimSpace(line)
			if line == "" {
				continue
			}
			if !json.Valid([]byte(line)) {
				return nil, fail.Verificationf("%s line %d is not JSON: a bundle file holds one Sigstore bundle or one bundle per line", source, i+1)
			}
			if len(docs) >= room {
				return nil, tooMany()
			}
			docs = append(docs, line)
		}
	}
	if len(docs) > room {
		return nil, tooMany()
	}
	var out []Candidate
	for i, d := range docs {
		var b bundle.Bundle
		if err := b.UnmarshalJSON([]byte(d)); err != nil {
			where := source
			if len(docs) > 1 {
				where = fmt.Sprintf("%s line %d", source, i+1)
			}
			return nil, fail.Verificationf("%s is not a valid Sigstore bundle: %w", where, err)
		}
		out = append(out, Candidate{Bundle: &b, JSON: []byte(d), Source: source, Digests: digestsOf(&b)})
	}
	return out, nil
}

// Files opens the files a user named (*workspace.Workspace: relative to the
// working directory, confined to the workspace, regular files only).
type Files interface {
	Stat(path string) (fs.FileInfo, error)
	ReadDir(path string) ([]fs.DirEntry, error)
	ReadFile(path string, limit int64) ([]byte, error)
}

// osFiles are the operating system's files, read only when regular.
type osFiles struct{}

func (osFiles) Stat(p string) (fs.FileInfo, error)             { return os.Stat(p) }
func (osFiles) ReadDir(p string) ([]fs.DirEntry, error)        { return os.ReadDir(p) }
func (osFiles) ReadFile(p string, limit int64) ([]byte, error) { return bounded.ReadFile(p, limit) }

// LoadBundles reads bundle files, JSON Lines files, or directories of them
// within the default Limits, through files (nil: the operating system's).
func LoadBundles(files Files, paths []string) ([]Candidate, error) {
	c := Collector{Files: files}
	if err := c.Load(paths); err != nil {
		return nil, err
	}
	return c.Candidates, nil
}

// digestsOf lists the artifact digests a bundle is about: the subjects of its
// in-toto statement, or the digest of its message signature.
func digestsOf(b *bundle.Bundle) []string {
	var out []string
	if env := b.GetDsseEnvelope(); env != nil {
		var st struct {
			Subject []struct {
				Digest map[string]string `json:"digest"`
			} `json:"subject"`
		}
		if json.Unmarshal(env.GetPayload(), &st) == nil {
			for _, s := range st.Subject {
				for alg, h := range s.Digest {
					out = append(out, alg+":"+strings.ToLower(h))
				}
			}
		}
	}
	if ms := b.GetMessageSignature(); ms != nil && ms.GetMessageDigest() != nil {
		alg := map[string]string{"SHA2_256": "sha256", "SHA2_384": "sha384", "SHA2_512": "sha512"}[ms.GetMessageDigest().GetAlgorithm().String()]
		if alg != "" {
			out = append(out, alg+":"+hex.EncodeToString(ms.GetMessageDigest().GetDigest()))
		}
	}
	return out
}

// Root is named trust material.
type Root struct {
	Name     string
	Material root.TrustedMaterial
	// JSON is the trusted root document, for verification kits.
	JSON []byte
}

// Target is one artifact to verify.
type Target struct {
	Name     string
	Artifact Artifact
	// Alternates are the same artifact's digests in other algorithms, for
	// attestations that name it that way (npm provenance uses sha512).
	Alternates []Artifact
}

// Digest renders the target's digest as ALGORITHM:HEX.
func (t Target) Digest() string { return t.Artifact.String() }

// names reports whether the candidate names the artifact's digest.
func (c *Candidate) names(a Artifact) bool {
	for _, d := range c.Digests {
		if d == a.String() {
			return true
		}
	}
	return false
}

// Algorithms lists the digest algorithms other than SHA-256 that candidates
// name artifacts by (npm provenance uses SHA-512), so files are digested in
// each of them.
func Algorithms(cands []Candidate) []string {
	var out []string
	seen := map[string]bool{"sha256": true}
	for _, c := range cands {
		for _, d := range c.Digests {
			alg, _, _ := strings.Cut(d, ":")
			if !seen[alg] && hashes[alg] != nil {
				seen[alg] = true
				out = append(out, alg)
			}
		}
	}
	sort.Strings(out)
	return out
}

// Failure is why one bundle did not verify an artifact.
type Failure struct {
	Source string
	Reason string
}

// Outcome is the verdict for one target.
type Outcome struct {
	Target   Target
	Verified bool
	// Result, Candidate and Root are set when Verified: the first bundle
	// that verified the target.
	Result    *Result
	Candidate *Candidate
	Root      string
	// More are the other bundles that verified the target, in the order they
	// were tried, when Options.Every asked for them.
	More []Verification
	// Failures say why each candidate bundle was refused.
	Failures []Failure
}

// Verification is one bundle that verified a target, and the root it
// verified under.
type Verification struct {
	Result    *Result
	Candidate *Candidate
	Root      string
}

// All verifies every target against the candidate bundles about it, under each
// root in turn, concurrently. A target is verified when at least one bundle
// verifies under one root.
func All(ctx context.Context, roots []Root, targets []Target, cands []Candidate, ids []Identity, o Options, workers int) []Outcome {
	byDigest := map[string][]int{}
	for i, c := range cands {
		for _, d := range c.Digests {
			byDigest[d] = append(byDigest[d], i)
		}
	}
	if workers <= 0 {
		workers = 4
	}
	out := make([]Outcome, len(targets))
	done := make([]bool, len(targets))
	err := parallel.Each(ctx, len(targets), workers, func(ctx context.Context, i int) error {
		var idx []int
		seen := map[int]bool{}
		for _, a := range append([]Artifact{targets[i].Artifact}, targets[i].Alternates...) {
			for _, j := range byDigest[a.String()] {
				if !seen[j] {
					seen[j] = true
					idx = append(idx, j)
				}
			}
		}
		out[i] = one(ctx, roots, targets[i], cands, idx, ids, o)
		done[i] = true
		return nil
	})
	if err != nil {
		// The run was cancelled: a target not reached is not verified.
		for i := range out {
			if !done[i] {
				out[i] = Outcome{Target: targets[i], Failures: []Failure{{Reason: fmt.Sprintf("not verified: %v", err)}}}
			}
		}
	}
	return out
}

func one(ctx context.Context, roots []Root, t Target, cands []Candidate, idx []int, ids []Identity, o Options) (oc Outcome) {
	oc = Outcome{Target: t}
	if len(idx) == 0 {
		oc.Failures = append(oc.Failures, Failure{Reason: fmt.Sprintf("no attestation names %s among the %d bundle(s) given", t.Digest(), len(cands))})
		return oc
	}
	var skipped int
	if max := o.maxCandidates(); len(idx) > max {
		skipped, idx = len(idx)-max, idx[:max]
	}
	defer func() {
		oc.Failures = truncateFailures(oc.Failures, o.maxFailures())
		if skipped > 0 && !oc.Verified {
			oc.Failures = append(oc.Failures, Failure{Reason: fmt.Sprintf("%d more bundle(s) name %s and were not tried: at most %d are tried per artifact; pass only this artifact's bundles", skipped, t.Digest(), o.maxCandidates())})
		}
	}()
	for _, i := range idx {
		c := &cands[i]
		art := t.Artifact
		for _, a := range t.Alternates {
			if c.names(a) && !c.names(t.Artifact) {
				art = a
			}
		}
		var reasons []string
		ok := false
		for _, r := range roots {
			if ctx.Err() != nil {
				oc.Failures = append(oc.Failures, Failure{Source: c.Source, Reason: ctx.Err().Error()})
				return oc
			}
			res, err := Bundle(r.Material, c.Bundle, art, ids, o)
			if err == nil {
				ok = true
				if !oc.Verified {
					oc.Verified, oc.Result, oc.Candidate, oc.Root = true, res, c, r.Name
				} else {
					oc.More = append(oc.More, Verification{Result: res, Candidate: c, Root: r.Name})
				}
				break
			}
			reasons = append(reasons, fmt.Sprintf("%s: %v", r.Name, err))
		}
		if oc.Verified && !o.Every {
			return oc
		}
		if ok {
			continue
		}
		if len(roots) == 1 {
			reasons[0] = strings.TrimPrefix(reasons[0], roots[0].Name+": ")
		}
		sort.Strings(reasons)
		oc.Failures = append(oc.Failures, Failure{Source: c.Source, Reason: clip(strings.Join(reasons, "; "), maxReason)})
	}
	return oc
}

// truncateFailures keeps the first max failures and counts the rest, so a
// flood of refused bundles cannot flood a report or a step summary.
func truncateFailures(fs []Failure, max int) []Failure {
	if len(fs) <= max {
		return fs
	}
	return append(fs[:max:max], Failure{Reason: fmt.Sprintf("and %d more bundle(s) refused, not listed", len(fs)-max)})
}

// clip shortens s to at most n bytes, on a rune boundary.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return bounded.Prefix(s, n) + "… (cut)"
}

// FailureReasons lists why each candidate bundle failed, "SOURCE: REASON; …".
func (oc Outcome) FailureReasons() string {
	var why []string
	for _, f := range oc.Failures {
		r := f.Reason
		if f.Source != "" {
			r = f.Source + ": " + r
		}
		why = append(why, r)
	}
	return strings.Join(why, "; ")
}
