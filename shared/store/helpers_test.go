package store_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"testing"
	"time"

	"github.com/paved-dev/paved/shared/retry"
	"github.com/paved-dev/paved/shared/store"
)

const slsa = "https://slsa.dev/provenance/v1"

// fakeBundle builds a well-formed bundle over digests with a random signature.
// The store never verifies signatures; the end-to-end tests use real bundles.
func fakeBundle(t *testing.T, predType string, digests ...string) store.Bundle {
	t.Helper()
	var subjects []map[string]any
	for i, d := range digests {
		subjects = append(subjects, map[string]any{"name": "artifact-" + string(rune('a'+i)), "digest": map[string]string{"sha256": d[len("sha256:"):]}})
	}
	stmt, _ := json.Marshal(map[string]any{"_type": "https://in-toto.io/Statement/v1", "subject": subjects, "predicateType": predType, "predicate": map[string]any{}})
	sig := make([]byte, 64)
	rand.Read(sig)
	data, _ := json.MarshalIndent(map[string]any{
		"mediaType":            store.BundleMediaType,
		"verificationMaterial": map[string]any{"certificate": map[string]string{"rawBytes": base64.StdEncoding.EncodeToString(sig[:16])}},
		"dsseEnvelope": map[string]any{
			"payload":     base64.StdEncoding.EncodeToString(stmt),
			"payloadType": "application/vnd.in-toto+json",
			"signatures":  []map[string]string{{"sig": base64.StdEncoding.EncodeToString(sig)}},
		},
	}, "", "  ")
	b, err := store.Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func randomDigest() string {
	b := make([]byte, 32)
	rand.Read(b)
	return "sha256:" + hex.EncodeToString(b)
}

// fastRetry retries like production but without real waits.
var fastRetry = retry.Options{BaseDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond, PerTry: 10 * time.Second}

func noSleep(context.Context, time.Duration) error { return nil }
