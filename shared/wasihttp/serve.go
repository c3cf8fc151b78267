//go:build wasip1

package wasihttp

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	_ "unsafe" // for go:linkname
)

// In a reactor (-buildmode=c-shared) the runtime runs package init but not
// main.main. The first request runs it: the program's main builds its
// handler as it always does and hands it to Serve instead of listening.
var (
	handler     http.Handler
	started     bool
	inComponent bool
)

//go:linkname mainMain main.main
func mainMain()

// Serve makes h the handler of every request the component gets. A
// program's main calls it (through httpkit.Run) when InComponent is true.
func Serve(h http.Handler) { handler = h }

// InComponent reports whether the program runs as a wasi:http component,
// its main called by the first request rather than by the runtime.
func InComponent() bool { return inComponent }

// abort carries a start-up failure out of main.
type abort struct{ err error }

// Abort ends main during the component's start-up: the handler given to
// Serve before (if any) answers every request. Outside a component it
// exits with status 1, as a failed start does.
func Abort(err error) {
	if !inComponent {
		os.Exit(1)
	}
	panic(abort{err})
}

// start runs main once, turning a panic or an Abort into an answer of 500
// for every request, so a broken start cannot trap the instance.
func start() {
	started = true
	inComponent = true
	defer func() {
		r := recover()
		if r == nil {
			return
		}
		if _, ok := r.(abort); ok && handler != nil {
			return
		}
		msg := fmt.Sprint(r)
		if a, ok := r.(abort); ok {
			msg = a.err.Error()
		}
		fmt.Fprintln(os.Stderr, "wasihttp: start failed:", msg)
		handler = failed("the function did not start")
	}()
	mainMain()
	if handler == nil {
		handler = failed("the function's main returned without serving")
	}
}

func failed(msg string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusInternalServerError)
		fmt.Fprintf(w, `{"error":"internal_error","message":%q}`, msg)
	})
}

//go:wasmexport wasi:http/incoming-handler@0.2.12#handle
func handle(request, responseOut uint32) {
	if !started {
		start()
	}
	serveOne(handler, request, responseOut)
}

// serveOne runs h on one incoming-request and writes its whole response
// before returning (work left after the export returns does not run).
func serveOne(h http.Handler, request, responseOut uint32) {
	w := &responseWriter{header: http.Header{}}
	req, err := incomingRequest(request)
	if err != nil {
		incomingRequestDrop(request)
		w.header.Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusBadRequest)
		w.buf.WriteString("bad request: " + err.Error())
	} else {
		func() {
			defer func() {
				if r := recover(); r != nil {
					fmt.Fprintln(os.Stderr, "wasihttp: handler panic:", r)
					if w.status == 0 {
						w.header = http.Header{"Content-Type": {"application/json"}}
						w.WriteHeader(http.StatusInternalServerError)
						w.buf.WriteString(`{"error":"internal_error","message":"Something went wrong."}`)
					}
				}
			}()
			h.ServeHTTP(w, req)
		}()
		req.Body.Close() // drops stream, finishes the body, drops the request
	}
	if err := send(responseOut, w, req); err != nil {
		fmt.Fprintln(os.Stderr, "wasihttp: send response:", err)
	}
}

// incomingRequest reads the head of an incoming-request and wraps its body.
func incomingRequest(request uint32) (*http.Request, error) {
	begin()
	incomingRequestMethod(request, ret())
	end()
	r := retBytes()
	method := "OTHER"
	if tag := int(u8(r, 0)); tag < len(methods) {
		method = methods[tag]
	} else {
		method = liftString(r, 4)
	}
	begin()
	incomingRequestPathWithQuery(request, ret())
	end()
	path, ok := liftOptString(retBytes(), 0)
	if !ok || path == "" {
		path = "/"
	}
	begin()
	incomingRequestScheme(request, ret())
	end()
	r = retBytes()
	scheme := "http"
	if u8(r, 0) != 0 {
		switch u8(r, 4) {
		case 1:
			scheme = "https"
		case 2:
			scheme = liftString(r, 8)
		}
	}
	begin()
	incomingRequestAuthority(request, ret())
	end()
	authority, _ := liftOptString(retBytes(), 0)
	fields := incomingRequestHeaders(request)
	h := headerOf(fields)
	fieldsDrop(fields)
	if authority == "" {
		authority = h.Get("Host")
	}
	h.Del("Host")
	u, err := url.ParseRequestURI(path)
	if err != nil {
		return nil, fmt.Errorf("path: %w", err)
	}
	u.Scheme, u.Host = scheme, authority
	begin()
	incomingRequestConsume(request, ret())
	end()
	r = retBytes()
	if u8(r, 0) != 0 {
		return nil, fmt.Errorf("request body already taken")
	}
	body, err := newBodyReader(u32(r, 4), func() { incomingRequestDrop(request) })
	if err != nil {
		return nil, err
	}
	cl := int64(-1)
	if v := h.Get("Content-Length"); v != "" {
		if n, err := strconv.ParseInt(v, 10, 64); err == nil && n >= 0 {
			cl = n
		}
	} else if method == http.MethodGet || method == http.MethodHead || method == http.MethodOptions {
		cl = 0
	}
	req := (&http.Request{
		Method:        method,
		URL:           u,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        h,
		Host:          authority,
		RequestURI:    path,
		Body:          body,
		ContentLength: cl,
		RemoteAddr:    "0.0.0.0:0",
	}).WithContext(context.Background())
	return req, nil
}

// responseWriter buffers the whole response; send writes it once the
// handler returns.
type responseWriter struct {
	header http.Header
	status int
	buf    bytes.Buffer
}

func (w *responseWriter) Header() http.Header { return w.header }

func (w *responseWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
}

func (w *responseWriter) Write(p []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	return w.buf.Write(p)
}

// Flush is a no-op: the response goes out when the handler returns.
func (w *responseWriter) Flush() {}

// send sets the response on the outparam and streams its body.
func send(responseOut uint32, w *responseWriter, req *http.Request) error {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	noBody := w.status == http.StatusNoContent || w.status == http.StatusNotModified ||
		(w.status >= 100 && w.status < 200) || (req != nil && req.Method == http.MethodHead)
	if !noBody && w.header.Get("Content-Length") == "" {
		w.header.Set("Content-Length", strconv.Itoa(w.buf.Len()))
	}
	if noBody {
		w.buf.Reset()
	}
	if w.header.Get("Content-Type") == "" && w.buf.Len() > 0 {
		w.header.Set("Content-Type", http.DetectContentType(w.buf.Bytes()))
	}
	for k := range w.header {
		if strings.HasPrefix(k, http.TrailerPrefix) {
			delete(w.header, k)
		}
	}
	fields, err := newFields(w.header)
	if err != nil {
		fields = fieldsNew()
	}
	resp := outgoingResponseNew(fields)
	if outgoingResponseSetStatusCode(resp, uint32(w.status)) != 0 {
		outgoingResponseSetStatusCode(resp, http.StatusInternalServerError)
	}
	begin()
	outgoingResponseBody(resp, ret())
	end()
	r := retBytes()
	if u8(r, 0) != 0 {
		outgoingResponseDrop(resp)
		return fmt.Errorf("response body already taken")
	}
	body := u32(r, 4)
	responseOutparamSet(responseOut, 0, resp, 0, 0, 0, 0, 0, 0)
	return writeBody(body, bytes.NewReader(w.buf.Bytes()))
}
