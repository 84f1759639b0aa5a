package main

import (
	"fmt"
	"time"
)

// GitHub's primary limit for a token, and the daemon's default interval.
const (
	quotaPerHour = 5000
	pollInterval = 5 * time.Minute
	// discoveryPerRepo is what owner/* discovery costs per repository per
	// hour at most: one page of 100 repositories, counted when the list
	// changed (a push changes it), looked up every github.discover_every
	// (1h).
	discoveryPerRepo = 1.0 / 100
	// modelRepos is issue 22's target: repositories one token watches.
	modelRepos = 2000
)

// reposPerToken is how many repos one token can poll every interval when
// each poll of a repo costs perRepo counted requests, discovery included.
func reposPerToken(perRepo float64) float64 {
	polls := float64(time.Hour) / float64(pollInterval)
	return quotaPerHour / (polls*perRepo + discoveryPerRepo)
}

func scaleSection(c costResult, m memoryResult) section {
	per := func(s scenario) float64 { return s.perRepo(s.Counted(), c.Repos) }
	s := section{
		Title: "Scale model",
		Intro: fmt.Sprintf("From the figures above. Repos per token = %d counted requests/h ÷ (%d polls/h × counted requests per repo per poll "+
			"+ %.2f per repo for owner/* discovery), the per-repo costs measured in the API-cost section (a 304 to a conditional "+
			"request is not counted by GitHub). The rate-limit budget that spreads polls and cold starts under the limits is "+
			"checked by its own run. Redis: `MEMORY USAGE` summed over every key the %s pre-loaded records occupy (records and "+
			"their index), extrapolated linearly; the baseline is the records' JSON size.",
			quotaPerHour, int(time.Hour/pollInterval), discoveryPerRepo, commas(int64(m.RedisRecords))),
	}
	naive := per(c.Naive)
	oneIn12, churn := per(c.OneIn12), per(c.Churn)
	s.Rows = append(s.Rows,
		row{Measure: "repos one token watches at a 5-min interval, each repo changing in one poll of twelve", Value: num(reposPerToken(oneIn12)),
			Baseline: num(reposPerToken(naive)) + " naive", Ratio: ratio(reposPerToken(oneIn12), reposPerToken(naive)),
			Target: fmt.Sprintf("≥ %s (model; before: ≈ 750)", commas(modelRepos)), Verdict: verdict(reposPerToken(oneIn12) >= modelRepos)},
		row{Measure: "repos one token watches at a 5-min interval, issues changing in every poll (1 %)", Value: num(reposPerToken(churn)),
			Baseline: num(reposPerToken(naive)) + " naive", Ratio: ratio(reposPerToken(churn), reposPerToken(naive)), Target: "— (before: 63)"},
		row{Measure: "repos one token watches at a 5-min interval, nothing changed", Value: num(reposPerToken(per(c.Warm))) + " (discovery only)",
			Baseline: num(reposPerToken(naive)) + " naive"},
		row{Measure: fmt.Sprintf("cold start of %s repos: hours of one token's quota", commas(modelRepos)),
			Value: fmt.Sprintf("%.1f h", modelRepos*per(c.Cold)/quotaPerHour), Baseline: fmt.Sprintf("%.1f h naive", modelRepos*naive/quotaPerHour),
			Ratio: ratio(per(c.Cold), naive)},
		row{Measure: fmt.Sprintf("restart of a replica watching %s repos: counted requests", commas(modelRepos)),
			Value: commas(int64(modelRepos * per(c.Restart))), Baseline: commas(int64(modelRepos*per(c.Cold))) + " cold"},
		row{Measure: fmt.Sprintf("connector memory of a replica watching %s repos like these (extrapolated)", commas(modelRepos)),
			Value: mib(modelRepos * c.HeapPerRepo)},
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
		"The one-in-twelve row is twelve measured polls in which each repo changed once (an issue closed before its poll): the average counted per repo per poll is what the model divides by, so a changed repo's two lists and an unchanged one's 304s are both in it.",
		"Secondary limits: a poll sends three conditional requests per repo, to three endpoints (milestones, issues, comments); 2,000 repos every 5 minutes is 400 a minute per endpoint, under GitHub's 900 points per minute per endpoint, 304s included.",
		"Validators (ETags, with the page they validate) add one key per list page in Redis: three per repo for the polls, plus the pages of a cold start's walk and one per thread read whole; neither grows with polling.")
	return s
}
