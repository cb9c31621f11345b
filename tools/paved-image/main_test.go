package main

import (
	"archive/tar"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
)

// busyboxPath returns the static busybox, installing Debian's busybox-static
// when it is missing and the test runs as root (as on CI).
func busyboxPath(t *testing.T) string {
	t.Helper()
	const p = "/bin/busybox"
	if err := checkStatic(p); err == nil {
		return p
	}
	if os.Geteuid() != 0 {
		t.Fatalf("%s is missing or not static: apt-get install busybox-static", p)
	}
	for _, args := range [][]string{{"update", "-qq"}, {"install", "-y", "-qq", "busybox-static"}} {
		if out, err := exec.Command("apt-get", args...).CombinedOutput(); err != nil {
			t.Fatalf("apt-get %v: %v\n%s", args, err, out)
		}
	}
	if err := checkStatic(p); err != nil {
		t.Fatal(err)
	}
	return p
}

func options(t *testing.T) Options {
	t.Helper()
	bb := busyboxPath(t)
	names, err := applets(bb)
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "paved")
	if err := buildPaved(filepath.Join("..", ".."), bin); err != nil {
		t.Fatal(err)
	}
	return Options{Busybox: bb, Applets: names, CABundle: "/etc/ssl/certs/ca-certificates.crt", Paved: bin, Version: "test"}
}

// extract writes the image's flattened file system under dir.
func extract(t *testing.T, rc io.ReadCloser, dir string) {
	t.Helper()
	defer rc.Close()
	tr := tar.NewReader(rc)
	for i := 0; i < 10000; i++ {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, h.Name)
		if !strings.HasPrefix(p, dir+string(filepath.Separator)) {
			t.Fatalf("layer entry %q leaves the root", h.Name)
		}
		switch h.Typeflag {
		case tar.TypeDir:
			os.MkdirAll(p, 0o755)
		case tar.TypeSymlink:
			os.MkdirAll(filepath.Dir(p), 0o755)
			if err := os.Symlink(h.Linkname, p); err != nil {
				t.Fatal(err)
			}
		case tar.TypeReg:
			os.MkdirAll(filepath.Dir(p), 0o755)
			b, err := io.ReadAll(tr)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, b, os.FileMode(h.Mode)&0o777); err != nil {
				t.Fatal(err)
			}
		}
	}
	t.Fatal("more than 10000 entries in the image")
}

// TestImage builds the image, writes it as an OCI layout, reads it back and
// runs what it holds: /bin/sh from busybox and /usr/local/bin/paved.
func TestImage(t *testing.T) {
	o := options(t)
	img, err := Build(o)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "layout")
	if err := WriteLayout(dir, img, "paved:test"); err != nil {
		t.Fatal(err)
	}
	p, err := layout.FromPath(dir)
	if err != nil {
		t.Fatal(err)
	}
	idx, err := p.ImageIndex()
	if err != nil {
		t.Fatal(err)
	}
	man, err := idx.IndexManifest()
	if err != nil || len(man.Manifests) != 1 {
		t.Fatalf("layout index: %v %+v", err, man)
	}
	want, _ := img.Digest()
	if man.Manifests[0].Digest != want {
		t.Fatalf("layout holds %s, want %s", man.Manifests[0].Digest, want)
	}
	got, err := p.Image(want)
	if err != nil {
		t.Fatal(err)
	}
	layers, err := got.Layers()
	if err != nil || len(layers) != 3 {
		t.Fatalf("%d layers (%v), want busybox, CA bundle and paved", len(layers), err)
	}
	cf, err := got.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if cf.OS != "linux" || cf.Architecture != "amd64" || len(cf.Config.Env) == 0 || cf.Config.Env[0] != "PATH="+Path {
		t.Fatalf("config %s/%s env %v", cf.OS, cf.Architecture, cf.Config.Env)
	}

	root := t.TempDir()
	extract(t, mutate.Extract(got), root)
	if target, err := os.Readlink(filepath.Join(root, "bin", "sh")); err != nil || target != "busybox" {
		t.Fatalf("/bin/sh -> %q (%v), want busybox", target, err)
	}
	if _, err := os.Stat(filepath.Join(root, "etc", "ssl", "certs", "ca-certificates.crt")); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(filepath.Join(root, "bin", "sh"), "-c", "echo shell works").CombinedOutput()
	if err != nil || string(out) != "shell works\n" {
		t.Fatalf("/bin/sh in the image: %v %q", err, out)
	}
	out, err = exec.Command(filepath.Join(root, "usr", "local", "bin", "paved"), "--help").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "supply-chain") {
		t.Fatalf("paved in the image: %v %s", err, out)
	}

	// The same inputs give the same image.
	again, err := Build(o)
	if err != nil {
		t.Fatal(err)
	}
	if d, _ := again.Digest(); d != want {
		t.Errorf("rebuilding gave %s, want %s: the image is not reproducible", d, want)
	}
}

// TestImageRefusesWhatCannotRun: a dynamically linked binary, a busybox
// without sh, or a file that is no CA bundle is refused before anything is
// written.
func TestImageRefusesWhatCannotRun(t *testing.T) {
	o := options(t)
	dynamic := ""
	for _, p := range []string{"/usr/bin/ls", "/bin/ls", "/usr/bin/env"} {
		if err := checkStatic(p); err != nil && strings.Contains(err.Error(), "dynamically linked") {
			dynamic = p
			break
		}
	}
	notCA := filepath.Join(t.TempDir(), "ca.pem")
	os.WriteFile(notCA, []byte("not a certificate\n"), 0o644)
	cases := []struct {
		name string
		edit func(*Options)
		want string
	}{
		{"dynamic paved", func(o *Options) { o.Paved = dynamic }, "dynamically linked"},
		{"no sh", func(o *Options) { o.Applets = []string{"ls"} }, "lack sh"},
		{"not a CA bundle", func(o *Options) { o.CABundle = notCA }, "no PEM certificate"},
		{"not ELF", func(o *Options) { o.Paved = notCA }, "not an ELF executable"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.want == "dynamically linked" && dynamic == "" {
				t.Skip("no dynamically linked program on this machine")
			}
			bad := o
			c.edit(&bad)
			if _, err := Build(bad); err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Build = %v, want an error containing %q", err, c.want)
			}
		})
	}
}
