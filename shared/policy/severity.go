package policy

import (
	"encoding/json"
	"fmt"
	"strings"

	gocvss20 "github.com/pandatix/go-cvss/20"
	gocvss30 "github.com/pandatix/go-cvss/30"
	gocvss31 "github.com/pandatix/go-cvss/31"
	gocvss40 "github.com/pandatix/go-cvss/40"
)

// Level is a severity rating, ordered.
type Level int

// Severity levels, in the CVSS qualitative scale.
const (
	LevelUnknown Level = iota
	LevelLow
	LevelMedium
	LevelHigh
	LevelCritical
)

func (l Level) String() string {
	return [...]string{"unknown", "low", "medium", "high", "critical"}[l]
}

// parseLevel reads a policy's or a database's severity word.
func parseLevel(s string) (Level, bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "low":
		return LevelLow, true
	case "medium", "moderate":
		return LevelMedium, true
	case "high", "important":
		return LevelHigh, true
	case "critical":
		return LevelCritical, true
	}
	return LevelUnknown, false
}

// levelOf maps a CVSS score to its qualitative rating (the same bands for
// v3.x and v4.0; a score of 0 is "none", below every threshold).
func levelOf(score float64) Level {
	switch {
	case score >= 9.0:
		return LevelCritical
	case score >= 7.0:
		return LevelHigh
	case score >= 4.0:
		return LevelMedium
	case score > 0:
		return LevelLow
	}
	return LevelUnknown
}

// Rating is the severity a policy sees for one record.
type Rating struct {
	// Score is the highest CVSS base score among the record's vectors (0 if none).
	Score float64
	// Vector is the CVSS vector that gave Score.
	Vector string
	// Level is the qualitative rating: from Score, else from the database's own rating.
	Level Level
	// Source says where Level came from: "CVSS_V3", "CVSS_V4", "database" or "".
	Source string
}

// rate computes the record's severity for one affected entry.
func rate(r *Record, a *Affected) Rating {
	var best Rating
	entries := append([]Severity(nil), r.Severity...)
	if a != nil {
		entries = append(entries, a.Severity...)
	}
	for _, s := range entries {
		score, err := cvssScore(s)
		if err != nil {
			continue
		}
		if score > best.Score || best.Vector == "" {
			best = Rating{Score: score, Vector: s.Score, Level: levelOf(score), Source: s.Type}
		}
	}
	if best.Vector != "" {
		return best
	}
	for _, raw := range []json.RawMessage{a.databaseSpecific(), r.DatabaseSpecific} {
		var ds struct {
			Severity string `json:"severity"`
		}
		if len(raw) > 0 && json.Unmarshal(raw, &ds) == nil {
			if l, ok := parseLevel(ds.Severity); ok {
				return Rating{Level: l, Source: "database"}
			}
		}
	}
	for _, s := range entries {
		if s.Type == "Ubuntu" {
			if l, ok := parseLevel(s.Score); ok {
				return Rating{Level: l, Source: "database"}
			}
		}
	}
	return Rating{}
}

func (a *Affected) databaseSpecific() json.RawMessage {
	if a == nil {
		return nil
	}
	return a.DatabaseSpecific
}

// cvssScore computes the base score of an OSV severity entry's CVSS vector.
func cvssScore(s Severity) (float64, error) {
	v := strings.TrimSpace(s.Score)
	switch s.Type {
	case "CVSS_V4":
		c, err := gocvss40.ParseVector(v)
		if err != nil {
			return 0, err
		}
		return c.Score(), nil
	case "CVSS_V3":
		switch {
		case strings.HasPrefix(v, "CVSS:3.1/"):
			c, err := gocvss31.ParseVector(v)
			if err != nil {
				return 0, err
			}
			return c.BaseScore(), nil
		case strings.HasPrefix(v, "CVSS:3.0/"):
			c, err := gocvss30.ParseVector(v)
			if err != nil {
				return 0, err
			}
			return c.BaseScore(), nil
		}
	case "CVSS_V2":
		c, err := gocvss20.ParseVector(v)
		if err != nil {
			return 0, err
		}
		return c.BaseScore(), nil
	}
	return 0, fmt.Errorf("no CVSS vector of a known version in %s %q", s.Type, v)
}
