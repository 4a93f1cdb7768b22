package commands

import (
	"context"
	"io"
	"log/slog"

	"github.com/qsgate/qsgate/audit"
	"github.com/qsgate/qsgate/config"
)

// auditor is the audit stream as auth, handlers and quicksight take it,
// each through an interface of its own: a nil auditor (QSGATE_AUDIT_LOG=off)
// becomes a nil interface there, which records nothing.
type auditor interface {
	Record(ctx context.Context, e audit.Event)
}

// openAudit opens the audit stream QSGATE_AUDIT_LOG names, "stdout" being
// stdout. It returns the Logger to close (nil when off) and the auditor to
// hand on (nil when off). A file that cannot be opened is a problem naming
// the variable, so start-up stops saying which setting to fix.
func openAudit(cfg config.Config, stdout io.Writer, log *slog.Logger) (*audit.Logger, auditor, error) {
	l, err := audit.Open(cfg.AuditLog, stdout, log)
	if err != nil {
		return nil, nil, config.Problems{{Var: "QSGATE_AUDIT_LOG", Rule: "cannot open it: " + err.Error()}}
	}
	if l == nil {
		return nil, nil, nil
	}
	return l, l, nil
}
