package policy

import (
	"bytes"
	"context"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"
)

// chainSBOM is a CycloneDX 1.6 document of n components where each depends
// on the next: the deepest dependency graph a document of its size can hold.
func chainSBOM(n int) []byte {
	var b bytes.Buffer
	b.WriteString(`{"bomFormat":"CycloneDX","specVersion":"1.6","version":1,"components":[`)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"type":"library","bom-ref":"c%d","name":"n%d","version":"1.0.0","purl":"pkg:npm/n%d@1.0.0"}`, i, i, i)
	}
	b.WriteString(`],"dependencies":[`)
	for i := range n - 1 {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"ref":"c%d","dependsOn":["c%d"]}`, i, i+1)
	}
	b.WriteString(`]}`)
	return b.Bytes()
}

// chainPolicy denies the last component of a chain of n, so that one finding
// needs the whole depth of the graph for its path.
func chainPolicy(t testing.TB, n int) *Policy {
	p, err := Parse("chain.yaml", fmt.Appendf(nil, "version: 1\nrules:\n  deny:\n    - purl: \"pkg:npm/n%d\"\n", n-1))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func gateChain(t testing.TB, doc []byte, p *Policy) *Report {
	s, err := ReadSBOM(bytes.NewReader(doc))
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Evaluate(context.Background(), s, p, Options{DB: NewDB(), Data: &Data{}, Now: func() time.Time { return testNow }})
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// TestAttackDeepChainGraphIsLinear: a CycloneDX chain of 100,000 components
// (4.4 MB) used to take 2.3 GB and 20 s, because a dependency path was built
// for every component. Paths are now built from parent pointers for findings
// only, and bounded: the bytes allocated per component stay small and the
// path of the finding at the bottom starts at the root and ends at it.
func TestAttackDeepChainGraphIsLinear(t *testing.T) {
	const n = 20000
	doc := chainSBOM(n)
	p := chainPolicy(t, n)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	rep := gateChain(t, doc, p)
	runtime.ReadMemStats(&after)
	perNode := (after.TotalAlloc - before.TotalAlloc) / n
	t.Logf("%d components: %d bytes allocated per component", n, perNode)
	if perNode > 16<<10 {
		t.Errorf("%d bytes allocated per component of a chain, want at most 16 KiB: the graph is not linear", perNode)
	}
	if len(rep.Findings) != 1 {
		t.Fatalf("findings %+v, want the one deny", rep.Findings)
	}
	path := rep.Findings[0].Path
	if len(path) > MaxPath || path[0] != "pkg:npm/n0@1.0.0" || path[len(path)-1] != fmt.Sprintf("pkg:npm/n%d@1.0.0", n-1) || !strings.Contains(strings.Join(path, " "), "…") {
		t.Fatalf("path of %d entries %.300q: want at most MaxPath, from the root to the component, the middle elided", len(path), path)
	}
}

// BenchmarkChain100k reads and gates the 100,000-component chain.
//
//	go test ./shared/policy -run '^$' -bench Chain100k -benchmem
func BenchmarkChain100k(b *testing.B) {
	const n = 100000
	doc := chainSBOM(n)
	b.Logf("document: %d bytes", len(doc))
	p := chainPolicy(b, n)
	b.ReportAllocs()
	for b.Loop() {
		gateChain(b, doc, p)
	}
}
