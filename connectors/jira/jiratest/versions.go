package jiratest

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"time"
)

// Version is a version for AddVersion.
type Version struct {
	Name        string
	Description string
	ReleaseDate string // "2026-12-01"; "" for none
	Released    bool
	Archived    bool
	Overdue     bool
	// ProjectID is the project's numeric id. "" takes the id the project
	// already has (SetProject, or its other versions), else gives it one.
	ProjectID string
}

// SetVersionsFile makes the list in testdata/rest/<name> project's
// versions, every field as the file has it (numbers kept verbatim). They
// answer GET /project/{key}/versions and GET /version/{id}, and change
// with UpdateVersion like added ones.
func (s *Server) SetVersionsFile(project, name string) {
	b, ok := s.readFile(name)
	if !ok {
		return
	}
	var vs []map[string]any
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	if err := d.Decode(&vs); err != nil {
		s.failf("%s: %v", name, err)
		return
	}
	if vs == nil {
		vs = []map[string]any{}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.versions[project] = vs
}

// SetVersionFile makes testdata/rest/<name> the answer to GET /version/{id},
// whatever the version lists say (the Cloud list and single-version
// examples write releaseDate differently).
func (s *Server) SetVersionFile(id, name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.versionFile[id] = name
}

// AddVersion adds a version at the end of project's list, in the shape of
// Jira's, and returns its id.
func (s *Server) AddVersion(project string, v Version) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := s.newVersionID()
	pid := v.ProjectID
	if pid == "" {
		pid = s.projectID(project)
	}
	m := map[string]any{
		"self":      s.URL + "/rest/api/2/version/" + id,
		"id":        id,
		"name":      v.Name,
		"archived":  v.Archived,
		"released":  v.Released,
		"overdue":   v.Overdue,
		"projectId": idValue(pid),
	}
	if v.Description != "" {
		m["description"] = v.Description
	}
	if s.cloud {
		m["startDateSet"] = false
	}
	s.setReleaseDate(m, v.ReleaseDate)
	s.versions[project] = append(s.versions[project], m)
	return id
}

// UpdateVersion changes version id in place: v is the version as Jira
// renders it (numbers from a file are json.Number). f runs with the
// server's lock held and must not call the Server.
func (s *Server) UpdateVersion(id string, f func(v map[string]any)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v := s.findVersion(id)
	if v == nil {
		s.failf("UpdateVersion: no version %s", id)
		return
	}
	f(v)
}

// SetReleaseDate moves version id's release date ("2026-12-01"; "" clears
// it), as someone editing the version in Jira does.
func (s *Server) SetReleaseDate(id, date string) {
	s.UpdateVersion(id, func(v map[string]any) { s.setReleaseDate(v, date) })
}

// setReleaseDate writes the date fields Jira derives from a release date.
func (s *Server) setReleaseDate(v map[string]any, date string) {
	if date == "" {
		delete(v, "releaseDate")
		delete(v, "userReleaseDate")
	} else {
		v["releaseDate"] = date
		// The locale-formatted twin slipwatch must never read.
		if d, err := time.Parse(time.DateOnly, date); err == nil {
			v["userReleaseDate"] = d.Format("2/Jan/06")
		} else {
			delete(v, "userReleaseDate")
		}
	}
	if s.cloud {
		v["releaseDateSet"] = date != ""
	}
}

// findVersion is the stored version id, or nil; called with the lock held.
func (s *Server) findVersion(id string) map[string]any {
	for _, p := range slices.Sorted(maps.Keys(s.versions)) {
		for _, v := range s.versions[p] {
			if fmt.Sprint(v["id"]) == id {
				return v
			}
		}
	}
	return nil
}

func (s *Server) newVersionID() string {
	for {
		id := strconv.Itoa(s.nextVersion)
		s.nextVersion++
		if s.findVersion(id) == nil {
			return id
		}
	}
}

// projectID is the id of project key, given one if it has none yet;
// called with the lock held.
func (s *Server) projectID(key string) string {
	for _, id := range slices.Sorted(maps.Keys(s.projects)) {
		if s.projects[id] == key {
			return id
		}
	}
	for _, v := range s.versions[key] {
		if pid, ok := v["projectId"]; ok && pid != nil {
			return fmt.Sprint(pid)
		}
	}
	for n := 10100; ; n++ {
		id := strconv.Itoa(n)
		if _, taken := s.projectKey(id); !taken {
			s.projects[id] = key
			return id
		}
	}
}

// projectKey is the key of project id: SetProject's, else that of the
// versions list naming the id. Called with the lock held.
func (s *Server) projectKey(id string) (string, bool) {
	if k, ok := s.projects[id]; ok {
		return k, true
	}
	for _, key := range slices.Sorted(maps.Keys(s.versions)) {
		for _, v := range s.versions[key] {
			if pid, ok := v["projectId"]; ok && fmt.Sprint(pid) == id {
				return key, true
			}
		}
	}
	return "", false
}

// idValue is a numeric id as Jira writes projectId: a number.
func idValue(id string) any {
	if _, err := strconv.ParseInt(id, 10, 64); err == nil {
		return json.Number(id)
	}
	return id
}

func (s *Server) versionList(w http.ResponseWriter, r *http.Request, key string) {
	s.mu.Lock()
	vs, ok := s.versions[key]
	if !ok && s.projectKnown(key) {
		vs, ok = []map[string]any{}, true // a project without versions
	}
	var b []byte
	if ok {
		b = marshal(vs)
	}
	s.mu.Unlock()
	if !ok {
		jiraErr(w, http.StatusNotFound, "No project could be found with key '"+key+"'.")
		return
	}
	// The ETag is the list's hash: it changes exactly when a version of
	// the project does, so conditional requests can be shown to work.
	sum := sha256.Sum256(b)
	etag := `"` + hex.EncodeToString(sum[:12]) + `"`
	w.Header().Set("ETag", etag)
	if r.Header.Get("If-None-Match") == etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	writeBytes(w, http.StatusOK, b)
}

func (s *Server) version(w http.ResponseWriter, id string) {
	s.mu.Lock()
	name, overridden := s.versionFile[id]
	var b []byte
	if v := s.findVersion(id); v != nil {
		b = marshal(v)
	}
	s.mu.Unlock()
	switch {
	case overridden:
		s.file(w, http.StatusOK, name, nil)
	case b != nil:
		writeBytes(w, http.StatusOK, b)
	default:
		jiraErr(w, http.StatusNotFound, "Could not find version for id '"+id+"'")
	}
}

func (s *Server) project(w http.ResponseWriter, id string) {
	s.mu.Lock()
	key, ok := s.projectKey(id)
	s.mu.Unlock()
	if !ok {
		jiraErr(w, http.StatusNotFound, "No project could be found with id '"+id+"'.")
		return
	}
	writeBytes(w, http.StatusOK, marshal(map[string]any{"id": id, "key": key, "name": key}))
}
