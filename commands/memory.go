package commands

import (
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"runtime/debug"
	"strconv"

	"github.com/KimMachineGun/automemlimit/memlimit"
)

// The Go runtime does not know a container's memory limit: with its
// defaults the heap may grow past it and the kernel kills the process,
// where a runtime that knew would have collected garbage sooner. At start,
// qsgate gives the runtime a soft limit (what GOMEMLIMIT sets) of 70% of
// the cgroup's memory limit, when it has one: the rest is for the binary's
// own pages and memory the runtime does not count (docs/BENCHMARKS.md: in
// a 64 MiB container, 500 users at once). GOMEMLIMIT, when set, wins;
// AUTOMEMLIMIT=off turns this off, AUTOMEMLIMIT=0.8 changes the share
// (both read by automemlimit, the library that finds the cgroup's limit).
// All three are the process environment's: an env file is read too late.

// containerMemoryShare is the share of the cgroup's memory limit given to
// the Go runtime.
const containerMemoryShare = 0.7

// LimitMemory gives the Go runtime its soft limit from the container's, and
// says on w when it could not. main calls it first: the limit is the
// process's, so Run never sets it.
func LimitMemory(w io.Writer) {
	if _, err := limitMemory(memlimit.FromCgroup); err != nil {
		fmt.Fprintln(w, "qsgate: no memory limit taken from the container:", err)
	}
}

// limitMemory applies the share to what limit finds and returns the runtime's soft limit afterwards. Outside a cgroup
// with a limit nothing changes. Its error says why no limit was set when
// one might have been (a bad AUTOMEMLIMIT, a cgroup it could not read);
// where there are no cgroups (not Linux) it is nil.
func limitMemory(limit memlimit.Provider) (int64, error) {
	if v, ok := os.LookupEnv("GOMEMLIMIT"); ok && v == "" {
		os.Unsetenv("GOMEMLIMIT") // the runtime reads "" as unset; so should the library
	}
	n, err := memlimit.Set(memlimit.WithRatio(containerMemoryShare), memlimit.WithProvider(limit))
	if errors.Is(err, memlimit.ErrCgroupsNotSupported) || errors.Is(err, memlimit.ErrNoCgroup) {
		err = nil
	}
	return n, err
}

// memoryLimit is the runtime's soft memory limit for the start-up log:
// "none" when there is none.
func memoryLimit() string {
	n := debug.SetMemoryLimit(-1)
	if n == math.MaxInt64 {
		return "none"
	}
	return strconv.FormatInt(n>>20, 10) + " MiB"
}
