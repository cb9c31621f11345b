package provenance

import "github.com/sigstore/sigstore-go/pkg/fulcio/certificate"

// SignerClaims are what a signing certificate vouches for about the run that
// signed, besides its identity: the OIDC issuer and the Fulcio extensions
// naming the source, the build signer and the invocation. It is the one
// description of a signer that reports (paved verify's JSON) and predicates
// (the promotion's run) embed next to the identity.
type SignerClaims struct {
	Issuer            string `json:"issuer"`
	SourceRepository  string `json:"sourceRepository,omitempty"`
	SourceRef         string `json:"sourceRef,omitempty"`
	SourceDigest      string `json:"sourceDigest,omitempty"`
	BuildSigner       string `json:"buildSigner,omitempty"`
	RunnerEnvironment string `json:"runnerEnvironment,omitempty"`
	RunInvocation     string `json:"runInvocation,omitempty"`
}

// ClaimsOf reads the signer claims from a certificate's extensions.
func ClaimsOf(ext certificate.Extensions) SignerClaims {
	return SignerClaims{
		Issuer:            ext.Issuer,
		SourceRepository:  ext.SourceRepositoryURI,
		SourceRef:         ext.SourceRepositoryRef,
		SourceDigest:      ext.SourceRepositoryDigest,
		BuildSigner:       ext.BuildSignerURI,
		RunnerEnvironment: ext.RunnerEnvironment,
		RunInvocation:     ext.RunInvocationURI,
	}
}
