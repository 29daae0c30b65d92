package wechat

import "testing"

// The example of "用户登录态签名" in WeChat's docs
// (https://developers.weixin.qq.com/minigame/dev/tutorial/open-ability/session-signature.html):
// it shows that the key is the session_key's base64 text, not its bytes.
func TestSignSessionDocExample(t *testing.T) {
	const want = "654571f79995b2ce1e149e53c0a33dc39c0a74090db514261454e8dbe432aa0b"
	if got := signSession("o0q0otL8aEzpcZL/FT9WsQ==", []byte(`{"foo":"bar"}`)); got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}

func TestUnpad(t *testing.T) {
	block := func(tail ...byte) []byte {
		b := make([]byte, 32)
		copy(b[32-len(tail):], tail)
		return b
	}
	tests := []struct {
		name  string
		in    []byte
		wantN int
		ok    bool
	}{
		{"one byte", block(1), 31, true},
		{"three bytes", block(3, 3, 3), 29, true},
		{"whole block", append(make([]byte, 16), block(16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16)[16:]...), 16, true},
		{"zero", block(0), 0, false},
		{"seventeen", block(17), 0, false},
		{"unequal", block(2, 3, 3), 0, false},
		{"one wrong byte in a whole block", append(make([]byte, 16), block(15, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16)[16:]...), 0, false},
	}
	for _, tt := range tests {
		n, ok := unpad(tt.in)
		if ok != tt.ok || (ok && n != tt.wantN) {
			t.Errorf("%s: got (%d, %v), want (%d, %v)", tt.name, n, ok, tt.wantN, tt.ok)
		}
	}
}
