//go:build wasip1

package httpkit

import (
	"net"
	"net/http"
	"os"

	"billing/shared/wasihttp"
)

// In the WASI build a function is a wasi:http component: Run hands its
// handler (mounted at /functions/v1/<name>) to the host, and a failed
// start answers every request with the reason instead of exiting, the way
// the local server answers for a function it could not configure.
func init() {
	component = func(h http.Handler) bool {
		if !wasihttp.InComponent() {
			return false
		}
		wasihttp.Serve(h)
		return true
	}
	fatalExit = func(err error) {
		if wasihttp.InComponent() {
			msg := err.Error()
			wasihttp.Serve(Handle(func(w http.ResponseWriter, r *http.Request) error {
				return NewError(http.StatusServiceUnavailable, CodeUnavailable, "This function is not configured: "+msg)
			}))
		}
		wasihttp.Abort(err)
	}
}

// listen uses the socket the WASI host preopened as file descriptor 3
// (wasmtime --tcplisten, wasmedge), since wasip1 cannot open sockets itself.
func listen(addr string) (net.Listener, error) {
	f := os.NewFile(3, "socket")
	ln, err := net.FileListener(f)
	if err != nil {
		return listenTCP(addr)
	}
	return ln, nil
}

func startLambda(h http.Handler) {
	Fatal("lambda", errWASILambda)
}

type wasiError string

func (e wasiError) Error() string { return string(e) }

const errWASILambda = wasiError("AWS Lambda is not supported in a WASI build")
