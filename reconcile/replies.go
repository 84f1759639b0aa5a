package reconcile

import (
	"time"

	"github.com/slipwatch/slipwatch/connectors"
)

// outsiderEvery is how often a thread answers someone who may not commit:
// their /slipwatch status, /slipwatch help and refused /commit cost a
// paced write each, and anyone who can comment can write a thousand.
const outsiderEvery = time.Hour

// outsiderCommand is a command by someone who may not commit, not answered
// yet.
type outsiderCommand struct {
	c   connectors.Comment
	cmd Command
	rid string
}

// answerOutsider answers at most one of the pass's commands by people who
// may not commit, and only if the thread has not answered one in the last
// outsiderEvery: the newest written since the last one answered. Older
// ones are never answered (the answer to the newest says it all); the one
// a pass chose but was cut before posting is still answered. Without a
// record of the last such answer, slipwatch's latest answer on the thread
// counts as one.
func (p *pass) answerOutsider() {
	rec, now := &p.rec, p.facts.now
	var pick *outsiderCommand
	for i := range p.outsiders {
		if r := rec.Outsider; r != nil && r.Reply == p.outsiders[i].rid {
			pick = &p.outsiders[i]
		}
	}
	if pick == nil {
		last := rec.Outsider
		if last == nil && p.rebuilt && !p.lastReply.IsZero() {
			// No record of the last such answer (a lost Redis): the
			// thread's latest answer stands in for it, from now on, so
			// that requests rationed before are not answered now.
			last = &Rationed{At: p.lastReply, Command: p.lastReply}
			rec.Outsider = last
		}
		if last != nil && now.Sub(last.At) < outsiderEvery {
			return
		}
		for i := range p.outsiders {
			o := &p.outsiders[i]
			if last != nil && !o.c.WrittenAt().After(last.Command) {
				continue
			}
			if pick == nil || !o.c.WrittenAt().Before(pick.c.WrittenAt()) {
				pick = o
			}
		}
		if pick == nil {
			return
		}
		rec.Outsider = &Rationed{At: now, Command: pick.c.WrittenAt(), Reply: pick.rid}
	}
	p.reply(pick.c, pick.rid, pick.cmd, answer(rec, pick.cmd, pick.c, p.facts.today, p.d, p.s, p.commit))
}

// takenBy is the index of the commitment that comment c's /commit made, or
// -1: a pass that took the command and was cut before it replied saved
// the commitment but not the reply.
func takenBy(rec Record, c connectors.Comment, cmd Command) int {
	if cmd.Verb != "commit" || cmd.Err != "" {
		return -1
	}
	for i := len(rec.Commitments) - 1; i >= 0; i-- {
		cm := rec.Commitments[i]
		// answer records a command by who wrote the comment's text and
		// when (an edited command at its edit).
		if cm.Source == DeclaredCommand && cm.By == c.Writer() && cm.Date == cmd.Date && cm.At.Equal(c.WrittenAt()) {
			return i
		}
	}
	return -1
}

// recordedDoc is the answer to the /commit that made commitment i.
func recordedDoc(cs []Commitment, i int) doc {
	c := cs[i]
	if i == 0 {
		return doc{title: "Recorded", lines: []line{text("First commitment: %s, by %s.", c.Date, c.By)}}
	}
	prev := cs[i-1]
	l := text("Recommitted from %s to %s by %s.", prev.Date, c.Date, c.By)
	if c.Reason != "" {
		l = text("Recommitted from %s to %s by %s. Reason: %s", prev.Date, c.Date, c.By, c.Reason)
	}
	return doc{title: "Recorded", lines: []line{l}}
}
