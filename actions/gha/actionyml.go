package gha

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/paved-dev/paved/shared/command"
)

// ActionYAML renders the composite action of a command from its declaration:
// every CI input and output, a setup step that puts paved on PATH, and one step
// that runs `paved NAME` with the inputs passed through env (never spliced into
// the script). source is the path from the action's directory to the
// repository root ("" for the root action).
func ActionYAML(cmd *command.Command, title, description, source string) string {
	q := strconv.Quote
	var b strings.Builder
	fmt.Fprintf(&b, "# Generated from the declaration of `paved %s` by `go generate`; do not edit.\n", cmd.Name)
	fmt.Fprintf(&b, "name: %s\ndescription: %s\nauthor: Paved\nbranding:\n  icon: shield\n  color: green\ninputs:\n", q(title), q(description))
	for _, in := range cmd.Inputs {
		if in.CLIOnly {
			continue
		}
		fmt.Fprintf(&b, "  %s:\n    description: %s\n    required: false\n", in.Name, q(in.Usage))
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
	b.WriteString("      run: \"$PAVED_SOURCE/actions/setup.sh\"\n")
	fmt.Fprintf(&b, "    - name: paved %s\n      id: paved\n      shell: bash\n      env:\n", cmd.Name)
	for _, in := range cmd.Inputs {
		if in.CLIOnly {
			continue
		}
		fmt.Fprintf(&b, "        INPUT_%s: ${{ inputs.%s }}\n", strings.ToUpper(strings.ReplaceAll(in.Name, "-", "_")), in.Name)
	}
	fmt.Fprintf(&b, "      run: paved %s\n", cmd.Name)
	return b.String()
}
