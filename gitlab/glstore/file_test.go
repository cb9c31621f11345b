package glstore_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/paved-dev/paved/gitlab/glstore"
	"github.com/paved-dev/paved/gitlab/glstore/glstoretest"
	"github.com/paved-dev/paved/shared/fail"
	"github.com/paved-dev/paved/shared/promote"
	"github.com/paved-dev/paved/shared/retry"
	"github.com/paved-dev/paved/shared/store"
)

type roundTrip func(*http.Request) (*http.Response, error)

func (f roundTrip) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// TestUploadReleaseFile promotes a release file into the generic package
// registry served by package glstoretest (GitLab's generic packages documentation:
// PUT to publish, GET to download the newest file of a name, JOB-TOKEN header).
func TestUploadReleaseFile(t *testing.T) {
	const content = "release bytes v1\n"
	key := "app/1.2.3/app.tar.gz"
	cases := []struct {
		name    string
		project string
		setup   func(f *glstoretest.GitLab)
		alter   bool
		class   fail.Class
		msg     string
		existed bool
		puts    int
		stored  string
	}{
		{name: "published and read back", puts: 1, stored: content},
		{name: "same bytes already there", setup: func(f *glstoretest.GitLab) { f.PutFile(key, []byte(content)) }, existed: true, stored: content},
		{name: "different bytes under the name", setup: func(f *glstoretest.GitLab) { f.PutFile(key, []byte("rebuilt\n")) },
			class: fail.Verification, msg: "already holds a different app.tar.gz", stored: "rebuilt\n"},
		{name: "larger different file under the name", setup: func(f *glstoretest.GitLab) { f.PutFile(key, []byte(strings.Repeat("x", 4096))) },
			class: fail.Verification, msg: "larger than the attested", stored: strings.Repeat("x", 4096)},
		{name: "bytes altered on the way", alter: true, class: fail.Verification, msg: "the bytes were altered on the way", puts: 1, stored: "release bytes v1\x0b"},
		{name: "403 names the fix", setup: func(f *glstoretest.GitLab) { f.SetFaults(glstoretest.Faults{Denied: true}) }, class: fail.Config, msg: "Developer role"},
		{name: "unknown project", project: "43", class: fail.Config, msg: "HTTP 404"},
		{name: "5xx on upload is retried", setup: func(f *glstoretest.GitLab) { f.SetFaults(glstoretest.Faults{FailPut: []int{502}}) }, puts: 1, stored: content},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeGitLab(t)
			if tc.setup != nil {
				tc.setup(f)
			}
			var mu sync.Mutex
			var lengths []int64
			tr := roundTrip(func(r *http.Request) (*http.Response, error) {
				if r.Method == http.MethodPut {
					mu.Lock()
					lengths = append(lengths, r.ContentLength)
					mu.Unlock()
					if tc.alter {
						data, _ := io.ReadAll(r.Body)
						data[len(data)-1] ^= 1
						r = r.Clone(r.Context())
						r.Body = io.NopCloser(bytes.NewReader(data))
					}
				}
				return http.DefaultTransport.RoundTrip(r)
			})
			project := "42"
			if tc.project != "" {
				project = tc.project
			}
			up, err := glstore.NewFiles(glstore.Options{APIURL: f.URL(), Project: project, JobToken: jobToken, Package: "app", Version: "1.2.3",
				HTTPOptions: store.HTTPOptions{Transport: tr, Retry: retry.Options{BaseDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond}}})
			if err != nil {
				t.Fatal(err)
			}
			p := filepath.Join(t.TempDir(), "app.tar.gz")
			os.WriteFile(p, []byte(content), 0o644)
			sum := sha256.Sum256([]byte(content))
			file, err := promote.OpenAttested(context.Background(), p, []string{"sha256:" + hex.EncodeToString(sum[:])}, promote.FileOptions{})
			if err != nil {
				t.Fatal(err)
			}
			defer file.Close()
			res, err := up.Upload(context.Background(), "app.tar.gz", file)
			if tc.msg != "" {
				if err == nil || fail.ClassOf(err) != tc.class || !strings.Contains(err.Error(), tc.msg) {
					t.Fatalf("got %v (%s), want a %s error mentioning %q", err, fail.ClassOf(err), tc.class, tc.msg)
				}
				if strings.Contains(err.Error(), jobToken) {
					t.Fatal("the job token is in the error")
				}
			} else if err != nil {
				t.Fatal(err)
			} else if res.Digest != file.Digest || res.Existed != tc.existed || res.URL != f.URL()+"/projects/42/packages/generic/app/1.2.3/app.tar.gz" {
				t.Fatalf("result %+v", res)
			}
			if n := f.Uploads(); n != tc.puts {
				t.Errorf("%d uploads, want %d", n, tc.puts)
			}
			files, _, _, _ := f.Snapshot()
			if got := string(files[key]); got != tc.stored {
				t.Errorf("package file holds %q, want %q", got, tc.stored)
			}
			mu.Lock()
			defer mu.Unlock()
			for _, l := range lengths {
				if l != int64(len(content)) {
					t.Errorf("upload Content-Length %d, want %d", l, len(content))
				}
			}
		})
	}
}

// TestReleaseFileLinkedFromTagRelease: in a tag pipeline the promoted file is
// linked from the tag's release as a package link, once however often it is
// promoted; a tag without a release is found by Check, before anything is
// signed or uploaded.
func TestReleaseFileLinkedFromTagRelease(t *testing.T) {
	const content = "release bytes v1\n"
	f := newFakeGitLab(t)
	f.CreateRelease("v1.2.3")
	opts := glstore.Options{APIURL: f.URL(), Project: "42", JobToken: jobToken, Package: "app", Version: "v1.2.3", Tag: "v1.2.3"}
	up, err := glstore.NewFiles(opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := up.Check(ctx); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "app.tar.gz")
	os.WriteFile(p, []byte(content), 0o644)
	sum := sha256.Sum256([]byte(content))
	for range 2 {
		file, err := promote.OpenAttested(ctx, p, []string{"sha256:" + hex.EncodeToString(sum[:])}, promote.FileOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := up.Upload(ctx, "app.tar.gz", file); err != nil {
			t.Fatal(err)
		}
		file.Close()
	}
	_, releases, _, _ := f.Snapshot()
	links := releases["v1.2.3"]
	if len(links) != 1 || links[0]["name"] != "app.tar.gz" || links[0]["link_type"] != "package" || links[0]["url"] != f.URL()+"/projects/42/packages/generic/app/v1.2.3/app.tar.gz" {
		t.Fatalf("release links %v, want one package link to the file", links)
	}
	opts.Tag, opts.Version = "v9", "v9"
	noRelease, err := glstore.NewFiles(opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := noRelease.Check(ctx); fail.ClassOf(err) != fail.Config || !strings.Contains(err.Error(), "create the release") {
		t.Fatalf("a tag without a release: %v", err)
	}
	if n := f.Uploads(); n != 1 {
		t.Errorf("%d uploads, want the file once", n)
	}
}
