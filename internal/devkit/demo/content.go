package demo

import (
	"time"

	"github.com/qsgate/qsgate/internal/devkit/qssim"
)

// shared is a dashboard or an analysis the demo's simulator holds, and the
// demo users (by subject) it is shared with: a dashboard's viewers, an
// analysis's owners. The same in every mapping mode; only the user ARNs
// differ.
type shared struct {
	analysis bool
	id, name string
	subjects []string
	age      time.Duration // since its last update, when the demo starts
}

// content is what the home page lists. alice sees Sales 2026, Marketing
// funnel and Churn deep dive; adam all but Churn deep dive; rita only Sales
// 2026; nora, once registered (register and iam modes), Sales 2026 too.
var content = []shared{
	{id: "sales-2026", name: "Sales 2026", subjects: []string{"alice", "adam", "rita", "nora"}, age: 2 * time.Hour},
	{id: "marketing-funnel", name: "Marketing funnel", subjects: []string{"alice", "adam"}, age: 3 * 24 * time.Hour},
	{id: "finance-close", name: "Finance close", subjects: []string{"adam"}, age: 26 * time.Hour},
	{analysis: true, id: "churn-deep-dive", name: "Churn deep dive", subjects: []string{"alice"}, age: 40 * time.Minute},
	{analysis: true, id: "q3-forecast", name: "Q3 forecast", subjects: []string{"adam"}, age: 9 * 24 * time.Hour},
}

// seedContent adds content to sim, shared with the user ARNs the mapping
// mode's users have, or will have once the gateway registers them.
func seedContent(sim *qssim.Server, mapping string) {
	arns := map[string]string{}
	for _, p := range people {
		if name, ok := quickSightUserName(mapping, p); ok {
			arns[p.subject] = sim.UserARN("default", name)
		}
	}
	now := time.Now()
	for _, c := range content {
		updated := now.Add(-c.age)
		var principals []string
		for _, s := range c.subjects {
			if arn, ok := arns[s]; ok {
				principals = append(principals, arn)
			}
		}
		if c.analysis {
			sim.AddAnalysis(qssim.Analysis{ID: c.id, Name: c.name, Owners: principals, LastUpdated: updated})
		} else {
			sim.AddDashboard(qssim.Dashboard{ID: c.id, Name: c.name, Viewers: principals, LastUpdated: updated})
		}
	}
}

// quickSightUserName is p's QuickSight user name in a mapping mode: the
// seeded user's, or the name the gateway registers a newcomer under (register:
// the email, as QSGATE_USER_NAME_TEMPLATE is unset; iam: role/email). False
// for someone who never has one.
func quickSightUserName(mapping string, p person) (string, bool) {
	switch {
	case !allowed(p):
		return "", false
	case p.role != "":
		u, _ := quickSightUser(mapping, p, "")
		return u.UserName, true
	case mapping == MappingRegister:
		return p.email, true
	case mapping == MappingIAM:
		return IAMRoleName + "/" + p.email, true
	}
	return "", false
}
