//go:build wasip1

package httpkit

import (
	"log/slog"
	"net/http"
)

func startLambdaWithEvents(string, http.Handler, *slog.Logger, EventFunc) {
	Fatal("lambda", errWASILambda)
}
