package lambda

import "sort"

// FunctionExists reports whether a function named name exists, as this node's
// invoke cache (kept current by a store watch) sees it. The function log endpoint
// asks it so that `sluice logs --follow` on a function that has not run yet
// waits for its first lines instead of answering "no logs found".
func (s *Service) FunctionExists(name string) bool { return s.cache.get(name) != nil }

// Functions returns the $LATEST configuration of every function, as this node's
// invoke cache sees it, sorted by name. The configurations are copies.
func (s *Service) Functions() []Configuration {
	s.cache.mu.RLock()
	out := make([]Configuration, 0, len(s.cache.fns))
	for _, f := range s.cache.fns {
		if f.latest != nil && f.latest.config != nil {
			out = append(out, *f.latest.config)
		}
	}
	s.cache.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool { return out[i].FunctionName < out[j].FunctionName })
	return out
}

// Function returns a copy of the $LATEST configuration of the named function.
func (s *Service) Function(name string) (Configuration, bool) {
	f := s.cache.get(name)
	if f == nil || f.latest == nil || f.latest.config == nil {
		return Configuration{}, false
	}
	return *f.latest.config, true
}
