package githubtest

import (
	"cmp"
	"maps"
	"slices"
	"time"
)

// sortIssues orders a repository's issues as GET /repos/{o}/{r}/issues
// does: by sort ("created", the default, or "updated"), in
// direction ("desc", the default, or "asc"); equal keys by number, in the
// same direction.
func sortIssues(issues map[int]*Issue, sort, direction string) []*Issue {
	out := slices.Collect(maps.Values(issues))
	key := func(is *Issue) int64 { return is.CreatedAt.UnixNano() }
	if sort == "updated" {
		key = func(is *Issue) int64 { return updated(is).UnixNano() }
	}
	slices.SortFunc(out, func(a, b *Issue) int {
		c := cmp.Or(cmp.Compare(key(a), key(b)), cmp.Compare(a.Number, b.Number))
		if direction != "asc" {
			c = -c
		}
		return c
	})
	return out
}

// sortComments orders a repository's comments as GET
// /repos/{o}/{r}/issues/comments does: oldest first without sort; with
// sort ("created" or "updated") in direction ("desc", the default here,
// or "asc"), equal keys by ID.
func sortComments(comments []*Comment, sort, direction string) []*Comment {
	out := slices.Clone(comments)
	if sort != "created" && sort != "updated" {
		return out
	}
	key := func(c *Comment) int64 { return c.CreatedAt.UnixNano() }
	if sort == "updated" {
		key = func(c *Comment) int64 { return c.UpdatedAt.UnixNano() }
	}
	slices.SortStableFunc(out, func(a, b *Comment) int {
		c := cmp.Or(cmp.Compare(key(a), key(b)), cmp.Compare(a.ID, b.ID))
		if direction != "asc" {
			c = -c
		}
		return c
	})
	return out
}

// DeleteIssue removes issue n from the repository, as deleting it or
// transferring it to another repository does: it leaves every list, its
// milestone's counts drop, and no list says so.
func (s *Server) DeleteIssue(repoName string, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.repo(repoName)
	delete(r.issues, n)
	r.comments = slices.DeleteFunc(r.comments, func(c *Comment) bool { return c.Issue == n })
}

// EditComment rewrites comment id's body at at (zero: now), as its
// author (or someone with write access) does on GitHub: its updated_at
// moves, its created_at and user stay. The issue's updated_at stays, as
// for an edit through the API (PATCH). It reports whether there is such
// a comment.
func (s *Server) EditComment(repoName string, id int64, body string, at time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if at.IsZero() {
		at = s.now()
	}
	for _, c := range s.repo(repoName).comments {
		if c.ID == id {
			c.Body, c.UpdatedAt = body, at
			return true
		}
	}
	return false
}

// DeleteComment removes comment id. Nothing in a list shows the
// deletion: the issue's comment count drops, its updated_at stays.
func (s *Server) DeleteComment(repoName string, id int64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.repo(repoName)
	n := len(r.comments)
	r.comments = slices.DeleteFunc(r.comments, func(c *Comment) bool { return c.ID == id })
	return len(r.comments) < n
}

// Milestones returns a repository's milestones by number.
func (s *Server) Milestones(repoName string) []Milestone {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.repo(repoName)
	var out []Milestone
	for _, k := range slices.Sorted(maps.Keys(r.milestones)) {
		out = append(out, *r.milestones[k])
	}
	return out
}
