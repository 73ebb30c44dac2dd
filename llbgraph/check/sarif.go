package check

import (
	"encoding/json"
	"path/filepath"

	"github.com/ohlcv-rag/ohlcv-build/llbgraph/spec"
)

// The SARIF 2.1.0 log that code-scanning dashboards read: one run of this
// tool, its rules, and a result per finding. Only what this tool fills is
// declared.
type (
	sarifLog struct {
		Schema  string     `json:"$schema"`
		Version string     `json:"version"`
		Runs    []sarifRun `json:"runs"`
	}
	sarifRun struct {
		Tool        sarifTool         `json:"tool"`
		Invocations []sarifInvocation `json:"invocations"`
		Results     []sarifResult     `json:"results"`
	}
	sarifTool struct {
		Driver sarifDriver `json:"driver"`
	}
	sarifDriver struct {
		Name           string      `json:"name"`
		Version        string      `json:"version,omitempty"`
		InformationURI string      `json:"informationUri"`
		Rules          []sarifRule `json:"rules"`
	}
	sarifRule struct {
		ID                   string         `json:"id"`
		Name                 string         `json:"name"`
		ShortDescription     sarifMessage   `json:"shortDescription"`
		HelpURI              string         `json:"helpUri"`
		DefaultConfiguration sarifRuleLevel `json:"defaultConfiguration"`
		Properties           map[string]any `json:"properties,omitempty"`
	}
	sarifRuleLevel struct {
		Level string `json:"level"`
	}
	sarifInvocation struct {
		ExecutionSuccessful        bool                `json:"executionSuccessful"`
		ToolExecutionNotifications []sarifNotification `json:"toolExecutionNotifications,omitempty"`
	}
	sarifNotification struct {
		Level     string          `json:"level"`
		Message   sarifMessage    `json:"message"`
		Locations []sarifLocation `json:"locations,omitempty"`
	}
	sarifResult struct {
		RuleID    string          `json:"ruleId"`
		RuleIndex int             `json:"ruleIndex"`
		Level     string          `json:"level"`
		Message   sarifMessage    `json:"message"`
		Locations []sarifLocation `json:"locations"`
	}
	sarifMessage struct {
		Text string `json:"text"`
	}
	sarifLocation struct {
		PhysicalLocation sarifPhysical `json:"physicalLocation"`
	}
	sarifPhysical struct {
		ArtifactLocation sarifArtifact `json:"artifactLocation"`
		Region           *sarifRegion  `json:"region,omitempty"`
	}
	sarifArtifact struct {
		URI string `json:"uri"`
	}
	sarifRegion struct {
		StartLine   int `json:"startLine"`
		StartColumn int `json:"startColumn,omitempty"`
		EndLine     int `json:"endLine,omitempty"`
	}
)

// SARIF returns findings about file as a SARIF 2.1.0 log. When loadErr is
// not nil the spec did not load, or a stage could not be evaluated: the
// log says the run failed and carries each error as a notification at its
// position. version is this tool's version.
func SARIF(file string, findings []Finding, loadErr error, version string) ([]byte, error) {
	uri := filepath.ToSlash(file)
	run := sarifRun{
		Tool: sarifTool{Driver: sarifDriver{
			Name: "ohlcv-build check", Version: version, InformationURI: DocsURL,
		}},
		Invocations: []sarifInvocation{{ExecutionSuccessful: loadErr == nil}},
		Results:     []sarifResult{},
	}
	index := map[*Rule]int{}
	for i, r := range rules {
		index[r] = i
		run.Tool.Driver.Rules = append(run.Tool.Driver.Rules, sarifRule{
			ID: r.Name, Name: r.Name, ShortDescription: sarifMessage{r.Description}, HelpURI: r.URL(),
			DefaultConfiguration: sarifRuleLevel{"warning"},
			Properties:           map[string]any{"experimental": r.Experimental},
		})
	}
	for _, f := range findings {
		run.Results = append(run.Results, sarifResult{
			RuleID: f.Rule.Name, RuleIndex: index[f.Rule], Level: "warning",
			Message:   sarifMessage{f.Message},
			Locations: []sarifLocation{location(uri, f.Range)},
		})
	}
	if loadErr != nil {
		errs := spec.Errors(loadErr)
		if len(errs) == 0 {
			run.Invocations[0].ToolExecutionNotifications = append(run.Invocations[0].ToolExecutionNotifications, sarifNotification{Level: "error", Message: sarifMessage{loadErr.Error()}})
		}
		for _, e := range errs {
			n := sarifNotification{Level: "error", Message: sarifMessage{e.Error()}}
			if !e.Range.IsZero() {
				n.Locations = []sarifLocation{location(uri, e.Range)}
			}
			run.Invocations[0].ToolExecutionNotifications = append(run.Invocations[0].ToolExecutionNotifications, n)
		}
	}
	return json.MarshalIndent(sarifLog{
		Schema:  "https://json.schemastore.org/sarif-2.1.0.json",
		Version: "2.1.0",
		Runs:    []sarifRun{run},
	}, "", "  ")
}

func location(uri string, r spec.Range) sarifLocation {
	l := sarifLocation{PhysicalLocation: sarifPhysical{ArtifactLocation: sarifArtifact{URI: uri}}}
	if r.Start.Line > 0 {
		l.PhysicalLocation.Region = &sarifRegion{StartLine: r.Start.Line, StartColumn: r.Start.Column, EndLine: max(r.End.Line, r.Start.Line)}
	}
	return l
}
