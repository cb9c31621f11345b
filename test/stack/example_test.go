package stack_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/paved-dev/paved/test/stack"
)

// Start a stack, mint a GitHub Actions-shaped ID token and hand the trust
// material to the code under test.
func ExampleStart() {
	ctx := context.Background()
	s, err := stack.Start(ctx, stack.Options{})
	if err != nil {
		log.Fatal(err) // names the fix, e.g. "run tools/install.sh"
	}
	defer s.Close()

	token, err := s.MintGitHubToken("paved-dev/demo", time.Hour)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(len(token) > 0, s.TrustedRootPath != "", s.SigningConfigPath != "")
}
