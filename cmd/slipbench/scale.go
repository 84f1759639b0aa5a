package main

import (
	"fmt"
	"time"
)

// GitHub's primary limit for a token, and the daemon's default interval.
const (
	quotaPerHour = 5000
	pollInterval = 5 * time.Minute
)

// reposPerToken is how many repos one token can poll every interval when
// each poll of a repo costs perRepo counted requests.
func reposPerToken(perRepo float64) float64 {
	polls := float64(time.Hour) / float64(pollInterval)
	return quotaPerHour / (polls * perRepo)
}

func scaleSection(c costResult, m memoryResult) section {
	per := func(cc cycleCost) float64 { return float64(cc.Counted()) / float64(c.Repos) }
	s := section{
		Title: "Scale model",
		Intro: fmt.Sprintf("From the figures above. Repos per token = %d counted requests/h ÷ (%d polls/h × counted requests per repo per poll), "+
			"the per-repo cost measured in the API-cost section (a 304 to a conditional request is not counted by GitHub). "+
			"Redis: `MEMORY USAGE` summed over every key the %s pre-loaded records occupy (records and their index), "+
			"extrapolated linearly; the baseline is the records' JSON size.",
			quotaPerHour, int(time.Hour/pollInterval), commas(int64(m.RedisRecords))),
	}
	churn, naiveChurn, stateChurn := per(c.Slip[2]), per(c.Naive[2]), per(c.Stateless[2])
	warm, naiveWarm, stateWarm := per(c.Slip[1]), per(c.Naive[1]), per(c.Stateless[1])
	repos := func(p float64) string {
		if p == 0 {
			return "unbounded (0 counted)"
		}
		return num(reposPerToken(p))
	}
	ratioRepos := func(a, b float64) string {
		if a == 0 || b == 0 {
			return "—"
		}
		return ratio(reposPerToken(a), reposPerToken(b))
	}
	s.Rows = append(s.Rows,
		row{Measure: "counted requests per repo per poll, 1 % churn between polls", Value: num(churn),
			Baseline: num(naiveChurn) + " naive / " + num(stateChurn) + " stateless", Ratio: ratio(churn, naiveChurn) + " / " + ratio(churn, stateChurn)},
		row{Measure: "repos one token watches at a 5-min interval, 1 % churn every poll", Value: repos(churn),
			Baseline: repos(naiveChurn) + " naive / " + repos(stateChurn) + " stateless", Ratio: ratioRepos(churn, naiveChurn) + " / " + ratioRepos(churn, stateChurn)},
		row{Measure: "repos one token watches at a 5-min interval, nothing changed", Value: repos(warm),
			Baseline: repos(naiveWarm) + " naive / " + repos(stateWarm) + " stateless", Ratio: ratioRepos(warm, naiveWarm)},
		row{Measure: "repos one token watches at a 5-min interval, each repo changed in 1 poll of 10 (model)", Value: num(reposPerToken(0.1 * changedCost(c.Slip, c))),
			Baseline: num(reposPerToken(naiveWarm+0.1*changedCost(c.Naive, c))) + " naive",
			Ratio:    ratio(reposPerToken(0.1*changedCost(c.Slip, c)), reposPerToken(naiveWarm+0.1*changedCost(c.Naive, c)))},
		row{Measure: "first poll after a cold start: counted requests per repo", Value: num(per(c.Slip[0])),
			Baseline: num(per(c.Naive[0])) + " naive", Ratio: ratio(per(c.Slip[0]), per(c.Naive[0]))},
	)
	if m.RedisRecords > 0 {
		perRec := float64(m.RedisBytes) / float64(m.RedisRecords)
		jsonPer := float64(m.JSONBytes) / float64(m.RedisRecords)
		s.Rows = append(s.Rows,
			row{Measure: fmt.Sprintf("Redis memory, %s commitments (measured, %s keys)", commas(int64(m.RedisRecords)), commas(int64(m.RedisKeys))),
				Value: mib(float64(m.RedisBytes)), Baseline: mib(float64(m.JSONBytes)) + " JSON", Ratio: ratio(float64(m.RedisBytes), float64(m.JSONBytes))},
			row{Measure: "Redis memory per commitment", Value: fmt.Sprintf("%s B", commas(int64(perRec))), Baseline: fmt.Sprintf("%s B JSON", commas(int64(jsonPer))), Ratio: ratio(perRec, jsonPer)},
		)
		if m.RedisRecords != 10000 {
			s.Rows = append(s.Rows, row{Measure: "Redis memory, 10,000 commitments (extrapolated)", Value: mib(perRec * 10000), Baseline: mib(jsonPer*10000) + " JSON", Ratio: ratio(perRec, jsonPer)})
		}
		s.Rows = append(s.Rows,
			row{Measure: "Redis memory, 100,000 commitments (extrapolated)", Value: mib(perRec * 100000), Baseline: mib(jsonPer*100000) + " JSON", Ratio: ratio(perRec, jsonPer)},
			row{Measure: "cross-check: INFO used_memory grew by", Value: mib(float64(m.UsedAfter - m.UsedBefore)), Baseline: mib(float64(m.RedisBytes)) + " MEMORY USAGE",
				Ratio: ratio(float64(m.UsedAfter-m.UsedBefore), float64(m.RedisBytes))},
		)
	}
	s.Notes = append(s.Notes,
		"The 1-in-10 model prices a changed repo's poll at what the 1 % cycle measured per changed repo, above a warm poll (0 for slipwatch, the naive poller's 3 lists otherwise).",
		"The 1 % churn row is pessimistic on purpose: it assumes 1 % of all issues change between every two polls, all day.",
		"Validators (ETags) add one small key per list URL (about 3 per repo plus one per milestone and per thread), and the ledger one per posted comment; neither grows with polling.")
	return s
}

// changedCost is the counted requests a poll of a changed repo costs
// above a warm poll, from the 1 % cycle.
func changedCost(cc [3]cycleCost, c costResult) float64 {
	if c.ChangedRepos == 0 {
		return 0
	}
	return float64(cc[2].Counted()-cc[1].Counted()) / float64(c.ChangedRepos)
}
