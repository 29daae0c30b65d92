package admin

import (
	"testing"

	"wxtodo/errcode"
)

func TestMaskPhone(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"13812341234", "138****1234"},
		{"+85291234567", "+85****4567"},
		{"85291234", "******34"},
		{"1234", "****"},
		{"", ""},
	} {
		if got := MaskPhone(tt.in); got != tt.want {
			t.Errorf("MaskPhone(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestCursors(t *testing.T) {
	c := EncodeCursor("user", 42)
	if id, ok := DecodeCursor("user", c); !ok || id != 42 {
		t.Errorf("DecodeCursor(EncodeCursor(42)) = %d, %v", id, ok)
	}
	for name, bad := range map[string]string{
		"another list's": EncodeCursor("audit", 42),
		"not base64":     "%%%",
		"empty":          "",
		"too long":       EncodeCursor("user", 1) + "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		"zero":           EncodeCursor("user", 0),
	} {
		if _, ok := DecodeCursor("user", bad); ok {
			t.Errorf("%s cursor %q decoded", name, bad)
		}
	}
}

func TestOperatorNames(t *testing.T) {
	for name, ok := range map[string]bool{
		"ana": true, "support.ana@example": true, "on-call_2": true,
		"": false, "with space": false, "semi;colon": false, string(make([]byte, 65)): false,
		"-x": false, "--ttl": false, "cli": false, "CLI": false, "help": true,
	} {
		if err := checkName(name); (err == nil) != ok || err != nil && errcode.Code(err) != errcode.BadUserInput {
			t.Errorf("checkName(%q) = %v, want ok %v", name, err, ok)
		}
	}
}
