package loaddriver

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// clockTicks is USER_HZ, the unit of the CPU times in /proc/<pid>/stat
// (100 on every Linux this runs on).
const clockTicks = 100

// CPUTimes is the CPU time (user + system) used so far by each group of
// processes a run is split into: the function servers, PostgreSQL (every
// process named postgres: the backends, the WAL writer, the checkpointer)
// and the driver itself.
type CPUTimes struct {
	Server, Postgres, Driver time.Duration
}

// ReadCPU reads the CPU times of the server processes pids, of every
// postgres process and of this process from /proc (Linux). A process that
// has gone is not counted.
func ReadCPU(pids ...int) (CPUTimes, error) {
	var t CPUTimes
	for _, pid := range pids {
		d, _, err := procCPU(strconv.Itoa(pid))
		if err != nil {
			return t, err
		}
		t.Server += d
	}
	self, _, err := procCPU("self")
	if err != nil {
		return t, err
	}
	t.Driver = self
	dirs, err := filepath.Glob("/proc/[0-9]*")
	if err != nil {
		return t, err
	}
	for _, dir := range dirs {
		d, comm, err := procCPU(filepath.Base(dir))
		if err == nil && comm == "postgres" {
			t.Postgres += d
		}
	}
	return t, nil
}

// Sub is the CPU time used between earlier and t.
func (t CPUTimes) Sub(earlier CPUTimes) CPUTimes {
	return CPUTimes{Server: t.Server - earlier.Server, Postgres: t.Postgres - earlier.Postgres,
		Driver: t.Driver - earlier.Driver}
}

// procCPU returns utime + stime and the command name of /proc/<pid>/stat.
func procCPU(pid string) (time.Duration, string, error) {
	b, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return 0, "", err
	}
	// pid (comm) state ppid ... utime is field 14, stime 15; comm may hold
	// spaces and parentheses, so split after its last ')'.
	open, end := bytes.IndexByte(b, '('), bytes.LastIndexByte(b, ')')
	if open < 0 || end < open {
		return 0, "", fmt.Errorf("loaddriver: /proc/%s/stat: unexpected format", pid)
	}
	f := bytes.Fields(b[end+1:])
	if len(f) < 13 {
		return 0, "", fmt.Errorf("loaddriver: /proc/%s/stat: too few fields", pid)
	}
	ut, err1 := strconv.ParseInt(string(f[11]), 10, 64)
	st, err2 := strconv.ParseInt(string(f[12]), 10, 64)
	if err1 != nil || err2 != nil {
		return 0, "", fmt.Errorf("loaddriver: /proc/%s/stat: bad CPU times", pid)
	}
	return time.Duration(ut+st) * time.Second / clockTicks, string(b[open+1 : end]), nil
}
