package command

import (
	"github.com/google/go-containerregistry/pkg/authn"
)

// RegistryKeychain is implemented by front doors whose jobs carry registry
// credentials of their own platform (the GitLab container registry's
// CI_REGISTRY_USER/CI_REGISTRY_PASSWORD, GITHUB_TOKEN for ghcr.io), so that a
// job needs no docker login to read or attach to its own images.
type RegistryKeychain interface {
	RegistryKeychain() authn.Keychain
}

// keychain returns the registry credentials of the run: the Docker config
// (with its credential helpers) first, so that an explicit login wins, then
// the platform's.
func (e Env) keychain() authn.Keychain {
	if e.Keychain != nil {
		return authn.NewMultiKeychain(authn.DefaultKeychain, e.Keychain)
	}
	return authn.DefaultKeychain
}

// HostKeychain resolves one registry host to basic credentials and every
// other to anonymous; doors build theirs from it.
type HostKeychain struct {
	Host, Username, Password string
}

// Resolve implements authn.Keychain.
func (k HostKeychain) Resolve(r authn.Resource) (authn.Authenticator, error) {
	if k.Host == "" || k.Password == "" || r.RegistryStr() != k.Host {
		return authn.Anonymous, nil
	}
	return authn.FromConfig(authn.AuthConfig{Username: k.Username, Password: k.Password}), nil
}
