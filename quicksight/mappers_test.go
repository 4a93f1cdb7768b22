package quicksight

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awsqs "github.com/aws/aws-sdk-go-v2/service/quicksight"
	"github.com/aws/aws-sdk-go-v2/service/quicksight/types"

	"github.com/qsgate/qsgate/internal/devkit/qssim"
)

// These tests run the mappers, the directory and the embed client through
// the real SDK against the QuickSight simulator, and count the AWS calls
// the simulator saw: a cache or a shared lookup that stops working shows
// up as calls, and calls are what an account's throttling limits count.

const testAccount = qssim.DefaultAccountID

// startSim starts a simulator for cfg, stopped when the test ends.
func startSim(t *testing.T, cfg qssim.Config) *qssim.Server {
	t.Helper()
	sim, err := qssim.Start(cfg)
	if err != nil {
		t.Fatalf("qssim.Start: %v", err)
	}
	t.Cleanup(func() { _ = sim.Close() })
	return sim
}

// awsConfig is the SDK configuration with the simulator's credentials.
func awsConfig(region string) aws.Config {
	return aws.Config{
		Region:      region,
		Credentials: credentials.NewStaticCredentialsProvider(qssim.DefaultAccessKeyID, qssim.DefaultSecretAccessKey, ""),
	}
}

// qsClient is the real SDK QuickSight client for region, aimed at sim.
func qsClient(sim *qssim.Server, region string) *awsqs.Client {
	return awsqs.NewFromConfig(awsConfig(region), func(o *awsqs.Options) { o.BaseEndpoint = aws.String(sim.URL()) })
}

// registrations keeps every RegisterUserInput sent: the simulator does not
// store CustomPermissionsName, so the request is the only place to see it.
type registrations struct {
	mu  sync.Mutex
	ins []awsqs.RegisterUserInput
}

func (r *registrations) all() []awsqs.RegisterUserInput {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.ins)
}

// recordingUsers is the real SDK client with RegisterUser's input kept.
type recordingUsers struct {
	*awsqs.Client
	rec *registrations
}

func (u recordingUsers) RegisterUser(ctx context.Context, in *awsqs.RegisterUserInput, opts ...func(*awsqs.Options)) (*awsqs.RegisterUserOutput, error) {
	u.rec.mu.Lock()
	u.rec.ins = append(u.rec.ins, *in)
	u.rec.mu.Unlock()
	return u.Client.RegisterUser(ctx, in, opts...)
}

// newDirectory is the Directory the gateway builds, starting in region.
func newDirectory(sim *qssim.Server, region string, follow bool) (*Directory, *registrations) {
	rec := &registrations{}
	dir := NewDirectory(testAccount, region, 10*time.Second, follow, func(region string) UsersAPI {
		return recordingUsers{Client: qsClient(sim, region), rec: rec}
	}, nil)
	return dir, rec
}

// newClient is the embed client the gateway builds: embedding in region,
// the reader diagnosis through dir.
func newClient(sim *qssim.Server, region string, dir *Directory) *Client {
	return &Client{API: qsClient(sim, region), AccountID: testAccount, SessionLifetime: 60, Timeout: 10 * time.Second, Directory: dir}
}

// person is a signed-in user with a verified email and no other claim.
func person(email string) Person { return Person{Claims: claims{"email": email}} }

// ops counts calls by operation.
func ops(calls []qssim.Call) map[string]int {
	n := map[string]int{}
	for _, c := range calls {
		n[c.Operation]++
	}
	return n
}

// trace is calls as "Operation Region [ErrorCode]", oldest first.
func trace(calls []qssim.Call) []string {
	var out []string
	for _, c := range calls {
		out = append(out, strings.TrimSpace(c.Operation+" "+c.Region+" "+c.ErrorCode))
	}
	return out
}

// since returns the calls sim saw after the first n.
func since(sim *qssim.Server, n int) []qssim.Call { return sim.Calls()[n:] }

// eventually polls cond every 20 ms for at most 10 s.
func eventually(cond func() bool) bool {
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if cond() {
			return true
		}
	}
	return cond()
}

// atOnce runs n views together (all released by one barrier) and returns
// their results by index.
func atOnce(n int, view func(i int) (Identity, error)) ([]Identity, []error) {
	ids, errs := make([]Identity, n), make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			ids[i], errs[i] = view(i)
		})
	}
	close(start)
	wg.Wait()
	return ids, errs
}

// TestLookupMapperListing walks one mapper through a namespace of 254
// users (three pages): each step's answer and the calls it cost.
func TestLookupMapperListing(t *testing.T) {
	t.Parallel()
	sim := startSim(t, qssim.Config{})
	alice := sim.AddUser(qssim.User{UserName: "alice", Email: "Alice@Corp.Test", Role: "AUTHOR"})
	for i := range 250 {
		sim.AddUser(qssim.User{UserName: fmt.Sprintf("user-%03d", i), Email: fmt.Sprintf("user%03d@corp.test", i)})
	}
	last := sim.AddUser(qssim.User{UserName: "zz-last", Email: "last@corp.test", Role: "ADMIN"})
	sim.AddUser(qssim.User{UserName: "twin-1", Email: "twin@corp.test"})
	sim.AddUser(qssim.User{UserName: "twin-2", Email: "TWIN@corp.test"})
	dir, _ := newDirectory(sim, qssim.DefaultRegion, false)
	m := NewLookupMapper(dir, nil, time.Hour)

	steps := []struct {
		name    string
		email   string
		want    Identity
		wantErr error
		calls   map[string]int
	}{
		{"user on the last page: the listing pages to the end", "last@corp.test", Identity{UserARN: last, Role: "ADMIN"}, nil, map[string]int{"ListUsers": 3}},
		{"second view: from the cache", "last@corp.test", Identity{UserARN: last, Role: "ADMIN"}, nil, map[string]int{}},
		{"another user of the same listing, name not the email, email stored in another case", "alice@corp.test", Identity{UserARN: alice, Role: "AUTHOR"}, nil, map[string]int{}},
		{"signed-in email in another case", "ALICE@corp.TEST", Identity{UserARN: alice, Role: "AUTHOR"}, nil, map[string]int{}},
		// The namespace's listing answers for a minute, found or not.
		{"two users share the email", "twin@corp.test", Identity{}, ErrNoMapping, map[string]int{}},
		{"two users share the email, again: cached", "Twin@Corp.Test", Identity{}, ErrNoMapping, map[string]int{}},
		{"unknown email", "nobody@corp.test", Identity{}, ErrUserNotFound, map[string]int{}},
		{"unknown email, again: cached", "nobody@corp.test", Identity{}, ErrUserNotFound, map[string]int{}},
	}
	for _, s := range steps {
		n := len(sim.Calls())
		got, err := m.Identity(t.Context(), person(s.email))
		if s.wantErr != nil {
			if !errors.Is(err, s.wantErr) {
				t.Errorf("%s: Identity(%q) = %+v, %v; want %v", s.name, s.email, got, err, s.wantErr)
			}
		} else if err != nil || !reflect.DeepEqual(got, s.want) {
			t.Errorf("%s: Identity(%q) = %+v, %v; want %+v", s.name, s.email, got, err, s.want)
		}
		if calls := ops(since(sim, n)); !maps.Equal(calls, s.calls) {
			t.Errorf("%s: calls = %v, want %v", s.name, calls, s.calls)
		}
	}
}

// TestLookupMapperMissingExpires: a user added by hand after a "not found"
// gets in once the not-found answer expires (min(ttl, MaxMissingTTL)), and
// until then the answer costs no call.
func TestLookupMapperMissingExpires(t *testing.T) {
	t.Parallel()
	sim := startSim(t, qssim.Config{})
	dir, _ := newDirectory(sim, qssim.DefaultRegion, false)
	m := NewLookupMapper(dir, nil, 500*time.Millisecond)
	p := person("late@corp.test")

	if _, err := m.Identity(t.Context(), p); !errors.Is(err, ErrUserNotFound) {
		t.Fatalf("Identity before the user exists = %v, want ErrUserNotFound", err)
	}
	arn := sim.AddUser(qssim.User{UserName: "late", Email: "late@corp.test", Role: "AUTHOR"})
	n := len(sim.Calls())
	if _, err := m.Identity(t.Context(), p); !errors.Is(err, ErrUserNotFound) {
		t.Errorf("Identity right after the user was added = %v, want the cached ErrUserNotFound", err)
	}
	if calls := ops(since(sim, n)); len(calls) != 0 {
		t.Errorf("cached not-found made calls %v, want none", calls)
	}
	var got Identity
	if !eventually(func() bool {
		var err error
		got, err = m.Identity(t.Context(), p)
		return err == nil
	}) {
		t.Fatalf("the added user is still not found after 10s; the not-found answer does not expire")
	}
	if got.UserARN != arn {
		t.Errorf("UserARN = %q, want %q", got.UserARN, arn)
	}
	// Only the expiry sends the mapper back to QuickSight: one pass.
	if calls := ops(since(sim, n)); !maps.Equal(calls, map[string]int{"ListUsers": 1}) {
		t.Errorf("calls while waiting = %v, want one ListUsers", calls)
	}
}

// TestLookupMapperUnknownUsersShareOneListing: in lookup mode (listing), a
// listing younger than MaxMissingTTL answers "not found" for any email it
// does not hold. Were each signed-in user QuickSight does not know to cost
// a whole ListUsers pass of the namespace (users/100 pages) a minute, then
// in a company whose portal is open to every employee
// (QSGATE_ALLOWED_EMAIL_DOMAINS) a handful of people without a QuickSight
// user would spend the whole QSGATE_QUICKSIGHT_MAX_RPS budget (20,000 users
// = 200 calls = 40 s of the default 5/s budget each), and everyone else
// would get the 503 page.
func TestLookupMapperUnknownUsersShareOneListing(t *testing.T) {
	t.Parallel()
	sim := startSim(t, qssim.Config{})
	for i := range 250 {
		sim.AddUser(qssim.User{UserName: fmt.Sprintf("user-%03d", i), Email: fmt.Sprintf("user%03d@corp.test", i)})
	}
	dir, _ := newDirectory(sim, qssim.DefaultRegion, false)
	m := NewLookupMapper(dir, nil, time.Hour)
	n := len(sim.Calls())
	for i := range 5 {
		if _, err := m.Identity(t.Context(), person(fmt.Sprintf("stranger%d@corp.test", i))); !errors.Is(err, ErrUserNotFound) {
			t.Fatalf("stranger %d: %v, want ErrUserNotFound", i, err)
		}
	}
	if got := ops(since(sim, n))["ListUsers"]; got > 3 {
		t.Errorf("5 unknown users in a minute cost %d ListUsers calls (a full pass each), want one pass (3)", got)
	}
}

// TestBadEmailMakesNoCall: an address that is not one plain address is
// refused by every mapper before any AWS call.
func TestBadEmailMakesNoCall(t *testing.T) {
	t.Parallel()
	sim := startSim(t, qssim.Config{})
	sim.AddUser(qssim.User{UserName: "victim", Email: "victim@corp.test", Role: "ADMIN"})
	dir, _ := newDirectory(sim, qssim.DefaultRegion, false)
	names, err := ParseNameTemplate("{preferred_username}")
	if err != nil {
		t.Fatal(err)
	}
	mappers := map[string]Mapper{
		"lookup by listing": NewLookupMapper(dir, nil, time.Hour),
		"lookup by name":    NewLookupMapper(dir, names, time.Hour),
		"register":          NewRegisterMapper(NewLookupMapper(dir, nil, time.Hour), nil, ""),
	}
	for _, email := range []string{"a@evil.test@corp.test", "victim@corp.test@evil.test", "", "noat", "@x", "x@", "a b@corp.test", "\u212Aate@corp.test"} {
		for name, m := range mappers {
			p := Person{Claims: claims{"email": email, "preferred_username": "victim"}, Role: "ADMIN"}
			if got, err := m.Identity(t.Context(), p); !errors.Is(err, ErrNoMapping) {
				t.Errorf("%s: Identity(%q) = %+v, %v; want ErrNoMapping", name, email, got, err)
			}
		}
	}
	if calls := sim.Calls(); len(calls) != 0 {
		t.Errorf("calls = %v, want none", trace(calls))
	}
}

// TestConcurrentFirstViews: fifty first views at once share one lookup.
func TestConcurrentFirstViews(t *testing.T) {
	t.Parallel()
	names, err := ParseNameTemplate("{preferred_username}")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		names     *NameTemplate
		sameUser  bool
		wantCalls map[string]int
	}{
		{"one user, by listing", nil, true, map[string]int{"ListUsers": 1}},
		{"one user, by name", names, true, map[string]int{"DescribeUser": 1}},
		{"fifty users of one namespace, by listing", nil, false, map[string]int{"ListUsers": 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			sim := startSim(t, qssim.Config{})
			arns := make([]string, 50)
			for i := range arns {
				arns[i] = sim.AddUser(qssim.User{UserName: fmt.Sprintf("u%02d", i), Email: fmt.Sprintf("u%02d@corp.test", i), Role: "AUTHOR"})
			}
			sim.SetLatency(50 * time.Millisecond) // the views overlap the call
			dir, _ := newDirectory(sim, qssim.DefaultRegion, false)
			m := NewLookupMapper(dir, tt.names, time.Hour)
			user := func(i int) int {
				if tt.sameUser {
					return 0
				}
				return i
			}
			ids, errs := atOnce(50, func(i int) (Identity, error) {
				u := user(i)
				return m.Identity(t.Context(), Person{Claims: claims{"email": fmt.Sprintf("u%02d@corp.test", u), "preferred_username": fmt.Sprintf("u%02d", u)}})
			})
			for i := range ids {
				if errs[i] != nil || ids[i].UserARN != arns[user(i)] {
					t.Errorf("view %d = %+v, %v; want %s", i, ids[i], errs[i], arns[user(i)])
				}
			}
			if calls := ops(sim.Calls()); !maps.Equal(calls, tt.wantCalls) {
				t.Errorf("calls = %v, want %v", calls, tt.wantCalls)
			}
		})
	}
}

// TestLookupMapperByName: with a user name template the mapper asks
// DescribeUser for one name, and the user found must have the signed-in
// email: someone who sets their username to a colleague's gets nothing.
func TestLookupMapperByName(t *testing.T) {
	t.Parallel()
	sim := startSim(t, qssim.Config{})
	bob := sim.AddUser(qssim.User{UserName: "bob", Email: "Bob@Corp.Test", Role: "AUTHOR"})
	sim.AddUser(qssim.User{UserName: "carol", Email: "carol@corp.test", Role: "ADMIN"})
	dir, _ := newDirectory(sim, qssim.DefaultRegion, false)
	names, err := ParseNameTemplate("{preferred_username}")
	if err != nil {
		t.Fatal(err)
	}
	m := NewLookupMapper(dir, names, time.Hour)

	steps := []struct {
		name    string
		claims  claims
		want    Identity
		wantErr error
		calls   map[string]int
	}{
		{"found by name", claims{"email": "bob@corp.test", "preferred_username": "bob"}, Identity{UserARN: bob, Role: "AUTHOR"}, nil, map[string]int{"DescribeUser": 1}},
		{"second view: cached", claims{"email": "bob@corp.test", "preferred_username": "bob"}, Identity{UserARN: bob, Role: "AUTHOR"}, nil, map[string]int{}},
		{"username of a colleague", claims{"email": "mallory@corp.test", "preferred_username": "carol"}, Identity{}, ErrNoMapping, map[string]int{"DescribeUser": 1}},
		{"username of a colleague, again: cached", claims{"email": "mallory@corp.test", "preferred_username": "carol"}, Identity{}, ErrNoMapping, map[string]int{}},
		{"no such user", claims{"email": "dan@corp.test", "preferred_username": "dan"}, Identity{}, ErrUserNotFound, map[string]int{"DescribeUser": 1}},
		{"no username claim", claims{"email": "erin@corp.test"}, Identity{}, ErrNoMapping, map[string]int{}},
		{"username that is not a user name", claims{"email": "erin@corp.test", "preferred_username": "../carol"}, Identity{}, ErrNoMapping, map[string]int{}},
	}
	for _, s := range steps {
		n := len(sim.Calls())
		got, err := m.Identity(t.Context(), Person{Claims: s.claims})
		if s.wantErr != nil {
			if !errors.Is(err, s.wantErr) {
				t.Errorf("%s: Identity = %+v, %v; want %v", s.name, got, err, s.wantErr)
			}
		} else if err != nil || !reflect.DeepEqual(got, s.want) {
			t.Errorf("%s: Identity = %+v, %v; want %+v", s.name, got, err, s.want)
		}
		if calls := ops(since(sim, n)); !maps.Equal(calls, s.calls) {
			t.Errorf("%s: calls = %v, want %v", s.name, calls, s.calls)
		}
	}
}

// TestRegisterMapper: a user QuickSight does not know is registered once,
// with the policy's role and namespace, and is then served from the cache.
func TestRegisterMapper(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		p           Person
		permissions string
		// what QuickSight must hold afterwards
		wantNS, wantUser, wantRole string
	}{
		{"author in a namespace, custom permissions", Person{Claims: claims{"email": "New@Corp.Test"}, Namespace: "sales", Role: "AUTHOR"}, "embed-only",
			"sales", "New@Corp.Test", "AUTHOR"},
		{"no role, no namespace, no permissions", person("plain@corp.test"), "",
			"default", "plain@corp.test", "READER"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			sim := startSim(t, qssim.Config{})
			sim.AddUser(qssim.User{UserName: "someone", Email: "someone@corp.test", Namespace: "sales"}) // the namespace exists
			dir, regs := newDirectory(sim, qssim.DefaultRegion, false)
			m := NewRegisterMapper(NewLookupMapper(dir, nil, time.Hour), nil, tt.permissions)

			id, err := m.Identity(t.Context(), tt.p)
			wantID := Identity{UserARN: sim.UserARN(tt.wantNS, tt.wantUser), Role: tt.wantRole}
			if err != nil || !reflect.DeepEqual(id, wantID) {
				t.Fatalf("first view = %+v, %v; want %+v", id, err, wantID)
			}
			if calls, want := ops(sim.Calls()), map[string]int{"ListUsers": 1, "RegisterUser": 1}; !maps.Equal(calls, want) {
				t.Errorf("first view calls = %v, want %v", calls, want)
			}
			stored, err := dir.Describe(t.Context(), tt.wantNS, tt.wantUser)
			want := User{ARN: wantID.UserARN, UserName: tt.wantUser, Email: tt.p.Claims.Claim("email"), Role: tt.wantRole, IdentityType: "QUICKSIGHT", Active: true}
			if err != nil || stored != want {
				t.Errorf("QuickSight holds %+v, %v; want %+v", stored, err, want)
			}
			ins := regs.all()
			if len(ins) != 1 {
				t.Fatalf("RegisterUser sent %d times, want once", len(ins))
			}
			if got := aws.ToString(ins[0].CustomPermissionsName); got != tt.permissions {
				t.Errorf("CustomPermissionsName = %q, want %q", got, tt.permissions)
			}
			if ins[0].IdentityType != types.IdentityTypeQuicksight {
				t.Errorf("IdentityType = %q, want QUICKSIGHT", ins[0].IdentityType)
			}

			n := len(sim.Calls())
			if id, err := m.Identity(t.Context(), tt.p); err != nil || !reflect.DeepEqual(id, wantID) {
				t.Errorf("second view = %+v, %v; want %+v", id, err, wantID)
			}
			if calls := since(sim, n); len(calls) != 0 {
				t.Errorf("second view calls = %v, want none", trace(calls))
			}
		})
	}
}

// TestRegisterMapperConcurrent: fifty first views of a new user register
// them once.
func TestRegisterMapperConcurrent(t *testing.T) {
	t.Parallel()
	sim := startSim(t, qssim.Config{})
	sim.SetLatency(50 * time.Millisecond)
	dir, _ := newDirectory(sim, qssim.DefaultRegion, false)
	m := NewRegisterMapper(NewLookupMapper(dir, nil, time.Hour), nil, "")
	want := Identity{UserARN: sim.UserARN("default", "new@corp.test"), Role: "AUTHOR"}

	ids, errs := atOnce(50, func(int) (Identity, error) {
		return m.Identity(t.Context(), Person{Claims: claims{"email": "new@corp.test"}, Role: "AUTHOR"})
	})
	for i := range ids {
		if errs[i] != nil || !reflect.DeepEqual(ids[i], want) {
			t.Errorf("view %d = %+v, %v; want %+v", i, ids[i], errs[i], want)
		}
	}
	if calls, wantCalls := ops(sim.Calls()), map[string]int{"ListUsers": 1, "RegisterUser": 1}; !maps.Equal(calls, wantCalls) {
		t.Errorf("calls = %v, want %v", calls, wantCalls)
	}
}

// TestRegisterMapperRace: the user appears after the mapper cached "not
// found" (another gateway instance registered them). RegisterUser answers
// ResourceExists; the view still succeeds, as the user QuickSight holds.
// A user name taken by someone with another email opens nothing.
func TestRegisterMapperRace(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		email     string
		existing  qssim.User
		wantRole  string // "" means ErrNoMapping
		wantCalls map[string]int
	}{
		{"registered meanwhile", "erin@corp.test", qssim.User{UserName: "erin@corp.test", Email: "Erin@Corp.Test", Role: "ADMIN"},
			"ADMIN", map[string]int{"RegisterUser": 1, "ListUsers": 1}},
		{"name taken by another email", "dave@corp.test", qssim.User{UserName: "dave@corp.test", Email: "someone-else@corp.test", Role: "ADMIN"},
			"", map[string]int{"RegisterUser": 1, "ListUsers": 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			sim := startSim(t, qssim.Config{})
			dir, _ := newDirectory(sim, qssim.DefaultRegion, false)
			lookup := NewLookupMapper(dir, nil, time.Hour)
			p := Person{Claims: claims{"email": tt.email}, Role: "READER"}
			if _, err := lookup.Identity(t.Context(), p); !errors.Is(err, ErrUserNotFound) {
				t.Fatalf("lookup before the user exists = %v, want ErrUserNotFound", err)
			}
			arn := sim.AddUser(tt.existing)
			m := NewRegisterMapper(lookup, nil, "")

			n := len(sim.Calls())
			id, err := m.Identity(t.Context(), p)
			if tt.wantRole == "" {
				if !errors.Is(err, ErrNoMapping) {
					t.Errorf("Identity = %+v, %v; want ErrNoMapping", id, err)
				}
			} else if want := (Identity{UserARN: arn, Role: tt.wantRole}); err != nil || !reflect.DeepEqual(id, want) {
				t.Errorf("Identity = %+v, %v; want %+v", id, err, want)
			}
			calls := since(sim, n)
			if got := ops(calls); !maps.Equal(got, tt.wantCalls) {
				t.Errorf("calls = %v, want %v", got, tt.wantCalls)
			}
			if !slices.Contains(trace(calls), "RegisterUser "+qssim.DefaultRegion+" "+qssim.ErrResourceExists) {
				t.Errorf("calls = %v, want RegisterUser answered %s", trace(calls), qssim.ErrResourceExists)
			}

			// The answer is kept: the next view asks QuickSight nothing,
			// above all no second RegisterUser.
			n = len(sim.Calls())
			again, errAgain := m.Identity(t.Context(), p)
			if !reflect.DeepEqual(again, id) || (errAgain == nil) != (err == nil) {
				t.Errorf("second view = %+v, %v; want the first view's answer %+v, %v", again, errAgain, id, err)
			}
			if calls := since(sim, n); len(calls) != 0 {
				t.Errorf("second view calls = %v, want none", trace(calls))
			}
		})
	}
}

// TestDirectoryIdentityRegion: user management called outside the identity
// region fails with the setting to change, or, with follow, moves there
// and stays.
func TestDirectoryIdentityRegion(t *testing.T) {
	t.Parallel()
	tests := []struct {
		follow     bool
		wantErr    bool
		wantRegion string
		wantTrace  []string
	}{
		{false, true, "eu-west-1", []string{"ListUsers eu-west-1 AccessDeniedException"}},
		{true, false, "us-east-1", []string{"ListUsers eu-west-1 AccessDeniedException", "ListUsers us-east-1"}},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("follow=%t", tt.follow), func(t *testing.T) {
			t.Parallel()
			sim := startSim(t, qssim.Config{Region: "eu-west-1", IdentityRegion: "us-east-1"})
			alice := sim.AddUser(qssim.User{UserName: "alice", Email: "alice@corp.test", Role: "AUTHOR"})
			dir, _ := newDirectory(sim, "eu-west-1", tt.follow)
			m := NewLookupMapper(dir, nil, time.Hour)

			id, err := m.Identity(t.Context(), person("alice@corp.test"))
			if tt.wantErr {
				var e *Error
				if !errors.As(err, &e) || !errors.Is(err, ErrAccessDenied) || !strings.Contains(e.Hint, "QSGATE_QUICKSIGHT_IDENTITY_REGION=us-east-1") {
					t.Errorf("Identity = %+v, %v; want *Error of kind ErrAccessDenied with a hint naming QSGATE_QUICKSIGHT_IDENTITY_REGION=us-east-1", id, err)
				}
			} else if want := (Identity{UserARN: alice, Role: "AUTHOR"}); err != nil || !reflect.DeepEqual(id, want) {
				t.Errorf("Identity = %+v, %v; want %+v", id, err, want)
			}
			if got := dir.Region(); got != tt.wantRegion {
				t.Errorf("Region() = %q, want %q", got, tt.wantRegion)
			}
			if got := trace(sim.Calls()); !slices.Equal(got, tt.wantTrace) {
				t.Errorf("calls = %q, want %q", got, tt.wantTrace)
			}
			if !tt.follow {
				return
			}
			// The next call goes straight to the identity region (a new
			// mapper: this one has the namespace's listing).
			n := len(sim.Calls())
			m = NewLookupMapper(dir, nil, time.Hour)
			if _, err := m.Identity(t.Context(), person("nobody@corp.test")); !errors.Is(err, ErrUserNotFound) {
				t.Errorf("next Identity = %v, want ErrUserNotFound", err)
			}
			if got, want := trace(since(sim, n)), []string{"ListUsers us-east-1"}; !slices.Equal(got, want) {
				t.Errorf("next calls = %q, want %q", got, want)
			}
		})
	}
}

// TestSessionEmbedURLReaderDiagnosis: when QuickSight refuses the console,
// a reader is told so. The role the mapper learned answers that without a
// call; else DescribeUser asks, in the identity region.
func TestSessionEmbedURLReaderDiagnosis(t *testing.T) {
	t.Parallel()
	sim := startSim(t, qssim.Config{Region: "eu-west-1", IdentityRegion: "us-east-1"})
	reader := sim.AddUser(qssim.User{UserName: "rita", Email: "rita@corp.test", Role: "READER"})
	author := sim.AddUser(qssim.User{UserName: "arthur", Email: "arthur@corp.test", Role: "AUTHOR"})
	denied := sim.AddUser(qssim.User{UserName: "dora", Email: "dora@corp.test", Role: "AUTHOR"})
	sim.FailUser(denied, qssim.ErrAccessDenied)
	dir, _ := newDirectory(sim, "us-east-1", false)
	c := newClient(sim, "eu-west-1", dir)

	tests := []struct {
		name      string
		id        Identity
		wantErr   error // nil: an embed URL
		wantTrace []string
	}{
		{"reader, role known", Identity{UserARN: reader, Role: "READER"}, ErrNotAuthor,
			[]string{"GetSessionEmbedUrl eu-west-1 AccessDeniedException"}},
		{"reader, role unknown", Identity{UserARN: reader}, ErrNotAuthor,
			[]string{"GetSessionEmbedUrl eu-west-1 AccessDeniedException", "DescribeUser us-east-1"}},
		{"author", Identity{UserARN: author}, nil,
			[]string{"GetSessionEmbedUrl eu-west-1"}},
		{"author denied, role known", Identity{UserARN: denied, Role: "AUTHOR"}, ErrAccessDenied,
			[]string{"GetSessionEmbedUrl eu-west-1 AccessDeniedException"}},
	}
	for _, tt := range tests {
		n := len(sim.Calls())
		embed, err := c.EmbedURL(t.Context(), tt.id, Target{EntryPoint: "/start"})
		switch {
		case tt.wantErr == nil && (err != nil || embed.URL == "" || embed.RequestID == ""):
			t.Errorf("%s: EmbedURL = %+v, %v; want an embed URL and a request id", tt.name, embed, err)
		case tt.wantErr != nil && !errors.Is(err, tt.wantErr):
			t.Errorf("%s: EmbedURL error = %v, want %v", tt.name, err, tt.wantErr)
		}
		calls := since(sim, n)
		if got := trace(calls); !slices.Equal(got, tt.wantTrace) {
			t.Errorf("%s: calls = %q, want %q", tt.name, got, tt.wantTrace)
		}
		if len(calls) > 0 && calls[0].UserArn != tt.id.UserARN {
			t.Errorf("%s: GetSessionEmbedUrl sent user-arn %q, want %q", tt.name, calls[0].UserArn, tt.id.UserARN)
		}
	}
}

// openEmbed opens an embed URL as the browser would and returns the page.
func openEmbed(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("open embed URL: %v", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("open embed URL = %d, %v; want 200", resp.StatusCode, err)
	}
	return string(body)
}

// A namespace QuickSight does not have is a setup problem (502 with a hint
// naming the settings), not "no such dashboard".
func TestMissingNamespace(t *testing.T) {
	dir, _ := newDirectory(startSim(t, qssim.Config{}), qssim.DefaultRegion, false)
	m := NewLookupMapper(dir, nil, time.Minute)
	_, err := m.Identity(context.Background(), Person{Claims: claims{"email": "a@example.com"}, Namespace: "sales"})
	var e *Error
	if !errors.As(err, &e) || e.Kind != ErrRejected || !strings.Contains(e.Hint, "QSGATE_NAMESPACE_RULES") {
		t.Fatalf("err = %v, want ErrRejected with a hint naming the namespace settings", err)
	}
}
