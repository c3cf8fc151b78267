package loaddriver

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/textproto"
	"strconv"
	"strings"
	"time"
)

// conn is one sender's keep-alive HTTP/1.1 connection: the lean client the
// driver uses unless Load.Client is set. It writes each request in one
// call and reads the answer with one buffered reader, with no goroutine
// or channel per request as net/http's Transport has; on the two cores
// that also run the server and Postgres, the driver's own CPU per request
// is what it takes away from what it measures (docs/benchmarks.md).
// It speaks only what the function servers answer: a status line, header
// fields, and a body framed by Content-Length or chunked encoding.
type conn struct {
	// ctx ends the connection: a request in flight fails at once.
	ctx     context.Context
	timeout time.Duration
	stop    func() bool
	nc      net.Conn
	r       *bufio.Reader
	w       bytes.Buffer
}

// roundTrip sends req on the connection (dialing it first when needed)
// and returns the answer with its whole body read.
func (c *conn) roundTrip(req *http.Request) (*http.Response, []byte, error) {
	if req.URL.Scheme != "http" {
		return nil, nil, fmt.Errorf("loaddriver: the lean client speaks http only, not %q", req.URL.Scheme)
	}
	var body []byte
	if req.Body != nil {
		b, err := io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, nil, err
		}
		body = b
	}
	c.w.Reset()
	c.w.WriteString(req.Method)
	c.w.WriteByte(' ')
	c.w.WriteString(req.URL.RequestURI())
	c.w.WriteString(" HTTP/1.1\r\nHost: ")
	c.w.WriteString(req.URL.Host)
	c.w.WriteString("\r\n")
	for k, vs := range req.Header {
		for _, v := range vs {
			c.w.WriteString(k)
			c.w.WriteString(": ")
			c.w.WriteString(v)
			c.w.WriteString("\r\n")
		}
	}
	if body != nil || req.Method == http.MethodPost || req.Method == http.MethodPut {
		c.w.WriteString("Content-Length: ")
		c.w.WriteString(strconv.Itoa(len(body)))
		c.w.WriteString("\r\n")
	}
	c.w.WriteString("\r\n")
	c.w.Write(body)

	fresh := c.nc == nil
	if fresh {
		if err := c.dial(req.URL.Host); err != nil {
			return nil, nil, err
		}
	}
	res, resBody, err := c.exchange(req)
	if err != nil && !fresh && errors.Is(err, errReused) {
		// The server closed an idle kept-alive connection before this
		// request reached it: send it once more on a new one.
		c.close()
		if err := c.dial(req.URL.Host); err != nil {
			return nil, nil, err
		}
		res, resBody, err = c.exchange(req)
	}
	if err != nil {
		c.close()
		return nil, nil, err
	}
	if res.Close {
		c.close()
	}
	return res, resBody, nil
}

// errReused marks a failure before any byte of the answer arrived.
var errReused = errors.New("loaddriver: connection closed before the answer")

func (c *conn) dial(host string) error {
	nc, err := net.DialTimeout("tcp", host, c.timeout)
	if err != nil {
		return err
	}
	c.nc = nc
	if c.ctx != nil {
		c.stop = context.AfterFunc(c.ctx, func() { _ = nc.SetDeadline(time.Unix(1, 0)) })
	}
	if c.r == nil {
		c.r = bufio.NewReaderSize(nc, 16<<10)
	} else {
		c.r.Reset(nc)
	}
	return nil
}

func (c *conn) close() {
	if c.nc != nil {
		c.nc.Close()
		c.nc = nil
	}
	if c.stop != nil {
		c.stop()
		c.stop = nil
	}
}

// exchange writes the prepared request and reads one answer.
func (c *conn) exchange(req *http.Request) (*http.Response, []byte, error) {
	if c.timeout > 0 {
		_ = c.nc.SetDeadline(time.Now().Add(c.timeout))
	}
	if c.ctx != nil && c.ctx.Err() != nil {
		// Checked after the deadline is set: a cancellation from here on
		// moves the deadline into the past (dial's AfterFunc).
		return nil, nil, c.ctx.Err()
	}
	if _, err := c.nc.Write(c.w.Bytes()); err != nil {
		return nil, nil, fmt.Errorf("%w: %v", errReused, err)
	}
	line, err := c.r.ReadSlice('\n')
	if err != nil {
		if len(line) == 0 && (err == io.EOF || errors.Is(err, net.ErrClosed) || isReset(err)) {
			return nil, nil, fmt.Errorf("%w: %v", errReused, err)
		}
		return nil, nil, err
	}
	res := &http.Response{Request: req, Header: http.Header{}, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1}
	status := strings.TrimRight(string(line), "\r\n")
	proto, rest, ok := strings.Cut(status, " ")
	if !ok || !strings.HasPrefix(proto, "HTTP/1.") || len(rest) < 3 {
		return nil, nil, fmt.Errorf("loaddriver: bad status line %q", status)
	}
	if res.StatusCode, err = strconv.Atoi(rest[:3]); err != nil {
		return nil, nil, fmt.Errorf("loaddriver: bad status line %q", status)
	}
	res.Status = rest
	tp := textproto.NewReader(c.r)
	h, err := tp.ReadMIMEHeader()
	if err != nil {
		return nil, nil, err
	}
	res.Header = http.Header(h)
	res.Close = proto == "HTTP/1.0" || strings.EqualFold(h.Get("Connection"), "close")
	var body []byte
	switch {
	case req.Method == http.MethodHead || res.StatusCode == http.StatusNoContent ||
		res.StatusCode == http.StatusNotModified || res.StatusCode/100 == 1:
	case strings.EqualFold(h.Get("Transfer-Encoding"), "chunked"):
		if body, err = io.ReadAll(httputil.NewChunkedReader(c.r)); err == nil {
			_, err = tp.ReadMIMEHeader() // the trailer, up to its blank line
		}
	case h.Get("Content-Length") != "":
		n, perr := strconv.ParseInt(h.Get("Content-Length"), 10, 64)
		if perr != nil || n < 0 || n > 64<<20 {
			return nil, nil, fmt.Errorf("loaddriver: bad Content-Length %q", h.Get("Content-Length"))
		}
		body = make([]byte, n)
		_, err = io.ReadFull(c.r, body)
	default:
		// No framing: the body runs to the end of the connection.
		body, err = io.ReadAll(c.r)
		res.Close = true
	}
	if err != nil {
		return nil, nil, err
	}
	res.ContentLength = int64(len(body))
	res.Body = io.NopCloser(bytes.NewReader(body))
	return res, body, nil
}

func isReset(err error) bool {
	return strings.Contains(err.Error(), "connection reset") || strings.Contains(err.Error(), "broken pipe")
}
