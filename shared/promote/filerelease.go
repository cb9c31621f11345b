package promote

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/paved-dev/paved/shared/atomicfile"
	"github.com/paved-dev/paved/shared/fail"
	"github.com/paved-dev/paved/shared/verify"
)

// AdmitFile verifies the given bundles about a release file, target, whose
// digest was computed from its bytes. A file whose digest no bundle names
// is refused as rebuilt or altered; one that is named but whose
// attestations do not verify is refused with each bundle's reason. On
// success it returns the verification and the file's "sha256:HEX" digest.
func (a Admission) AdmitFile(ctx context.Context, target verify.Target) (Verification, string, error) {
	oc := verify.All(ctx, a.Roots, []verify.Target{target}, a.Bundles, a.Identities, verify.Options{PredicateType: a.PredicateType, CheckStatement: a.CheckStatement}, 0)[0]
	digest := oc.Target.Digest()
	if !oc.Verified {
		return Verification{}, digest, a.fileRefusal(target.Name, digest, oc)
	}
	return VerificationOf(oc, a.Identities), digest, nil
}

// fileRefusal explains why a release file is not promoted: its digest is not
// attested at all (a rebuilt or altered file), or no attestation of it verifies.
func (a Admission) fileRefusal(path, digest string, oc verify.Outcome) error {
	var attested []string
	named := false
	for _, c := range a.Bundles {
		for _, d := range c.Digests {
			if strings.EqualFold(d, digest) {
				named = true
			}
			if !slices.Contains(attested, d) && len(attested) < 8 {
				attested = append(attested, d)
			}
		}
	}
	if !named {
		return fail.Verificationf("refusing to promote %s: its digest %s is not attested by any of the %d bundle(s) given (they attest %s): the file was rebuilt or altered after it was attested; promote the attested bytes; nothing was uploaded",
			path, digest, len(a.Bundles), strings.Join(attested, ", "))
	}
	return fail.Verificationf("refusing to promote %s (%s): no attestation of type %s verifies under the policy; nothing was uploaded: %s", path, digest, a.PredicateType, oc.FailureReasons())
}

// FileRelease uploads an admitted release file and its promotion
// attestation to one destination.
type FileRelease struct {
	// Path names the file in messages, as the user gave it.
	Path string
	// Open opens the file to copy (a Workspace's Open confines it;
	// default: OpenAttested's).
	Open func(path string) (*os.File, error)
	// Uploader is the destination.
	Uploader Uploader
	// Sign signs the promotion attestation about f, which is about to be
	// uploaded to to (the destination and file name), and returns the
	// bundle's bytes. It runs before anything is uploaded, so a signing
	// failure leaves the destination untouched.
	Sign func(ctx context.Context, f *File, to string) ([]byte, error)
	// AttestationPath is where the promotion attestation is written.
	AttestationPath string
	// Log receives a line per step (default: discarded).
	Log io.Writer
}

// FileReleased is what a file release did.
type FileReleased struct {
	// Name is the file's name at the destination.
	Name string
	// Digest ("sha256:HEX") and Size are of the uploaded bytes.
	Digest string
	Size   int64
	// File and Attestation are the two uploads.
	File, Attestation Uploaded
}

// Release copies real (the confined path of r.Path) into a private copy,
// checks its digest is the admitted one, signs the promotion attestation,
// writes it to AttestationPath and uploads the file, then the attestation
// beside it as NAME.promotion-<bundle digest prefix>.sigstore.json, so a
// rerun adds its own attestation instead of colliding with an earlier one.
// The attestation file is removed again when the file's upload fails: no
// promotion happened.
func (r FileRelease) Release(ctx context.Context, real, name, digest string) (*FileReleased, error) {
	log := r.Log
	if log == nil {
		log = io.Discard
	}
	f, err := OpenAttested(ctx, real, []string{digest}, FileOptions{Open: r.Open})
	if err != nil {
		return nil, err
	}
	defer f.Close()
	up := r.Uploader
	if c, ok := up.(Checker); ok {
		if err := c.Check(ctx); err != nil {
			return nil, err
		}
	}
	data, err := r.Sign(ctx, f, up.Name()+", file "+name)
	if err != nil {
		return nil, err
	}
	// The upload reads the attestation from its file, so it is written now.
	if err := atomicfile.WriteFile(r.AttestationPath, data, 0o644); err != nil {
		return nil, fail.Configf("writing bundle: %w", err)
	}
	sum := sha256.Sum256(data)
	attHex := hex.EncodeToString(sum[:])
	attName := fmt.Sprintf("%s.promotion-%s.sigstore.json", name, attHex[:12])
	af, err := OpenAttested(ctx, r.AttestationPath, []string{"sha256:" + attHex}, FileOptions{})
	if err != nil {
		os.Remove(r.AttestationPath)
		return nil, err
	}
	defer af.Close()

	fmt.Fprintf(log, "paved: %s (%s) verified; uploading to %s\n", r.Path, f.Digest, up.Name())
	res, err := up.Upload(ctx, name, f)
	if err != nil {
		os.Remove(r.AttestationPath)
		return nil, fmt.Errorf("promoting %s to %s: %w", r.Path, up.Name(), err)
	}
	fmt.Fprintf(log, "paved: %s: %s\n", res.URL, res.State())
	attRes, err := up.Upload(ctx, attName, af)
	if err != nil {
		return nil, fmt.Errorf("%s is promoted to %s and its promotion attestation written to %s, but uploading the attestation failed (run the promotion again): %w", r.Path, res.URL, r.AttestationPath, err)
	}
	fmt.Fprintf(log, "paved: promotion attestation uploaded to %s\n", attRes.URL)
	return &FileReleased{Name: name, Digest: f.Digest, Size: f.Size, File: res, Attestation: attRes}, nil
}

// State says what an upload did.
func (u Uploaded) State() string {
	if u.Existed {
		return "already there with the same digest; nothing uploaded"
	}
	return "uploaded and read back"
}
