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

// members reads the sessions the indexes name, each once.
func (s *redisStore) members(ctx context.Context, indexes ...string) ([]indexed, error) {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	sets := make([]*redis.StringSliceCmd, len(indexes))
	if _, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, idx := range indexes {
			sets[i] = p.SMembers(ctx, idx)
		}
		return nil
	}); err != nil {
		return nil, unavailable(err)
	}
	var out []indexed
	for i, set := range sets {
		for _, key := range set.Val() {
			if !slices.ContainsFunc(out, func(m indexed) bool { return m.key == key }) {
				out = append(out, indexed{key: key, index: indexes[i]})
			}
		}
	}
	if len(out) == 0 {
		return nil, nil
	}
	reads := make([]*redis.SliceCmd, len(out))
	if _, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, m := range out {
			reads[i] = p.HMGet(ctx, m.key, "sub", "email", "created", "seen", "expires")
		}
		return nil
	}); err != nil {
		return nil, unavailable(err)
	}
	for i := range out {
		if v := reads[i].Val(); len(v) == 5 && v[0] != nil {
			out[i].fields = v
		}
	}
	return out, nil
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
	cctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	dels := make([]*redis.IntCmd, len(end))
	if _, err := s.rdb.Pipelined(cctx, func(p redis.Pipeliner) error {
		for i, m := range end {
			dels[i] = p.Del(cctx, m.key)
			for _, idx := range indexKeys(str(m.fields[0]), str(m.fields[1])) {
				p.SRem(cctx, idx, m.key)
			}
		}
		return nil
	}); err != nil {
		return 0, unavailable(err)
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
