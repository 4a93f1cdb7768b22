package quicksight

import (
	"errors"
	"strings"
)

// The experiences an embed URL opens, as GenerateEmbedUrlForRegisteredUser's
// ExperienceConfiguration names them. GetSessionEmbedUrl has only the
// console.
const (
	ExperienceConsole   = "QuickSightConsole"
	ExperienceDashboard = "Dashboard"
	ExperienceQnA       = "GenerativeQnA"
	ExperienceVisual    = "DashboardVisual"
)

// ErrNeedsRegisteredUser means the view opens an experience only
// GenerateEmbedUrlForRegisteredUser has (Generative Q&A, one visual) while
// the gateway uses GetSessionEmbedUrl. It is caught before any AWS call.
var ErrNeedsRegisteredUser = errors.New("this experience needs the registered-user API")

// Entry points are the console's (/start..., /dashboards/{id},
// /analyses/{id}) and the gateway's own for the other experiences:
// /qna, /qna/{TopicId} and /visual/{DashboardId}/{SheetId}/{VisualId}.
// Each is also the page's address after /embed.
const (
	qnaEntryPoint = "/qna"
	qnaPrefix     = "/qna/"
	visualPrefix  = "/visual/"
)

// maxTopicID is the longest topic id QuickSight takes (InitialTopicId).
const maxTopicID = 256

// view is an entry point taken apart.
type view struct {
	experience  string // ExperienceConsole, ExperienceQnA or ExperienceVisual
	dashboardID string // /dashboards/{id}, and a visual's dashboard
	sheetID     string
	visualID    string
	topicID     string // "" for Q&A's list of topics
}

// parseView takes an entry point apart; ok is false for anything that is
// not one of the forms above with plain ids (ValidID; a topic id at most
// maxTopicID long).
func parseView(ep string) (v view, ok bool) {
	if len(ep) > MaxEntryPoint {
		return v, false
	}
	switch ep {
	case "/start", "/start/analyses", "/start/dashboards", "/start/favorites":
		return view{experience: ExperienceConsole}, true
	case qnaEntryPoint:
		return view{experience: ExperienceQnA}, true
	}
	if id, ok := strings.CutPrefix(ep, "/dashboards/"); ok && ValidID(id) {
		return view{experience: ExperienceConsole, dashboardID: id}, true
	}
	if id, ok := strings.CutPrefix(ep, "/analyses/"); ok && ValidID(id) {
		return view{experience: ExperienceConsole}, true
	}
	if id, ok := strings.CutPrefix(ep, qnaPrefix); ok && ValidID(id) && len(id) <= maxTopicID {
		return view{experience: ExperienceQnA, topicID: id}, true
	}
	if ids, ok := strings.CutPrefix(ep, visualPrefix); ok {
		d, rest, _ := strings.Cut(ids, "/")
		s, vis, _ := strings.Cut(rest, "/")
		// ValidID refuses "/", so a fourth segment fails the visual's id.
		if ValidID(d) && ValidID(s) && ValidID(vis) {
			return view{experience: ExperienceVisual, dashboardID: d, sheetID: s, visualID: vis}, true
		}
	}
	return v, false
}

// QnAEntryPoint is the entry point of Generative Q&A at topicID ("" for
// the list of topics); the caller checks the id (ValidID).
func QnAEntryPoint(topicID string) string {
	if topicID == "" {
		return qnaEntryPoint
	}
	return qnaPrefix + topicID
}

// VisualEntryPoint is the entry point of one visual; the caller checks the
// ids (ValidID).
func VisualEntryPoint(dashboardID, sheetID, visualID string) string {
	return visualPrefix + dashboardID + "/" + sheetID + "/" + visualID
}

// NeedsRegisteredUser reports whether entry point ep opens an experience
// only GenerateEmbedUrlForRegisteredUser has.
func NeedsRegisteredUser(ep string) bool {
	return ep == qnaEntryPoint || strings.HasPrefix(ep, qnaPrefix) || strings.HasPrefix(ep, visualPrefix)
}

// Supports returns ErrNeedsRegisteredUser when ep opens an experience the
// client's API does not have, without any call; else nil. It does not
// check ep itself (CheckEntryPoint does).
func (c *Client) Supports(ep string) error {
	if !c.RegisteredUser && NeedsRegisteredUser(ep) {
		return ErrNeedsRegisteredUser
	}
	return nil
}
