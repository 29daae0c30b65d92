package todo

import (
	"encoding/base64"
	"testing"
)

func TestParseID(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"1", 1, true},
		{"9223372036854775807", 9223372036854775807, true},
		{"0", 0, false},
		{"-1", 0, false},
		{"+1", 0, false},
		{"01", 0, false},
		{"1.0", 0, false},
		{"", 0, false},
		{"abc", 0, false},
		{"9223372036854775808", 0, false},
		{"1\x00", 0, false},
	}
	for _, tt := range tests {
		got, ok := ParseID(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("ParseID(%q): got %d, %v, want %d, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestCursorRoundTrip(t *testing.T) {
	for _, id := range []int64{1, 42, 1 << 40} {
		got, ok := decodeCursor(encodeCursor(id))
		if !ok || got != id {
			t.Errorf("decodeCursor(encodeCursor(%d)): got %d, %v", id, got, ok)
		}
	}
}

func TestDecodeCursorRejectsForeignCursors(t *testing.T) {
	b64 := base64.RawURLEncoding.EncodeToString
	for _, c := range []string{"", "garbage!", b64([]byte("todo:v2:5")), b64([]byte("user:v1:5")), b64([]byte("todo:v1:x")), b64([]byte("todo:v1:0")), b64([]byte("todo:v1:-3")), "dG9kbzp2MTo0M0" /* non-canonical spelling of todo:v1:43 */} {
		if id, ok := decodeCursor(c); ok {
			t.Errorf("decodeCursor(%q): got %d, want rejection", c, id)
		}
	}
}

func FuzzDecodeCursor(f *testing.F) {
	f.Add(encodeCursor(7))
	f.Add("dG9kbzp2MTox")
	f.Add("")
	f.Fuzz(func(t *testing.T, c string) {
		id, ok := decodeCursor(c)
		if ok && (id <= 0 || encodeCursor(id) != c) {
			t.Fatalf("decodeCursor(%q) accepted %d, which does not encode back to it", c, id)
		}
	})
}
