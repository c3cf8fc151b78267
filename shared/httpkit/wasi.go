//go:build wasip1

package httpkit

import (
	"net"
	"net/http"
	"os"
)

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
