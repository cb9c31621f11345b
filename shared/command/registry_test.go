package command_test

import (
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"

	"github.com/paved-dev/paved/shared/command"
)

// authFor resolves the credentials kc gives for an image's registry.
func authFor(t *testing.T, kc authn.Keychain, image string) *authn.AuthConfig {
	t.Helper()
	ref, err := name.ParseReference(image)
	if err != nil {
		t.Fatal(err)
	}
	a, err := kc.Resolve(ref.Context())
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := a.Authorization()
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func TestHostKeychain(t *testing.T) {
	kc := command.HostKeychain{Host: "registry.example.com:5050", Username: "gitlab-ci-token", Password: "secret"}
	if c := authFor(t, kc, "registry.example.com:5050/group/app:1"); c.Username != "gitlab-ci-token" || c.Password != "secret" {
		t.Errorf("own registry: %+v", c)
	}
	for _, other := range []string{"registry.example.com/group/app:1", "ghcr.io/group/app:1", "docker.io/library/alpine"} {
		if c := authFor(t, kc, other); c.Username != "" || c.Password != "" {
			t.Errorf("%s gets the credentials of another registry: %+v", other, c)
		}
	}
	if c := authFor(t, command.HostKeychain{Host: "ghcr.io", Username: "octocat"}, "ghcr.io/o/r:1"); c.Username != "" {
		t.Errorf("a username without a password is not a credential: %+v", c)
	}
}
