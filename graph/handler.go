package graph

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/99designs/gqlgen/graphql/handler/extension"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"wxtodo/errcode"
	"wxtodo/graph/model"
	"wxtodo/todo"
	"wxtodo/wxdata"
)

// Options configure the GraphQL handler.
type Options struct {
	Log *slog.Logger
	// Introspection enables __schema and __type queries (the playground
	// and code generators need them).
	Introspection bool
	// ComplexityLimit caps an operation's cost (see complexity below); 0
	// means DefaultComplexityLimit.
	ComplexityLimit int
	// MaxDepth caps selection nesting; 0 means DefaultMaxDepth.
	MaxDepth int
	// MaxFields caps aliased fields and root fields; 0 means DefaultMaxFields.
	MaxAliases    int
	MaxRootFields int
	// NewDocumentShare is the share of one CPU that parsing and validating
	// documents not seen before may take; 0 means
	// DefaultNewDocumentShare.
	NewDocumentShare float64
	// DocumentLimits, when set, replace DefaultDocumentLimits.
	DocumentLimits *DocumentLimits
	// Observer, when set, learns of every operation (metrics).
	Observer OperationObserver
	// Live, when set, serves subscriptions over WebSocket and SSE.
	Live *LiveOptions
}

// Default limits. A full page (todos(first: 100) with every field) costs
// about 1,200: two fit in one request, and a client that needs more is
// doing something else.
const (
	DefaultComplexityLimit = 3000
	DefaultMaxDepth        = 15 // GraphiQL's introspection query reaches 13
	DefaultMaxAliases      = 15
	DefaultMaxRootFields   = 10
	// MaxTokens bounds a document's size in lexical tokens, and so what
	// parsing costs; GraphiQL's introspection query has 184.
	MaxTokens = 1000
	// MaxCachedQuery is the longest document text the caches keep, and
	// CacheTextBudget the text each cache keeps in all (a parsed document
	// takes some 30 times its text).
	MaxCachedQuery  = 4 << 10
	CacheTextBudget = 256 << 10
)

// NewHandler returns the GraphQL-over-HTTP handler for /query.
func NewHandler(r *Resolver, opt Options) *handler.Server {
	log := opt.Log
	if log == nil {
		log = slog.Default()
	}
	cfg := Config{Resolvers: r}
	cfg.Directives.Auth = authDirective
	setComplexity(&cfg.Complexity)

	es := NewExecutableSchema(cfg)
	srv := handler.New(es)
	if opt.Observer != nil {
		srv.Use(observe{opt.Observer})
	}
	// Parsing stops past MaxTokens; the document limits then bound what
	// validation may cost (see DocumentLimits).
	srv.SetParserTokenLimit(MaxTokens)
	// Documents are cached by their text, within a budget of text, so a
	// flood of large distinct documents cannot pin memory.
	validated := newTextCache[*ast.QueryDocument](1000, CacheTextBudget)
	srv.SetQueryCache(validated)
	// New documents pass a lane that checks them against the document
	// limits and keeps their cost to a share of one CPU. GET serves
	// automatic persisted queries, so a phone can send a short hash
	// instead of the document.
	docLimits := DefaultDocumentLimits
	if opt.DocumentLimits != nil {
		docLimits = *opt.DocumentLimits
	}
	lane := newLane(opt.NewDocumentShare, validated, func(q string) *gqlerror.Error { return docLimits.checkText(q, MaxTokens) })
	if opt.Live != nil {
		// Documents sent over a socket or a stream pass the lane too.
		srv.AddTransport(lane.admit(newWebsocketTransport(*opt.Live, log)))
		srv.AddTransport(lane.admit(sseTransport{SSE: transport.SSE{KeepAlivePingInterval: orDefaultDuration(opt.Live.KeepAlive, DefaultKeepAlive)}, writeTimeout: opt.Live.WriteTimeout}))
	}
	srv.AddTransport(lane.admit(getTransport{tags: &listTags{version: r.TodoService.ListVersion}}))
	srv.AddTransport(lane.admit(transport.POST{}))
	srv.AddTransport(unsupported{})
	srv.Use(extension.AutomaticPersistedQuery{Cache: newTextCache[string](1000, CacheTextBudget)})
	if opt.Introspection {
		srv.Use(extension.Introspection{})
	} else {
		// Without introspection the schema is not public: no field, type,
		// argument or enum value is suggested, and __schema and __type
		// are refused before they run.
		srv.SetDisableSuggestion(true)
		srv.Use(noIntrospection{})
	}
	srv.SetValidationRulesFn(validationRules(opt.Introspection))
	srv.Use(strictVariables{schema: es.Schema()})
	srv.Use(&limits{
		maxDepth:      orDefault(opt.MaxDepth, DefaultMaxDepth),
		maxAliases:    orDefault(opt.MaxAliases, DefaultMaxAliases),
		maxRootFields: orDefault(opt.MaxRootFields, DefaultMaxRootFields),
	})
	srv.Use(extension.FixedComplexityLimit(orDefault(opt.ComplexityLimit, DefaultComplexityLimit)))
	// Each request gets its own allowance of WeChat calls, so aliases
	// cannot multiply them.
	srv.AroundOperations(func(ctx context.Context, next graphql.OperationHandler) graphql.ResponseHandler {
		return next(wxdata.WithCallBudget(ctx))
	})
	var streamTimeout time.Duration
	if opt.Live != nil {
		streamTimeout = opt.Live.RequestTimeout
	}
	srv.AroundOperations(subscriptionsStream(streamTimeout))
	srv.SetErrorPresenter(errorPresenter(log))
	srv.SetRecoverFunc(func(ctx context.Context, p any) error {
		log.ErrorContext(ctx, "panic in resolver", "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
		return errPanic
	})
	return srv
}

var errPanic = errors.New("panic in resolver")

func orDefaultDuration(v, def time.Duration) time.Duration {
	if v > 0 {
		return v
	}
	return def
}

func orDefault(v, def int) int {
	if v > 0 {
		return v
	}
	return def
}

// setComplexity gives list fields a cost that grows with the page size.
func setComplexity(c *ComplexityRoot) {
	c.Query.Todos = func(child int, _ *todo.Filter, first *int, _ *string) int {
		n := todo.DefaultPageSize
		if first != nil && *first > 0 {
			n = min(*first, todo.MaxPageSize)
		}
		return 1 + n*child
	}
	// login calls WeChat and writes: dear, so few fit in one request.
	c.Mutation.Login = func(child int, _ model.LoginInput) int { return 100 + child }
}

// errorPresenter turns errors into what clients see: application errors
// keep their code and message; anything else is logged and becomes a bare
// INTERNAL_SERVER_ERROR.
func errorPresenter(log *slog.Logger) graphql.ErrorPresenterFunc {
	return func(ctx context.Context, err error) *gqlerror.Error {
		gerr := graphql.DefaultErrorPresenter(ctx, err)
		if e := errcode.As(err); e != nil {
			switch {
			case e.Code == errcode.WeChatUnavailable || e.Code == errcode.Unavailable:
				log.WarnContext(ctx, "dependency unavailable", "code", e.Code, "err", e.Err, "path", gerr.Path.String())
			case e.Reason == errcode.ReasonRejected:
				// Not the user's doing (e.g. 40013 invalid appid): the
				// operator must see it.
				log.WarnContext(ctx, "WeChat rejected the server's request", "err", e.Err, "path", gerr.Path.String())
			}
			return &gqlerror.Error{Message: e.Message, Path: gerr.Path, Locations: gerr.Locations, Extensions: e.Extensions()}
		}
		if errors.Is(err, context.Canceled) {
			// The client went away; nobody reads this answer.
			log.InfoContext(ctx, "request cancelled", "path", gerr.Path.String())
			return &gqlerror.Error{Message: "request cancelled", Path: gerr.Path, Extensions: map[string]any{"code": errcode.Timeout}}
		}
		if errors.Is(err, context.DeadlineExceeded) {
			log.WarnContext(ctx, "request deadline exceeded", "path", gerr.Path.String())
			return &gqlerror.Error{
				Message:    "the request took too long",
				Path:       gerr.Path,
				Extensions: map[string]any{"code": errcode.Timeout},
			}
		}
		var own *gqlerror.Error
		if errors.As(err, &own) && own.Err == nil {
			// gqlgen's own errors: parsing, validation, argument coercion.
			if gerr.Extensions == nil {
				gerr.Extensions = map[string]any{}
			}
			if _, ok := gerr.Extensions["code"]; !ok {
				gerr.Extensions["code"] = errcode.BadUserInput
			}
			return gerr
		}
		log.ErrorContext(ctx, "internal error", "err", err, "path", gerr.Path.String())
		return &gqlerror.Error{
			Message:    "internal server error",
			Path:       gerr.Path,
			Extensions: map[string]any{"code": errcode.Internal},
		}
	}
}
