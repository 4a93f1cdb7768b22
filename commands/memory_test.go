package commands

import (
	"os"
	"runtime/debug"
	"testing"

	"github.com/KimMachineGun/automemlimit/memlimit"
)

// A container's memory limit becomes the Go runtime's soft limit, at 70%;
// without a limit nothing changes; GOMEMLIMIT wins. (The real cgroup is
// read by the binary: docs/BENCHMARKS.md has it in a 64 MB cgroup.)
func TestContainerMemoryLimit(t *testing.T) {
	for _, v := range []string{"GOMEMLIMIT", "AUTOMEMLIMIT"} {
		if _, ok := os.LookupEnv(v); ok {
			t.Skipf("%s is set in this environment", v)
		}
	}
	prev := debug.SetMemoryLimit(-1)
	t.Cleanup(func() { debug.SetMemoryLimit(prev) })

	share := containerMemoryShare // a variable: 70% of 64 MiB is not a whole number of bytes
	if got, want := limited(t, memlimit.Limit(64<<20)), int64(float64(64<<20)*share); got != want || debug.SetMemoryLimit(-1) != want {
		t.Errorf("in a 64 MiB container: limit %d (runtime %d), want %d", got, debug.SetMemoryLimit(-1), want)
	}
	if got := memoryLimit(); got != "44 MiB" {
		t.Errorf("start-up log says %q, want 44 MiB", got)
	}
	limited(t, func() (uint64, error) { return 0, memlimit.ErrNoLimit })
	if got := memoryLimit(); got != "none" {
		t.Errorf("without a container limit: %q, want none", got)
	}
	t.Setenv("GOMEMLIMIT", "100MiB") // read by the runtime at start; here set by hand
	debug.SetMemoryLimit(100 << 20)
	if got := limited(t, memlimit.Limit(64<<20)); got != 100<<20 {
		t.Errorf("with GOMEMLIMIT set: %d, want it kept (%d)", got, 100<<20)
	}
	t.Setenv("GOMEMLIMIT", "") // empty is unset, as for the runtime
	if got, want := limited(t, memlimit.Limit(64<<20)), int64(float64(64<<20)*share); got != want {
		t.Errorf("with GOMEMLIMIT empty: %d, want %d", got, want)
	}
	t.Setenv("AUTOMEMLIMIT", "70%")
	if _, err := limitMemory(memlimit.Limit(64 << 20)); err == nil {
		t.Error("AUTOMEMLIMIT=70% was taken without a word")
	}
	os.Unsetenv("AUTOMEMLIMIT") // t.Setenv restores it
	if _, err := limitMemory(func() (uint64, error) { return 0, memlimit.ErrCgroupsNotSupported }); err != nil {
		t.Errorf("where there are no cgroups: %v, want no complaint", err)
	}
}

func limited(t *testing.T, p memlimit.Provider) int64 {
	t.Helper()
	n, err := limitMemory(p)
	if err != nil {
		t.Fatal(err)
	}
	return n
}
