//go:build wasip1

package wasihttp

import (
	"io"
	"unsafe"
)

// readChunk is the most one blocking-read asks for.
const readChunk = 64 << 10

// writeChunk is the most blocking-write-and-flush accepts at once.
const writeChunk = 4096

// bodyReader reads an incoming-body (of a request or a response) through
// its input-stream. Close drops the stream, finishes the body, and then
// runs done (which drops the parent resource, if any).
type bodyReader struct {
	stream, body uint32
	done         func()
	err          error
	closed       bool
}

// newBodyReader consumes body (an own incoming-body) and returns its reader.
func newBodyReader(body uint32, done func()) (*bodyReader, error) {
	begin()
	incomingBodyStream(body, ret())
	r := retBytes()
	end()
	if u8(r, 0) != 0 {
		incomingBodyDrop(body)
		if done != nil {
			done()
		}
		return nil, &Error{Code: "internal-error", Detail: "the body's stream was already taken"}
	}
	return &bodyReader{stream: u32(r, 4), body: body, done: done}, nil
}

func (b *bodyReader) Read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	if b.closed {
		return 0, io.ErrClosedPipe
	}
	if len(p) == 0 {
		return 0, nil
	}
	n := len(p)
	if n > readChunk {
		n = readChunk
	}
	for {
		begin()
		inputStreamBlockingRead(b.stream, uint64(n), ret())
		end()
		r := retBytes()
		if u8(r, 0) == 0 {
			got := copy(p, mem(u32(r, 4), u32(r, 8)))
			if got == 0 {
				continue
			}
			return got, nil
		}
		if u8(r, 4) == 1 { // stream-error.closed
			b.err = io.EOF
		} else {
			b.err = ioError("read body", u32(r, 8))
		}
		return 0, b.err
	}
}

// Close drops the stream before finishing the body, as the host requires.
func (b *bodyReader) Close() error {
	if b.closed {
		return nil
	}
	b.closed = true
	inputStreamDrop(b.stream)
	futureTrailersDrop(incomingBodyFinish(b.body))
	if b.done != nil {
		b.done()
	}
	return nil
}

// writeBody writes all of src to the output-stream of an outgoing-body,
// drops the stream and finishes the body.
func writeBody(body uint32, src io.Reader) error {
	begin()
	outgoingBodyWrite(body, ret())
	r := retBytes()
	end()
	if u8(r, 0) != 0 {
		outgoingBodyDrop(body)
		return &Error{Code: "internal-error", Detail: "the body's stream was already taken"}
	}
	stream := u32(r, 4)
	var werr error
	if src != nil {
		buf := make([]byte, writeChunk)
		for werr == nil {
			n, err := src.Read(buf)
			if n > 0 {
				werr = writeAll(stream, buf[:n])
			}
			if err == io.EOF {
				break
			}
			if err != nil && werr == nil {
				werr = err
			}
		}
	}
	outputStreamDrop(stream)
	if werr != nil {
		outgoingBodyDrop(body)
		return werr
	}
	begin()
	outgoingBodyFinish(body, 0, 0, ret())
	end()
	r = retBytes()
	var ferr error
	if u8(r, 0) != 0 {
		ferr = liftErrorCode(r, 8)
	}
	return ferr
}

// writeAll writes p in chunks the host accepts.
func writeAll(stream uint32, p []byte) error {
	for len(p) > 0 {
		n := len(p)
		if n > writeChunk {
			n = writeChunk
		}
		begin()
		outputStreamBlockingWriteAndFlush(stream, unsafe.Pointer(&p[0]), uint32(n), ret())
		r := retBytes()
		end()
		if u8(r, 0) != 0 {
			if u8(r, 4) == 1 {
				return io.ErrClosedPipe
			}
			return ioError("write body", u32(r, 8))
		}
		p = p[n:]
	}
	return nil
}
