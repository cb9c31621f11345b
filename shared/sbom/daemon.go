package sbom

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"strings"

	"github.com/anchore/stereoscope/pkg/image"
	"github.com/anchore/syft/syft"
	"github.com/anchore/syft/syft/source"

	"github.com/paved-dev/paved/shared/fail"
)

// Daemon providers, as syft and stereoscope name them. They are tried in the
// order the caller lists them.
const (
	DockerDaemon     = "docker"
	ContainerdDaemon = "containerd"
	PodmanDaemon     = "podman"
)

// ParseScheme splits a syft-style scheme off an image input: "docker:IMG",
// "containerd:IMG" and "podman:IMG" read IMG from that daemon only,
// "registry:IMG" pulls it from its registry only. Other inputs (paths,
// references such as localhost:5000/app) come back unchanged with typ "".
func ParseScheme(input string) (typ SourceType, daemon, rest string) {
	scheme, after, ok := strings.Cut(input, ":")
	if !ok || after == "" {
		return "", "", input
	}
	switch s := strings.ToLower(scheme); s {
	case DockerDaemon, ContainerdDaemon, PodmanDaemon:
		return Daemon, s, after
	case string(Registry):
		return Registry, "", after
	}
	return "", "", input
}

// DetectDaemons lists the local daemons whose socket is present, in the order
// anchore/sbom-action and syft try them: Docker (DOCKER_HOST, else
// /var/run/docker.sock), then containerd (CONTAINERD_ADDRESS, else
// /run/containerd/containerd.sock). A TCP DOCKER_HOST counts as present.
// getenv and stat are the environment and the file system (nil: none, and
// os.Stat).
func DetectDaemons(getenv func(string) string, stat func(string) (os.FileInfo, error)) []string {
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	if stat == nil {
		stat = os.Stat
	}
	socket := func(addr, def string) bool {
		if addr == "" {
			addr = def
		}
		u, err := url.Parse(addr)
		if err == nil && u.Scheme != "" && u.Scheme != "unix" {
			return u.Scheme == "tcp" || u.Scheme == "ssh" || u.Scheme == "npipe"
		}
		p := addr
		if err == nil && u.Scheme == "unix" {
			p = u.Path
		}
		st, err := stat(p)
		return err == nil && st.Mode().Type() == os.ModeSocket
	}
	var out []string
	if socket(getenv("DOCKER_HOST"), "/var/run/docker.sock") {
		out = append(out, DockerDaemon)
	}
	if socket(getenv("CONTAINERD_ADDRESS"), "/run/containerd/containerd.sock") {
		out = append(out, ContainerdDaemon)
	}
	return out
}

// daemonSource reads an image from the named daemons, in order, with syft's
// own source providers.
func daemonSource(ctx context.Context, ref string, daemons []string, opts Options) (*opened, error) {
	plat, err := parsePlatform(opts.Platform)
	if err != nil {
		return nil, err
	}
	cfg := syft.DefaultGetSourceConfig().WithSources(daemons...).WithExcludeConfig(source.ExcludeConfig{Paths: opts.Exclude})
	if plat != nil {
		cfg = cfg.WithPlatform(&image.Platform{OS: plat.OS, Architecture: plat.Architecture, Variant: plat.Variant})
	}
	src, err := syft.GetSource(ctx, ref, cfg)
	if err != nil {
		return nil, fail.Transientf("reading %s from the %s daemon: %w", ref, strings.Join(daemons, " or "), err)
	}
	// A daemon's image ID is not the registry's manifest digest, so the
	// source has no digest: an attestation must name its subject.
	name := ref
	if m, ok := src.Describe().Metadata.(source.ImageMetadata); ok && m.UserInput != "" {
		name = m.UserInput
	}
	return &opened{src: src, meta: Source{Type: Daemon, Input: ref, Name: name}}, nil
}

// imageFromDaemonOrRegistry tries the daemons in order, then the registry,
// as anchore/sbom-action does; registry credentials skip the daemons.
func imageFromDaemonOrRegistry(ctx context.Context, input string, opts Options) (*opened, error) {
	if len(opts.Daemons) > 0 && opts.Credentials.Username == "" {
		o, err := daemonSource(ctx, input, opts.Daemons, opts)
		if err == nil {
			return o, nil
		}
		if ctx.Err() != nil {
			return nil, err
		}
		fmt.Fprintf(opts.progress(), "sbom: %s is not in the local %s daemon; pulling it from its registry\n", input, strings.Join(opts.Daemons, " or "))
	}
	return openImage(ctx, input, Registry, opts)
}
