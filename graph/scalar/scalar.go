// Package scalar provides GraphQL marshalers for domain types that gqlgen
// does not map by itself, and leaner ones for scalars every list item
// carries.
package scalar

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/99designs/gqlgen/graphql"
)

// int64ID writes an ID without the intermediate strings of a closure.
type int64ID int64

func (id int64ID) MarshalGQL(w io.Writer) {
	var b [24]byte
	buf := append(b[:0], '"')
	buf = strconv.AppendInt(buf, int64(id), 10)
	w.Write(append(buf, '"')) //nolint:errcheck // gqlgen's writers report errors elsewhere
}

// MarshalInt64ID writes an int64 ID as the GraphQL ID it is: a string.
func MarshalInt64ID(id int64) graphql.Marshaler { return int64ID(id) }

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

// rfc3339 writes a time in RFC 3339 with as many fractional digits as it
// has, as gqlgen's Time does, formatted straight into one buffer.
type rfc3339 time.Time

func (t rfc3339) MarshalGQL(w io.Writer) {
	var b [48]byte
	buf := append(b[:0], '"')
	buf = time.Time(t).AppendFormat(buf, time.RFC3339Nano)
	w.Write(append(buf, '"')) //nolint:errcheck // gqlgen's writers report errors elsewhere
}

// MarshalTime writes the Time scalar (RFC 3339).
func MarshalTime(t time.Time) graphql.Marshaler {
	if t.IsZero() {
		return graphql.Null
	}
	return rfc3339(t)
}

// UnmarshalTime reads a Time argument in RFC 3339.
func UnmarshalTime(v any) (time.Time, error) {
	s, ok := v.(string)
	if !ok {
		return time.Time{}, errors.New("time must be an RFC 3339 string")
	}
	return time.Parse(time.RFC3339Nano, s)
}

// rawJSON writes a JSON value as it is.
type rawJSON json.RawMessage

func (j rawJSON) MarshalGQL(w io.Writer) {
	w.Write(j) //nolint:errcheck // gqlgen's writers report errors elsewhere
}

// MarshalJSON writes the JSON scalar: the value itself, not a string
// holding it. The value must be valid JSON (the resolver's duty); empty is
// null.
func MarshalJSON(v json.RawMessage) graphql.Marshaler {
	if len(v) == 0 {
		return graphql.Null
	}
	return rawJSON(v)
}

// UnmarshalJSON reads a JSON scalar argument.
func UnmarshalJSON(v any) (json.RawMessage, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("not a JSON value: %w", err)
	}
	return b, nil
}
