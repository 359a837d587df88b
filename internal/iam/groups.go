package iam

import (
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/sluice-dev/sluice/internal/store"
)

// Groups: a group holds users and policies; a member's effective identity policy is
// its own policies plus those of every group it is in (reload folds them into each
// of its keys' Identity, so AWS_IAM methods and the verify-mode control plane see
// them). Membership is kept on the group record, so adding a user is one write.

const groupPrefix = "/iam/groups/" // + name → groupRecord

type groupRecord struct {
	GroupName  string            `json:"groupName"`
	GroupID    string            `json:"groupId"`
	Path       string            `json:"path"`
	CreateDate time.Time         `json:"createDate"`
	Members    []string          `json:"members,omitempty"` // user names
	Inline     map[string]string `json:"inline,omitempty"`
	Attached   []string          `json:"attached,omitempty"`
}

type xmlGroup struct {
	Path       string `xml:"Path"`
	GroupName  string `xml:"GroupName"`
	GroupID    string `xml:"GroupId"`
	Arn        string `xml:"Arn"`
	CreateDate string `xml:"CreateDate"`
}

func (s *Service) groupARN(path, name string) string {
	return "arn:aws:iam::" + s.account + ":group" + normPath(path) + name
}

func (s *Service) groupXML(g *groupRecord) xmlGroup {
	return xmlGroup{normPath(g.Path), g.GroupName, g.GroupID, s.groupARN(g.Path, g.GroupName), isoTime(g.CreateDate)}
}

func (s *Service) loadGroup(rd store.Reader, name string) (*groupRecord, error) {
	g, err := getRec[groupRecord](rd, groupPrefix+name)
	if err == errNotFound {
		return nil, noSuchEntity("The group with name %s cannot be found.", name)
	}
	return g, err
}

func (s *Service) groupRef(c *call) (principalRef, error) {
	name, err := c.name("GroupName")
	return principalRef{groupPrefix + name, s.groupARN("/", name), "group", name}, err
}

func (s *Service) createGroup(c *call) (any, error) {
	name, err := c.name("GroupName")
	if err != nil {
		return nil, err
	}
	path := normPath(c.get("Path"))
	if err := s.authorize(c, "iam", s.groupARN(path, name)); err != nil {
		return nil, err
	}
	g := &groupRecord{GroupName: name, GroupID: newID("AGPA", 17), Path: path, CreateDate: s.now()}
	err = s.store.Update(c.ctx, func(tx store.Tx) error {
		if _, err := getRec[groupRecord](tx, groupPrefix+name); err == nil {
			return alreadyExists("Group with name %s already exists.", name)
		}
		return store.PutRecord(tx, groupPrefix+name, g)
	})
	if err != nil {
		return nil, err
	}
	return struct {
		Group xmlGroup `xml:"Group"`
	}{s.groupXML(g)}, nil
}

// getGroup answers the group and its users.
func (s *Service) getGroup(c *call) (any, error) {
	name, err := c.name("GroupName")
	if err != nil {
		return nil, err
	}
	rd := s.reader(c)
	g, err := s.loadGroup(rd, name)
	if err != nil {
		return nil, err
	}
	if err := s.authorize(c, "iam", s.groupARN(g.Path, name)); err != nil {
		return nil, err
	}
	users := []xmlUser{}
	for _, m := range g.Members {
		if u, err := s.loadUser(rd, m); err == nil {
			users = append(users, s.userXML(u))
		}
	}
	return struct {
		Group       xmlGroup  `xml:"Group"`
		Users       []xmlUser `xml:"Users>member"`
		IsTruncated bool      `xml:"IsTruncated"`
	}{s.groupXML(g), users, false}, nil
}

func (s *Service) listGroups(c *call) (any, error) {
	if err := s.authorize(c, "iam", "arn:aws:iam::"+s.account+":group/"); err != nil {
		return nil, err
	}
	groups, err := store.ListRecords[groupRecord](s.reader(c), groupPrefix)
	if err != nil {
		return nil, err
	}
	prefix := c.get("PathPrefix")
	out := []xmlGroup{}
	for _, g := range groups {
		if prefix == "" || strings.HasPrefix(normPath(g.Path), prefix) {
			out = append(out, s.groupXML(g))
		}
	}
	return groupList(out), nil
}

func groupList(gs []xmlGroup) any {
	sort.Slice(gs, func(i, j int) bool { return gs[i].GroupName < gs[j].GroupName })
	return struct {
		Groups      []xmlGroup `xml:"Groups>member"`
		IsTruncated bool       `xml:"IsTruncated"`
	}{gs, false}
}

func (s *Service) listGroupsForUser(c *call) (any, error) {
	name, err := c.name("UserName")
	if err != nil {
		return nil, err
	}
	rd := s.reader(c)
	u, err := s.loadUser(rd, name)
	if err != nil {
		return nil, err
	}
	if err := s.authorize(c, "iam", s.userARN(u.Path, name)); err != nil {
		return nil, err
	}
	groups, err := store.ListRecords[groupRecord](rd, groupPrefix)
	if err != nil {
		return nil, err
	}
	out := []xmlGroup{}
	for _, g := range groups {
		if slices.Contains(g.Members, name) {
			out = append(out, s.groupXML(g))
		}
	}
	return groupList(out), nil
}

// deleteGroup refuses while the group has members or policies, as IAM does
// (DeleteConflict).
func (s *Service) deleteGroup(c *call) (any, error) {
	name, err := c.name("GroupName")
	if err != nil {
		return nil, err
	}
	return nil, s.store.Update(c.ctx, func(tx store.Tx) error {
		g, err := s.loadGroup(tx, name)
		if err != nil {
			return err
		}
		if err := s.authorize(c, "iam", s.groupARN(g.Path, name)); err != nil {
			return err
		}
		if len(g.Members) > 0 {
			return deleteConflict("Cannot delete entity, must remove users from group first.")
		}
		if len(g.Inline) > 0 || len(g.Attached) > 0 {
			return deleteConflict("Cannot delete entity, must delete policies first.")
		}
		return tx.Delete(groupPrefix + name)
	})
}

// editMembers loads the group and the user, lets fn change the members, and stores
// the group.
func (s *Service) editMembers(c *call, fn func(g *groupRecord, user string) error) error {
	group, err := c.name("GroupName")
	if err != nil {
		return err
	}
	user, err := c.name("UserName")
	if err != nil {
		return err
	}
	return s.store.Update(c.ctx, func(tx store.Tx) error {
		g, err := s.loadGroup(tx, group)
		if err != nil {
			return err
		}
		if err := s.authorize(c, "iam", s.groupARN(g.Path, group)); err != nil {
			return err
		}
		if _, err := s.loadUser(tx, user); err != nil {
			return err
		}
		if err := fn(g, user); err != nil {
			return err
		}
		return store.PutRecord(tx, groupPrefix+group, g)
	})
}

func (s *Service) addUserToGroup(c *call) (any, error) {
	return nil, s.editMembers(c, func(g *groupRecord, user string) error {
		if !slices.Contains(g.Members, user) {
			g.Members = append(g.Members, user)
		}
		return nil
	})
}

func (s *Service) removeUserFromGroup(c *call) (any, error) {
	return nil, s.editMembers(c, func(g *groupRecord, user string) error {
		if !slices.Contains(g.Members, user) {
			return noSuchEntity("The user with name %s cannot be found.", user)
		}
		g.Members = slices.DeleteFunc(g.Members, func(m string) bool { return m == user })
		return nil
	})
}

// userInGroups reports whether a user belongs to some group (DeleteUser refuses).
func userInGroups(rd store.Reader, user string) (bool, error) {
	groups, err := store.ListRecords[groupRecord](rd, groupPrefix)
	if err != nil {
		return false, err
	}
	for _, g := range groups {
		if slices.Contains(g.Members, user) {
			return true, nil
		}
	}
	return false, nil
}

func (s *Service) putGroupPolicy(c *call) (any, error) {
	r, err := s.groupRef(c)
	return s.putInline(c, r, err)
}
func (s *Service) getGroupPolicy(c *call) (any, error) {
	r, err := s.groupRef(c)
	return s.getInline(c, r, err)
}
func (s *Service) listGroupPolicies(c *call) (any, error) {
	r, err := s.groupRef(c)
	return s.listInline(c, r, err)
}
func (s *Service) deleteGroupPolicy(c *call) (any, error) {
	r, err := s.groupRef(c)
	return s.deleteInline(c, r, err)
}
func (s *Service) attachGroupPolicy(c *call) (any, error) {
	r, err := s.groupRef(c)
	return s.attach(c, r, err)
}
func (s *Service) detachGroupPolicy(c *call) (any, error) {
	r, err := s.groupRef(c)
	return s.detach(c, r, err)
}
func (s *Service) listAttachedGroupPolicies(c *call) (any, error) {
	r, err := s.groupRef(c)
	return s.listAttached(c, r, err)
}
