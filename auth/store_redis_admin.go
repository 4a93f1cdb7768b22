package auth

import (
	"context"
	"errors"
	"slices"
	"strings"

	"github.com/redis/go-redis/v9"
)

// The Redis store's operator queries: revoke and list. An index may name
// keys that expired or were ended elsewhere; those are skipped and
// dropped from it.

// indexed is a session an index names, with the fields revoke and list
// read (nil when the key is gone).
type indexed struct {
	key    string
	index  string
	fields []any // sub, email, created, seen, expires
}

// adminBatch is how many sessions one pipelined round trip reads or ends:
// each batch gets its own timeout, so a user with many sessions (a script
// signing in thousands of times) cannot make revoke time out and end none.
const adminBatch = 500

// members reads the sessions the indexes name, each once.
func (s *redisStore) members(ctx context.Context, indexes ...string) ([]indexed, error) {
	sets := make([]*redis.StringSliceCmd, len(indexes))
	if err := s.batch(ctx, func(ctx context.Context, p redis.Pipeliner) {
		for i, idx := range indexes {
			sets[i] = p.SMembers(ctx, idx)
		}
	}); err != nil {
		return nil, err
	}
	var out []indexed
	seen := map[string]bool{}
	for i, set := range sets {
		for _, key := range set.Val() {
			if !seen[key] {
				seen[key] = true
				out = append(out, indexed{key: key, index: indexes[i]})
			}
		}
	}
	for start := 0; start < len(out); start += adminBatch {
		chunk := out[start:min(start+adminBatch, len(out))]
		reads := make([]*redis.SliceCmd, len(chunk))
		if err := s.batch(ctx, func(ctx context.Context, p redis.Pipeliner) {
			for i, m := range chunk {
				reads[i] = p.HMGet(ctx, m.key, "sub", "email", "created", "seen", "expires")
			}
		}); err != nil {
			return nil, err
		}
		for i := range chunk {
			if v := reads[i].Val(); len(v) == 5 && v[0] != nil {
				chunk[i].fields = v
			}
		}
	}
	return out, nil
}

// batch runs one pipelined round trip under its own timeout.
func (s *redisStore) batch(ctx context.Context, fill func(context.Context, redis.Pipeliner)) error {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	if _, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		fill(ctx, p)
		return nil
	}); err != nil {
		return unavailable(err)
	}
	return nil
}

// forget drops index entries whose session is gone. Best effort: a
// stale entry only costs a lookup.
func (s *redisStore) forget(ctx context.Context, gone []indexed) {
	if len(gone) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	_, _ = s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, m := range gone {
			p.SRem(ctx, m.index, m.key)
		}
		return nil
	})
}

func (s *redisStore) RevokeUser(ctx context.Context, sub, email string) (int, error) {
	indexes := indexKeys(sub, email)
	if len(indexes) == 0 {
		return 0, errors.New("revoke: give a subject or an email")
	}
	found, err := s.members(ctx, indexes...)
	if err != nil {
		return 0, err
	}
	var end, gone []indexed
	for _, m := range found {
		switch {
		case m.fields == nil:
			gone = append(gone, m)
		case (sub != "" && str(m.fields[0]) == sub) || (email != "" && strings.EqualFold(str(m.fields[1]), email)):
			end = append(end, m)
		}
	}
	s.forget(ctx, gone)
	if len(end) == 0 {
		return 0, nil
	}
	dels := make([]*redis.IntCmd, len(end))
	for start := 0; start < len(end); start += adminBatch {
		chunk, cdels := end[start:min(start+adminBatch, len(end))], dels[start:min(start+adminBatch, len(end))]
		if err := s.batch(ctx, func(ctx context.Context, p redis.Pipeliner) {
			for i, m := range chunk {
				cdels[i] = p.Del(ctx, m.key)
				for _, idx := range indexKeys(str(m.fields[0]), str(m.fields[1])) {
					p.SRem(ctx, idx, m.key)
				}
			}
		}); err != nil {
			return 0, err
		}
	}
	n := 0
	for _, d := range dels {
		n += int(d.Val())
	}
	return n, nil
}

func (s *redisStore) List(ctx context.Context, email string) ([]SessionInfo, error) {
	if email == "" {
		return nil, errors.New("list: give an email")
	}
	found, err := s.members(ctx, indexKeys("", email)...)
	if err != nil {
		return nil, err
	}
	var out []SessionInfo
	var gone []indexed
	for _, m := range found {
		if m.fields == nil {
			gone = append(gone, m)
			continue
		}
		if !strings.EqualFold(str(m.fields[1]), email) {
			continue // its email changed at a re-check
		}
		info := SessionInfo{Subject: str(m.fields[0]), Email: str(m.fields[1]),
			Created: fromMillis(str(m.fields[2])), LastSeen: fromMillis(str(m.fields[3])), Expires: fromMillis(str(m.fields[4]))}
		if s.idle > 0 && info.LastSeen.Add(s.idle).Before(info.Expires) {
			info.Expires = info.LastSeen.Add(s.idle)
		}
		if !s.now().Before(info.Expires) {
			continue // over, though Redis has not dropped it yet
		}
		out = append(out, info)
	}
	s.forget(ctx, gone)
	slices.SortFunc(out, func(a, b SessionInfo) int { return a.Created.Compare(b.Created) })
	return out, nil
}

func str(v any) string {
	s, _ := v.(string)
	return s
}
