package reconcile

import (
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strconv"
	"time"

	"github.com/slipwatch/slipwatch/connectors"
)

// A link ties a GitHub milestone and a Jira deliverable that are one
// promise (engineering works in GitHub, leadership reads Jira). Each side
// keeps its own record and thread, and each is reconciled with the other
// side as Observation.Linked, so both reach the same decisions:
//
//   - the target is the later of the two due dates (the promise is kept
//     only when both sides deliver), and delivery is both sides closed, on
//     the later of the two days;
//   - progress, scope and the forecast count the work of both sides, and
//     the forecast draws on both teams' throughput summed day by day;
//   - a "Committed:" line counts from either description (this side's
//     wins when both have one), and a /commit accepted on the other side's
//     thread is this side's commitment too. Only the side where a command
//     was written answers it;
//   - events get this side's IDs, so a slip seen on either tracker is
//     announced once on each thread.

// LinkedSide is what a record shows of its linked partner.
type LinkedSide struct {
	Ref       connectors.Ref  `json:"ref"`
	Title     string          `json:"title"`
	URL       string          `json:"url,omitempty"`
	Target    connectors.Date `json:"target"`
	Done      int             `json:"done"`
	Total     int             `json:"total"`
	Delivered bool            `json:"delivered,omitempty"`
}

// merge is the deliverable and throughput that a linked pair is judged
// on, from this side's snapshot and the partner's.
func merge(own, partner connectors.Snapshot, loc *time.Location) (connectors.Deliverable, connectors.Throughput) {
	d := own.Deliverable
	p := partner.Deliverable
	od, oOK := d.Due(loc)
	pd, pOK := p.Due(loc)
	switch {
	case oOK && pOK && pd.After(od), !oOK && pOK:
		d.DueAt, d.DueDate = time.Time{}, pd
	}
	d.Items = append(slices.Clone(d.Items), p.Items...)
	d.Closed = d.Closed && p.Closed
	if d.Closed && p.ClosedAt.After(d.ClosedAt) {
		d.ClosedAt = p.ClosedAt
	}
	// The description stays this side's: the pass reads the partner's
	// Committed: line apart (each in its own markup, with who wrote it).
	return d, sumThroughput(own.Throughput, partner.Throughput)
}

// sumThroughput adds two daily series aligned on their dates; the result
// spans both.
func sumThroughput(a, b connectors.Throughput) connectors.Throughput {
	if len(b.Daily) == 0 {
		return a
	}
	if len(a.Daily) == 0 {
		return b
	}
	from, to := a.From, a.To
	if b.From.Before(from) {
		from = b.From
	}
	if b.To.After(to) {
		to = b.To
	}
	out := connectors.Throughput{From: from, To: to, Daily: make([]int, to.Sub(from)+1)}
	for _, t := range []connectors.Throughput{a, b} {
		off := t.From.Sub(from)
		for i, n := range t.Daily {
			if j := off + i; j >= 0 && j < len(out.Daily) {
				out.Daily[j] += n
			}
		}
	}
	return out
}

func linkedSide(p connectors.Snapshot, loc *time.Location) *LinkedSide {
	d := p.Deliverable
	ls := &LinkedSide{Ref: d.Ref, Title: d.Title, URL: d.URL, Done: doneCount(d.Items), Total: len(d.Items), Delivered: d.Closed}
	ls.Target, _ = d.Due(loc)
	return ls
}

func doneCount(items []connectors.Item) int {
	n := 0
	for _, it := range items {
		if it.Done() {
			n++
		}
	}
	return n
}

// observedHash fingerprints what this side's tracker shows, leaving out
// slipwatch's own comments: when it changes, the partner has news. It is
// computed on every pass, so it streams into the hash.
func observedHash(s connectors.Snapshot) string {
	h := sha256.New()
	var buf [64]byte
	str := func(v string) { h.Write([]byte(v)); h.Write([]byte{0}) }
	num := func(v int64) { h.Write(strconv.AppendInt(buf[:0], v, 10)); h.Write([]byte{0}) }
	d := s.Deliverable
	str(d.Title)
	str(d.Description)
	num(d.DueAt.Unix())
	num(int64(d.DueDate.Days()))
	num(d.ClosedAt.Unix())
	if d.Closed {
		str("closed")
	}
	for _, it := range d.Items {
		str(it.ID)
		num(it.ClosedAt.Unix())
	}
	if s.Thread != nil {
		for _, c := range s.Thread.Comments {
			if !c.BySelf {
				str(c.ID)
				num(c.UpdatedAt.UnixNano())
			}
		}
	}
	var sum [sha256.Size]byte
	return hex.EncodeToString(h.Sum(sum[:0])[:8])
}

// adoptLinkedCommand records a /commit written on the partner's thread, once
// per comment and date, when the partner side would accept it. The partner
// answers it; this side only follows. A command older than the current
// commitment was superseded before the link saw it.
func adoptLinkedCommand(rec *Record, cmd Command, c connectors.Comment, today connectors.Date, announced map[string]bool, commit func(Commitment)) {
	id := hashID(rec.ID, "linked_command", c.ID, cmd.Date.String())
	if cmd.Verb != "commit" || announced[id] {
		return
	}
	announced[id] = true
	rec.Announced = append(rec.Announced, id)
	if !c.AuthorCanCommit || cmd.Err != "" || cmd.Date.Before(today) {
		return
	}
	if cur, ok := rec.Commitment(); ok && !c.WrittenAt().After(cur.At) {
		return
	}
	commit(Commitment{Date: cmd.Date, Source: DeclaredCommand, By: c.Writer(), At: c.WrittenAt(), Reason: cmd.Reason})
}
