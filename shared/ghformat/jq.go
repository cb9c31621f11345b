package ghformat

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/itchyny/gojq"

	"github.com/paved-dev/paved/shared/fail"
)

// Query is a compiled --jq expression.
type Query struct {
	code *gojq.Code
}

// ParseQuery compiles a --jq expression; an invalid one is a usage error.
func ParseQuery(expr string) (*Query, error) {
	q, err := gojq.Parse(expr)
	if err != nil {
		return nil, fail.Configf("--jq %q: %w", expr, err)
	}
	code, err := gojq.Compile(q)
	if err != nil {
		return nil, fail.Configf("--jq %q: %w", expr, err)
	}
	return &Query{code: code}, nil
}

// Run filters doc, a JSON document, as gh's --jq prints: each result on its
// own line, strings raw, anything else as compact JSON. Output beyond
// MaxOutput is refused, and ctx stops a query that runs without end.
func (q *Query) Run(ctx context.Context, doc []byte) ([]byte, error) {
	in, err := decode(doc)
	if err != nil {
		return nil, fmt.Errorf("--jq: reading the output: %w", err)
	}
	if in, err = normalize(in); err != nil {
		return nil, err
	}
	out := &cappedBuffer{max: MaxOutput}
	iter := q.code.RunWithContext(ctx, in)
	for {
		v, ok := iter.Next()
		if !ok {
			break
		}
		if err, ok := v.(error); ok {
			if h, ok := err.(*gojq.HaltError); ok && h.Value() == nil {
				break
			}
			return nil, fail.Configf("--jq: %w", err)
		}
		line, err := jqLine(v)
		if err != nil {
			return nil, err
		}
		if _, err := out.Write(line); err != nil {
			return nil, fail.Configf("--jq: the expression prints more than %d MiB; narrow it", MaxOutput>>20)
		}
	}
	return out.Bytes(), nil
}

// jqLine is one result as gh prints it.
func jqLine(v any) ([]byte, error) {
	if s, ok := v.(string); ok {
		return append([]byte(s), '\n'), nil
	}
	b, err := gojq.Marshal(v)
	if err != nil {
		return nil, fail.Configf("--jq: %w", err)
	}
	return append(b, '\n'), nil
}

// normalize turns json.Number into the int or float64 gojq works on.
func normalize(v any) (any, error) {
	switch x := v.(type) {
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return int(i), nil
		}
		return x.Float64()
	case []any:
		for i := range x {
			n, err := normalize(x[i])
			if err != nil {
				return nil, err
			}
			x[i] = n
		}
	case map[string]any:
		for k := range x {
			n, err := normalize(x[k])
			if err != nil {
				return nil, err
			}
			x[k] = n
		}
	}
	return v, nil
}
