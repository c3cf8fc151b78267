//go:build wasip1

package wasihttp

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unsafe"
)

// Transport is an http.RoundTripper over wasi:http/outgoing-handler: the
// host makes the connection (and its TLS), so there is no pool to tune.
// The request context's deadline (http.Client.Timeout sets one) becomes
// the request-options timeouts and bounds the wait for the response head;
// a host error-code comes back as an *Error in the chain.
type Transport struct{}

// methods are the cases of wasi:http/types.method, in WIT order.
var methods = [...]string{
	http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodDelete,
	http.MethodConnect, http.MethodOptions, http.MethodTrace, http.MethodPatch,
}

func methodTag(m string) uint32 {
	for i, s := range methods {
		if s == m {
			return uint32(i)
		}
	}
	return uint32(len(methods)) // other(string)
}

// RoundTrip sends req through the host and returns the response with its
// body streaming from the host. It does not follow redirects (http.Client
// does).
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.roundTrip(req)
	if err != nil && req.Body != nil {
		req.Body.Close()
	}
	return resp, err
}

func (t *Transport) roundTrip(req *http.Request) (*http.Response, error) {
	if req.URL == nil || req.URL.Host == "" {
		return nil, errors.New("wasihttp: request URL has no host")
	}
	ctx := req.Context()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	h := req.Header.Clone()
	if h == nil {
		h = http.Header{}
	}
	if req.ContentLength > 0 && h.Get("Content-Length") == "" {
		h.Set("Content-Length", strconv.FormatInt(req.ContentLength, 10))
	}
	fields, err := newFields(h)
	if err != nil {
		return nil, err
	}
	or := outgoingRequestNew(fields)
	if err := setRequestHead(or, req); err != nil {
		outgoingRequestDrop(or)
		return nil, err
	}
	begin()
	outgoingRequestBody(or, ret())
	r := retBytes()
	end()
	if u8(r, 0) != 0 {
		outgoingRequestDrop(or)
		return nil, errors.New("wasihttp: outgoing-request body already taken")
	}
	body := u32(r, 4)

	deadline, hasDeadline := ctx.Deadline()
	var hasOpts, opts uint32
	if hasDeadline {
		d := time.Until(deadline)
		if d <= 0 {
			outgoingBodyDrop(body)
			outgoingRequestDrop(or)
			return nil, fmt.Errorf("wasihttp: %s %s: %w", req.Method, req.URL.Redacted(), ctx.Err())
		}
		opts = requestOptionsNew()
		hasOpts = 1
		ns := uint64(d.Nanoseconds())
		// A host may refuse an option (result is err); the poll below still
		// bounds the wait, so the refusal is not an error.
		_ = requestOptionsSetConnectTimeout(opts, 1, ns)
		_ = requestOptionsSetFirstByteTimeout(opts, 1, ns)
		_ = requestOptionsSetBetweenBytesTimeout(opts, 1, ns)
	}
	begin()
	outgoingHandlerHandle(or, hasOpts, opts, ret())
	end()
	r = retBytes()
	if u8(r, 0) != 0 {
		e := liftErrorCode(r, 8)
		outgoingBodyDrop(body)
		return nil, fmt.Errorf("%s %s: %w", req.Method, req.URL.Redacted(), e)
	}
	future := u32(r, 8)
	var src io.Reader
	if req.Body != nil && req.Body != http.NoBody {
		src = req.Body
	}
	if err := writeBody(body, src); err != nil {
		futureIncomingResponseDrop(future)
		return nil, fmt.Errorf("%s %s: send body: %w", req.Method, req.URL.Redacted(), err)
	}
	if req.Body != nil {
		req.Body.Close()
	}
	resp, err := await(future, deadline, hasDeadline)
	futureIncomingResponseDrop(future)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", req.Method, req.URL.Redacted(), err)
	}
	return responseOf(resp, req)
}

// setRequestHead sets method, scheme, authority and path-with-query.
func setRequestHead(or uint32, req *http.Request) error {
	method := req.Method
	if method == "" {
		method = http.MethodGet
	}
	tag := methodTag(method)
	mp, mn := strPtr(method)
	if tag != uint32(len(methods)) {
		mp, mn = nil, 0
	}
	if outgoingRequestSetMethod(or, tag, mp, mn) != 0 {
		return fmt.Errorf("wasihttp: method %q refused by the host", method)
	}
	var stag uint32
	var sp unsafe.Pointer
	var sn uint32
	switch strings.ToLower(req.URL.Scheme) {
	case "http":
		stag = 0
	case "https", "":
		stag = 1
	default:
		stag = 2
		sp, sn = strPtr(req.URL.Scheme)
	}
	if outgoingRequestSetScheme(or, 1, stag, sp, sn) != 0 {
		return fmt.Errorf("wasihttp: scheme %q refused by the host", req.URL.Scheme)
	}
	authority := req.Host
	if authority == "" {
		authority = req.URL.Host
	}
	ap, an := strPtr(authority)
	if outgoingRequestSetAuthority(or, 1, ap, an) != 0 {
		return fmt.Errorf("wasihttp: authority %q refused by the host", authority)
	}
	path := req.URL.RequestURI()
	pp, pn := strPtr(path)
	if outgoingRequestSetPathWithQuery(or, 1, pp, pn) != 0 {
		return errors.New("wasihttp: path refused by the host")
	}
	return nil
}

// errTimeout is the wait for a response head running past the deadline.
var errTimeout = &Error{Code: "HTTP-response-timeout", Detail: "no response before the request's deadline"}

// await blocks until the future resolves or the deadline passes, and
// returns the incoming-response handle.
func await(future uint32, deadline time.Time, hasDeadline bool) (uint32, error) {
	sub := futureIncomingResponseSubscribe(future)
	defer pollableDrop(sub)
	for {
		begin()
		futureIncomingResponseGet(future, ret())
		end()
		r := retBytes()
		if u8(r, 0) != 0 { // some
			if u8(r, 8) != 0 {
				return 0, errors.New("wasihttp: response already taken")
			}
			if u8(r, 16) != 0 {
				return 0, liftErrorCode(r, 24)
			}
			return u32(r, 24), nil
		}
		if !hasDeadline {
			list := [1]uint32{sub}
			begin()
			poll(unsafe.Pointer(&list[0]), 1, ret())
			end()
			continue
		}
		d := time.Until(deadline)
		if d <= 0 {
			return 0, errTimeout
		}
		timer := monotonicSubscribeDuration(uint64(d.Nanoseconds()))
		list := [2]uint32{sub, timer}
		begin()
		poll(unsafe.Pointer(&list[0]), 2, ret())
		end()
		pollableDrop(timer)
	}
}

// responseOf makes the *http.Response of an incoming-response.
func responseOf(resp uint32, req *http.Request) (*http.Response, error) {
	status := int(incomingResponseStatus(resp) & 0xffff)
	fields := incomingResponseHeaders(resp)
	h := headerOf(fields)
	fieldsDrop(fields)
	begin()
	incomingResponseConsume(resp, ret())
	r := retBytes()
	end()
	if u8(r, 0) != 0 {
		incomingResponseDrop(resp)
		return nil, errors.New("wasihttp: response body already taken")
	}
	body, err := newBodyReader(u32(r, 4), func() { incomingResponseDrop(resp) })
	if err != nil {
		return nil, err
	}
	cl := int64(-1)
	if v := h.Get("Content-Length"); v != "" {
		if n, err := strconv.ParseInt(v, 10, 64); err == nil && n >= 0 {
			cl = n
		}
	}
	return &http.Response{
		Status:        fmt.Sprintf("%d %s", status, http.StatusText(status)),
		StatusCode:    status,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        h,
		Body:          body,
		ContentLength: cl,
		Request:       req,
	}, nil
}
