package commands

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

// reloadOnHangup reloads on each SIGHUP until ctx ends or the returned stop
// is called.
func (g *gateway) reloadOnHangup(ctx context.Context) (stop func()) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	go g.reloadOn(ctx, hup)
	return func() { signal.Stop(hup) }
}

// reloadOn reads the files qsgate reads while serving again on each signal:
// the user map file, and it opens the audit log file again (after a
// rotation). A bad map file keeps the previous contents and says why, with
// its line. Settings (the environment and env file) need a restart.
func (g *gateway) reloadOn(ctx context.Context, sig <-chan os.Signal) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-sig:
		}
		if path := g.audit.Path(); path != "" {
			if err := g.audit.Reopen(); err != nil {
				g.log.Error("audit log not reopened, writing to the file it had open", "file", path, "err", err)
			} else {
				g.log.Info("audit log reopened", "file", path)
			}
		}
		if g.mapFile == nil {
			if g.audit.Path() == "" {
				g.log.Info("SIGHUP: nothing to reload (settings need a restart)")
			}
			continue
		}
		n, err := g.mapFile.Reload()
		if err != nil {
			g.log.Error("user map file not reloaded, keeping the previous contents", "file", g.mapFile.Path(), "err", err)
			continue
		}
		g.log.Info("user map file reloaded", "file", g.mapFile.Path(), "users", n)
	}
}
