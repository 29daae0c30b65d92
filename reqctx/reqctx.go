// Package reqctx carries a request's ID and client address through the
// context, and provides a slog handler that stamps every log record made
// with such a context with the request ID.
package reqctx

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
)

type key struct{}

// info is what a request carries: one context value, so lookups of other
// values do not walk past two.
type info struct {
	id, clientIP string
}

// With returns ctx carrying the request ID and the client's IP address.
func With(ctx context.Context, id, clientIP string) context.Context {
	return context.WithValue(ctx, key{}, info{id: id, clientIP: clientIP})
}

// ID returns the request ID in ctx, or "".
func ID(ctx context.Context) string {
	in, _ := ctx.Value(key{}).(info)
	return in.id
}

// NewID returns a random request ID.
func NewID() string {
	var b [8]byte
	rand.Read(b[:]) //nolint:errcheck // crypto/rand never fails on supported platforms
	return hex.EncodeToString(b[:])
}

// ClientIP returns the client IP in ctx, or "".
func ClientIP(ctx context.Context) string {
	in, _ := ctx.Value(key{}).(info)
	return in.clientIP
}

// LogHandler adds the request ID of the record's context to every record.
type LogHandler struct {
	slog.Handler
}

// Handle implements slog.Handler.
func (h LogHandler) Handle(ctx context.Context, r slog.Record) error {
	if id := ID(ctx); id != "" {
		r.AddAttrs(slog.String("request_id", id))
	}
	return h.Handler.Handle(ctx, r)
}

// WithAttrs implements slog.Handler.
func (h LogHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return LogHandler{h.Handler.WithAttrs(as)}
}

// WithGroup implements slog.Handler.
func (h LogHandler) WithGroup(name string) slog.Handler {
	return LogHandler{h.Handler.WithGroup(name)}
}
