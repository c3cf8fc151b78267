package main

import (
	"context"
	"fmt"
	"io"
	"os"

	"billing/internal/loaddriver"
)

func runBenchReport(_ context.Context, args []string) error {
	return benchReport(args, os.Stdin, os.Stdout)
}

// benchReport is `billing bench-report [FILE...]`: the one table of
// `make bench`, read from the benchmark output in FILEs (or stdin).
func benchReport(args []string, stdin io.Reader, stdout io.Writer) error {
	readers := []io.Reader{stdin}
	if len(args) > 0 {
		readers = nil
		for _, name := range args {
			f, err := os.Open(name)
			if err != nil {
				return err
			}
			defer f.Close()
			readers = append(readers, f)
		}
	}
	res, err := loaddriver.ParseResults(io.MultiReader(readers...))
	if err != nil {
		return err
	}
	_, err = fmt.Fprint(stdout, loaddriver.Report(res))
	return err
}
