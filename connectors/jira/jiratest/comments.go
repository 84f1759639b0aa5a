package jiratest

import (
	"encoding/json"
	"net/http"
	"strconv"
	"time"
	"unicode/utf16"
)

// Comment is a comment on an issue.
type Comment struct {
	ID      string
	Issue   string // the issue's key
	Author  map[string]any
	Body    string
	Created string // in Jira's format: 2026-03-10T09:00:00.000+0000
	Updated string
	// UpdateAuthor is who last edited the comment (Jira's
	// updateAuthor); nil: the author.
	UpdateAuthor map[string]any
	// Marker is the value of the comment's MarkerProperty entity
	// property; "" when it has none (see Server.Marker).
	Marker string
}

// AddComment adds a comment by author (in the shape of the edition's
// users; Self is slipwatch), written at at, and returns a copy.
func (s *Server) AddComment(issueKey string, author map[string]any, body, at string) Comment {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addComment(issueKey, author, body, at).copy("")
}

func (s *Server) addComment(issueKey string, author map[string]any, body, at string) *Comment {
	s.nextID++
	c := &Comment{ID: strconv.Itoa(s.nextID), Issue: issueKey, Author: copyMap(author), Body: body, Created: at, Updated: at}
	s.comments[issueKey] = append(s.comments[issueKey], c)
	return c
}

// Comments are copies of the comments on issue key, oldest first, with
// their markers.
func (s *Server) Comments(issueKey string) []Comment {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Comment
	for _, c := range s.comments[issueKey] {
		out = append(out, c.copy(s.markers[c.ID]))
	}
	return out
}

// Marker is the marker stored in comment id's MarkerProperty property.
func (s *Server) Marker(commentID string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.markers[commentID]
	return m, ok
}

// SetMarker stores marker in comment id's MarkerProperty property, as
// slipwatch would (or as a user with an API token could, on a comment of
// their own).
func (s *Server) SetMarker(commentID, marker string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.markers[commentID] = marker
}

func (c *Comment) copy(marker string) Comment {
	out := *c
	out.Author = copyMap(c.Author)
	out.UpdateAuthor = copyMap(c.UpdateAuthor)
	out.Marker = marker
	return out
}

// EditComment rewrites comment id's body as editor (in the shape of the
// edition's users) at at, as a user with "Edit All Comments" (or the
// author) does in Jira: the comment's updated and updateAuthor change,
// its author and created do not.
func (s *Server) EditComment(id string, editor map[string]any, body, at string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, cs := range s.comments {
		for _, c := range cs {
			if c.ID == id {
				c.Body, c.Updated, c.UpdateAuthor = body, at, copyMap(editor)
				return
			}
		}
	}
	s.failf("EditComment: no comment %s", id)
}

// renderComment is c as Jira's v2 API answers it; called with the lock
// held.
func (s *Server) renderComment(c *Comment) map[string]any {
	updateAuthor := c.UpdateAuthor
	if updateAuthor == nil {
		updateAuthor = c.Author
	}
	return map[string]any{
		"self":         s.URL + "/rest/api/2/issue/" + c.Issue + "/comment/" + c.ID,
		"id":           c.ID,
		"author":       c.Author,
		"updateAuthor": updateAuthor,
		"body":         c.Body,
		"created":      c.Created,
		"updated":      c.Updated,
	}
}

func (s *Server) commentList(w http.ResponseWriter, r *http.Request, key string) {
	s.mu.Lock()
	_, exists := s.issues[key]
	pageSize := s.pageSize
	s.mu.Unlock()
	if !exists {
		s.file(w, http.StatusNotFound, "error-404.cloud.json", nil)
		return
	}
	switch r.Method {
	case http.MethodGet:
		q := r.URL.Query()
		start, _ := strconv.Atoi(q.Get("startAt"))
		limit, _ := strconv.Atoi(q.Get("maxResults"))
		if limit <= 0 || limit > pageSize {
			limit = pageSize
		}
		s.mu.Lock()
		all := s.comments[key]
		end := min(start+limit, len(all))
		start = min(start, end)
		page := []map[string]any{}
		for _, c := range all[start:end] {
			page = append(page, s.renderComment(c))
		}
		b := marshal(map[string]any{"startAt": start, "maxResults": limit, "total": len(all), "comments": page})
		s.mu.Unlock()
		writeBytes(w, http.StatusOK, b)
	case http.MethodPost:
		var in struct {
			Body       string `json:"body"`
			Properties []struct {
				Key   string         `json:"key"`
				Value map[string]any `json:"value"`
			} `json:"properties"`
		}
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil || in.Body == "" {
			s.file(w, http.StatusBadRequest, "error-400-message.cloud.json", nil)
			return
		}
		if tooLong(w, in.Body) {
			return
		}
		s.mu.Lock()
		c := s.addComment(key, s.self, in.Body, s.clock.Format(timeLayout))
		// Cloud documents "properties" on create; the Data Center the
		// sandbox plays ignores them, so the PUT that follows must do.
		if s.cloud {
			for _, p := range in.Properties {
				if p.Key == MarkerProperty {
					s.markers[c.ID], _ = p.Value["marker"].(string)
				}
			}
		}
		b := marshal(s.renderComment(c))
		s.mu.Unlock()
		writeBytes(w, http.StatusCreated, b)
	default:
		jiraErr(w, http.StatusMethodNotAllowed, "method")
	}
}

// MaxCommentChars is the longest comment Jira takes, in characters (Java's:
// UTF-16 code units), its jira.text.field.character.limit by default.
const MaxCommentChars = 32767

// tooLong answers Jira's 400 for a comment over MaxCommentChars.
func tooLong(w http.ResponseWriter, body string) bool {
	if len(utf16.Encode([]rune(body))) <= MaxCommentChars {
		return false
	}
	writeBytes(w, http.StatusBadRequest, marshal(map[string]any{"errorMessages": []string{},
		"errors": map[string]string{"comment": "The entered text is too long. It exceeds the allowed limit of 32,767 characters."}}))
	return true
}

func (s *Server) updateComment(w http.ResponseWriter, r *http.Request, key, id string) {
	var in struct {
		Body string `json:"body"`
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		jiraErr(w, http.StatusBadRequest, "bad json")
		return
	}
	if tooLong(w, in.Body) {
		return
	}
	s.mu.Lock()
	var b []byte
	for _, c := range s.comments[key] {
		if c.ID == id {
			c.Body = in.Body
			s.clock = s.clock.Add(time.Minute)
			c.Updated = s.clock.Format(timeLayout)
			b = marshal(s.renderComment(c))
			break
		}
	}
	s.mu.Unlock()
	if b == nil {
		jiraErr(w, http.StatusNotFound, "Can not find a comment for the id: "+id+".")
		return
	}
	writeBytes(w, http.StatusOK, b)
}

func (s *Server) property(w http.ResponseWriter, r *http.Request, id string) {
	// The request body is already in memory: decoding it under the lock
	// costs nothing.
	s.mu.Lock()
	defer s.mu.Unlock()
	known := false
	for _, cs := range s.comments {
		for _, c := range cs {
			known = known || c.ID == id
		}
	}
	if !known {
		jiraErr(w, http.StatusNotFound, "Comment not found")
		return
	}
	m, existed := s.markers[id]
	switch r.Method {
	case http.MethodGet:
		if !existed {
			jiraErr(w, http.StatusNotFound, "The property with key '"+MarkerProperty+"' does not exist.")
			return
		}
		writeBytes(w, http.StatusOK, marshal(map[string]any{"key": MarkerProperty, "value": map[string]string{"marker": m}}))
	case http.MethodPut:
		var v map[string]any
		if err := json.NewDecoder(r.Body).Decode(&v); err != nil {
			jiraErr(w, http.StatusBadRequest, "The property value must be valid JSON.")
			return
		}
		s.markers[id], _ = v["marker"].(string)
		if existed {
			w.WriteHeader(http.StatusOK)
		} else {
			w.WriteHeader(http.StatusCreated)
		}
	default:
		jiraErr(w, http.StatusMethodNotAllowed, "method")
	}
}
