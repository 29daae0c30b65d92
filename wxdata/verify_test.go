package wxdata_test

import (
	"crypto/sha1"
	"encoding/hex"
	"strings"
	"testing"

	"wxtodo/apitest"
	"wxtodo/db/dbtest"
	"wxtodo/wechat/wechattest"
)

// verifyVars are the variables of verifyQuery.
func verifyVars(raw, sig string) apitest.Option {
	return apitest.Vars(map[string]any{"raw": raw, "sig": sig})
}

// sha1Hex is the lower-case hex of sha1(s).
func sha1Hex(s string) string {
	sum := sha1.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}

func TestVerifyUserData(t *testing.T) {
	dbtest.EachDB(t, func(t *testing.T, url string) {
		s := apitest.New(t, url, apitest.Options{})
		token, _ := s.Login(t, "fred")
		raw := `{"nickName":"Fred","gender":0,"language":"zh_CN","city":"","province":"","country":"","avatarUrl":"https://example.com/a.png"}`
		sig := sha1Hex(raw + wechattest.SessionKey("fred"))
		cases := []struct {
			name, raw, sig string
			want           bool
		}{
			{"WeChat's signature", raw, sig, true},
			{"upper-case hex", raw, strings.ToUpper(sig), true},
			{"rawData changed", raw + " ", sig, false},
			{"signature changed", raw, "0" + sig[1:], false},
			{"sha1 of rawData alone", raw, sha1Hex(raw), false},
			{"empty", "", "", false},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				var got struct{ VerifyUserData bool }
				s.OK(t, verifyQuery, &got, apitest.As(token), verifyVars(c.raw, c.sig))
				if got.VerifyUserData != c.want {
					t.Errorf("got %v, want %v", got.VerifyUserData, c.want)
				}
			})
		}
		var m struct{ VerifyUserData bool }
		s.OK(t, `mutation($raw: String!, $sig: String!) { verifyUserData(input: {rawData: $raw, signature: $sig}) }`, &m, apitest.As(token), verifyVars(raw, sig))
		if !m.VerifyUserData {
			t.Errorf("Mutation.verifyUserData: got false, want true as Query.verifyUserData")
		}
		s.Fails(t, verifyQuery, "UNAUTHENTICATED", verifyVars(raw, sig))
	})
}
