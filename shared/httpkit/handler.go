package httpkit

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"
	"time"
)

// HandlerFunc is a billing function's handler: it writes a response or
// returns an error that Handle turns into the JSON error body.
type HandlerFunc func(w http.ResponseWriter, r *http.Request) error

// errorBody is the JSON error body of the contract.
type errorBody struct {
	Error   string `json:"error"`
	Message string `json:"message"`
}

// Handle adapts fn to an http.Handler: errors become the JSON error body
// with their status; 5xx causes are logged at error level, 4xx at info.
func Handle(fn HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := fn(w, r); err != nil {
			WriteError(w, r, err)
		}
	})
}

// WriteError logs err with the request's context and writes its JSON body.
// 5xx causes are logged at error level, unless the client had gone away
// (its request's context was cancelled): then at info, as abandoned.
func WriteError(w http.ResponseWriter, r *http.Request, err error) {
	e := AsError(err)
	log := Logger(r.Context())
	attrs := []any{"status", e.Status, "code", e.Code}
	if e.Cause != nil {
		attrs = append(attrs, "cause", e.Cause.Error())
	}
	switch {
	case errors.Is(r.Context().Err(), context.Canceled):
		// The client went away (closed the connection, gave up): whatever
		// failed after that is not the function's failure, and nobody
		// reads the answer. Logged apart so that the error alarm does not
		// fire on impatient clients.
		log.InfoContext(r.Context(), "request abandoned by the client", attrs...)
	case e.Status >= 500:
		log.ErrorContext(r.Context(), "request failed", attrs...)
	default:
		log.InfoContext(r.Context(), "request rejected", attrs...)
	}
	if e.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(e.RetryAfter))
	}
	if e.Status == http.StatusMethodNotAllowed && w.Header().Get("Allow") == "" {
		allow := "POST, OPTIONS"
		if len(e.allow) > 0 {
			allow = strings.Join(e.allow, ", ") + ", OPTIONS"
		}
		w.Header().Set("Allow", allow)
	}
	WriteJSON(w, e.Status, errorBody{Error: e.Code, Message: e.Message})
}

// JSONAppender is a body that writes itself as valid, compact JSON
// (access.Result): WriteJSON appends it as it is, without encoding/json's
// reflection, check and compaction.
type JSONAppender interface {
	AppendJSON(dst []byte) []byte
}

// WriteJSON writes v as a JSON response with status.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	var b []byte
	var err error
	if a, ok := v.(JSONAppender); ok {
		b = a.AppendJSON(make([]byte, 0, 512))
	} else {
		b, err = json.Marshal(v)
	}
	if err != nil {
		status = http.StatusInternalServerError
		b = []byte(`{"error":"internal_error","message":"An internal error occurred. Please try again."}`)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

// Methods rejects a request whose method is not one of allowed with 405
// method_not_allowed. OPTIONS is answered earlier by CORS.
func Methods(r *http.Request, allowed ...string) error {
	for _, m := range allowed {
		if r.Method == m {
			return nil
		}
	}
	return &Error{Status: http.StatusMethodNotAllowed, Code: CodeMethodNotAllowed,
		Message: fmt.Sprintf("Method %s is not allowed here; use %s.", r.Method, strings.Join(allowed, " or ")),
		allow:   allowed}
}

type ctxKey int

const (
	loggerKey ctxKey = iota
	requestIDKey
	platformRequestIDKey
	functionKey
)

// FunctionName returns the URL name of the function serving the request,
// as given to Middleware, or "".
func FunctionName(ctx context.Context) string {
	s, _ := ctx.Value(functionKey).(string)
	return s
}

// Logger returns the request's logger (with request ID and function name),
// or slog.Default.
func Logger(ctx context.Context) *slog.Logger {
	if l, ok := ctx.Value(loggerKey).(*slog.Logger); ok {
		return l
	}
	return slog.Default()
}

// WithLogger returns ctx carrying l.
func WithLogger(ctx context.Context, l *slog.Logger) context.Context {
	return context.WithValue(ctx, loggerKey, l)
}

// RequestID returns the request ID assigned by Middleware, if any.
func RequestID(ctx context.Context) string {
	s, _ := ctx.Value(requestIDKey).(string)
	return s
}

// statusRecorder remembers the status a handler wrote.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

// Middleware wraps a function's handler with what every function needs:
// a request ID, a logger in the context, panic recovery into a 500 JSON
// body, and one access log line per request. It does not do CORS; see CORS.
//
// The request ID is ours: the platform's (API Gateway's or Lambda's, put in
// the context by the Lambda adapter with WithPlatformRequestID), else a
// generated one. A client's X-Request-Id never replaces it, in the logs or in
// the answer's X-Request-Id; it is logged, bounded and sanitized, as
// client_request_id, so that a client's report can still be found.
func Middleware(function string, base *slog.Logger, next http.Handler) http.Handler {
	if base == nil {
		base = slog.Default()
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := platformRequestID(r.Context())
		if id == "" {
			id = newRequestID()
		}
		log := base.With("function", function, "request_id", id)
		if client := clientRequestID(r.Header.Get("X-Request-Id")); client != "" {
			log = log.With("client_request_id", client)
		}
		ctx := context.WithValue(WithLogger(r.Context(), log), requestIDKey, id)
		ctx = context.WithValue(ctx, functionKey, function)
		r = r.WithContext(ctx)
		w.Header().Set("X-Request-Id", id)
		rec := &statusRecorder{ResponseWriter: w}
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				log.ErrorContext(ctx, "panic", "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
				if rec.status == 0 {
					WriteError(rec, r, Internal(errors.New("panic")))
				}
			}
			log.InfoContext(ctx, "request", "method", r.Method, "path", r.URL.Path,
				"status", rec.status, "duration_ms", time.Since(start).Milliseconds())
		}()
		next.ServeHTTP(rec, r)
	})
}

// maxClientRequestID bounds the client's X-Request-Id in a log line.
const maxClientRequestID = 64

// clientRequestID returns the client's X-Request-Id cut to
// maxClientRequestID bytes, with anything but printable ASCII replaced by
// '_', so that it cannot forge or break a log line.
func clientRequestID(raw string) string {
	if len(raw) > maxClientRequestID {
		raw = raw[:maxClientRequestID]
	}
	b := []byte(raw)
	for i, c := range b {
		if c < 0x21 || c > 0x7e {
			b[i] = '_'
		}
	}
	return string(b)
}

// WithPlatformRequestID returns ctx carrying the request ID the platform
// (API Gateway, Lambda) gave the request; Middleware uses it as the
// request ID. An empty or overlong id is ignored.
func WithPlatformRequestID(ctx context.Context, id string) context.Context {
	if id == "" || len(id) > 128 {
		return ctx
	}
	return context.WithValue(ctx, platformRequestIDKey, id)
}

func platformRequestID(ctx context.Context) string {
	s, _ := ctx.Value(platformRequestIDKey).(string)
	return s
}

func newRequestID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
