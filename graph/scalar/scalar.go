// Package scalar provides GraphQL marshalers for domain types that gqlgen
// does not map by itself.
package scalar

import (
	"fmt"
	"io"
	"strconv"

	"github.com/99designs/gqlgen/graphql"
)

// MarshalInt64ID writes an int64 ID as the GraphQL ID it is: a string.
func MarshalInt64ID(id int64) graphql.Marshaler {
	return graphql.WriterFunc(func(w io.Writer) {
		io.WriteString(w, `"`+strconv.FormatInt(id, 10)+`"`) //nolint:errcheck // gqlgen's writers report errors elsewhere
	})
}

// UnmarshalInt64ID reads an ID argument into an int64.
func UnmarshalInt64ID(v any) (int64, error) {
	switch v := v.(type) {
	case string:
		return strconv.ParseInt(v, 10, 64)
	case int64:
		return v, nil
	case int:
		return int64(v), nil
	default:
		return 0, fmt.Errorf("%T is not an ID", v)
	}
}
