package ci_test

import (
	"testing"

	"github.com/paved-dev/paved/shared/ci"
)

func TestRunVisibilityFromEventPayload(t *testing.T) {
	for _, tc := range []struct {
		name, payload string
		want          ci.Visibility
	}{
		{"public", `{"repository":{"visibility":"public","private":false}}`, ci.Public},
		{"private", `{"repository":{"visibility":"private","private":true}}`, ci.Private},
		{"internal", `{"repository":{"visibility":"internal","private":true}}`, ci.Private},
		{"internal, not private", `{"repository":{"visibility":"internal","private":false}}`, ci.Internal},
		{"private flag only", `{"repository":{"private":true}}`, ci.Private},
		{"public flag only", `{"repository":{"private":false}}`, ci.Public},
		{"conflict is the stricter", `{"repository":{"visibility":"public","private":true}}`, ci.Private},
		{"unknown word", `{"repository":{"visibility":"secret"}}`, ci.Unknown},
		{"no repository", `{"schedule":"0 0 * * *"}`, ci.Unknown},
		{"not JSON", `not json`, ci.Unknown},
		{"empty", ``, ci.Unknown},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := ci.VisibilityFromEvent([]byte(tc.payload)); got != tc.want {
				t.Fatalf("VisibilityFromEvent(%s) = %q, want %q", tc.payload, got, tc.want)
			}
		})
	}
}

func TestStricter(t *testing.T) {
	for _, tc := range []struct{ a, b, want ci.Visibility }{
		{ci.Unknown, ci.Public, ci.Public},
		{ci.Public, ci.Unknown, ci.Public},
		{ci.Public, ci.Internal, ci.Internal},
		{ci.Private, ci.Public, ci.Private},
		{ci.Internal, ci.Private, ci.Private},
	} {
		if got := ci.Stricter(tc.a, tc.b); got != tc.want {
			t.Errorf("Stricter(%q, %q) = %q, want %q", tc.a, tc.b, got, tc.want)
		}
	}
}
