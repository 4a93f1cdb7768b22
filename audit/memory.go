package audit

import (
	"context"
	"sync"
)

// Memory keeps the events recorded, with what their context knows of the
// request and its trace, as Logger writes them (no time or instance): the
// auditor the tests of the packages that record give them.
type Memory struct {
	mu     sync.Mutex
	events []Event
}

// Record keeps e.
func (m *Memory) Record(ctx context.Context, e Event) {
	fromContext(ctx, &e)
	m.mu.Lock()
	defer m.mu.Unlock()
	m.events = append(m.events, e)
}

// Take returns the events recorded since the last Take.
func (m *Memory) Take() []Event {
	m.mu.Lock()
	defer m.mu.Unlock()
	e := m.events
	m.events = nil
	return e
}
