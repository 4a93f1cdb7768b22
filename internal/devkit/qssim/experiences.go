package qssim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// The experiences of GenerateEmbedUrlForRegisteredUser beyond the console
// and the dashboard: Generative Q&A and one visual of a dashboard. Both are
// open to readers. Their pages live under /embedding/, as the embedding SDK
// expects of this API's URLs; the paths after the session id are the
// simulator's own: /q/generative[/topics/{TopicId}] and
// /dashboards/{DashboardId}/sheets/{SheetId}/visuals/{VisualId}.
const (
	experienceQnA    = "GenerativeQnA"
	experienceVisual = "DashboardVisual"
)

// topicPattern is InitialTopicId's constraint in the API reference (at most
// 256 of letters, digits and -_.+); the simulator also refuses "." and ".."
// alone, which a browser would resolve away in the URL's path.
var topicPattern = regexp.MustCompile(`^[A-Za-z0-9_.+-]{1,256}$`)

// readExperience checks one experience's configuration as the SDK sends it
// (serializers.go: awsRestjson1_serializeDocumentRegisteredUser...) and
// fills req's entry point, ids and features, and c's EntryPoint and
// Features.
func readExperience(name string, raw json.RawMessage, req *embedRequest, c *Call) *apiError {
	var members map[string]json.RawMessage
	if err := json.Unmarshal(raw, &members); err != nil || members == nil {
		return newError(ErrInvalidParameterValue, name+" must be an object.")
	}
	switch name {
	case experienceConsole:
		if e := onlyMembers(name, members, "InitialPath", "FeatureConfigurations"); e != nil {
			return e
		}
		req.entryPoint = "/start"
		if p, ok := members["InitialPath"]; ok {
			if err := json.Unmarshal(p, &req.entryPoint); err != nil {
				return newError(ErrInvalidParameterValue, "QuickSightConsole.InitialPath must be a string.")
			}
		}
		if e := checkEntryPoint(req.entryPoint); e != nil {
			return e
		}
	case experienceDashboard:
		if e := onlyMembers(name, members, "InitialDashboardId", "FeatureConfigurations"); e != nil {
			return e
		}
		if !stringMember(members, "InitialDashboardId", &req.dashboardID) || !idPattern.MatchString(req.dashboardID) {
			return newError(ErrInvalidParameterValue, `InitialDashboardId must match [\w\-]+ and be 1-512 characters.`)
		}
		req.entryPoint = "/dashboards/" + req.dashboardID
	case experienceQnA:
		if e := onlyMembers(name, members, "InitialTopicId"); e != nil {
			return e
		}
		req.entryPoint = "/q/generative"
		if _, ok := members["InitialTopicId"]; ok {
			if !stringMember(members, "InitialTopicId", &req.topicID) || !topicPattern.MatchString(req.topicID) || strings.Trim(req.topicID, ".") == "" {
				return newError(ErrInvalidParameterValue, "InitialTopicId must be 1-256 of letters, digits, '-', '_', '.' and '+'.")
			}
			req.entryPoint += "/topics/" + req.topicID
		}
	case experienceVisual:
		if e := onlyMembers(name, members, "InitialDashboardVisualId"); e != nil {
			return e
		}
		var ids map[string]json.RawMessage
		if err := json.Unmarshal(members["InitialDashboardVisualId"], &ids); err != nil || ids == nil {
			return newError(ErrInvalidParameterValue, "DashboardVisual.InitialDashboardVisualId is required: {DashboardId, SheetId, VisualId}.")
		}
		if e := onlyMembers("InitialDashboardVisualId", ids, "DashboardId", "SheetId", "VisualId"); e != nil {
			return e
		}
		for _, f := range []struct {
			name string
			to   *string
		}{{"DashboardId", &req.dashboardID}, {"SheetId", &req.sheetID}, {"VisualId", &req.visualID}} {
			if !stringMember(ids, f.name, f.to) || !idPattern.MatchString(*f.to) {
				return newError(ErrInvalidParameterValue, fmt.Sprintf(`InitialDashboardVisualId.%s is required, and must match [\w\-]+ and be 1-512 characters.`, f.name))
			}
		}
		req.entryPoint = "/dashboards/" + req.dashboardID + "/sheets/" + req.sheetID + "/visuals/" + req.visualID
	default:
		return newError(ErrInvalidParameterValue, fmt.Sprintf(
			"The simulator supports the QuickSightConsole, Dashboard, GenerativeQnA and DashboardVisual experiences, not %s.", name))
	}
	c.EntryPoint = req.entryPoint
	if raw, ok := members["FeatureConfigurations"]; ok && !isNull(raw) {
		features, e := readFeatures(name, raw)
		if e != nil {
			return e
		}
		req.features, c.Features = features, features
	}
	return nil
}

// featureMembers are the members of each experience's FeatureConfigurations
// (types.RegisteredUserConsoleFeatureConfigurations and
// types.RegisteredUserDashboardFeatureConfigurations), and of its
// AmazonQInQuickSight.
var featureMembers = map[string]struct{ top, amazonQ []string }{
	experienceConsole: {
		top:     []string{"StatePersistence", "SharedView", "Schedules", "RecentSnapshots", "ThresholdAlerts", "DashboardCustomizationSummary"},
		amazonQ: []string{"DataQnA", "DataStories", "ExecutiveSummary", "GenerativeAuthoring"},
	},
	experienceDashboard: {
		top:     []string{"StatePersistence", "SharedView", "Bookmarks", "Schedules", "RecentSnapshots", "ThresholdAlerts", "DashboardCustomizationSummary"},
		amazonQ: []string{"ExecutiveSummary"},
	},
}

// readFeatures checks a FeatureConfigurations object: only the members the
// experience has, each {"Enabled": true|false} (Enabled is required), and
// AmazonQInQuickSight an object of the same kind. It returns the members as
// sent, sorted: "Name" when enabled, "Name=false" when not, and
// AmazonQInQuickSight's as "AmazonQInQuickSight.Name".
func readFeatures(experience string, raw json.RawMessage) ([]string, *apiError) {
	allowed := featureMembers[experience]
	context := experience + ".FeatureConfigurations"
	var members map[string]json.RawMessage
	if err := json.Unmarshal(raw, &members); err != nil || members == nil {
		return nil, newError(ErrInvalidParameterValue, context+" must be an object.")
	}
	out := []string{}
	if e := onlyMembers(context, members, append(slices.Clone(allowed.top), "AmazonQInQuickSight")...); e != nil {
		return nil, e
	}
	for name, v := range members {
		if name == "AmazonQInQuickSight" {
			continue
		}
		f, e := readFeature(context+"."+name, name, v)
		if e != nil {
			return nil, e
		}
		out = append(out, f)
	}
	if raw, ok := members["AmazonQInQuickSight"]; ok && !isNull(raw) {
		qContext := context + ".AmazonQInQuickSight"
		var q map[string]json.RawMessage
		if err := json.Unmarshal(raw, &q); err != nil || q == nil {
			return nil, newError(ErrInvalidParameterValue, qContext+" must be an object.")
		}
		if e := onlyMembers(qContext, q, allowed.amazonQ...); e != nil {
			return nil, e
		}
		for name, v := range q {
			f, e := readFeature(qContext+"."+name, "AmazonQInQuickSight."+name, v)
			if e != nil {
				return nil, e
			}
			out = append(out, f)
		}
	}
	slices.Sort(out)
	return out, nil
}

// readFeature reads one {"Enabled": bool} member, which QuickSight requires.
func readFeature(context, name string, raw json.RawMessage) (string, *apiError) {
	var members map[string]json.RawMessage
	var enabled bool
	if err := json.Unmarshal(raw, &members); err != nil || members == nil {
		return "", newError(ErrInvalidParameterValue, context+` must be {"Enabled": true|false}.`)
	}
	if e := onlyMembers(context, members, "Enabled"); e != nil {
		return "", e
	}
	if v, ok := members["Enabled"]; !ok || json.Unmarshal(v, &enabled) != nil {
		return "", newError(ErrInvalidParameterValue, context+".Enabled is required: true or false.")
	}
	if !enabled {
		return name + "=false", nil
	}
	return name, nil
}

// onlyMembers refuses a member the model does not have. QuickSight might
// ignore one; the simulator refuses it, since the SDK never sends one and a
// request that has one was built by hand, wrongly (Bookmarks in the
// console, DataQnA in a dashboard).
func onlyMembers(context string, members map[string]json.RawMessage, allowed ...string) *apiError {
	for name := range members {
		if !slices.Contains(allowed, name) {
			return newError(ErrInvalidParameterValue, fmt.Sprintf("%s has no member %q; it has %s.", context, name, strings.Join(allowed, ", ")))
		}
	}
	return nil
}

// stringMember reads members[name] as a JSON string into to.
func stringMember(members map[string]json.RawMessage, name string, to *string) bool {
	v, ok := members[name]
	return ok && json.Unmarshal(v, to) == nil
}

func isNull(raw json.RawMessage) bool { return bytes.Equal(bytes.TrimSpace(raw), []byte("null")) }
