package fail

import (
	"errors"
	"fmt"
)

// MaxListed is how many errors Join shows before it counts the rest.
const MaxListed = 20

// Join joins errs as errors.Join does, nil ones skipped, but shows at most
// MaxListed of them and counts the rest, so that one bad input (a glob over
// a large tree) cannot turn into an error line of megabytes. The class of the
// first error is kept.
func Join(errs []error) error {
	var kept []error
	n := 0
	for _, err := range errs {
		if err == nil {
			continue
		}
		n++
		if len(kept) < MaxListed {
			kept = append(kept, err)
		}
	}
	if n == 0 {
		return nil
	}
	if n > MaxListed {
		kept = append(kept, fmt.Errorf("and %d more", n-MaxListed))
	}
	return As(ClassOf(kept[0]), errors.Join(kept...))
}
