//go:build wasip1

package wasihttp

import (
	"errors"
	"fmt"
	"net/http"
	"runtime"
	"strings"
	"unsafe"
)

// hopHeaders are connection-level headers a wasi:http host refuses
// (header-error.forbidden) or sets itself.
var hopHeaders = map[string]bool{
	"connection": true, "keep-alive": true, "proxy-connection": true,
	"transfer-encoding": true, "upgrade": true, "host": true,
	"http2-settings": true, "te": true, "trailer": true,
}

var headerErrors = [...]string{"invalid-syntax", "forbidden", "immutable"}

// newFields makes a fields resource holding h (without hop-by-hop
// headers) through fields.from-list.
func newFields(h http.Header) (uint32, error) {
	type entry struct{ name, value string }
	var entries []entry
	for k, vs := range h {
		name := strings.ToLower(k)
		if hopHeaders[name] {
			continue
		}
		for _, v := range vs {
			entries = append(entries, entry{name, v})
		}
	}
	if len(entries) == 0 {
		return fieldsNew(), nil
	}
	flat := make([]uint32, 0, 4*len(entries))
	for _, e := range entries {
		np, nn := strPtr(e.name)
		vp, vn := strPtr(e.value)
		flat = append(flat, addr(np), nn, addr(vp), vn)
	}
	begin()
	fieldsFromList(unsafe.Pointer(&flat[0]), uint32(len(entries)), ret())
	end()
	runtime.KeepAlive(entries)
	r := retBytes()
	if u8(r, 0) != 0 {
		code := int(u8(r, 4))
		name := "unknown"
		if code < len(headerErrors) {
			name = headerErrors[code]
		}
		return 0, fmt.Errorf("wasi:http: headers refused by the host: %s", name)
	}
	return u32(r, 4), nil
}

// headerOf reads every entry of a fields resource into an http.Header
// (the resource stays open; the caller drops it).
func headerOf(fields uint32) http.Header {
	begin()
	fieldsEntries(fields, ret())
	end()
	r := retBytes()
	list, n := u32(r, 0), u32(r, 4)
	h := make(http.Header, n)
	if n > 0 {
		b := mem(list, 16*n)
		for i := 0; i < int(n); i++ {
			name := liftString(b, 16*i)
			value := string(mem(u32(b, 16*i+8), u32(b, 16*i+12)))
			h.Add(name, value)
		}
	}
	return h
}

// ioError turns a wasi:io/error resource into a Go error (with the
// wasi:http error-code when the host gives one) and drops it.
func ioError(what string, handle uint32) error {
	begin()
	httpErrorCode(handle, ret())
	end()
	var code *Error
	if r := retBytes(); u8(r, 0) != 0 {
		code = liftErrorCode(r, 8)
	}
	begin()
	errorToDebugString(handle, ret())
	end()
	msg := liftString(retBytes(), 0)
	errorDrop(handle)
	if code != nil {
		if msg != "" {
			code.Detail = strings.TrimPrefix(code.Detail+"; "+msg, "; ")
		}
		return fmt.Errorf("%s: %w", what, code)
	}
	if msg == "" {
		msg = "stream failed"
	}
	return fmt.Errorf("%s: %w", what, errors.New(msg))
}
