package auth

import (
	"context"
	"fmt"
	"net/http"
	"slices"

	"wxtodo/errcode"
)

// WeChat Cloud Hosting (微信云托管) puts the caller of
// wx.cloud.callContainer into these request headers; the platform sets
// them itself, so in that mode (and only in it) they are the caller's
// identity. X-WX-FROM-* name the calling app and its user when another
// app's resources are shared with this one.
const (
	HeaderSource      = "X-WX-SOURCE"
	HeaderAppID       = "X-WX-APPID"
	HeaderOpenID      = "X-WX-OPENID"
	HeaderUnionID     = "X-WX-UNIONID"
	HeaderFromAppID   = "X-WX-FROM-APPID"
	HeaderFromOpenID  = "X-WX-FROM-OPENID"
	HeaderFromUnionID = "X-WX-FROM-UNIONID"
)

// PlatformHeaders are every header the platform sets: with Cloud Hosting
// off they mean nothing (deploy/'s nginx site strips them).
var PlatformHeaders = []string{HeaderSource, HeaderAppID, HeaderOpenID, HeaderUnionID, HeaderFromAppID, HeaderFromOpenID, HeaderFromUnionID}

// platformIdentity is who the platform's headers say is calling, or nil
// when the request did not come through the platform (no X-WX-SOURCE, or
// no openid).
func platformIdentity(h http.Header) *Identity {
	if h.Get(HeaderSource) == "" {
		return nil
	}
	id := &Identity{AppID: h.Get(HeaderAppID), OpenID: h.Get(HeaderOpenID), UnionID: h.Get(HeaderUnionID)}
	if from := h.Get(HeaderFromAppID); from != "" {
		// Another app's user, through resources shared with this one.
		id = &Identity{AppID: from, OpenID: h.Get(HeaderFromOpenID), UnionID: h.Get(HeaderFromUnionID)}
	}
	if id.OpenID == "" {
		return nil
	}
	return id
}

// ErrAppNotAllowed refuses a platform identity of an app this server does
// not serve.
var errAppNotAllowed = &errcode.Error{Code: errcode.Forbidden,
	Message: "X-WX-APPID: this server does not serve the calling mini-program (see WECHAT_APPID or WECHAT_APPS)"}

// platformCaller is the caller a platform identity names: the user of that
// openid, created on first sight as a first login creates one (the
// unionid kept when the headers carry it). It has no session.
func (s *Service) platformCaller(ctx context.Context, id Identity) (*Caller, error) {
	if !slices.Contains(s.PlatformAppIDs, id.AppID) {
		return nil, errAppNotAllowed
	}
	if err := checkIdentity(id); err != nil {
		return nil, err
	}
	in, err := s.Store.IdentifyUser(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("identify platform caller: %w", err)
	}
	s.logMerge(ctx, id.AppID, in.Merged)
	return &Caller{User: in.User, AppID: id.AppID}, nil
}

// checkIdentity bounds what the headers may carry: the platform's openids
// and unionids are 28 characters; anything far longer is no platform's.
func checkIdentity(id Identity) error {
	for name, v := range map[string]string{HeaderOpenID: id.OpenID, HeaderUnionID: id.UnionID} {
		if len(v) > 128 {
			return &errcode.Error{Code: errcode.BadRequest, Message: name + " is longer than any the platform sends"}
		}
	}
	return nil
}
