package githubapi_test

import (
	"testing"

	"github.com/paved-dev/paved/shared/githubapi"
)

func TestErrorMessage(t *testing.T) {
	tests := []struct{ body, want string }{
		{`{"message":"Validation Failed","errors":[{"resource":"Release","code":"already_exists","field":"tag_name"}]}`, ": Validation Failed; resource=Release field=tag_name code=already_exists"},
		{`{"message":"Not Found","documentation_url":"https://docs.github.com"}`, ": Not Found"},
		{`{"message":"Bad","errors":["one thing"]}`, ": Bad; one thing"},
		{`not json`, ""},
	}
	for _, tc := range tests {
		if got := githubapi.ErrorMessage([]byte(tc.body)); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.body, got, tc.want)
		}
	}
}

func TestNextLinkAndOrigin(t *testing.T) {
	h := `<https://api.github.com/x?page=1>; rel="prev", <https://api.github.com/x?page=3>; rel="next"`
	if got := githubapi.NextLink(h); got != "https://api.github.com/x?page=3" {
		t.Fatalf("next %q", got)
	}
	if githubapi.NextLink(`<https://a/x>; rel="last"`) != "" {
		t.Fatal("no next link expected")
	}
	if !githubapi.SameOrigin("https://API.github.com/a", "https://api.github.com/b?x") || githubapi.SameOrigin("https://api.github.com", "https://objects.githubusercontent.com") {
		t.Fatal("origin check")
	}
}
