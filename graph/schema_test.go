package graph

import (
	"slices"
	"strings"
	"testing"

	"github.com/vektah/gqlparser/v2/ast"

	"wxtodo/errcode"
	"wxtodo/wechat"
)

// TestSchemaIsDescribed checks that every type, field, argument, input
// field and enum value of the schema carries a description, since client
// teams read the schema (and generated code) as the API's documentation.
func TestSchemaIsDescribed(t *testing.T) {
	schema := NewExecutableSchema(Config{Resolvers: &Resolver{}}).Schema()
	for name, def := range schema.Types {
		if strings.HasPrefix(name, "__") || def.BuiltIn {
			continue
		}
		if strings.TrimSpace(def.Description) == "" {
			t.Errorf("type %s has no description", name)
		}
		for _, f := range def.Fields {
			if strings.HasPrefix(f.Name, "__") {
				continue
			}
			if strings.TrimSpace(f.Description) == "" {
				t.Errorf("%s.%s has no description", name, f.Name)
			}
			for _, a := range f.Arguments {
				if strings.TrimSpace(a.Description) == "" {
					t.Errorf("argument %s.%s(%s) has no description", name, f.Name, a.Name)
				}
			}
		}
		for _, v := range def.EnumValues {
			if strings.TrimSpace(v.Description) == "" {
				t.Errorf("enum value %s.%s has no description", name, v.Name)
			}
		}
	}
	for name, d := range schema.Directives {
		if d.Position != nil && d.Position.Src != nil && d.Position.Src.BuiltIn {
			continue
		}
		if strings.TrimSpace(d.Description) == "" {
			t.Errorf("directive @%s has no description", name)
		}
	}
}

// TestSchemaDocumentsEveryErrorCode checks the ErrorCode and ErrorReason
// enums against the codes the server can send.
func TestSchemaDocumentsEveryErrorCode(t *testing.T) {
	schema := NewExecutableSchema(Config{Resolvers: &Resolver{}}).Schema()
	values := func(enum string) []string {
		def := schema.Types[enum]
		if def == nil || def.Kind != ast.Enum {
			t.Fatalf("the schema has no enum %s", enum)
		}
		var out []string
		for _, v := range def.EnumValues {
			out = append(out, v.Name)
		}
		return out
	}
	codes := values("ErrorCode")
	sent := append(slices.Clone(errcode.Codes),
		codeDepthLimit, codeAliasLimit, codeRootFieldLimit, "COMPLEXITY_LIMIT_EXCEEDED",
		"GRAPHQL_PARSE_FAILED", "GRAPHQL_VALIDATION_FAILED", "PERSISTED_QUERY_NOT_FOUND")
	for _, c := range sent {
		if !slices.Contains(codes, c) {
			t.Errorf("the server sends code %s, but enum ErrorCode does not document it", c)
		}
	}
	reasons := values("ErrorReason")
	for _, r := range []string{errcode.ReasonMissingToken, errcode.ReasonInvalidToken, errcode.ReasonExpiredToken,
		wechat.ReasonInvalidCode, wechat.ReasonRateLimited, wechat.ReasonBlockedUser, wechat.ReasonRejected} {
		if !slices.Contains(reasons, r) {
			t.Errorf("the server sends reason %s, but enum ErrorReason does not document it", r)
		}
	}
}
