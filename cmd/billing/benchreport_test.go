package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestBenchReportReadsFiles(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.txt"), filepath.Join(dir, "b.txt")
	if err := os.WriteFile(a, []byte("BenchmarkLoad/webhook-fresh-2 \t 1 \t 2600 req/s\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(b, []byte("node v20.20.2 constructEvent: 53437 events/s, 18.71 us/event\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := benchReport([]string{a, b}, strings.NewReader(""), &out); err != nil {
		t.Fatal(err)
	}
	got := strings.Join(strings.Fields(out.String()), " ")
	for _, want := range []string{"webhook fresh events/s (16 senders, applied once) 2600 >= 2500 met", "peer: node v20.20.2"} {
		if !strings.Contains(got, want) {
			t.Errorf("report lacks %q: %s", want, out.String())
		}
	}
	if err := benchReport([]string{filepath.Join(dir, "missing")}, nil, &out); err == nil {
		t.Error("a missing file was not an error")
	}
}
