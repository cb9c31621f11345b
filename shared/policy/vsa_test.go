package policy_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"testing"
	"time"

	vsa "github.com/in-toto/attestation/go/predicates/vsa/v1"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/paved-dev/paved/shared/policy"
)

// TestVSAReadsAsTheInTotoPredicate: the VSA's JSON is what the in-toto Go
// bindings' typed VerificationSummary reads, field for field; a failed
// verdict verifies no level.
func TestVSAReadsAsTheInTotoPredicate(t *testing.T) {
	sbom := []byte(`{"bomFormat":"CycloneDX"}`)
	pol := &policy.Policy{Name: "config/policy.yml", Digest: "abc123"}
	rep := &policy.Report{SBOMFormat: "cyclonedx", Components: 7}
	now := time.Date(2026, 1, 2, 3, 4, 5, 600, time.FixedZone("x", 3600))
	for _, verdict := range []string{"PASSED", "FAILED"} {
		data, err := json.Marshal(policy.NewVSA(rep, pol, verdict, "app", "out/app.cdx.json", sbom, "1.2.3", now))
		if err != nil {
			t.Fatal(err)
		}
		var got vsa.VerificationSummary
		if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(data, &got); err != nil {
			t.Fatalf("%s: the in-toto binding cannot read %s: %v", verdict, data, err)
		}
		sum := sha256.Sum256(sbom)
		wantLevel := map[string]string{"PASSED": "PAVED_DEPENDENCY_POLICY", "FAILED": "FAILED"}[verdict]
		if got.GetVerifier().GetId() != policy.VerifierID || got.GetResourceUri() != "app" || got.GetVerificationResult() != verdict ||
			!got.GetTimeVerified().AsTime().Equal(now.Truncate(time.Second)) ||
			got.GetPolicy().GetUri() != "policy.yml" || got.GetPolicy().GetDigest()["sha256"] != "abc123" ||
			len(got.GetInputAttestations()) != 1 || got.GetInputAttestations()[0].GetUri() != "app.cdx.json" ||
			got.GetInputAttestations()[0].GetDigest()["sha256"] != hex.EncodeToString(sum[:]) ||
			len(got.GetVerifiedLevels()) != 1 || got.GetVerifiedLevels()[0] != wantLevel {
			t.Errorf("%s: read back %v from %s", verdict, &got, data)
		}
	}
}
