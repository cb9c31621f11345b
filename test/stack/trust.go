package stack

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"time"

	prototrustroot "github.com/sigstore/protobuf-specs/gen/pb-go/trustroot/v1"
	rekornote "github.com/sigstore/rekor-tiles/v2/pkg/note"
	rekorverify "github.com/sigstore/rekor-tiles/v2/pkg/verify"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore/pkg/signature"
)

const maxBodyBytes = 1 << 20

// get fetches url and returns its body (bounded), failing on non-200.
func get(ctx context.Context, client *http.Client, url string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBodyBytes+1))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", url, err)
	}
	if len(body) > maxBodyBytes {
		return nil, fmt.Errorf("reading %s: body larger than %d bytes", url, maxBodyBytes)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: HTTP %d: %s", url, resp.StatusCode, bytes.TrimSpace(body))
	}
	return body, nil
}

func parsePEMChain(b []byte) ([]*x509.Certificate, error) {
	var certs []*x509.Certificate
	for {
		var block *pem.Block
		block, b = pem.Decode(b)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, err
		}
		certs = append(certs, c)
	}
	if len(certs) == 0 {
		return nil, errors.New("no certificates")
	}
	return certs, nil
}

// splitChain orders a chain as root, intermediates (issuer side last) and
// leaf, whichever order the server sent it in.
func splitChain(certs []*x509.Certificate) (rootCert *x509.Certificate, intermediates []*x509.Certificate, leaf *x509.Certificate, err error) {
	for _, c := range certs {
		if bytes.Equal(c.RawIssuer, c.RawSubject) && c.CheckSignatureFrom(c) == nil {
			rootCert = c
		}
	}
	if rootCert == nil {
		return nil, nil, nil, errors.New("chain has no self-signed root")
	}
	for _, c := range certs {
		switch {
		case c == rootCert:
		case c.IsCA:
			intermediates = append(intermediates, c)
		default:
			leaf = c
		}
	}
	return rootCert, intermediates, leaf, nil
}

func (s *Stack) fulcioAuthority(ctx context.Context) (*root.FulcioCertificateAuthority, error) {
	body, err := get(ctx, s.client, s.FulcioURL+"/api/v2/trustBundle")
	if err != nil {
		return nil, err
	}
	var bundle struct {
		Chains []struct {
			Certificates []string `json:"certificates"`
		} `json:"chains"`
	}
	if err := json.Unmarshal(body, &bundle); err != nil {
		return nil, fmt.Errorf("decoding Fulcio trust bundle: %w", err)
	}
	if len(bundle.Chains) != 1 {
		return nil, fmt.Errorf("the Fulcio trust bundle has %d chains, want 1", len(bundle.Chains))
	}
	var pems bytes.Buffer
	for _, c := range bundle.Chains[0].Certificates {
		pems.WriteString(c)
		pems.WriteByte('\n')
	}
	certs, err := parsePEMChain(pems.Bytes())
	if err != nil {
		return nil, fmt.Errorf("parsing Fulcio trust bundle: %w", err)
	}
	rootCert, intermediates, _, err := splitChain(certs)
	if err != nil {
		return nil, fmt.Errorf("the Fulcio trust bundle: %w", err)
	}
	return &root.FulcioCertificateAuthority{
		Root:                rootCert,
		Intermediates:       intermediates,
		ValidityPeriodStart: rootCert.NotBefore,
		URI:                 s.FulcioURL,
	}, nil
}

func (s *Stack) timestampAuthority(ctx context.Context) (*root.SigstoreTimestampingAuthority, error) {
	body, err := get(ctx, s.client, s.tsaBaseURL+"/api/v1/timestamp/certchain")
	if err != nil {
		return nil, err
	}
	certs, err := parsePEMChain(body)
	if err != nil {
		return nil, fmt.Errorf("parsing TSA chain: %w", err)
	}
	rootCert, intermediates, leaf, err := splitChain(certs)
	if err != nil {
		return nil, fmt.Errorf("TSA chain: %w", err)
	}
	if leaf == nil {
		return nil, errors.New("TSA chain has no timestamping leaf")
	}
	return &root.SigstoreTimestampingAuthority{
		Root:                rootCert,
		Intermediates:       intermediates,
		Leaf:                leaf,
		ValidityPeriodStart: rootCert.NotBefore,
		URI:                 s.TSAURL,
	}, nil
}

// checkRekorCheckpoint waits for Rekor to answer /healthz and verifies the
// checkpoint it published (the POSIX backend writes it to the storage
// directory; its API does not serve it) against the key and origin the
// trusted root is about to name, so a mismatch fails at start-up instead of
// at the first verification.
func (s *Stack) checkRekorCheckpoint(ctx context.Context, pub ed25519.PublicKey) error {
	if _, err := get(ctx, s.client, s.RekorURL+"/healthz"); err != nil {
		return err
	}
	cp, err := os.ReadFile(filepath.Join(s.Dir, "rekor", "storage", "checkpoint"))
	if err != nil {
		return fmt.Errorf("reading Rekor checkpoint: %w", err)
	}
	verifier, err := signature.LoadED25519Verifier(pub)
	if err != nil {
		return err
	}
	nv, err := rekornote.NewNoteVerifier(rekorOrigin, verifier)
	if err != nil {
		return err
	}
	if _, err := rekorverify.VerifyCheckpoint(string(cp), nv); err != nil {
		return fmt.Errorf("verifying Rekor checkpoint for origin %q: %w", rekorOrigin, err)
	}
	return nil
}

func (s *Stack) writeTrustMaterial(ctx context.Context, pub ed25519.PublicKey, validFrom time.Time) error {
	fulcio, err := s.fulcioAuthority(ctx)
	if err != nil {
		return err
	}
	tsa, err := s.timestampAuthority(ctx)
	if err != nil {
		return err
	}
	_, logID, err := rekornote.KeyHash(rekorOrigin, pub)
	if err != nil {
		return fmt.Errorf("computing Rekor log ID: %w", err)
	}
	rekor := &root.TransparencyLog{
		BaseURL:             s.RekorURL,
		ID:                  logID,
		ValidityPeriodStart: validFrom,
		HashFunc:            crypto.SHA256,
		PublicKey:           pub,
	}
	tr, err := root.NewTrustedRoot(root.TrustedRootMediaType01,
		[]root.CertificateAuthority{fulcio},
		nil,
		[]root.TimestampingAuthority{tsa},
		map[string]*root.TransparencyLog{fmt.Sprintf("%x", logID): rekor},
	)
	if err != nil {
		return fmt.Errorf("building trusted root: %w", err)
	}
	trJSON, err := tr.MarshalJSON()
	if err != nil {
		return fmt.Errorf("encoding trusted root: %w", err)
	}
	// Read it back as a client would, so a malformed file fails here.
	if _, err := root.NewTrustedRootFromJSON(trJSON); err != nil {
		return fmt.Errorf("re-reading trusted root: %w", err)
	}

	svc := func(url string, version uint32) root.Service {
		return root.Service{URL: url, MajorAPIVersion: version, ValidityPeriodStart: validFrom, Operator: "paved-local-stack"}
	}
	exactlyOne := root.ServiceConfiguration{Selector: prototrustroot.ServiceSelector_EXACT, Count: 1}
	sc, err := root.NewSigningConfig(root.SigningConfigMediaType02,
		[]root.Service{svc(s.FulcioURL, 1)},
		[]root.Service{svc(s.GitHubIssuer, 1), svc(s.GitLabIssuer, 1)},
		[]root.Service{svc(s.RekorURL, 2)},
		exactlyOne,
		[]root.Service{svc(s.TSAURL, 1)},
		exactlyOne,
	)
	if err != nil {
		return fmt.Errorf("building signing config: %w", err)
	}
	scJSON, err := sc.MarshalJSON()
	if err != nil {
		return fmt.Errorf("encoding signing config: %w", err)
	}
	if _, err := root.NewSigningConfigFromJSON(scJSON); err != nil {
		return fmt.Errorf("re-reading signing config: %w", err)
	}

	var pretty, line bytes.Buffer
	if err := json.Indent(&pretty, trJSON, "", "  "); err != nil {
		return err
	}
	if err := json.Compact(&line, trJSON); err != nil {
		return err
	}
	var scPretty bytes.Buffer
	if err := json.Indent(&scPretty, scJSON, "", "  "); err != nil {
		return err
	}
	for path, data := range map[string][]byte{
		s.TrustedRootPath:      append(pretty.Bytes(), '\n'),
		s.TrustedRootJSONLPath: append(line.Bytes(), '\n'),
		s.SigningConfigPath:    append(scPretty.Bytes(), '\n'),
	} {
		if err := os.WriteFile(path, data, 0o644); err != nil {
			return fmt.Errorf("writing trust material: %w", err)
		}
	}
	return nil
}
