package devstack

import (
	"context"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// A taken port is reported with the process that holds it; a free one is not.
func TestCheckPortsNamesTheHolder(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	free, err := FreePort()
	if err != nil {
		t.Fatal(err)
	}
	err = CheckPorts(map[string]int{"PORT": port, "DEV_DB_PORT": free, "picked later": 0})
	if err == nil {
		t.Fatal("a taken port passed")
	}
	want := "port " + strconv.Itoa(port) + " (PORT) is in use by pid " + strconv.Itoa(os.Getpid())
	if !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "DEV_DB_PORT") {
		t.Fatalf("error %q, want it to say %q (and nothing of the free port)", err, want)
	}
}

// A data folder whose postmaster.pid names a live process is another
// server's: StartPostgres refuses, and stops nothing.
func TestStartPostgresLeavesALiveServerAlone(t *testing.T) {
	if _, err := FindPostgresBin(); err != nil {
		t.Fatal("needs the PostgreSQL server binaries (make test installs them): ", err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "PG_VERSION"), []byte("15\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	pid := filepath.Join(dir, "postmaster.pid")
	if err := os.WriteFile(pid, []byte(strconv.Itoa(os.Getpid())+"\n"+dir+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := StartPostgres(context.Background(), dir, 0, true, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "already running") || !strings.Contains(err.Error(), "another `make dev`") {
		t.Fatalf("got %v, want a refusal naming the running server", err)
	}
	if _, err := os.Stat(pid); err != nil {
		t.Fatalf("postmaster.pid touched: %v", err)
	}
}
