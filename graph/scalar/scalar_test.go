package scalar

import (
	"bytes"
	"strconv"
	"testing"
	"time"

	"github.com/99designs/gqlgen/graphql"
)

func TestMarshalersMatchGQLGen(t *testing.T) {
	for _, tm := range []time.Time{
		time.Date(2026, 11, 21, 8, 30, 0, 0, time.UTC),
		time.Date(2026, 11, 21, 8, 30, 0, 123456000, time.UTC),
		time.Date(1999, 1, 2, 3, 4, 5, 6, time.FixedZone("CST", 8*3600)),
	} {
		var got, want bytes.Buffer
		MarshalTime(tm).MarshalGQL(&got)
		graphql.MarshalTime(tm).MarshalGQL(&want)
		if got.String() != want.String() {
			t.Errorf("MarshalTime(%v): got %s, want %s", tm, got.String(), want.String())
		}
		back, err := UnmarshalTime(got.String()[1 : got.Len()-1])
		if err != nil || !back.Equal(tm) {
			t.Errorf("UnmarshalTime(%s): got %v, %v, want %v", got.String(), back, err, tm)
		}
	}
	for _, id := range []int64{0, 1, 42, -7, 9223372036854775807} {
		var got bytes.Buffer
		MarshalInt64ID(id).MarshalGQL(&got)
		if want := strconv.Quote(strconv.FormatInt(id, 10)); got.String() != want {
			t.Errorf("MarshalInt64ID(%d): got %s, want %s", id, got.String(), want)
		}
		if n, err := UnmarshalInt64ID(got.String()[1 : got.Len()-1]); err != nil || n != id {
			t.Errorf("ID %d: wrote %s, read back %d, %v", id, got.String(), n, err)
		}
	}
}
