package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Linux's /proc: a process's memory and CPU time, the machine's load.

// clockTick is USER_HZ, the unit of utime and stime in /proc/<pid>/stat:
// 100 on every Linux architecture Go supports (the kernel fixes it for
// user space whatever its own HZ).
const clockTick = 10 * time.Millisecond

// cpuTime is the user plus system CPU time the process used so far, all
// threads.
func cpuTime(pid string) (time.Duration, error) {
	data, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return 0, err
	}
	// The command name (field 2) is in parentheses and may hold spaces:
	// count fields after the last ')'. utime and stime are fields 14 and
	// 15, so the 12th and 13th after it.
	i := bytes.LastIndexByte(data, ')')
	f := strings.Fields(string(data[i+1:]))
	if i < 0 || len(f) < 13 {
		return 0, fmt.Errorf("/proc/%s/stat: unexpected format", pid)
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("/proc/%s/stat: unexpected format", pid)
	}
	return time.Duration(utime+stime) * clockTick, nil
}

// memory is the process's resident set now (VmRSS) and at its peak
// (VmHWM), in bytes.
func memory(pid string) (rss, hwm int64, err error) {
	v, err := status(pid, "VmRSS", "VmHWM")
	return v["VmRSS"], v["VmHWM"], err
}

// anonymous is the process's resident anonymous memory (RssAnon), in
// bytes: what it allocated itself. VmRSS also counts the pages of its
// binary it has mapped, and how many those are depends on what the page
// cache holds (the kernel maps cached pages around each fault), not on the
// process.
func anonymous(pid string) (int64, error) {
	v, err := status(pid, "RssAnon")
	return v["RssAnon"], err
}

// status reads the "kB" fields named by keys from /proc/<pid>/status, in
// bytes; a missing one is 0.
func status(pid string, keys ...string) (map[string]int64, error) {
	f, err := os.Open("/proc/" + pid + "/status")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out := make(map[string]int64, len(keys))
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok || !slices.Contains(keys, k) {
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("/proc/%s/status: %s: %v", pid, k, err)
		}
		out[k] = kb << 10
	}
	return out, sc.Err()
}

// loadAverage is /proc/loadavg's first three fields, as uptime prints them.
func loadAverage() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(data))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

// cpuModel is the first "model name" of /proc/cpuinfo.
func cpuModel() string {
	data, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "?"
	}
	for line := range strings.SplitSeq(string(data), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "?"
}
