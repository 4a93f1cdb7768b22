package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// The gateway's memory cgroup, when it runs in one of its own (the
// wrapper script of docs/BENCHMARKS.md, "In a container"): its usage, its
// peak and how often it hit its limit, as the kernel counts them. That
// count includes the page cache of the gateway's log file, which RSS does
// not.

// memCgroup is one memory cgroup's directory and its version.
type memCgroup struct {
	dir string
	v2  bool
}

// gatewayCgroup is pid's memory cgroup, if it is not this process's own
// (then the figures would be the harness's too); ok false otherwise.
func gatewayCgroup(pid string) (memCgroup, bool) {
	theirs, v2 := memoryCgroupPath(pid)
	ours, _ := memoryCgroupPath("self")
	if theirs == "" || theirs == ours {
		return memCgroup{}, false
	}
	dir := filepath.Join("/sys/fs/cgroup/memory", theirs)
	if v2 {
		dir = filepath.Join("/sys/fs/cgroup", theirs)
	}
	if _, err := os.Stat(dir); err != nil {
		return memCgroup{}, false
	}
	return memCgroup{dir: dir, v2: v2}, true
}

// memoryCgroupPath is the memory controller's line of /proc/<pid>/cgroup:
// "N:memory:/path" in v1, "0::/path" in v2 (used when there is no v1
// memory line).
func memoryCgroupPath(pid string) (path string, v2 bool) {
	data, err := os.ReadFile("/proc/" + pid + "/cgroup")
	if err != nil {
		return "", false
	}
	var unified string
	for line := range strings.SplitSeq(strings.TrimSpace(string(data)), "\n") {
		f := strings.SplitN(line, ":", 3)
		if len(f) != 3 {
			continue
		}
		if f[0] == "0" && f[1] == "" {
			unified = f[2]
		}
		for c := range strings.SplitSeq(f[1], ",") {
			if c == "memory" {
				return f[2], false
			}
		}
	}
	return unified, unified != ""
}

// cgroupFigures is a cgroup's counters at one moment.
type cgroupFigures struct {
	limit, usage, peak int64 // bytes; peak since the last resetPeak
	failcnt, oomKills  int64 // v2: failcnt is memory.events' "max"
}

func (m memCgroup) read() cgroupFigures {
	if m.v2 {
		return cgroupFigures{
			limit: m.number("memory.max"), usage: m.number("memory.current"), peak: m.number("memory.peak"),
			failcnt: m.field("memory.events", "max"), oomKills: m.field("memory.events", "oom_kill"),
		}
	}
	return cgroupFigures{
		limit: m.number("memory.limit_in_bytes"), usage: m.number("memory.usage_in_bytes"),
		peak: m.number("memory.max_usage_in_bytes"), failcnt: m.number("memory.failcnt"),
		oomKills: m.field("memory.oom_control", "oom_kill"),
	}
}

// resetPeak starts the peak again from the usage now (v1, and v2 kernels
// that allow writing memory.peak); it reports whether it could.
func (m memCgroup) resetPeak() bool {
	name, value := "memory.max_usage_in_bytes", "0"
	if m.v2 {
		name, value = "memory.peak", "reset\n"
	}
	return os.WriteFile(filepath.Join(m.dir, name), []byte(value), 0) == nil
}

// number is a file holding one number; -1 if unreadable ("max" too).
func (m memCgroup) number(name string) int64 {
	data, err := os.ReadFile(filepath.Join(m.dir, name))
	if err != nil {
		return -1
	}
	n, err := strconv.ParseInt(strings.TrimSpace(string(data)), 10, 64)
	if err != nil {
		return -1
	}
	return n
}

// field is the value of "key N" in a file of such lines; -1 if absent.
func (m memCgroup) field(name, key string) int64 {
	data, err := os.ReadFile(filepath.Join(m.dir, name))
	if err != nil {
		return -1
	}
	for line := range strings.SplitSeq(string(data), "\n") {
		if k, v, ok := strings.Cut(line, " "); ok && k == key {
			if n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64); err == nil {
				return n
			}
		}
	}
	return -1
}
