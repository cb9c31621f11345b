package gha

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/paved-dev/paved/shared/command"
)

// PackagingInput is an input that every action has for how it gets the paved
// binary, as opposed to the inputs of the command it runs. It reaches
// actions/setup.sh as the environment variable Env.
type PackagingInput struct {
	Name, Description, Env string
}

// PackagingInputs are the packaging inputs of every generated action.
var PackagingInputs = []PackagingInput{{
	Name: "download-url",
	Description: "base URL of the paved release downloads, serving TAG/paved_OS_ARCH (for GHES mirrors and air-gapped runners); " +
		"the binary must match the SHA-256 pinned in the action (default: the action repository's GitHub releases)",
	Env: "PAVED_DOWNLOAD_URL",
}}

// UploadArtifact is the action that uploads workflow artifacts, pinned by
// commit.
const UploadArtifact = "actions/upload-artifact@ea165f8d65b6e75b540449e92b4886f43607fa02" // v4.6.2

// ArtifactInput is an input of the action's workflow artifact step, which the
// action reads itself (it never reaches paved).
type ArtifactInput struct {
	Name, Description, Default string
}

// ArtifactInputs are the inputs of the workflow artifact step of a command
// that declares one (CI.WorkflowArtifact), named as in anchore/sbom-action.
func ArtifactInputs(cmd *command.Command) []ArtifactInput {
	a := cmd.CI.WorkflowArtifact
	if a == nil {
		return nil
	}
	return []ArtifactInput{
		{Name: "upload-artifact", Description: "upload the files written as a workflow artifact with actions/upload-artifact", Default: strconv.FormatBool(a.Default)},
		{Name: "upload-artifact-retention", Description: "days the workflow artifact is kept (1-90; 0 or empty: the repository's setting)", Default: "0"},
		{Name: "artifact-name", Description: "name of the workflow artifact (default " + a.Prefix + "-JOB, or " + a.Prefix + "-JOB-INDEX in a matrix, as anchore/sbom-action; name each one when a job uploads twice)"},
	}
}

// SetupRun is the script of every action's first step. Quoted, so that a
// runner path with spaces stays one word; through bash, so that the script's
// executable bit does not matter (it is lost on some Windows checkouts).
const SetupRun = `bash "$PAVED_SOURCE/actions/setup.sh"`

// ActionYAML renders the composite action of a command from its declaration:
// every CI input and output, the packaging inputs, a setup step that puts paved
// on PATH (a pinned release binary, or one built from source), and one step
// that runs `paved NAME` with the inputs passed through env (never spliced into
// the script). source is the path from the action's directory to the
// repository root ("" for the root action).
func ActionYAML(cmd *command.Command, title, description, source string) string {
	q := strconv.Quote
	var b strings.Builder
	fmt.Fprintf(&b, "# Generated from the declaration of `paved %s` by `go generate`; do not edit.\n", cmd.Name)
	fmt.Fprintf(&b, "name: %s\ndescription: %s\nauthor: Paved\nbranding:\n  icon: shield\n  color: green\ninputs:\n", q(title), q(description))
	for _, in := range cmd.CIInputs() {
		fmt.Fprintf(&b, "  %s:\n    description: %s\n    required: false\n", in.Name, q(in.Usage))
		if def := ActionDefault(in); def != "" {
			fmt.Fprintf(&b, "    default: %s\n", q(def))
		}
	}
	for _, in := range PackagingInputs {
		fmt.Fprintf(&b, "  %s:\n    description: %s\n    required: false\n", in.Name, q(in.Description))
	}
	for _, in := range ArtifactInputs(cmd) {
		fmt.Fprintf(&b, "  %s:\n    description: %s\n    required: false\n", in.Name, q(in.Description))
		if in.Default != "" {
			fmt.Fprintf(&b, "    default: %s\n", q(in.Default))
		}
	}
	if len(cmd.Outputs) > 0 {
		b.WriteString("outputs:\n")
		for _, o := range cmd.Outputs {
			fmt.Fprintf(&b, "  %s:\n    description: %s\n    value: ${{ steps.paved.outputs.%s }}\n", o.Name, q(o.Usage), o.Name)
		}
	}
	b.WriteString("runs:\n  using: composite\n  steps:\n")
	b.WriteString("    - name: Set up paved\n      shell: bash\n      env:\n")
	fmt.Fprintf(&b, "        PAVED_SOURCE: ${{ github.action_path }}%s\n", source)
	// github.action_ref and github.action_repository are empty inside a
	// composite action's run: script; evaluated in env: they are set.
	b.WriteString("        PAVED_ACTION_REF: ${{ github.action_ref }}\n        PAVED_ACTION_REPOSITORY: ${{ github.action_repository }}\n")
	for _, in := range PackagingInputs {
		fmt.Fprintf(&b, "        %s: ${{ inputs.%s }}\n", in.Env, in.Name)
	}
	b.WriteString("      run: " + SetupRun + "\n")
	fmt.Fprintf(&b, "    - name: paved %s\n      id: paved\n      shell: bash\n      env:\n", cmd.Name)
	for _, in := range cmd.CIInputs() {
		fmt.Fprintf(&b, "        INPUT_%s: ${{ inputs.%s }}\n", strings.ToUpper(strings.ReplaceAll(in.Name, "-", "_")), in.Name)
	}
	fmt.Fprintf(&b, "      run: paved %s\n", cmd.Name)
	if a := cmd.CI.WorkflowArtifact; a != nil {
		// Uploading is the runner's business: the pinned upload action, with
		// paths that only paved's own outputs name.
		fmt.Fprintf(&b, "    - name: Upload the files as a workflow artifact\n      if: inputs.upload-artifact == 'true'\n      uses: %s # v4.6.2\n      with:\n", UploadArtifact)
		fmt.Fprintf(&b, "        name: ${{ inputs.artifact-name || format('%s-{0}{1}', github.job, strategy.job-total > 1 && format('-{0}', strategy.job-index) || '') }}\n        path: |\n", a.Prefix)
		for _, o := range a.Outputs {
			fmt.Fprintf(&b, "          ${{ steps.paved.outputs.%s }}\n", o)
		}
		b.WriteString("        retention-days: ${{ inputs.upload-artifact-retention != '0' && inputs.upload-artifact-retention || '' }}\n        if-no-files-found: error\n")
	}
	return b.String()
}

// ActionDefault is an input's default in an action: the declared one, except
// that github-token defaults to the job's own token, as in actions/attest.
func ActionDefault(in command.Input) string {
	if in.Name == "github-token" && in.Default == "" {
		return "${{ github.token }}"
	}
	return in.Default
}
