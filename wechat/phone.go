package wechat

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
)

// PhoneInfo is the phone number a user chose to share.
type PhoneInfo struct {
	PhoneNumber     string // with the country code for numbers outside China
	PurePhoneNumber string // without the country code
	CountryCode     string // e.g. "86"
}

type phoneNumberRequest struct {
	Code   string `json:"code"`
	OpenID string `json:"openid,omitempty"`
}

// flexString accepts a JSON string or number: WeChat documents countryCode
// as a string but its own example sends a number.
type flexString string

func (s *flexString) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var v string
		if err := json.Unmarshal(b, &v); err != nil {
			return err
		}
		*s = flexString(v)
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return err
	}
	*s = flexString(n)
	return nil
}

// PhoneNumber trades the code from <button open-type="getPhoneNumber"> for
// the user's phone number (/wxa/business/getuserphonenumber). Passing the
// caller's openid makes WeChat check that the code was issued to that
// user. It returns a *Error for a refusal (IsAccessTokenInvalid tells when
// to fetch a token again), an error wrapping ErrWatermark when the answer
// is for another app, and one wrapping ErrUnavailable otherwise.
func (c *Client) PhoneNumber(ctx context.Context, accessToken, code, openid string) (*PhoneInfo, error) {
	body, err := json.Marshal(phoneNumberRequest{Code: code, OpenID: openid})
	if err != nil {
		return nil, fmt.Errorf("encode getuserphonenumber request: %w", err)
	}
	var info *PhoneInfo
	err = c.do(ctx, &call{
		api:     "getuserphonenumber",
		method:  http.MethodPost,
		url:     c.baseURL + "/wxa/business/getuserphonenumber?" + c.withToken("", accessToken),
		body:    body,
		secrets: []string{accessToken, code, c.secret},
		// A phone code is single-use too.
		usedCodes: []int{CodeInvalidCode, CodeCodeUsed},
		decode: func(body []byte) error {
			var r struct {
				PhoneInfo *struct {
					PhoneNumber     string     `json:"phoneNumber"`
					PurePhoneNumber string     `json:"purePhoneNumber"`
					CountryCode     flexString `json:"countryCode"`
					Watermark       struct {
						AppID string `json:"appid"`
					} `json:"watermark"`
				} `json:"phone_info"`
			}
			if err := json.Unmarshal(body, &r); err != nil {
				return unparseable(body)
			}
			p := r.PhoneInfo
			if p == nil || p.PhoneNumber == "" {
				return fmt.Errorf("%w: answer without phone_info", ErrUnavailable)
			}
			if p.Watermark.AppID != c.appID {
				return fmt.Errorf("getuserphonenumber: %w", ErrWatermark)
			}
			info = &PhoneInfo{PhoneNumber: p.PhoneNumber, PurePhoneNumber: p.PurePhoneNumber, CountryCode: string(p.CountryCode)}
			return nil
		},
	})
	if err != nil {
		return nil, err
	}
	return info, nil
}
