package policy

import (
	"strings"

	"github.com/google/osv-scalibr/semantic"
	"github.com/package-url/packageurl-go"
)

// pkgKey identifies a package in OSV terms: ecosystem (without any ":suffix")
// and the package name as OSV spells it for that ecosystem.
type pkgKey struct {
	Ecosystem string
	Name      string
}

// osvPackage maps a purl to the OSV ecosystem and name it is filed under
// (https://ossf.github.io/osv-schema/#affectedpackage-field). ok is false for
// purl types OSV has no ecosystem for.
func osvPackage(p packageurl.PackageURL) (pkgKey, bool) {
	join := func(sep string) string {
		if p.Namespace == "" {
			return p.Name
		}
		return p.Namespace + sep + p.Name
	}
	switch p.Type {
	case "npm":
		return pkgKey{"npm", join("/")}, true
	case "pypi":
		// PEP 503 normalised names are what OSV's PyPI records use.
		return pkgKey{"PyPI", normalizePyPI(p.Name)}, true
	case "maven":
		return pkgKey{"Maven", join(":")}, true
	case "golang":
		return pkgKey{"Go", join("/")}, true
	case "cargo":
		return pkgKey{"crates.io", p.Name}, true
	case "gem":
		return pkgKey{"RubyGems", p.Name}, true
	case "nuget":
		return pkgKey{"NuGet", p.Name}, true
	case "composer":
		return pkgKey{"Packagist", join("/")}, true
	case "hex":
		return pkgKey{"Hex", p.Name}, true
	case "pub":
		return pkgKey{"Pub", p.Name}, true
	case "swift":
		return pkgKey{"SwiftURL", join("/")}, true
	case "cran":
		return pkgKey{"CRAN", p.Name}, true
	case "hackage":
		return pkgKey{"Hackage", p.Name}, true
	case "conan":
		return pkgKey{"ConanCenter", p.Name}, true
	case "deb":
		switch strings.ToLower(p.Namespace) {
		case "ubuntu":
			return pkgKey{"Ubuntu", p.Name}, true
		default:
			return pkgKey{"Debian", p.Name}, true
		}
	case "apk":
		switch strings.ToLower(p.Namespace) {
		case "wolfi":
			return pkgKey{"Wolfi", p.Name}, true
		case "chainguard":
			return pkgKey{"Chainguard", p.Name}, true
		default:
			return pkgKey{"Alpine", p.Name}, true
		}
	case "rpm":
		switch strings.ToLower(p.Namespace) {
		case "redhat":
			return pkgKey{"Red Hat", p.Name}, true
		case "rocky-linux", "rocky":
			return pkgKey{"Rocky Linux", p.Name}, true
		case "almalinux":
			return pkgKey{"AlmaLinux", p.Name}, true
		case "opensuse":
			return pkgKey{"openSUSE", p.Name}, true
		case "suse":
			return pkgKey{"SUSE", p.Name}, true
		}
	}
	return pkgKey{}, false
}

// depsDevSystem is the deps.dev v3 system name for a purl type ("" if none).
func depsDevSystem(p packageurl.PackageURL) (system, name string) {
	k, ok := osvPackage(p)
	if !ok {
		return "", ""
	}
	switch k.Ecosystem {
	case "npm", "PyPI", "Maven", "Go", "NuGet":
		return strings.ToUpper(map[string]string{"npm": "npm", "PyPI": "pypi", "Maven": "maven", "Go": "go", "NuGet": "nuget"}[k.Ecosystem]), k.Name
	case "crates.io":
		return "CARGO", k.Name
	case "RubyGems":
		return "RUBYGEMS", k.Name
	}
	return "", ""
}

func normalizePyPI(name string) string {
	name = strings.ToLower(name)
	var b strings.Builder
	dash := false
	for _, r := range name {
		if r == '-' || r == '_' || r == '.' {
			if !dash {
				b.WriteByte('-')
			}
			dash = true
			continue
		}
		dash = false
		b.WriteRune(r)
	}
	return b.String()
}

// baseEcosystem drops an OSV ecosystem's ":release" suffix ("Debian:12" → "Debian").
func baseEcosystem(e string) string {
	if i := strings.IndexByte(e, ':'); i >= 0 {
		return e[:i]
	}
	return e
}

// parseVersion parses v with the real version semantics of an OSV ecosystem.
// Go versions in purls carry a "v" that OSV's Go records do not.
func parseVersion(ecosystem, v string) (semantic.Version, error) {
	if baseEcosystem(ecosystem) == "Go" {
		v = strings.TrimPrefix(v, "v")
	}
	return semantic.Parse(v, ecosystem)
}
