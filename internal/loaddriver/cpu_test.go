package loaddriver

import (
	"os"
	"testing"
	"time"
)

// TestReadCPU burns CPU in this process and checks the driver's share grew
// by about as much, and that an unknown process is an error.
func TestReadCPU(t *testing.T) {
	before, err := ReadCPU(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	end := time.Now().Add(300 * time.Millisecond)
	x := 0
	for time.Now().Before(end) {
		x++
	}
	after, err := ReadCPU(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	d := after.Sub(before)
	if d.Driver < 150*time.Millisecond || d.Driver > 2*time.Second || d.Server != d.Driver {
		t.Errorf("after 300 ms of work: driver %v, server (the same process) %v", d.Driver, d.Server)
	}
	if _, err := ReadCPU(1 << 30); err == nil {
		t.Error("a process that does not exist was read")
	}
	_ = x
}
