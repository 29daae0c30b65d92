//go:build linux

package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
)

// setDeathSignal has the kernel kill the child if the benchmark dies
// without cleaning up.
func setDeathSignal(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}

// peakRSS returns the peak resident set size (VmHWM) of process pid, in
// bytes.
func peakRSS(pid int) (int64, error) { return statusKB(pid, "VmHWM:") }

// currentRSS returns the resident set size (VmRSS) of process pid, in
// bytes.
func currentRSS(pid int) (int64, error) { return statusKB(pid, "VmRSS:") }

// statusKB reads a kB field of /proc/<pid>/status, in bytes.
func statusKB(pid int, field string) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), field)
		if !ok {
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("%s %w", field, err)
		}
		return kb << 10, nil
	}
	return 0, errors.New("no " + field + " in /proc/<pid>/status")
}

// resetPeakRSS sets process pid's VmHWM back to its current RSS, so that
// the next peakRSS is the peak of what ran in between (Linux 4.0+).
func resetPeakRSS(pid int) error {
	return os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", pid), []byte("5"), 0)
}
