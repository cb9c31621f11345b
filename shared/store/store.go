// Package store puts Sigstore bundles where verifiers look for them — files, the
// GitHub attestations API, OCI registries as referrers of an image — confirms
// every write by reading it back, and fetches bundles again by artifact digest.
//
// Targets are Writers and Fetchers; platform targets that need a platform SDK
// (GitLab's package registry) live with their front door and plug in through the
// same interfaces.
package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/paved-dev/paved/shared/fail"
	"github.com/paved-dev/paved/shared/origin"
	"github.com/paved-dev/paved/shared/parallel"
	"github.com/paved-dev/paved/shared/retry"
)

// BundleMediaType is the media type of a v0.3 Sigstore bundle; it is also the
// artifact type of the OCI referrers Paved attaches.
const BundleMediaType = "application/vnd.dev.sigstore.bundle.v0.3+json"

// maxBundle bounds one bundle read from any target.
const maxBundle = 32 << 20

// Bundle is one Sigstore bundle to store: its JSON and what it is about.
type Bundle struct {
	// JSON is the bundle as written to disk.
	JSON []byte
	// Subjects are the digests of the artifacts the bundle is about,
	// "sha256:HEX" (or "sha512:HEX" for a subject with no sha256 digest).
	Subjects []string
	// PredicateType is the statement's predicate type ("" for a message signature).
	PredicateType string
	key           string
}

// Key identifies the signed content of the bundle (the DSSE payload and its
// signatures, or the message signature): two copies of one bundle have the same
// key however a service re-serialises them. Targets use it to stay idempotent.
func (b Bundle) Key() string { return b.key }

// digestSize is the size in bytes of each subject digest algorithm stored.
var digestSize = map[string]int{"sha256": sha256.Size, "sha512": sha512.Size}

// Parse reads a bundle and the subjects of the statement it signs.
func Parse(data []byte) (Bundle, error) {
	var w struct {
		MediaType string `json:"mediaType"`
		DSSE      *struct {
			Payload     string `json:"payload"`
			PayloadType string `json:"payloadType"`
			Signatures  []struct {
				Sig string `json:"sig"`
			} `json:"signatures"`
		} `json:"dsseEnvelope"`
		Message *struct {
			Digest struct {
				Algorithm string `json:"algorithm"`
				Digest    string `json:"digest"`
			} `json:"messageDigest"`
			Signature string `json:"signature"`
		} `json:"messageSignature"`
	}
	if err := json.Unmarshal(data, &w); err != nil {
		return Bundle{}, fmt.Errorf("not a Sigstore bundle: %w", err)
	}
	if !strings.HasPrefix(w.MediaType, "application/vnd.dev.sigstore.bundle") {
		return Bundle{}, fmt.Errorf("not a Sigstore bundle: media type %q", w.MediaType)
	}
	h := sha256.New()
	b := Bundle{JSON: data}
	switch {
	case w.DSSE != nil:
		payload, err := base64.StdEncoding.DecodeString(w.DSSE.Payload)
		if err != nil {
			return Bundle{}, fmt.Errorf("bundle payload: %w", err)
		}
		var st struct {
			Subject []struct {
				Digest map[string]string `json:"digest"`
			} `json:"subject"`
			PredicateType string `json:"predicateType"`
		}
		if err := json.Unmarshal(payload, &st); err != nil {
			return Bundle{}, fmt.Errorf("bundle statement: %w", err)
		}
		for _, s := range st.Subject {
			// A subject is stored under its sha256 digest, else its sha512
			// one (actions/attest and sha512sum files give only that).
			for _, alg := range []string{"sha256", "sha512"} {
				d := strings.ToLower(s.Digest[alg])
				if d == "" {
					continue
				}
				// Subjects name files and URLs in the targets: only digests pass.
				if raw, err := hex.DecodeString(d); err != nil || len(raw) != digestSize[alg] {
					return Bundle{}, fmt.Errorf("bundle statement: subject digest %s:%q is not %d hex digits", alg, d, 2*digestSize[alg])
				}
				b.Subjects = append(b.Subjects, alg+":"+d)
				break
			}
		}
		b.PredicateType = st.PredicateType
		h.Write([]byte("dsse\x00" + w.DSSE.PayloadType + "\x00" + w.DSSE.Payload))
		for _, s := range w.DSSE.Signatures {
			h.Write([]byte("\x00" + s.Sig))
		}
	case w.Message != nil:
		if w.Message.Digest.Algorithm == "SHA2_256" {
			raw, err := base64.StdEncoding.DecodeString(w.Message.Digest.Digest)
			if err != nil {
				return Bundle{}, fmt.Errorf("bundle message digest: %w", err)
			}
			if len(raw) != sha256.Size {
				return Bundle{}, fmt.Errorf("bundle message digest: %d bytes, want %d for SHA2_256", len(raw), sha256.Size)
			}
			b.Subjects = []string{"sha256:" + hex.EncodeToString(raw)}
		}
		h.Write([]byte("message\x00" + w.Message.Digest.Digest + "\x00" + w.Message.Signature))
	default:
		return Bundle{}, errors.New("bundle has neither a DSSE envelope nor a message signature")
	}
	if len(b.Subjects) == 0 {
		return Bundle{}, errors.New("bundle names no sha256 or sha512 subject")
	}
	b.key = hex.EncodeToString(h.Sum(nil))
	return b, nil
}

// About reports whether the bundle has a subject with digest ("sha256:HEX" or "sha512:HEX").
func (b Bundle) About(digest string) bool {
	for _, s := range b.Subjects {
		if s == strings.ToLower(digest) {
			return true
		}
	}
	return false
}

// Receipt is what a target reports after a confirmed write.
type Receipt struct {
	// Target names the target, as Writer.Name.
	Target string
	// ID identifies the stored attestation at the target (attestation id,
	// referrer manifest digest, package file id), when it has one.
	ID string
	// URL is where a person can look at it, when there is such a place.
	URL string
	// Locations are every place the bundle was confirmed at (several images,
	// an index and its platforms).
	Locations []string
	// Existed is true when the bundle was already stored and nothing was written.
	Existed bool
	// Outputs are the step outputs the write answers, by output key
	// (OutputAttestationID, ...). Several targets giving the same key add a
	// line each.
	Outputs map[string]string
}

// The output keys a Receipt can carry: the outputs of the commands that
// store bundles (paved attest, sbom --attest, supply-chain).
const (
	OutputAttestationID    = "attestation-id"
	OutputAttestationURL   = "attestation-url"
	OutputRegistryReferrer = "registry-referrer"
	OutputGitLabPackageURL = "gitlab-package-url"
)

// OutputKeys lists every key a Receipt's Outputs may hold.
var OutputKeys = []string{OutputAttestationID, OutputAttestationURL, OutputRegistryReferrer, OutputGitLabPackageURL}

// Writer stores bundles in one target. Put confirms the write by reading the
// bundle back, does nothing when the bundle is already there, and never puts a
// token in an error.
type Writer interface {
	// Name names the target in messages, e.g. "GitHub attestations".
	Name() string
	// Put stores b and returns where it was confirmed.
	Put(ctx context.Context, b Bundle) (Receipt, error)
}

// Fetcher finds the bundles a target holds for an artifact digest.
//
// A verifier collects candidates from every configured target and verifies each:
//
//	var all [][]byte
//	for _, f := range []store.Fetcher{dir, gh, reg} {
//		found, err := f.Fetch(ctx, "sha256:"+hex)
//		if err != nil {
//			return err
//		}
//		all = append(all, found...)
//	}
//
// Fetchers return bundles as stored; they verify nothing.
type Fetcher interface {
	Fetch(ctx context.Context, digest string) ([][]byte, error)
}

// Result is the outcome of one target in PutAll.
type Result struct {
	Target  string
	Receipt Receipt
	Err     error
}

// PutAll stores b in every writer concurrently. A failing target does not stop
// the others; each result says how its target fared, in the writers' order.
func PutAll(ctx context.Context, b Bundle, writers []Writer) []Result {
	res := make([]Result, len(writers))
	err := parallel.Each(ctx, len(writers), len(writers), func(ctx context.Context, i int) error {
		w := writers[i]
		r, err := w.Put(ctx, b)
		if err != nil {
			err = fmt.Errorf("%s: %w", w.Name(), err)
		}
		res[i] = Result{Target: w.Name(), Receipt: r, Err: err}
		return nil // every target is tried; each result carries its own error
	})
	for i, w := range writers {
		if err != nil && res[i].Target == "" { // ctx ended before this target's turn
			res[i] = Result{Target: w.Name(), Err: fmt.Errorf("%s: not stored: %w", w.Name(), err)}
		}
	}
	return res
}

// Errors joins the failures of results, keeping the class of the first (so a
// permission problem stays a configuration error), or returns nil.
func Errors(results []Result) error {
	var errs []error
	for _, r := range results {
		if r.Err != nil {
			errs = append(errs, r.Err)
		}
	}
	if len(errs) == 0 {
		return nil
	}
	return fail.As(fail.ClassOf(errs[0]), errors.Join(errs...))
}

// HTTPOptions are the network settings shared by the HTTP targets. The zero
// value means defaults.
type HTTPOptions struct {
	// Transport sends requests (default http.DefaultTransport).
	Transport http.RoundTripper
	// Retry bounds retries of 5xx, 429 (honouring Retry-After) and timeouts
	// (zero value: the defaults of package retry).
	Retry retry.Options
}

func (o HTTPOptions) client() *http.Client {
	return origin.Client(retry.Over(o.Transport, o.Retry))
}

// SameAs reports whether data (surrounding space aside) is a bundle with
// the same signed content as b.
func (b Bundle) SameAs(data []byte) bool {
	p, err := Parse(bytes.TrimSpace(data))
	return err == nil && p.key == b.key
}

// storeError classifies a registry or API failure: refused credentials are a
// configuration error that names the fix, anything else may pass on a retry.
func storeError(op string, err error) error {
	var te *transport.Error
	if errors.As(err, &te) && (te.StatusCode == http.StatusUnauthorized || te.StatusCode == http.StatusForbidden) {
		return fail.As(fail.Config, fmt.Errorf("%s: %w; the registry refused the job's credentials (HTTP %d): log in first (docker login writes the Docker config Paved reads), or rely on the job's own: CI_REGISTRY_USER/CI_REGISTRY_PASSWORD for $CI_REGISTRY in GitLab CI/CD, GITHUB_TOKEN in the step's env with 'permissions: packages: write' for ghcr.io", op, err, te.StatusCode))
	}
	return fail.As(fail.Transient, fmt.Errorf("%s: %w", op, err))
}
