// Command paved-image builds the container image that the GitLab components
// run in, without a Docker daemon: three layers (a static busybox for /bin/sh
// and the usual tools, the CA bundle, and the static paved binary at
// /usr/local/bin/paved) on no base, linux/amd64, with fixed timestamps so that
// the same inputs give the same digest. It writes the image as an OCI layout
// and, with -push, also pushes it to a registry (credentials from the Docker
// config). It prints the manifest digest.
//
//	apt-get install busybox-static   # provides /bin/busybox
//	go run ./tools/paved-image -out dist/paved-image [-push REGISTRY/paved:TAG]
//
// Without -paved it builds paved from -src with CGO_ENABLED=0. The release
// pipeline then SBOMs the layout (paved sbom --source-type oci-layout) and
// attests its digest; users pin the image by that digest.
package main

import (
	"archive/tar"
	"bytes"
	"debug/elf"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// epoch is the timestamp of every file and of the image: a fixed one keeps the
// digest a function of the contents.
var epoch = time.Unix(0, 0).UTC()

// Path is the PATH of the image.
const Path = "/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin"

// Options are the inputs of Build.
type Options struct {
	// Busybox is a static linux/amd64 busybox binary.
	Busybox string
	// Applets are the names linked to busybox in /bin (sh among them).
	Applets []string
	// CABundle is the PEM bundle installed at /etc/ssl/certs/ca-certificates.crt.
	CABundle string
	// Paved is the static linux/amd64 paved binary.
	Paved string
	// Version labels the image (org.opencontainers.image.version).
	Version string
}

// Build assembles the image.
func Build(o Options) (v1.Image, error) {
	for _, p := range []struct{ what, path string }{{"busybox", o.Busybox}, {"paved", o.Paved}} {
		if err := checkStatic(p.path); err != nil {
			return nil, fmt.Errorf("%s: %w", p.what, err)
		}
	}
	if !contains(o.Applets, "sh") {
		return nil, errors.New("busybox applets lack sh: the components' jobs need /bin/sh")
	}
	bb, err := os.ReadFile(o.Busybox)
	if err != nil {
		return nil, err
	}
	ca, err := os.ReadFile(o.CABundle)
	if err != nil {
		return nil, fmt.Errorf("CA bundle: %w (install ca-certificates or pass -ca)", err)
	}
	if !bytes.Contains(ca, []byte("-----BEGIN CERTIFICATE-----")) {
		return nil, fmt.Errorf("CA bundle %s holds no PEM certificate", o.CABundle)
	}
	pv, err := os.ReadFile(o.Paved)
	if err != nil {
		return nil, err
	}

	base := []entry{dir("bin/", 0o755), file("bin/busybox", 0o755, bb), dir("tmp/", 0o1777), dir("root/", 0o700),
		file("etc/passwd", 0o644, []byte("root:x:0:0:root:/root:/bin/sh\n")), file("etc/group", 0o644, []byte("root:x:0:\n"))}
	applets := append([]string(nil), o.Applets...)
	sort.Strings(applets)
	for _, a := range applets {
		if a == "busybox" || strings.ContainsAny(a, "/ ") || a == "" {
			continue
		}
		base = append(base, link("bin/"+a, "busybox"))
	}
	certs := []entry{dir("etc/", 0o755), dir("etc/ssl/", 0o755), dir("etc/ssl/certs/", 0o755), file("etc/ssl/certs/ca-certificates.crt", 0o644, ca)}
	app := []entry{dir("usr/", 0o755), dir("usr/local/", 0o755), dir("usr/local/bin/", 0o755), file("usr/local/bin/paved", 0o755, pv)}

	img := empty.Image
	img = mutate.MediaType(img, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	var layers []mutate.Addendum
	for _, l := range []struct {
		what    string
		entries []entry
	}{{"busybox", base}, {"CA certificates", certs}, {"paved " + o.Version, app}} {
		layer, err := tarLayer(l.entries)
		if err != nil {
			return nil, err
		}
		layers = append(layers, mutate.Addendum{Layer: layer, History: v1.History{Created: v1.Time{Time: epoch}, CreatedBy: "paved-image: " + l.what}})
	}
	img, err = mutate.Append(img, layers...)
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", "amd64"
	cf.Created = v1.Time{Time: epoch}
	cf.Config.Env = []string{"PATH=" + Path, "SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt"}
	cf.Config.Cmd = []string{"/bin/sh"}
	cf.Config.WorkingDir = "/"
	cf.Config.Labels = map[string]string{
		"org.opencontainers.image.title":       "paved",
		"org.opencontainers.image.description": "Paved supply-chain security for CI: the image of its GitLab CI/CD components",
		"org.opencontainers.image.source":      "https://github.com/paved-dev/paved",
		"org.opencontainers.image.version":     o.Version,
	}
	return mutate.ConfigFile(img, cf)
}

type entry struct {
	hdr  tar.Header
	body []byte
}

func dir(name string, mode int64) entry {
	return entry{hdr: tar.Header{Typeflag: tar.TypeDir, Name: name, Mode: mode}}
}

func file(name string, mode int64, body []byte) entry {
	return entry{hdr: tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: mode, Size: int64(len(body))}, body: body}
}

func link(name, target string) entry {
	return entry{hdr: tar.Header{Typeflag: tar.TypeSymlink, Name: name, Linkname: target, Mode: 0o777}}
}

func tarLayer(entries []entry) (v1.Layer, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		h := e.hdr
		h.ModTime, h.Format = epoch, tar.FormatPAX
		if err := tw.WriteHeader(&h); err != nil {
			return nil, err
		}
		if _, err := tw.Write(e.body); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	raw := buf.Bytes()
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(raw)), nil },
		tarball.WithMediaType(types.OCILayer))
}

// checkStatic refuses what would not run in an image without a libc: not an
// x86-64 ELF executable, or one that asks for a dynamic loader.
func checkStatic(path string) error {
	f, err := elf.Open(path)
	if err != nil {
		return fmt.Errorf("%s is not an ELF executable: %w", path, err)
	}
	defer f.Close()
	if f.Machine != elf.EM_X86_64 {
		return fmt.Errorf("%s is built for %s, want x86-64 (linux/amd64)", path, f.Machine)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return fmt.Errorf("%s is dynamically linked: build it static (CGO_ENABLED=0; for busybox: apt-get install busybox-static)", path)
		}
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// applets asks busybox for the names it answers to.
func applets(busybox string) ([]string, error) {
	out, err := exec.Command(busybox, "--list").Output()
	if err != nil {
		return nil, fmt.Errorf("%s --list: %w", busybox, err)
	}
	return strings.Fields(string(out)), nil
}

// buildPaved compiles paved from src as a static linux/amd64 binary.
func buildPaved(src, out string) error {
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w", "-o", out, ".")
	cmd.Dir = src
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64")
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("building paved in %s: %w\n%s", src, err, b)
	}
	return nil
}

// WriteLayout writes img as the only image of a new OCI layout at dir,
// replacing what was there only once the new layout is complete.
func WriteLayout(dir string, img v1.Image, refName string) error {
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dir), "."+filepath.Base(dir)+".tmp-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	p, err := layout.Write(tmp, empty.Index)
	if err != nil {
		return err
	}
	if err := p.AppendImage(img, layout.WithAnnotations(map[string]string{"org.opencontainers.image.ref.name": refName}),
		layout.WithPlatform(v1.Platform{OS: "linux", Architecture: "amd64"})); err != nil {
		return err
	}
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	return os.Rename(tmp, dir)
}

func run() error {
	out := flag.String("out", "", "directory of the OCI layout to write (replaced)")
	push := flag.String("push", "", "also push the image to this registry reference (REGISTRY/REPO:TAG)")
	pavedBin := flag.String("paved", "", "static linux/amd64 paved binary (default: build it from -src)")
	src := flag.String("src", ".", "paved source tree to build when -paved is not set")
	busybox := flag.String("busybox", "/bin/busybox", "static linux/amd64 busybox (Debian: apt-get install busybox-static)")
	ca := flag.String("ca", "/etc/ssl/certs/ca-certificates.crt", "CA bundle to install")
	version := flag.String("version", "dev", "version label and layout ref name tag")
	insecure := flag.Bool("insecure", false, "push over plain HTTP (a registry on loopback)")
	flag.Parse()
	if *out == "" {
		return errors.New("set -out: the OCI layout directory to write")
	}
	if _, err := os.Stat(*busybox); err != nil {
		return fmt.Errorf("%s: %w (install the busybox-static package, or pass -busybox)", *busybox, err)
	}
	names, err := applets(*busybox)
	if err != nil {
		return err
	}
	bin := *pavedBin
	if bin == "" {
		tmp, err := os.MkdirTemp("", "paved-image-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		bin = filepath.Join(tmp, "paved")
		if err := buildPaved(*src, bin); err != nil {
			return err
		}
	}
	img, err := Build(Options{Busybox: *busybox, Applets: names, CABundle: *ca, Paved: bin, Version: *version})
	if err != nil {
		return err
	}
	if err := WriteLayout(*out, img, "paved:"+*version); err != nil {
		return err
	}
	digest, err := img.Digest()
	if err != nil {
		return err
	}
	if *push != "" {
		var opts []name.Option
		if *insecure {
			opts = append(opts, name.Insecure)
		}
		ref, err := name.ParseReference(*push, opts...)
		if err != nil {
			return fmt.Errorf("-push %q: %w", *push, err)
		}
		if err := remote.Write(ref, img, remote.WithAuthFromKeychain(authn.DefaultKeychain)); err != nil {
			return fmt.Errorf("pushing %s: %w", ref, err)
		}
		fmt.Fprintf(os.Stderr, "pushed %s@%s\n", ref.Context(), digest)
	}
	fmt.Println(digest)
	return nil
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "paved-image:", err)
		os.Exit(1)
	}
}
