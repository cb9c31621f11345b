package glci

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/paved-dev/paved/shared/command"
)

// ImageVariable is the CI/CD variable that the image input of every component
// defaults to: a group or instance variable holding the Paved image pinned by
// digest serves every project at once.
const ImageVariable = "PAVED_IMAGE"

// ImagePattern is the regex of the image input: a reference pinned by digest,
// or a CI/CD variable expanded when the job starts. A tag alone is refused, so
// that what runs the signing is the image that was reviewed.
const ImagePattern = `^(\$[A-Za-z_][A-Za-z0-9_]*|\$\{[A-Za-z_][A-Za-z0-9_]*\}|[^\s@$]+@sha256:[0-9a-f]{64})$`

// PavedPattern is the regex of the paved input, the one input spliced into
// the job's script: a command name or a path with no character the shell
// would read as anything else (no space, quote, ;, |, &, backtick...), or
// one reference to a CI/CD variable that holds the path.
const PavedPattern = `^([A-Za-z0-9_./][A-Za-z0-9_./+-]*|\$[A-Za-z_][A-Za-z0-9_]*|\$\{[A-Za-z_][A-Za-z0-9_]*\})$`

// SecretPattern is the regex of every secret input: only a reference to a
// CI/CD variable (masked, protected, kept out of the repository), never the
// token itself, which would sit in pipeline configuration for anyone who can
// read the repository. Empty means the platform's default.
const SecretPattern = `^$|^\$[A-Za-z_][A-Za-z0-9_]*$|^\$\{[A-Za-z_][A-Za-z0-9_]*\}$`

// StagePattern and SuffixPattern keep the job's stage and name to plain words.
const (
	StagePattern  = `^[A-Za-z0-9_.-]+( [A-Za-z0-9_.-]+)*$`
	SuffixPattern = `^$|^[A-Za-z0-9_.:-]+$`
	// PrefixPattern keeps the job-prefix to a word that does not start with
	// "." (a hidden job never runs).
	PrefixPattern = `^[A-Za-z0-9_][A-Za-z0-9_.:-]*$`
	// CacheKeyPattern is GitLab's: no "/" and not "." or "..".
	CacheKeyPattern = `^[A-Za-z0-9_$][A-Za-z0-9_.${}-]*$`
)

// ReleaseImageFile holds the Paved image of a release commit, NAME@sha256:HEX
// (written by .github/release/pin.sh); elsewhere it names no image and the
// components default to the ImageVariable.
const ReleaseImageFile = "gitlab/release.image"

var digestRef = regexp.MustCompile(`^[^\s@$]+@sha256:[0-9a-f]{64}$`)

// ReleaseImage reads ReleaseImageFile under root: the image pinned by digest,
// or "" when the file names none. Lines starting with # are comments.
func ReleaseImage(root string) (string, error) {
	b, err := os.ReadFile(filepath.Join(root, ReleaseImageFile))
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	image := ""
	for _, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if image != "" || !digestRef.MatchString(line) {
			return "", fmt.Errorf("%s: %q is not one image pinned by digest (NAME@sha256:HEX); fix the file or leave only comments", ReleaseImageFile, line)
		}
		image = line
	}
	return image, nil
}

// PackagingInputs are the spec:inputs every component has besides the
// command's own, in order; a command with a CacheInput also has CacheKeyInput.
var PackagingInputs = []string{"stage", "job-prefix", "job-suffix", "needs", "rules", "allow-failure", "tags", "image", "paved"}

// CacheKeyInput is the input naming the GitLab cache of a command's data
// directory (its CI.CacheInput).
const CacheKeyInput = "cache-key"

// DefaultCacheDir is where a component keeps the command's data between
// pipelines when CI.CacheInput has no default of its own: a directory in the
// project, since GitLab caches only paths inside it.
const DefaultCacheDir = ".paved-cache"

// CacheDirPattern keeps the cached directory a plain relative path, which
// GitLab requires of cache:paths.
const CacheDirPattern = `^[A-Za-z0-9_.-][A-Za-z0-9_./-]*$`

// InputsOf are the spec:inputs of cmd's component besides the command's own.
func InputsOf(cmd *command.Command) []string {
	in := append([]string(nil), PackagingInputs...)
	if cmd.CI.CacheInput != "" {
		in = append(in, CacheKeyInput)
	}
	return in
}

// JobKey is the job of cmd's component, as written in it: the job-prefix
// input, "-", the command's name, the job-suffix input. With the defaults it
// is paved-NAME.
func JobKey(cmd *command.Command) string {
	return "$[[ inputs.job-prefix ]]-" + cmd.Name + "$[[ inputs.job-suffix ]]"
}

// JobName is the name of cmd's job for a job-prefix and job-suffix.
func JobName(cmd *command.Command, prefix, suffix string) string {
	return prefix + "-" + cmd.Name + suffix
}

// DisabledVariable is the CI/CD variable that keeps cmd's job out of every
// pipeline when it is "true" or "1", as GitLab's own security components
// are turned off with SAST_DISABLED: PAVED_<COMMAND>_DISABLED.
func DisabledVariable(cmd *command.Command) string {
	return "PAVED_" + strings.ToUpper(strings.ReplaceAll(cmd.Name, "-", "_")) + "_DISABLED"
}

// ComponentYAML renders the GitLab CI/CD component of a command from its
// declaration: a description header, spec:inputs for the packaging (see
// PackagingInputs) and every CI input; one job JobKey(cmd) that passes the
// inputs as PAVED_* variables, declares id_tokens when the command signs,
// stays out of the pipeline when DisabledVariable(cmd) is set, caches the
// command's data directory, and keeps its outputs as a dotenv report and its
// SBOMs and policy results as GitLab reports.
//
// image is the default of the image input: a release's image pinned by digest,
// or "" for the ImageVariable.
func ComponentYAML(cmd *command.Command, image string) string {
	q := strconv.Quote
	imageDefault, imageDoc := image, "the release's image, pinned by digest"
	if image == "" {
		imageDefault, imageDoc = "$"+ImageVariable, "the "+ImageVariable+" CI/CD\n# variable; pin it by digest"
	}
	disabled := DisabledVariable(cmd)
	var b strings.Builder
	fmt.Fprintf(&b, "# %s: %s\n", cmd.CI.Title, cmd.CI.Description)
	fmt.Fprintf(&b, "#\n# include:\n#   - component: $CI_SERVER_FQDN/paved-dev/paved/%s@v1\n#     inputs:\n#       needs: [build]\n", cmd.Name)
	fmt.Fprintf(&b, "#\n# The job runs `paved %s` in the image input (default: %s).\n", cmd.Name, imageDoc)
	b.WriteString("# On a shell runner the image is ignored and the paved input names the\n# binary. ")
	fmt.Fprintf(&b, "Outputs are a dotenv report (%s). Set the CI/CD\n# variable %s to \"true\" to leave the job out. See docs/gitlab.md.\n", cmd.OutputEnv("<output>"), disabled)
	fmt.Fprintf(&b, "# Generated from the declaration of `paved %s` by `go generate`; do not edit.\n", cmd.Name)
	stage := cmd.CI.Stage
	if stage == "" {
		stage = "test"
	}
	b.WriteString("spec:\n  inputs:\n")
	fmt.Fprintf(&b, "    stage:\n      description: %s\n      default: %s\n      regex: %s\n", q("stage of the paved "+cmd.Name+" job"), q(stage), q(StagePattern))
	fmt.Fprintf(&b, "    job-prefix:\n      description: %s\n      default: \"paved\"\n      regex: %s\n", q("the job is named PREFIX-"+cmd.Name+", then the job-suffix"), q(PrefixPattern))
	fmt.Fprintf(&b, "    job-suffix:\n      description: %s\n      default: \"\"\n      regex: %s\n", q("appended to the job name, to include the component more than once"), q(SuffixPattern))
	fmt.Fprintf(&b, "    needs:\n      description: %s\n      type: array\n      default: []\n", q("jobs whose artifacts the paved "+cmd.Name+" job needs; empty: it starts at once, with no artifacts of earlier jobs"))
	fmt.Fprintf(&b, "    rules:\n      description: %s\n      type: array\n      default:\n        - when: on_success\n", q("rules of the job, after the one that leaves it out when "+disabled+" is true or 1"))
	fmt.Fprintf(&b, "    allow-failure:\n      description: %s\n      type: boolean\n      default: false\n", q("let the pipeline pass when the job fails (a policy denial still shows as a warning)"))
	fmt.Fprintf(&b, "    tags:\n      description: %s\n      type: array\n      default: []\n", q("runner tags that select the runners the job may run on"))
	fmt.Fprintf(&b, "    image:\n      description: %s\n      default: %s\n      regex: %s\n", q("image the job runs in, pinned by digest (NAME@sha256:HEX), or a CI/CD variable holding one; shell runners ignore it"), q(imageDefault), q(ImagePattern))
	fmt.Fprintf(&b, "    paved:\n      description: %s\n      default: paved\n      regex: %s\n", q("the paved command to run (a path when the job image does not ship it, or a $VARIABLE holding one; letters, digits and ./_+- only)"), q(PavedPattern))
	if cmd.CI.CacheInput != "" {
		fmt.Fprintf(&b, "    %s:\n      description: %s\n      default: %s\n      regex: %s\n", CacheKeyInput, q("key of the GitLab cache that keeps the "+cmd.CI.CacheInput+" directory between pipelines"), q("paved-"+cmd.Name+"-data"), q(CacheKeyPattern))
	}
	for _, in := range cmd.GitLabInputs() {
		fmt.Fprintf(&b, "    %s:\n      description: %s\n", in.Name, q(in.Usage))
		if d, ok := cmd.CI.GitLabDefaults[in.Name]; ok {
			in.Default = d
		}
		if in.Name == cmd.CI.CacheInput {
			def := in.Default
			if def == "" {
				def = DefaultCacheDir
			}
			fmt.Fprintf(&b, "      default: %s\n      regex: %s\n", q(def), q(CacheDirPattern))
			continue
		}
		if in.Secret {
			// The regex says it: a $VARIABLE reference, never the token.
			fmt.Fprintf(&b, "      default: %s\n      regex: %s\n", q(in.Default), q(SecretPattern))
			continue
		}
		if in.Bool {
			def := in.Default
			if def == "" {
				def = "false"
			}
			fmt.Fprintf(&b, "      type: boolean\n      default: %s\n", def)
			continue
		}
		fmt.Fprintf(&b, "      default: %s\n", q(in.Default))
		switch {
		case len(in.Options) > 0 && (in.List || in.Default == ""):
			// GitLab requires the default among the options, and a list input
			// holds several of them: check the values with a regex instead.
			alt := make([]string, len(in.Options))
			for i, o := range in.Options {
				alt[i] = regexp.QuoteMeta(o)
			}
			one := "(" + strings.Join(alt, "|") + ")"
			fmt.Fprintf(&b, "      regex: %s\n", q("^$|^"+one+"([,\n ]+"+one+")*$"))
		case len(in.Options) > 0:
			opts := make([]string, len(in.Options))
			for i, o := range in.Options {
				opts[i] = q(o)
			}
			fmt.Fprintf(&b, "      options: [%s]\n", strings.Join(opts, ", "))
		}
		if in.Pattern != "" {
			// GitLab matches the whole regex against the value; an empty value
			// stays allowed so the default applies.
			fmt.Fprintf(&b, "      regex: %s\n", q("^$|"+in.Pattern))
		}
	}
	b.WriteString("---\n")
	fmt.Fprintf(&b, "%s:\n  stage: $[[ inputs.stage ]]\n  needs: $[[ inputs.needs ]]\n  image: $[[ inputs.image ]]\n", q(JobKey(cmd)))
	b.WriteString("  tags: $[[ inputs.tags ]]\n  allow_failure: $[[ inputs.allow-failure ]]\n")
	// GitLab flattens an array in rules (as it does a !reference), so the
	// switch stays first whatever rules the input brings.
	fmt.Fprintf(&b, "  rules:\n    - if: %s\n      when: never\n    - $[[ inputs.rules ]]\n", q(fmt.Sprintf(`$%s == "true" || $%s == "1"`, disabled, disabled)))
	if cmd.CI.Signs {
		b.WriteString("  id_tokens:\n    SIGSTORE_ID_TOKEN:\n      aud: sigstore\n")
	}
	b.WriteString("  variables:\n")
	for _, in := range cmd.GitLabInputs() {
		fmt.Fprintf(&b, "    %s: $[[ inputs.%s ]]\n", in.EnvName(), in.Name)
	}
	dotenv := "paved-" + cmd.Name + ".env"
	fmt.Fprintf(&b, "    PAVED_DOTENV: %s\n", dotenv)
	fmt.Fprintf(&b, "  script:\n    - $[[ inputs.paved ]] %s\n", cmd.Name)
	if cmd.CI.CacheInput != "" {
		// when: always keeps what a denied run fetched for the next one.
		fmt.Fprintf(&b, "  cache:\n    key: $[[ inputs.%s ]]\n    paths:\n      - $[[ inputs.%s ]]\n    when: always\n", CacheKeyInput, cmd.CI.CacheInput)
	}
	b.WriteString("  artifacts:\n    when: always\n")
	if len(cmd.CI.ArtifactPaths) > 0 {
		b.WriteString("    paths:\n")
		for _, p := range cmd.CI.ArtifactPaths {
			fmt.Fprintf(&b, "      - %s\n", q(p))
		}
	}
	b.WriteString("    reports:\n")
	fmt.Fprintf(&b, "      dotenv: %s\n", dotenv)
	keys := make([]string, 0, len(cmd.CI.Reports))
	for k := range cmd.CI.Reports {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(&b, "      %s: %s\n", k, q(cmd.CI.Reports[k]))
	}
	return b.String()
}
