//go:build !linux

package main

import (
	"errors"
	"os/exec"
)

var errNoProc = errors.New("peak RSS needs Linux's /proc")

func setDeathSignal(*exec.Cmd) {}

func peakRSS(int) (int64, error) { return 0, errNoProc }

func currentRSS(int) (int64, error) { return 0, errNoProc }

func resetPeakRSS(int) error { return errNoProc }
