package handlers

import (
	"github.com/labstack/echo/v4"

	"github.com/qsgate/qsgate/quicksight"
)

// The registered-user API's experiences beyond the console: Generative Q&A
// and one visual of a dashboard. Their pages are the embed page (embed.go)
// with an entry point of their own; the same entry points work with
// /api/embed-url. Under the session API they are a 404 page, before any
// AWS call.

// experienceSupport is an issuer that says, before any AWS call, whether
// it can open an entry point (quicksight.Client.Supports): nil, or
// quicksight.ErrNeedsRegisteredUser.
type experienceSupport interface {
	Supports(entryPoint string) error
}

// supported is nil when d.Embeds can open ep, or says why not; an issuer
// that cannot tell is asked (and answers) on the call itself.
func supported(d Deps, ep string) error {
	if s, ok := d.Embeds.(experienceSupport); ok {
		return s.Supports(ep)
	}
	return nil
}

// qnaEntryPoint is GET /embed/qna and /embed/qna/:topic: Amazon Q's
// Generative Q&A, with the topics shared with the user or at one topic.
// The topic id is a plain id (quicksight.ValidID, at most 256 long, as
// QuickSight's topic ids are).
func qnaEntryPoint(d Deps) entryPointFunc {
	return func(c echo.Context) (string, string, error) {
		topic := c.Param("topic")
		ep := quicksight.QnAEntryPoint(topic)
		if err := supported(d, ep); err != nil {
			return "", "", err
		}
		if topic == "" {
			return ep, "Q&A", nil
		}
		if !quicksight.ValidID(topic) || quicksight.CheckEntryPoint(ep) != nil {
			return "", "", errBadID
		}
		return ep, "Q&A: " + topic, nil
	}
}

// visualEntryPoint is GET /embed/visual/:dashboard/:sheet/:visual: one
// visual of a dashboard, each id a plain id (quicksight.ValidID).
func visualEntryPoint(d Deps) entryPointFunc {
	return func(c echo.Context) (string, string, error) {
		dashboard, sheet, visual := c.Param("dashboard"), c.Param("sheet"), c.Param("visual")
		ep := quicksight.VisualEntryPoint(dashboard, sheet, visual)
		if err := supported(d, ep); err != nil {
			return "", "", err
		}
		if !quicksight.ValidID(dashboard) || !quicksight.ValidID(sheet) || !quicksight.ValidID(visual) || quicksight.CheckEntryPoint(ep) != nil {
			return "", "", errBadID
		}
		return ep, "Visual " + visual, nil
	}
}
