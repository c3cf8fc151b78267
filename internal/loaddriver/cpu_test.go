package loaddriver

import (
	"os"
	"syscall"
	"testing"
	"time"
)

// selfCPU is this process's user + system CPU time from getrusage, the
// reference ReadCPU's /proc reading is checked against.
func selfCPU(t *testing.T) time.Duration {
	t.Helper()
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		t.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// TestReadCPU burns 300 ms of CPU in this process (CPU time, not wall
// time: a busy machine gives a test less of the clock) and checks that
// the driver's share grew by what getrusage says, within the clock ticks
// /proc counts in, and that an unknown process is an error.
func TestReadCPU(t *testing.T) {
	before, err := ReadCPU(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	ref0 := selfCPU(t)
	x := 0
	for selfCPU(t)-ref0 < 300*time.Millisecond {
		x++
	}
	ref := selfCPU(t) - ref0
	after, err := ReadCPU(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	d := after.Sub(before)
	if diff := d.Driver - ref; diff < -50*time.Millisecond || diff > 50*time.Millisecond || d.Server != d.Driver {
		t.Errorf("after %v of CPU (getrusage): driver %v, server (the same process) %v", ref, d.Driver, d.Server)
	}
	if _, err := ReadCPU(1 << 30); err == nil {
		t.Error("a process that does not exist was read")
	}
	_ = x
}
