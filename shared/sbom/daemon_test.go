package sbom_test

import (
	"bytes"
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/paved-dev/paved/shared/fail"
	"github.com/paved-dev/paved/shared/sbom"
)

func TestParseScheme(t *testing.T) {
	tests := []struct {
		in, daemon, rest string
		typ              sbom.SourceType
	}{
		{"docker:alpine:3.20", "docker", "alpine:3.20", sbom.Daemon},
		{"DOCKER:ghcr.io/o/app@sha256:abc", "docker", "ghcr.io/o/app@sha256:abc", sbom.Daemon},
		{"containerd:ghcr.io/o/app:1", "containerd", "ghcr.io/o/app:1", sbom.Daemon},
		{"podman:app", "podman", "app", sbom.Daemon},
		{"registry:ghcr.io/o/app:1", "", "ghcr.io/o/app:1", sbom.Registry},
		{"localhost:5000/app:1", "", "localhost:5000/app:1", ""},
		{"127.0.0.1:5000/app", "", "127.0.0.1:5000/app", ""},
		{"./build", "", "./build", ""},
		{"docker:", "", "docker:", ""},
		{"dir:.", "", "dir:.", ""},
	}
	for _, tc := range tests {
		typ, daemon, rest := sbom.ParseScheme(tc.in)
		if typ != tc.typ || daemon != tc.daemon || rest != tc.rest {
			t.Errorf("ParseScheme(%q) = %q %q %q, want %q %q %q", tc.in, typ, daemon, rest, tc.typ, tc.daemon, tc.rest)
		}
	}
}

// fakeDaemon listens on a unix socket and hangs up on every connection, as a
// daemon that is there but cannot serve the image.
func fakeDaemon(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "pvd")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	sock := filepath.Join(dir, "d.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	return sock
}

func TestDetectDaemons(t *testing.T) {
	sock := fakeDaemon(t)
	plain := filepath.Join(t.TempDir(), "not-a-socket")
	os.WriteFile(plain, nil, 0o644)
	missing := func(string) (os.FileInfo, error) { return nil, os.ErrNotExist }
	tests := []struct {
		env  map[string]string
		stat func(string) (os.FileInfo, error)
		want []string
	}{
		{map[string]string{"DOCKER_HOST": "unix://" + sock}, nil, []string{"docker"}},
		{map[string]string{"DOCKER_HOST": "unix://" + plain}, nil, nil},
		{map[string]string{"DOCKER_HOST": "tcp://127.0.0.1:2375", "CONTAINERD_ADDRESS": sock}, nil, []string{"docker", "containerd"}},
		{map[string]string{"CONTAINERD_ADDRESS": sock}, missing, nil}, // stat says it is gone
		{nil, missing, nil},
	}
	for _, tc := range tests {
		got := sbom.DetectDaemons(func(k string) string { return tc.env[k] }, tc.stat)
		if len(got) == 0 && len(tc.want) == 0 {
			continue
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%v: %v, want %v", tc.env, got, tc.want)
		}
	}
}

// TestDaemonFallsBackToRegistry: with a daemon present that does not have
// the image, the image is pulled from its registry, as anchore/sbom-action
// does; the daemon: scheme and source type never fall back.
func TestDaemonFallsBackToRegistry(t *testing.T) {
	f := setup(t)
	t.Setenv("DOCKER_HOST", "unix://"+fakeDaemon(t))
	keychain := sbom.Credentials{Keychain: staticKeychain{f.username, f.password}}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	var progress bytes.Buffer
	s, err := sbom.Generate(ctx, f.regRef, sbom.Options{Daemons: []string{sbom.DockerDaemon}, Credentials: keychain, Progress: &progress})
	if err != nil {
		t.Fatal(err)
	}
	if s.Source.Type != sbom.Registry || s.Source.Digest != f.regDigest || !strings.Contains(progress.String(), "not in the local docker daemon; pulling it from its registry") {
		t.Fatalf("source %+v, progress %s", s.Source, progress.String())
	}

	for _, tc := range []struct {
		input string
		opts  sbom.Options
		class fail.Class
		want  string
	}{
		{"docker:" + f.regRef, sbom.Options{Credentials: keychain}, fail.Transient, "from the docker daemon"},
		{f.regRef, sbom.Options{Type: sbom.Daemon, Daemons: []string{sbom.DockerDaemon}, Credentials: keychain}, fail.Transient, "from the docker daemon"},
		{f.regRef, sbom.Options{Type: sbom.Daemon, Credentials: keychain}, fail.Config, "no Docker or containerd daemon socket found"},
	} {
		_, err := sbom.Generate(ctx, tc.input, tc.opts)
		if err == nil || fail.ClassOf(err) != tc.class || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s %s: err %v, want class %v with %q", tc.input, tc.opts.Type, err, tc.class, tc.want)
		}
	}

	// The registry: scheme and registry credentials skip the daemon.
	progress.Reset()
	s, err = sbom.Generate(ctx, "registry:"+f.regRef, sbom.Options{Daemons: []string{sbom.DockerDaemon}, Credentials: keychain, Progress: &progress})
	if err != nil || s.Source.Type != sbom.Registry || strings.Contains(progress.String(), "daemon") {
		t.Fatalf("registry: scheme: %v %+v %s", err, s, progress.String())
	}
	progress.Reset()
	s, err = sbom.Generate(ctx, f.regRef, sbom.Options{Daemons: []string{sbom.DockerDaemon}, Credentials: sbom.Credentials{Username: f.username, Password: f.password}, Progress: &progress})
	if err != nil || s.Source.Type != sbom.Registry || strings.Contains(progress.String(), "daemon") {
		t.Fatalf("with credentials: %v %+v %s", err, s, progress.String())
	}
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		t.Fatal("timed out")
	}
}
