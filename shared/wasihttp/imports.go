//go:build wasip1

package wasihttp

import "unsafe"

// The lowered imports of world wasi:http/proxy@0.2.12 that the bindings
// use, in canonical-ABI flat form: handles and discriminants as i32,
// strings and lists as (pointer, length), results that need more than one
// core value written to a return area (the last parameter).

// wasi:http/types: fields.

//go:wasmimport wasi:http/types@0.2.12 [constructor]fields
func fieldsNew() uint32

//go:wasmimport wasi:http/types@0.2.12 [static]fields.from-list
func fieldsFromList(entries unsafe.Pointer, n uint32, ret unsafe.Pointer)

//go:wasmimport wasi:http/types@0.2.12 [method]fields.entries
func fieldsEntries(self uint32, ret unsafe.Pointer)

//go:wasmimport wasi:http/types@0.2.12 [resource-drop]fields
func fieldsDrop(self uint32)

// wasi:http/types: incoming-request and incoming-body.

//go:wasmimport wasi:http/types@0.2.12 [method]incoming-request.method
func incomingRequestMethod(self uint32, ret unsafe.Pointer)

//go:wasmimport wasi:http/types@0.2.12 [method]incoming-request.path-with-query
func incomingRequestPathWithQuery(self uint32, ret unsafe.Pointer)

//go:wasmimport wasi:http/types@0.2.12 [method]incoming-request.scheme
func incomingRequestScheme(self uint32, ret unsafe.Pointer)

//go:wasmimport wasi:http/types@0.2.12 [method]incoming-request.authority
func incomingRequestAuthority(self uint32, ret unsafe.Pointer)

//go:wasmimport wasi:http/types@0.2.12 [method]incoming-request.headers
func incomingRequestHeaders(self uint32) uint32

//go:wasmimport wasi:http/types@0.2.12 [method]incoming-request.consume
func incomingRequestConsume(self uint32, ret unsafe.Pointer)

//go:wasmimport wasi:http/types@0.2.12 [resource-drop]incoming-request
func incomingRequestDrop(self uint32)

//go:wasmimport wasi:http/types@0.2.12 [method]incoming-body.stream
func incomingBodyStream(self uint32, ret unsafe.Pointer)

//go:wasmimport wasi:http/types@0.2.12 [static]incoming-body.finish
func incomingBodyFinish(this uint32) uint32

//go:wasmimport wasi:http/types@0.2.12 [resource-drop]incoming-body
func incomingBodyDrop(self uint32)

//go:wasmimport wasi:http/types@0.2.12 [resource-drop]future-trailers
func futureTrailersDrop(self uint32)

// wasi:http/types: outgoing-response, outgoing-body, response-outparam.

//go:wasmimport wasi:http/types@0.2.12 [constructor]outgoing-response
func outgoingResponseNew(headers uint32) uint32

//go:wasmimport wasi:http/types@0.2.12 [method]outgoing-response.set-status-code
func outgoingResponseSetStatusCode(self, code uint32) uint32

//go:wasmimport wasi:http/types@0.2.12 [method]outgoing-response.body
func outgoingResponseBody(self uint32, ret unsafe.Pointer)

//go:wasmimport wasi:http/types@0.2.12 [resource-drop]outgoing-response
func outgoingResponseDrop(self uint32)

//go:wasmimport wasi:http/types@0.2.12 [method]outgoing-body.write
func outgoingBodyWrite(self uint32, ret unsafe.Pointer)

//go:wasmimport wasi:http/types@0.2.12 [static]outgoing-body.finish
func outgoingBodyFinish(this, hasTrailers, trailers uint32, ret unsafe.Pointer)

//go:wasmimport wasi:http/types@0.2.12 [resource-drop]outgoing-body
func outgoingBodyDrop(self uint32)

// responseOutparamSet is set(param, result<outgoing-response, error-code>):
// the result flattens to a discriminant and the joined flat payload
// (i32, i32, i64, i32, i32, i32, i32).
//
//go:wasmimport wasi:http/types@0.2.12 [static]response-outparam.set
func responseOutparamSet(param, isErr, p0, p1 uint32, p2 uint64, p3, p4, p5, p6 uint32)

// wasi:http/types: outgoing-request and request-options.

//go:wasmimport wasi:http/types@0.2.12 [constructor]outgoing-request
func outgoingRequestNew(headers uint32) uint32

//go:wasmimport wasi:http/types@0.2.12 [method]outgoing-request.body
func outgoingRequestBody(self uint32, ret unsafe.Pointer)

//go:wasmimport wasi:http/types@0.2.12 [method]outgoing-request.set-method
func outgoingRequestSetMethod(self, tag uint32, other unsafe.Pointer, otherLen uint32) uint32

//go:wasmimport wasi:http/types@0.2.12 [method]outgoing-request.set-path-with-query
func outgoingRequestSetPathWithQuery(self, some uint32, p unsafe.Pointer, n uint32) uint32

//go:wasmimport wasi:http/types@0.2.12 [method]outgoing-request.set-scheme
func outgoingRequestSetScheme(self, some, tag uint32, other unsafe.Pointer, otherLen uint32) uint32

//go:wasmimport wasi:http/types@0.2.12 [method]outgoing-request.set-authority
func outgoingRequestSetAuthority(self, some uint32, p unsafe.Pointer, n uint32) uint32

//go:wasmimport wasi:http/types@0.2.12 [resource-drop]outgoing-request
func outgoingRequestDrop(self uint32)

//go:wasmimport wasi:http/types@0.2.12 [constructor]request-options
func requestOptionsNew() uint32

//go:wasmimport wasi:http/types@0.2.12 [method]request-options.set-connect-timeout
func requestOptionsSetConnectTimeout(self, some uint32, d uint64) uint32

//go:wasmimport wasi:http/types@0.2.12 [method]request-options.set-first-byte-timeout
func requestOptionsSetFirstByteTimeout(self, some uint32, d uint64) uint32

//go:wasmimport wasi:http/types@0.2.12 [method]request-options.set-between-bytes-timeout
func requestOptionsSetBetweenBytesTimeout(self, some uint32, d uint64) uint32

//go:wasmimport wasi:http/types@0.2.12 [resource-drop]request-options
func requestOptionsDrop(self uint32)

// wasi:http/types: future-incoming-response, incoming-response, errors.

//go:wasmimport wasi:http/types@0.2.12 [method]future-incoming-response.subscribe
func futureIncomingResponseSubscribe(self uint32) uint32

//go:wasmimport wasi:http/types@0.2.12 [method]future-incoming-response.get
func futureIncomingResponseGet(self uint32, ret unsafe.Pointer)

//go:wasmimport wasi:http/types@0.2.12 [resource-drop]future-incoming-response
func futureIncomingResponseDrop(self uint32)

//go:wasmimport wasi:http/types@0.2.12 [method]incoming-response.status
func incomingResponseStatus(self uint32) uint32

//go:wasmimport wasi:http/types@0.2.12 [method]incoming-response.headers
func incomingResponseHeaders(self uint32) uint32

//go:wasmimport wasi:http/types@0.2.12 [method]incoming-response.consume
func incomingResponseConsume(self uint32, ret unsafe.Pointer)

//go:wasmimport wasi:http/types@0.2.12 [resource-drop]incoming-response
func incomingResponseDrop(self uint32)

//go:wasmimport wasi:http/types@0.2.12 http-error-code
func httpErrorCode(err uint32, ret unsafe.Pointer)

// wasi:http/outgoing-handler.

//go:wasmimport wasi:http/outgoing-handler@0.2.12 handle
func outgoingHandlerHandle(req, hasOptions, options uint32, ret unsafe.Pointer)

// wasi:io.

//go:wasmimport wasi:io/streams@0.2.12 [method]input-stream.blocking-read
func inputStreamBlockingRead(self uint32, n uint64, ret unsafe.Pointer)

//go:wasmimport wasi:io/streams@0.2.12 [resource-drop]input-stream
func inputStreamDrop(self uint32)

//go:wasmimport wasi:io/streams@0.2.12 [method]output-stream.blocking-write-and-flush
func outputStreamBlockingWriteAndFlush(self uint32, p unsafe.Pointer, n uint32, ret unsafe.Pointer)

//go:wasmimport wasi:io/streams@0.2.12 [resource-drop]output-stream
func outputStreamDrop(self uint32)

//go:wasmimport wasi:io/poll@0.2.12 poll
func poll(in unsafe.Pointer, n uint32, ret unsafe.Pointer)

//go:wasmimport wasi:io/poll@0.2.12 [resource-drop]pollable
func pollableDrop(self uint32)

//go:wasmimport wasi:io/error@0.2.12 [method]error.to-debug-string
func errorToDebugString(self uint32, ret unsafe.Pointer)

//go:wasmimport wasi:io/error@0.2.12 [resource-drop]error
func errorDrop(self uint32)

// wasi:clocks.

//go:wasmimport wasi:clocks/monotonic-clock@0.2.12 subscribe-duration
func monotonicSubscribeDuration(d uint64) uint32
