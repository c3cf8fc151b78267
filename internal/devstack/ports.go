package devstack

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// CheckPorts returns an error naming every port of ports (name -> port)
// that is already taken on 127.0.0.1, and which process holds it when the
// system tells (Linux /proc). A zero port is skipped (a free one is picked).
func CheckPorts(ports map[string]int) error {
	var msgs []string
	for name, port := range ports {
		if port == 0 {
			continue
		}
		ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err == nil {
			ln.Close()
			continue
		}
		msg := fmt.Sprintf("port %d (%s) is in use", port, name)
		if holder := PortHolder(port); holder != "" {
			msg += " by " + holder
		}
		msgs = append(msgs, msg)
	}
	if len(msgs) == 0 {
		return nil
	}
	return errors.New(strings.Join(msgs, "; "))
}

// PortHolder names the process listening on TCP port ("pid 123 (postgres)"),
// or "" when it cannot tell (another user's process, not Linux).
func PortHolder(port int) string {
	inodes := map[string]bool{}
	for _, f := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		for _, ino := range listeningInodes(f, port) {
			inodes[ino] = true
		}
	}
	if len(inodes) == 0 {
		return ""
	}
	procs, _ := filepath.Glob("/proc/[0-9]*/fd/*")
	for _, fd := range procs {
		link, err := os.Readlink(fd)
		if err != nil || !strings.HasPrefix(link, "socket:[") {
			continue
		}
		if inodes[strings.TrimSuffix(strings.TrimPrefix(link, "socket:["), "]")] {
			pid := strings.Split(fd, "/")[2]
			return "pid " + pid + " (" + processName(pid) + ")"
		}
	}
	return "another process"
}

// listeningInodes are the socket inodes of /proc/net/tcp* entries in state
// LISTEN (0A) on port.
func listeningInodes(file string, port int) []string {
	f, err := os.Open(file)
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []string
	want := fmt.Sprintf(":%04X", port)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 10 || fields[3] != "0A" || !strings.HasSuffix(fields[1], want) {
			continue
		}
		out = append(out, fields[9])
	}
	return out
}

func processName(pid string) string {
	b, err := os.ReadFile("/proc/" + pid + "/cmdline")
	if err != nil || len(b) == 0 {
		return "?"
	}
	args := strings.Split(strings.TrimRight(string(b), "\x00"), "\x00")
	name := filepath.Base(args[0])
	if len(args) > 1 {
		name += " " + strings.Join(args[1:], " ")
	}
	if len(name) > 80 {
		name = name[:80] + "..."
	}
	return name
}

// runningPostmaster returns the PID in dataDir/postmaster.pid when that
// process is alive (a server runs on the folder), else 0.
func runningPostmaster(dataDir string) int {
	b, err := os.ReadFile(filepath.Join(dataDir, "postmaster.pid"))
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	pid, err := strconv.Atoi(strings.TrimSpace(line))
	if err != nil || pid <= 0 {
		return 0
	}
	// Signal 0 checks existence; EPERM means it exists as another user.
	if err := syscall.Kill(pid, 0); err == nil || errors.Is(err, syscall.EPERM) {
		return pid
	}
	return 0
}
