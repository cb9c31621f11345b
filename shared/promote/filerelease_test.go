package promote

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// memUploader is a destination held in memory; failOn names the upload that fails.
type memUploader struct {
	files  map[string][]byte
	failOn string
}

func (m *memUploader) Name() string { return "test release" }

func (m *memUploader) Upload(_ context.Context, name string, f *File) (Uploaded, error) {
	if name == m.failOn || (m.failOn == "*attestation*" && strings.Contains(name, ".promotion-")) {
		return Uploaded{}, errors.New("destination refused")
	}
	b, err := io.ReadAll(f.Body())
	if err != nil {
		return Uploaded{}, err
	}
	m.files[name] = b
	return Uploaded{URL: "mem://" + name, Digest: f.Digest}, nil
}

func releaseFixture(t *testing.T) (path, digest string, content []byte) {
	t.Helper()
	path = filepath.Join(t.TempDir(), "app.tar.gz")
	content = []byte("release bytes\n")
	if err := os.WriteFile(path, content, 0o644); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(content)
	return path, "sha256:" + hex.EncodeToString(sum[:]), content
}

func TestFileReleaseUploadsFileThenAttestation(t *testing.T) {
	path, digest, content := releaseFixture(t)
	att := filepath.Join(t.TempDir(), "promotion.sigstore.json")
	up := &memUploader{files: map[string][]byte{}}
	var signedTo string
	rel := FileRelease{Path: path, Uploader: up, AttestationPath: att,
		Sign: func(_ context.Context, f *File, to string) ([]byte, error) {
			signedTo = to
			return []byte(`{"about":"` + f.Digest + `"}`), nil
		}}
	res, err := rel.Release(context.Background(), path, "app.tar.gz", digest)
	if err != nil {
		t.Fatal(err)
	}
	if string(up.files["app.tar.gz"]) != string(content) || res.Digest != digest || res.Size != int64(len(content)) {
		t.Fatalf("uploaded %q, result %+v", up.files["app.tar.gz"], res)
	}
	if signedTo != "test release, file app.tar.gz" {
		t.Fatalf("signed for %q", signedTo)
	}
	written, err := os.ReadFile(att)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(written)
	name := "app.tar.gz.promotion-" + hex.EncodeToString(sum[:])[:12] + ".sigstore.json"
	if string(up.files[name]) != string(written) || res.Attestation.URL != "mem://"+name {
		t.Fatalf("attestation uploads: %v, result %+v", up.files, res.Attestation)
	}
}

// TestFileReleaseRebuiltAfterAdmission: a build step that rewrites the file
// between verification and upload gets nothing signed or uploaded.
func TestFileReleaseRebuiltAfterAdmission(t *testing.T) {
	path, digest, _ := releaseFixture(t)
	if err := os.WriteFile(path, []byte("rebuilt\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	att := filepath.Join(t.TempDir(), "promotion.sigstore.json")
	up := &memUploader{files: map[string][]byte{}}
	rel := FileRelease{Path: path, Uploader: up, AttestationPath: att,
		Sign: func(context.Context, *File, string) ([]byte, error) {
			t.Fatal("signed a promotion of rebuilt bytes")
			return nil, nil
		}}
	if _, err := rel.Release(context.Background(), path, "app.tar.gz", digest); err == nil || !strings.Contains(err.Error(), "rebuilt or altered") {
		t.Fatalf("got %v", err)
	}
	if len(up.files) != 0 {
		t.Fatalf("uploaded %v", up.files)
	}
	if _, err := os.Stat(att); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("attestation written: %v", err)
	}
}

// TestFileReleaseFailedUploadLeavesNoAttestation: a destination that refuses
// the file leaves no attestation claiming a promotion that did not happen.
func TestFileReleaseFailedUploadLeavesNoAttestation(t *testing.T) {
	for _, failOn := range []string{"app.tar.gz", "*attestation*"} {
		t.Run(failOn, func(t *testing.T) {
			path, digest, _ := releaseFixture(t)
			att := filepath.Join(t.TempDir(), "promotion.sigstore.json")
			up := &memUploader{files: map[string][]byte{}, failOn: failOn}
			rel := FileRelease{Path: path, Uploader: up, AttestationPath: att,
				Sign: func(context.Context, *File, string) ([]byte, error) { return []byte("{}"), nil }}
			_, err := rel.Release(context.Background(), path, "app.tar.gz", digest)
			if err == nil || !strings.Contains(err.Error(), "destination refused") {
				t.Fatalf("got %v", err)
			}
			_, statErr := os.Stat(att)
			if failOn == "app.tar.gz" {
				// Nothing was promoted: no attestation may say it was.
				if !errors.Is(statErr, os.ErrNotExist) {
					t.Fatalf("attestation left after a failed upload: %v", statErr)
				}
				return
			}
			// The file is promoted; its attestation stays for the rerun the error asks for.
			if statErr != nil || !strings.Contains(err.Error(), "run the promotion again") {
				t.Fatalf("stat %v, error %v", statErr, err)
			}
		})
	}
}
